"""Hostile text from readers never becomes markup that runs.

The corpus test posts every payload in tests/data (1,377 distinct strings, see its
README) as a comment's body and as its author's name, then loads the pages that show them
in headless Chromium: the article page, the admin's comment list and the admin's change
form. A page passes when nothing ran and nothing is armed to run:

* no call to ``alert``, ``confirm``, ``prompt`` or ``print`` (hooked before any script of
  the page runs), no dialog, no uncaught script error, no request to another origin, no
  Content Security Policy violation;
* a DOM probe finds no ``on*`` attribute, no ``<script>`` other than the page's own
  (``src`` under /static/, or the admin's /admin/jsi18n/), no frame, object, embed, base
  or ``meta http-equiv`` element, no SVG or MathML in the page's ``<main>``, and no URL
  attribute whose parsed protocol is not http, https or mailto.

Pages load one batch at a time with a timeout each, so a payload that hangs a page fails
its batch instead of the run. The same harness, pointed at a page whose sanitizer is
switched off, must find what it looks for: see the control tests at the end.

The reply-notification email is plain text with an HTML alternative: the corpus test for it
loads each message's source and its HTML part in Chromium, as a mail client shows them,
without the site's Content Security Policy, and the same checks find nothing.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from playwright.sync_api import Error as PlaywrightError

from articles.models import Article
from comments import services
from comments.models import Comment
from comments.services import comment_create
from core import markup, names
from tests.support.browser import browser_fixture  # noqa: F401 (``browser``)
from tests.support.tasks import run_tasks

DATA = Path(__file__).parent / "data"
PROJECT = Path(__file__).resolve().parent.parent
# Comments per article: one page of the admin's comment list (list_per_page), and of the
# discussion once the corpus test sets COMMENTS_PAGE_THREADS to it. That test checks that
# each page really showed all of its batch.
BATCH = 100
PAGE_TIMEOUT_MS = 15_000
SETTLE_MS = 50  # after "load": lets autofocus, onerror and timers fire


def load_payloads() -> list[str]:
    """Every distinct non-blank line of tests/data/*.txt (blns ``#`` lines are comments)."""
    seen = {}
    for path in sorted(DATA.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if path.name == "blns.txt" and line.startswith("#"):
                continue
            if line.strip():
                seen.setdefault(line, None)
    return list(seen)


PAYLOADS = load_payloads()

# Runs in every document and frame before the page's own scripts.
HOOKS = """
(() => {
  window.__xss = [];
  window.__csp = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    const hook = function (...args) {
      window.__xss.push(name + "(" + args.map(String).join(", ").slice(0, 80) + ")");
    };
    Object.defineProperty(window, name, { value: hook, writable: false, configurable: false });
  }
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline")
                      + " " + (e.sample || "").slice(0, 60));
  });
})();
"""

PROBE = """
() => {
  const found = [];
  const where = (el) => {
    const comment = el.closest("[id^='comment-'], tr, fieldset");
    return comment ? (comment.id || comment.className || comment.tagName) : el.tagName;
  };
  const short = (text) => String(text).replace(/\\s+/g, " ").slice(0, 100);
  const tag = (el, attr) => `<${el.localName} ${attr.name}="${short(attr.value)}">`;
  const ownScript = (el) => {
    if (!el.hasAttribute("src")) return false;
    const url = new URL(el.getAttribute("src"), document.baseURI);
    return url.origin === location.origin
      && (url.pathname.startsWith("/static/") || url.pathname === "/admin/jsi18n/");
  };
  const URL_ATTRIBUTES = ["href", "src", "action", "formaction", "poster", "data",
                          "background", "xlink:href", "ping", "cite", "lowsrc", "dynsrc"];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name)) {
        found.push(`on* attribute in ${where(el)}: ${tag(el, attr)}`);
      }
      if (URL_ATTRIBUTES.includes(attr.name.toLowerCase())) {
        let protocol;
        try {
          protocol = new URL(attr.value, document.baseURI).protocol;
        } catch {
          continue;  // not a URL the browser could follow
        }
        if (!["http:", "https:", "mailto:"].includes(protocol)) {
          found.push(`${protocol} URL in ${where(el)}: ${tag(el, attr)}`);
        }
      }
    }
  }
  for (const el of document.querySelectorAll("script")) {
    if (!ownScript(el)) found.push(`script in ${where(el)}: ${short(el.outerHTML)}`);
  }
  const foreign = "iframe, frame, frameset, object, embed, applet, base, portal, meta[http-equiv]";
  for (const el of document.querySelectorAll(foreign)) {
    found.push(`<${el.localName}> in ${where(el)}: ${short(el.outerHTML)}`);
  }
  for (const el of document.querySelectorAll("main svg, main math")) {
    found.push(`<${el.localName}> in ${where(el)}: ${short(el.outerHTML)}`);
  }
  return found;
}
"""

STATE = f"() => ({{calls: window.__xss || [], csp: window.__csp || [], probe: ({PROBE})()}})"


class Harness:
    """Loads pages in one browser context and reports what ran or was armed on each."""

    def __init__(self, context, base_url):
        self.context = context
        self.origin = base_url.rstrip("/")
        self.page = None
        self.current = []

    def _open(self):
        page = self.context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self._note("error", f"uncaught {error}"))
        page.on("console", self._on_console)
        page.on("request", self._on_request)
        return page

    def _note(self, kind, detail):
        self.current.append((kind, detail))

    def _on_dialog(self, dialog):
        self._note("call", f"dialog {dialog.type}: {dialog.message[:80]}")
        dialog.dismiss()

    def _on_console(self, message):
        if "Content Security Policy" in message.text:
            self._note("csp", message.text[:200])

    def _on_request(self, request):
        if not request.url.startswith((self.origin + "/", "data:", "about:", "blob:")):
            self._note("request", request.url[:200])

    def check(self, path, *, settle_ms=SETTLE_MS):
        """Load ``path``; return [(kind, detail)] for everything that ran or is armed."""
        url = self.origin + path
        self.current = []
        if self.page is None:
            self.page = self._open()
        try:
            response = self.page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
            if response is None or response.status != 200:
                self._note("load", f"status {response and response.status}")
            self.page.wait_for_timeout(settle_ms)
            if self.page.url.split("#")[0] != url:
                self._note("load", f"navigated away to {self.page.url[:200]}")
            state = self.page.evaluate(STATE)
        except PlaywrightError as error:
            # A hang, a crash, or a document replaced under us: fail this load, start afresh.
            self._note("load", f"{type(error).__name__}: {str(error)[:200]}")
            self.page.close()
            self.page = None
        else:
            self.current += [("call", call) for call in state["calls"]]
            self.current += [("csp", violation) for violation in state["csp"]]
            self.current += [("probe", hit) for hit in state["probe"]]
        return [(kind, f"{path}: {detail}") for kind, detail in self.current]

    def shown(self, script) -> set[int]:
        """Comment ids that ``script`` finds on the page last checked (none if it failed)."""
        return {int(pk) for pk in self.page.evaluate(script)} if self.page else set()


SHOWN_ON_ARTICLE_PAGE = """
() => [...document.querySelectorAll("article.comment[id^='comment-']")].map((el) => el.id.slice(8))
"""
SHOWN_IN_ADMIN_LIST = """
() => [...document.querySelectorAll("#result_list a[href*='/comments/comment/']")]
  .map((a) => a.getAttribute("href").match(/comment\\/(\\d+)\\/change/))
  .filter(Boolean).map((m) => m[1])
"""


def report(findings, limit=25):
    lines = [f"{kind}: {detail}" for kind, detail in findings[:limit]]
    more = len(findings) - limit
    return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


@pytest.fixture
def harness(browser, live_server):
    context = browser.new_context()
    context.add_init_script(HOOKS)
    yield Harness(context, live_server.url)
    context.close()


@pytest.fixture
def admin_harness(browser, live_server, admin_user):
    """A harness whose browser is logged in to the admin as a superuser."""
    client = Client()
    client.force_login(admin_user)
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
    context.add_init_script(HOOKS)
    yield Harness(context, live_server.url)
    context.close()


def as_name(payload: str) -> str:
    """The payload as a name: whole, with a letter after it when nothing of it is visible
    (a name needs one; such names alone are refused, see the test below)."""
    name = payload[:100]
    return name if names.normalize(name) else name[:99] + "x"


def post_batches(payloads, *, first=1):
    """One article per BATCH payloads; each comment has payload i as body and as name.

    The name keeps the first 100 characters: that is the field's limit, which the form
    enforces on every reader.
    """
    batches = []
    for start in range(0, len(payloads), BATCH):
        number = start // BATCH + first
        article = Article.objects.create(
            title=f"Hostile batch {number}", slug=f"hostile-{number}", body="Batch article."
        )
        comments = [
            comment_create(article=article, body=payload, author_name=as_name(payload))
            for payload in payloads[start : start + BATCH]
        ]
        batches.append((article, comments))
    return batches


def test_the_corpus_is_large_and_distinct():
    assert len(PAYLOADS) >= 1000
    assert len(set(PAYLOADS)) == len(PAYLOADS)
    assert not any("\x00" in payload for payload in PAYLOADS)
    assert set(CONTROL) <= set(PAYLOADS)


def change_form_sample(payloads) -> list[int]:
    """Indexes of the payloads whose admin change form is loaded.

    A change form costs about a third of a second in the browser, and it shows the same
    text as the list, through Django's form widgets. So by default one payload in fifteen
    is checked there, plus every payload aimed at the contexts that page adds (``<title>``,
    ``<textarea>``); THREADLINE_XSS_FULL=1 checks them all (several minutes).
    """
    if os.environ.get("THREADLINE_XSS_FULL") == "1":
        return list(range(len(payloads)))
    return [
        index
        for index, payload in enumerate(payloads)
        if index % 15 == 0 or re.search(r"textarea|title", payload, re.IGNORECASE)
    ]


@pytest.mark.browser
def test_no_payload_runs_on_the_article_page_or_in_the_admin(
    transactional_db, harness, admin_harness, settings
):
    settings.COMMENTS_PAGE_THREADS = BATCH  # every top-level comment of a batch on one page
    # Baseline: on the same pages with harmless text the harness finds nothing, so any
    # finding below comes from a payload.
    [(plain, [comment])] = post_batches(["A *plain* comment, with [a link](https://example.org)."])
    assert harness.check(plain.get_absolute_url()) == []
    assert admin_harness.check(f"/admin/comments/comment/?article__id__exact={plain.pk}") == []
    assert admin_harness.check(f"/admin/comments/comment/{comment.pk}/change/") == []

    batches = post_batches(PAYLOADS, first=2)
    comments = [comment for _, batch in batches for comment in batch]
    assert len(comments) == len(PAYLOADS)

    findings, missing = [], []
    for article, batch in batches:
        expected = {comment.pk for comment in batch}
        findings += harness.check(article.get_absolute_url())
        missing += sorted(expected - harness.shown(SHOWN_ON_ARTICLE_PAGE))
        findings += admin_harness.check(f"/admin/comments/comment/?article__id__exact={article.pk}")
        missing += sorted(expected - admin_harness.shown(SHOWN_IN_ADMIN_LIST))
    for index in change_form_sample(PAYLOADS):
        findings += admin_harness.check(
            f"/admin/comments/comment/{comments[index].pk}/change/", settle_ms=20
        )
    assert findings == [], report(findings)
    assert missing == [], f"{len(missing)} comments were not on the pages checked"


@pytest.mark.browser
def test_the_page_shows_every_payload_as_text(transactional_db, harness):
    """The corpus is not passing because the comments vanished: each one is on the page."""
    sample = [p for p in PAYLOADS if "<script" in p.lower()][:50]
    [(article, comments)] = post_batches(sample)
    assert harness.check(article.get_absolute_url()) == []
    assert harness.shown(SHOWN_ON_ARTICLE_PAGE) == {comment.pk for comment in comments}
    shown = harness.page.evaluate(
        "() => [...document.querySelectorAll('.comment .author')].map((el) => el.textContent)"
    )
    assert shown == [payload[:100] for payload in sample]


# The control: the same harness against a page whose sanitizer is off.

# A few payloads of each kind the probe looks for; each leaves the rest of the page intact
# when it is inserted raw.
CONTROL = [
    '<a href="javascript:alert(1)" onmouseover=alert(1)>INJECTX HOVER</a>',
    "<img src=x onerror=prompt(1)>//INJECTX",
    "<img src=x onload=prompt(1) onerror=alert(1) onmouseover=prompt(1)>",
    "<svg/onload=alert(1)>//INJECTX",
    "<script>$=1,alert($)</script>//INJECTX",
    "<input autofocus onfocus=alert(1)>//INJECTX",
]


def sanitizer_off(monkeypatch):
    """Store the reader's text as HTML as it came, and mark it safe unchanged at output."""
    monkeypatch.setattr(services, "render_comment", lambda source: source)
    monkeypatch.setattr(markup, "_clean", lambda html, tags: html)


@pytest.mark.browser
def test_harness_finds_injections_when_the_sanitizer_is_off(transactional_db, harness, monkeypatch):
    """With the sanitizer off, the probe must find what it looks for.

    The Content Security Policy stays on, so inline handlers and scripts are blocked
    rather than run: what catches them here is the DOM probe (``on*`` attributes,
    ``<script>``, ``javascript:`` URLs) and the CSP violations they cause.
    """
    sanitizer_off(monkeypatch)
    [(article, _)] = post_batches(CONTROL)
    findings = harness.check(article.get_absolute_url())
    kinds = {kind for kind, _ in findings}
    probe = [detail for kind, detail in findings if kind == "probe"]
    assert {"probe", "csp"} <= kinds, report(findings)
    assert any("on* attribute" in hit for hit in probe), report(findings)
    assert any("script in comment-" in hit for hit in probe), report(findings)
    assert any("javascript: URL" in hit for hit in probe), report(findings)


@pytest.mark.browser
def test_harness_sees_payloads_run_when_sanitizer_and_csp_are_off(
    transactional_db, harness, monkeypatch, settings
):
    """Without either defence the payloads' alert() calls reach the hooks."""
    sanitizer_off(monkeypatch)
    settings.SECURE_CSP = {}
    [(article, _)] = post_batches(CONTROL)
    findings = harness.check(article.get_absolute_url())
    assert any(kind == "call" for kind, _ in findings), report(findings)


# Sanitizing, without a browser.


def test_links_keep_only_http_https_and_mailto_and_get_rel():
    html = markup.render_comment(
        "[a](https://ok.example) [b](http://ok.example) [c](mailto:me@ok.example) "
        "[d](javascript:alert(1)) [e](JaVaScRiPt:alert(1)) [f](data:text/html,hi) "
        "[g](vbscript:x) [h](file:///etc/passwd) [i](ftp://ok.example) <https://auto.example>"
    )
    assert re.findall(r'href="([^"]*)"', html) == [
        "https://ok.example",
        "http://ok.example",
        "mailto:me@ok.example",
        "https://auto.example",
    ]
    links = re.findall(r"<a [^>]*>", html)
    assert links and all('rel="nofollow ugc noopener"' in link for link in links)


@pytest.mark.parametrize(
    "stored",
    [
        '<svg><script>alert(1)</script><a href="javascript:alert(2)">x</a></svg>',
        '<svg onload="alert(1)"><animate onbegin="alert(2)"/></svg>',
        '<math><mtext><a href="javascript:alert(1)">x</a></mtext></math>',
        "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
        "<p onclick=alert(1) style=color:red>text</p><iframe srcdoc='<script>alert(1)'>",
    ],
)
def test_stored_html_is_cleaned_again_at_output(stored):
    """A row altered in the database still renders without SVG, MathML or handlers."""
    html = str(markup.sanitize(stored))
    lowered = html.lower()
    for banned in ("<svg", "<math", "<script", "<iframe", "<animate", "javascript:", "style="):
        assert banned not in lowered
    assert not re.search(r"\son\w+\s*=", lowered)


def test_raw_html_in_markdown_is_shown_as_text():
    html = markup.render_comment('<img src=x onerror="alert(1)"> and <b>bold</b>')
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=" in html and "&lt;b&gt;bold&lt;/b&gt;" in html


WRITERS = {
    "post": lambda comment, body: comment_create(
        article=comment.article, body=body, author_name="A"
    ),
    "edit by the author": lambda comment, body: services.comment_edit(comment=comment, body=body),
    "edit in the admin": lambda comment, body: services.comment_update(comment=comment, body=body),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_too_long_a_comment_is_refused_before_it_is_rendered(db, post, monkeypatch, writer):
    """The length limit holds for every writer, and nothing is rendered when it is broken.

    The form refuses a long comment too, but the admin and the importer write through the
    services without it: the limit has to hold there.
    """
    comment = post("Short.")
    rendered, render = [], services.render_comment
    monkeypatch.setattr(
        services, "render_comment", lambda source: rendered.append(source) or render(source)
    )
    with pytest.raises(ValidationError):
        WRITERS[writer](comment, "x" * (settings.COMMENTS_MAX_LENGTH + 1))
    assert rendered == []
    assert list(Comment.objects.values_list("body", flat=True)) == ["Short."]


def test_stored_html_is_never_truncated(db, article):
    """A comment at the length limit keeps all of its HTML, however much longer that is."""
    body = ("**b** <https://example.org> " * 400)[: settings.COMMENTS_MAX_LENGTH]
    comment = comment_create(article=article, body=body, author_name="A")
    comment.refresh_from_db()
    assert len(comment.body_html) > 2 * len(body)
    assert comment.body_html == markup.render_comment(body)
    assert comment.body_html.endswith("</p>\n")


SAFE_MARKERS = re.compile(
    r"\|\s*safe(seq)?\b|mark_safe\b|autoescape\s+off|SafeString\(|SafeText\(|\.__html__\b"
)
SOURCE_DIRS = ["accounts", "articles", "comments", "config", "core", "templates"]


def test_only_the_markup_module_marks_html_safe():
    """No ``|safe``, ``mark_safe`` or ``autoescape off`` outside core/markup.py."""
    hits = []
    for top in SOURCE_DIRS + [p.name for p in PROJECT.iterdir() if p.suffix == ".py"]:
        root = PROJECT / top
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in paths:
            if path.suffix not in {".py", ".html", ".txt"} or "migrations" in path.parts:
                continue
            relative = path.relative_to(PROJECT).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SAFE_MARKERS.search(line) and relative != "core/markup.py":
                    hits.append(f"{relative}:{number}: {line.strip()}")
    assert hits == [], "\n".join(hits)
    markup_source = (PROJECT / "core" / "markup.py").read_text(encoding="utf-8")
    calls = re.findall(r"mark_safe\((.*)\)", markup_source)
    assert calls and all(call.startswith(("_clean(", "_clean_cached(")) for call in calls), calls


def mail_view(harness, views: dict[str, tuple[str, str]]):
    """Serve each ``path: (content type, text)`` at the harness's origin, with no Content
    Security Policy: a mail client has none."""

    def handler(route):
        path = route.request.url.removeprefix(harness.origin)
        if path not in views:  # a relative URL in a message (an image of a payload's)
            route.fulfill(status=404, body="")
            return
        content_type, text = views[path]
        route.fulfill(body=text, content_type=f"{content_type}; charset=utf-8")

    harness.context.route(f"{harness.origin}/__mail__/**", handler)


@pytest.mark.browser
def test_reply_notification_emails_show_payloads_only_as_text(
    transactional_db, article, harness, confirmed
):
    """Every payload, as a replier's name and text, in an email to the parent's author:
    loaded in Chromium as a mail client shows it, the message source as plain text and its
    HTML part rendered (without the site's CSP), nothing runs and nothing is armed."""
    confirmed("ann@example.org")
    parent = comment_create(
        article=article,
        body="Tell me",
        author_name="Ann",
        author_email="ann@example.org",
        notify_replies=True,
    )
    for payload in PAYLOADS:
        comment_create(
            article=article, body=payload, author_name=as_name(payload), parent_id=parent.pk
        )
    run_tasks(limit=len(PAYLOADS))
    assert len(mail.outbox) == len(PAYLOADS)
    for message in mail.outbox:
        assert message.recipients() == ["ann@example.org"]
        [(_, mimetype)] = message.alternatives
        assert message.content_subtype == "plain" and mimetype == "text/html"
    views = {}
    for start in range(0, len(mail.outbox), BATCH):  # a mailbox view: one batch per load
        batch = mail.outbox[start : start + BATCH]
        views[f"/__mail__/source/{start}"] = (
            "text/plain",
            "\n\n".join(m.message().as_string() for m in batch),
        )
        html = "\n".join(m.alternatives[0][0] for m in batch)
        views[f"/__mail__/html/{start}"] = ("text/html", html)
    mail_view(harness, views)
    findings = [finding for path in views for finding in harness.check(path)]
    assert findings == [], report(findings)


def test_a_name_with_nothing_visible_is_refused_by_the_service(article):
    invisible = [p[:100] for p in PAYLOADS if not names.normalize(p[:100])]
    assert invisible, "the corpus has names made of controls and invisible characters"
    for name in invisible:
        with pytest.raises(ValidationError) as refused:
            comment_create(article=article, body="text", author_name=name)
        assert refused.value.message_dict == {
            "author_name": ["A name needs at least one visible character."]
        }
    assert not Comment.objects.exists()
