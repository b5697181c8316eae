"""Email from Threadline: editors hear of reports, authors (who asked) of replies.

Subjects carry no text a reader typed, and addresses have passed EmailField validation, so
no header can be injected. Mail is written in the site's language (LANGUAGE_CODE), whatever
the language of the reader whose action sent it. The messages are built here, in the
request, from the rows as committed; sending them never waits on a mail server (core/mail.py
queues them for a background thread, which logs a failure). Each function returns how many
messages it handed over: 0 or 1.
"""

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from comments import roles

logger = logging.getLogger(__name__)


def _send(subject: str, body: str, recipients: list[str]) -> int:
    if not recipients:
        return 0
    try:
        return send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, recipients)
    except (OSError, smtplib.SMTPException):
        logger.exception("Could not send %r to %d recipients", subject, len(recipients))
        return 0


def editor_addresses() -> list[str]:
    """COMMENTS_MODERATOR_EMAILS, plus every editor (``roles.editors``) with an email."""
    addresses = set(settings.COMMENTS_MODERATOR_EMAILS)
    addresses.update(roles.editors().exclude(email="").values_list("email", flat=True))
    return sorted(addresses)


def first_report(comment) -> int:
    """Tell editors that a comment was reported for the first time."""
    admin_url = settings.SITE_URL + reverse("admin:comments_comment_change", args=[comment.pk])
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Comment #%(pk)s was reported") % {"pk": comment.pk}
        reported = _("A reader reported comment #%(pk)s on “%(title)s”.") % {
            "pk": comment.pk,
            "title": comment.article.title,
        }
        review = _("Review it: %(url)s") % {"url": admin_url}
    return _send(subject, f"{reported}\n\n{comment.body}\n\n{review}\n", editor_addresses())


def reply_posted(reply) -> int:
    """Tell the author of the comment replied to, if they asked to hear of replies."""
    parent = reply.parent
    if parent is None or not parent.notify_replies or not reply.is_visible:
        return 0
    address = parent.user.email if parent.user_id else parent.author_email
    own = (parent.user_id and parent.user_id == reply.user_id) or (
        not parent.user_id and address and address.lower() == reply.author_email.lower()
    )
    if not address or own:
        return 0
    title, url = reply.article.title, settings.SITE_URL + reply.get_absolute_url()
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("New reply to your comment on “%(title)s”") % {"title": title}
        replied = _("%(name)s replied to your comment on “%(title)s”:") % {
            "name": reply.display_author,
            "title": title,
        }
        read = _("Read it in the discussion: %(url)s") % {"url": url}
    return _send(subject, f"{replied}\n\n{reply.body}\n\n{read}\n", [address])
