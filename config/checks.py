"""System checks of a deployment, run by ``manage.py check --deploy``."""

from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from comments.models import Comment
from config.proxy import is_private_address

LATEST_POSTS = 100  # how far back the proxy check looks
ENOUGH_POSTS = 20  # below this many addresses it says nothing either way


@checks.register(checks.Tags.security, deploy=True)
def check_readers_are_told_apart(app_configs=None, databases=None, **kwargs):
    """Warn when ``TRUSTED_PROXY_COUNT`` is 0 and the latest posts all came from private
    addresses: the app runs behind a proxy and takes the proxy's address for every reader's.

    Unlike Django's own deploy checks this one reads the database (the addresses of the
    latest 100 comments, by primary key): a check has no request to look at, and what the
    app has stored is what it has seen. It says nothing before 20 posts with an address,
    nor when the database or its tables are missing.
    """
    if settings.TRUSTED_PROXY_COUNT or "default" not in (databases or ()):
        return []
    try:
        addresses = list(
            Comment.objects.exclude(ip_address=None)
            .order_by("-pk")
            .values_list("ip_address", flat=True)[:LATEST_POSTS]
        )
    except DatabaseError:
        return []
    if len(addresses) < ENOUGH_POSTS or not all(map(is_private_address, addresses)):
        return []
    seen = ", ".join(sorted(set(addresses))[:3])
    return [
        checks.Warning(
            f"The latest {len(addresses)} comments all came from private addresses ({seen}) "
            "while TRUSTED_PROXY_COUNT is 0.",
            hint=(
                "The app runs behind a reverse proxy and takes the proxy's address for every "
                "reader's: rate limits, log-in throttles, reports and bans treat all readers "
                "as one. Set TRUSTED_PROXY_COUNT to the number of proxies that append to "
                "X-Forwarded-For (1 behind deploy/nginx.conf)."
            ),
            id="config.W001",
        )
    ]


NON_PRODUCTION_MAILERS = {
    f"django.core.mail.backends.{name}.EmailBackend"
    for name in ("console", "dummy", "filebased", "locmem")
}


@checks.register(checks.Tags.mail, deploy=True)
def check_outgoing_mail(app_configs=None, **kwargs):
    """Refuse a development mail backend for the mail the worker sends.

    Django's own check (mail.E001) looks at the ``default`` mailer, which here is always
    the outbox; what leaves the machine goes through ``outgoing`` (``EMAIL_BACKEND``).
    """
    backend = settings.MAILERS.get("outgoing", {}).get("BACKEND", "")
    if backend not in NON_PRODUCTION_MAILERS:
        return []
    return [
        checks.Error(
            f"EMAIL_BACKEND is a development-only backend ({backend}): no mail would leave.",
            hint="Use the SMTP backend (the default when DEBUG is off) and set EMAIL_HOST.",
            id="config.E001",
        )
    ]
