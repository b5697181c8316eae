import os

import pytest
from django.core.cache import cache
from django.db import connection
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from articles.models import Article
from bench.forest import bulk_forest  # noqa: F401 (re-exported: tests may import it from here)
from comments.services import comment_create


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
    settings.COMMENTS_REFUSE_DUPLICATES = False


CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, one per test module; if it cannot be launched the tests
    that need it fail (never skip): CI must not pass without having looked at the pages.

    Playwright's sync API keeps an event loop running in this thread, so Django's
    async-safety check would refuse the ORM calls that tests make here, although nothing
    runs concurrently (the live server answers from its own threads). The check is off
    while the browser is open.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            try:
                chromium = playwright.chromium.launch(
                    executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
                )
            except PlaywrightError as error:
                pytest.fail(
                    f"Chromium could not be launched from {CHROMIUM_PATH} (set CHROMIUM_PATH, "
                    f"or `apt-get install chromium`): {error}",
                    pytrace=False,
                )
            yield chromium
            chromium.close()
