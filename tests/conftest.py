"""Fixtures for every test: an article, posting through the service, a clean cache, the
spam and flood defences off, mail through the outbox. Nothing here loads Playwright or the
benchmarks: the browser fixture, live app servers and the HTTP client are in tests/support/,
imported by the test modules that need them (tests/test_test_support.py checks this).
"""

import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from articles.models import Article
from comments.services import comment_create
from subscriptions.models import Address


def pytest_collection_modifyitems(config, items):
    """On SQLite, PostgreSQL-only tests skip with the reason; in CI they may not skip."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    if os.environ.get("THREADLINE_REQUIRE_ALL"):
        raise pytest.UsageError("CI runs the whole suite on PostgreSQL: set DATABASE_URL.")
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def article(db):
    return Article.objects.create(
        title="Clash looming?",
        slug="clash-looming",
        byline="Juan Cole",
        source="Informed Comment",
        body="The army is **advancing**.",
    )


@pytest.fixture
def other_article(db):
    return Article.objects.create(title="Another", slug="another", body="Other text.")


@pytest.fixture
def post(article):
    """Post through the service: ``post("text", parent=c, name="Ann")``."""

    def _post(body="A comment.", *, parent=None, name="Reader", on=None, **kwargs):
        return comment_create(
            article=on or article,
            body=body,
            author_name=name,
            parent_id=parent.pk if parent else None,
            **kwargs,
        )

    return _post


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached discussion fragments are keyed by article id: never let one leak across tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _defences_off_unless_tested(settings):
    """Tests post fast and often; the spam and flood defences are tested on their own
    (tests/test_defences.py), where each is switched back on."""
    settings.COMMENTS_MIN_SUBMIT_SECONDS = 0
    settings.COMMENTS_RATE_LIMIT = "off"
    settings.COMMENTS_PREVIEW_RATE_LIMIT = "off"
    settings.COMMENTS_REFUSE_DUPLICATES = False


@pytest.fixture(autouse=True)
def _mail_through_the_outbox(settings):
    """Django's test set-up makes every mailer the in-memory one; mail goes through the
    outbox as in production instead, and the worker's sends land in ``mail.outbox``
    (tests/support/tasks.py runs the queue)."""
    settings.MAILERS = {
        "default": {"BACKEND": "core.outbox.OutboxBackend"},
        "outgoing": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
    }


@pytest.fixture
def confirmed(db):
    """``confirmed("ann@example.org", ...)``: addresses whose owners followed their
    confirmation link (subscriptions/), so readers who gave them hear of replies."""

    def _confirm(*emails):
        for email in emails:
            Address.objects.update_or_create(
                email=email.lower(), defaults={"confirmed_at": timezone.now()}
            )

    return _confirm


@pytest.fixture
def trusted_reader(post, settings):
    """An account whose reports count toward hiding (comments/reports.py): older than
    COMMENTS_FLAG_TRUSTED_AGE_DAYS, with an approved comment. ``trusted_reader("ann")``."""

    def _make(username):
        user = User.objects.create_user(username, password=f"pw-{username}-123")
        user.date_joined = timezone.now() - timedelta(
            days=settings.COMMENTS_FLAG_TRUSTED_AGE_DAYS + 1
        )
        user.save(update_fields=["date_joined"])
        post(f"Earlier words by {username}.", user=user)
        return user

    return _make


@pytest.fixture
def editor(db):
    """An account in the Editors group (``make_editor``)."""
    user = User.objects.create_user("edna", email="edna@example.org", password="pw-edna-123")
    call_command("make_editor", "edna")
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client
