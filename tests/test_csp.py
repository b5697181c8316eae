"""Content Security Policy: Django's own middleware, nonces for anything inline.

Every HTML page, the admin's included, is sent with a policy whose script-src and
style-src allow this origin and the response's nonce, never 'unsafe-inline'. In Chromium
the site's pages and the admin's load without a single violation; and a script that the
sanitizer let through (it is switched off for that test) is blocked by the policy instead
of running.
"""

import re

import pytest
from django.conf import settings
from django.test import Client

from articles.models import Article
from comments import services
from comments.services import comment_create
from core import markup
from tests.support.browser import browser_fixture  # noqa: F401 (``browser``)

PAGE_TIMEOUT_MS = 15_000

# Runs before the page's scripts: records every violation the browser reports.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} `
                    + `at ${e.sourceFile}:${e.lineNumber} ${(e.sample || "").slice(0, 60)}`);
});
"""


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


@pytest.fixture
def thread(article):
    first = comment_create(article=article, body="First *thought*.", author_name="Ann")
    comment_create(article=article, body="A reply.", author_name="Bo", parent_id=first.pk)
    return first


SITE_PAGES = ["/", "/articles/clash-looming/", "/accounts/login/", "/accounts/signup/"]
# Pages a logged-in reader sees; {mine} is a comment of theirs.
READER_PAGES = [
    "/articles/clash-looming/?reply={comment}",
    "/comments/{mine}/edit/",
    "/comments/{mine}/delete/",
    "/accounts/password_change/",
    "/accounts/email/",
    "/notifications/",
]
ADMIN_PAGES = [
    "/admin/login/",
    "/admin/",
    "/admin/comments/comment/",
    "/admin/comments/comment/{comment}/change/",
    "/admin/articles/article/",
    "/admin/articles/article/add/",
    "/admin/articles/article/{article}/change/",
    "/admin/subscriptions/address/",
]


@pytest.mark.parametrize("path", SITE_PAGES + READER_PAGES + ADMIN_PAGES)
def test_every_html_page_sends_a_nonce_policy_and_uses_its_nonce(
    client, admin_user, django_user_model, article, thread, path
):
    reader = django_user_model.objects.create_user("cat", password="pw-cat-12345")
    mine = comment_create(article=article, body="Mine.", user=reader)
    if path in READER_PAGES:
        client.force_login(reader)
    elif path.startswith("/admin/") and path != "/admin/login/":
        client.force_login(admin_user)
    response = client.get(path.format(comment=thread.pk, article=article.pk, mine=mine.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    csp = policy(response)
    [nonce] = {value for value in csp["script-src"] if value.startswith("'nonce-")}
    assert nonce in csp["style-src"]
    for directive in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in csp.get(directive, [])
        assert "'unsafe-eval'" not in csp.get(directive, [])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]

    html = response.content.decode()
    nonce_attribute = f'nonce="{nonce[7:-1]}"'
    inline = [
        tag
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", html, re.IGNORECASE)
        if not re.search(r"\ssrc=", tag)
    ]
    assert all(nonce_attribute in tag for tag in inline), inline
    # A nonce cannot vouch for attributes: inline handlers and style attributes are out.
    assert not re.findall(r"<[^>]+\s(?:on[a-z]+|style)\s*=[^>]*>", html, re.IGNORECASE)


# In the browser.


class Violations:
    """Opens pages in one context and collects the CSP violations each one reports."""

    def __init__(self, context, base_url):
        self.context = context
        self.origin = base_url.rstrip("/")
        self.found = []
        context.add_init_script(RECORD_VIOLATIONS)
        self.page = context.new_page()
        self.page.set_default_timeout(PAGE_TIMEOUT_MS)
        self.page.on("console", self._on_console)

    def _on_console(self, message):
        if "Content Security Policy" in message.text:
            self.found.append(f"{self.page.url}: console: {message.text[:300]}")

    def collect(self):
        """Violations the current document has reported so far (events and console)."""
        self.page.wait_for_timeout(50)
        events = self.page.evaluate("() => window.__csp")
        self.found += [f"{self.page.url}: event: {event}" for event in events]
        found, self.found = self.found, []
        return found

    def visit(self, path):
        response = self.page.goto(self.origin + path, wait_until="load")
        assert response is not None and response.status == 200, path
        return self.collect()


def logged_in_context(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context()
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


@pytest.mark.browser
def test_site_and_admin_pages_load_without_a_csp_violation(
    transactional_db, browser, live_server, admin_user
):
    article = Article.objects.create(
        title="Clash looming?", slug="clash-looming", body="The army is **advancing**."
    )
    first = comment_create(article=article, body="First *thought*.", author_name="Ann")
    comment_create(article=article, body="A reply.", author_name="Bo", parent_id=first.pk)
    found = []

    reader = Violations(browser.new_context(), live_server.url)
    for path in SITE_PAGES + ["/admin/login/"]:
        found += reader.visit(path)
    # htmx opens the reply form in place: the swap must not need anything inline either.
    reader.visit(article.get_absolute_url())
    reader.page.click(f"#comment-{first.pk} .reply-link")
    reader.page.wait_for_selector(f"#reply-{first.pk} textarea")
    assert "reply=" not in reader.page.url  # swapped in by htmx, not the no-JS page
    found += reader.collect()
    reader.context.close()

    editor = Violations(logged_in_context(browser, live_server, admin_user), live_server.url)
    for path in ADMIN_PAGES[1:] + [article.get_absolute_url(), "/notifications/"]:
        found += editor.visit(path.format(comment=first.pk, article=article.pk))
    # The admin's own scripts at work: slug prepopulation, the theme toggle.
    editor.visit("/admin/articles/article/add/")
    editor.page.fill("#id_title", "A new article")
    editor.page.click("button.theme-toggle")
    found += editor.collect()
    assert editor.page.input_value("#id_slug") == "a-new-article"
    editor.context.close()

    assert found == [], "\n".join(found)


@pytest.mark.browser
def test_an_injected_inline_script_is_blocked_even_without_the_sanitizer(
    transactional_db, browser, live_server, monkeypatch
):
    # The sanitizer off: text is stored as it came and marked safe unchanged at output.
    monkeypatch.setattr(services, "render_comment", lambda source: source)
    monkeypatch.setattr(markup, "_clean", lambda html, tags: html)
    article = Article.objects.create(title="Injected", slug="injected", body="Text.")
    payload = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    comment = comment_create(article=article, body=payload, author_name="Mallory")
    assert comment.body_html == payload

    reader = Violations(browser.new_context(), live_server.url)
    response = reader.page.goto(live_server.url + article.get_absolute_url(), wait_until="load")
    assert payload in response.text()  # the page really carries the script...
    reader.page.wait_for_timeout(200)  # (time for the image to fail and its handler to fire)
    assert (
        reader.page.evaluate("() => typeof window.__pwned") == "undefined"
    )  # ...which did not run
    found = reader.collect()
    assert any("script-src-elem blocked inline" in violation for violation in found), found
    assert any("script-src-attr blocked inline" in violation for violation in found), found
    reader.context.close()
