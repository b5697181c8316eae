"""The test suite's own plumbing keeps its promises.

* Loading ``tests/conftest.py`` (which every test does) and the HTTP and server helpers of
  tests/support/ loads neither Playwright nor the benchmarks: only the test modules that
  drive a browser import the ``browser`` fixture, and only those that build big threads
  import ``bench.forest``.
* When Chromium cannot be launched, a test that asks for ``browser`` fails with a message
  saying so; it never skips, so CI cannot pass without having looked at the pages.

Both run in a fresh Python process, as this one may have loaded Playwright for other tests.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOADED_BY_CONFTEST = """
import sys

import django

django.setup()
import tests.conftest, tests.support.http, tests.support.servers

print(sorted(name for name in sys.modules if name.split(".")[0] in {"playwright", "bench"}))
"""

NEEDS_A_BROWSER = """
from tests.support.browser import browser_fixture  # noqa: F401 (``browser``)


def test_needs_a_browser(browser):
    pass
"""


def _run(args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_conftest_loads_neither_playwright_nor_the_benchmarks():
    run = _run(["-c", LOADED_BY_CONFTEST])

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_browser_tests_fail_when_chromium_cannot_be_launched(tmp_path):
    module = tmp_path / "test_needs_a_browser.py"
    module.write_text(NEEDS_A_BROWSER)
    missing = tmp_path / "no-chromium-here"

    run = _run(
        ["-m", "pytest", str(module), "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml")],
        CHROMIUM_PATH=str(missing),
    )

    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 error" in run.stdout
    assert "skipped" not in run.stdout
    assert f"Chromium could not be launched from {missing}" in run.stdout
