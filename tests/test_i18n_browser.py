"""The discussion in Chromium, in French and mirrored for a right-to-left language.

- With ``dir="rtl"`` on <html> (as a right-to-left language sets it) the discussion is
  mirrored: a reply is indented from the right, its thread line on its right; with
  ``dir="ltr"`` it is the other way round. The CSS uses logical sides (inline-start), so
  nothing else is needed.
- A French reader's browser gets French from the page's own words, the script's too: the
  relative times, the count of characters left (singular for 0 and 1, as in French), the
  question before a typed reply is discarded; and the footer switch turns the site to
  English and back.

No console error and no CSP violation on the way. Screenshots of both directions are kept
in /tmp/i18n-shots.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.support.browser import browser_fixture, open_page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/i18n-shots")
BOX = "el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right}; }"
SIDES = (
    "el => { const s = getComputedStyle(el);"
    " return {left: s.borderLeftWidth, right: s.borderRightWidth}; }"
)


@pytest.fixture
def thread(article, post):
    first = post("The first response, long enough to fill a line or so of the column.", name="Ann")
    reply = post("A reply to it.", name="Bob", parent=first)
    deeper = post("And a reply to the reply.", name="Cy", parent=reply)
    return first, reply, deeper


@pytest.fixture
def watched(open_page):
    """``watched(**context_options)``: a page whose console errors and CSP violations are
    collected in ``page.problems``."""

    def _open(**options):
        page = open_page(**options)
        page.problems = []
        page.on(
            "console",
            lambda message: message.type == "error" and page.problems.append(message.text),
        )
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        return page

    return _open


def boxes(page, *comments):
    return [page.locator(f"#comment-{c.pk}").evaluate(BOX) for c in comments]


def test_with_dir_rtl_the_thread_is_mirrored(watched, article, thread):
    first, reply, deeper = thread
    SHOTS.mkdir(exist_ok=True)
    page = watched(viewport={"width": 900, "height": 700})
    page.goto(article.get_absolute_url())
    assert page.evaluate("document.documentElement.dir") == "ltr"
    parent, child, grandchild = boxes(page, first, reply, deeper)
    assert child["left"] > parent["left"] + 10 and abs(child["right"] - parent["right"]) < 2
    assert grandchild["left"] > child["left"] + 10
    line = page.locator(f"#comment-{reply.pk}").evaluate(SIDES)
    assert (line["left"], line["right"]) == ("2px", "0px")
    page.locator(f"#comment-{first.pk}").screenshot(path=SHOTS / "thread-ltr.png")

    page.evaluate("document.documentElement.dir = 'rtl'")
    parent, child, grandchild = boxes(page, first, reply, deeper)
    assert child["right"] < parent["right"] - 10, "a reply is indented from the right"
    assert abs(child["left"] - parent["left"]) < 2, "and reaches its parent's left edge"
    assert grandchild["right"] < child["right"] - 10
    line = page.locator(f"#comment-{reply.pk}").evaluate(SIDES)
    assert (line["left"], line["right"]) == ("0px", "2px"), "the thread line is on the right"
    page.locator(f"#comment-{first.pk}").screenshot(path=SHOTS / "thread-rtl.png")
    page.screenshot(path=SHOTS / "page-rtl.png", full_page=True)
    assert page.problems == []


def test_a_french_reader_gets_the_scripts_words_in_french(watched, article, post, settings):
    settings.COMMENTS_MAX_LENGTH = 100
    old = post("Une réponse d’il y a trois jours.", name="Ann")
    old.created_at = timezone.now() - timedelta(days=3)
    old.save(update_fields=["created_at"])
    new = post("Une réponse toute fraîche.", name="Bob")
    page = watched(locale="fr-FR")
    page.goto(article.get_absolute_url())
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(f"#comment-{old.pk} time")).to_have_text("il y a 3 jours")
    expect(page.locator(f"#comment-{new.pk} time")).to_have_text("à l’instant")

    form = page.locator("#comment-form form")
    field = form.get_by_label("Votre commentaire")
    for typed, said in [
        (95, "5 caractères restants"),
        (99, "1 caractère restant"),
        (100, "0 caractère restant"),
        (101, "1 caractère de trop (limite\u00a0: 100)"),
        (1100, "1\u202f000 caractères de trop (limite\u00a0: 100)"),
    ]:
        field.fill("x" * typed)
        expect(form.locator(".char-count")).to_have_text(said)

    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator(f"#comment-{new.pk}").get_by_role("link", name="Répondre").first.click()
    slot = page.locator(f"#reply-{new.pk}")
    slot.get_by_label("Votre commentaire").fill("Un début de réponse.")
    slot.get_by_role("link", name="Annuler").click()
    assert asked == ["Abandonner votre réponse\u00a0?"]
    page.screenshot(path=SHOTS.joinpath("page-fr.png"), full_page=True)
    assert page.problems == []


def test_the_footer_switch_turns_the_site_to_english_and_back(watched, article, thread):
    page = watched(locale="fr-FR", js=False)
    page.goto(article.get_absolute_url())
    expect(page.get_by_role("heading", name="Participer à la discussion")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Join the discussion")).to_be_visible()
    assert page.url.endswith(article.get_absolute_url())
    page.goto("/")  # the choice stays for the next pages
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Articles")
    assert page.problems == []
