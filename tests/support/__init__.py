"""What the tests share besides fixtures: live app servers, one HTTP client, the browser.

* ``servers``: gunicorn processes serving the test database, as production runs the app.
* ``http``: one reader talking to any server over HTTP (pytest-django's ``live_server`` or
  a gunicorn server): cookies, CSRF token, redirects left unfollowed.
* ``browser``: the headless Chromium fixture, imported by the test modules that drive a
  browser, so that no other test loads Playwright.
"""
