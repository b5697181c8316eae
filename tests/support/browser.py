"""Debian's headless Chromium, driven by Playwright, for the tests that look at pages.

Only the test modules that drive a browser import the fixture, so no other test loads
Playwright. It is imported under another name than the ``browser`` that tests ask for, so
that the tests' ``browser`` arguments do not shadow an import::

    from tests.support.browser import browser_fixture  # noqa: F401 (``browser``)

``open_page`` (imported the same way, as ``open_page_fixture``) opens a fresh reader, with
cookies of their own, on a new page of the live server.

One Chromium is launched per test module that imports it. ``CHROMIUM_PATH`` (environment)
names the executable, default /usr/bin/chromium.
"""

import os

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module", name="browser")
def browser_fixture():
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


@pytest.fixture(name="open_page")
def open_page_fixture(browser, live_server, transactional_db):
    """``open_page(js=True, **context_options)``: a fresh reader (own cookies) on a new page."""
    contexts = []

    def _open(*, js=True, **options):
        context = browser.new_context(base_url=live_server.url, java_script_enabled=js, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()
