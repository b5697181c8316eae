"""The keyboard shortcuts in Chromium, as a reader uses them: ``j`` / ``k`` move the focus
from comment to comment in the order of the page (replies included, collapsed ones skipped),
with a visible ring and the comment in view; ``r`` opens the reply form with the cursor in
it; ``Escape`` closes the form through its Cancel (asking first when text was typed) and
hands the focus back to the comment; ``n`` shows new comments; nothing happens while the
reader types in a field, Escape included; the "Keyboard shortcuts" button lists the keys in a
dialog that Escape closes, focus back on the button, and is not shown without JavaScript; no
Content-Security-Policy error on the way (issue #14, point 13).
"""

import pytest
from playwright.sync_api import expect

from tests.support.browser import browser_fixture, open_page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def nested(article, post):
    """Three threads, the first two levels deep, the second one: in page order, by name."""
    ann = post("Ann's response.", name="Ann")
    bob = post("Bob answers Ann.", name="Bob", parent=ann)
    cy = post("Cy answers Bob.", name="Cy", parent=bob)
    dee = post("Dee's response.", name="Dee")
    eve = post("Eve answers Dee.", name="Eve", parent=dee)
    fay = post("Fay's response.", name="Fay")
    return [ann, bob, cy, dee, eve, fay]


@pytest.fixture
def many(article, post):
    """Thirty top-level comments: more than a screen holds."""
    return [post(f"Comment number {n}, long enough for a line.", name=f"R{n}") for n in range(30)]


def opened(open_page, article, **options):
    """The article page, with every console message kept in ``page.console``."""
    page = open_page(**options)
    page.console = []
    page.on("console", lambda message: page.console.append(message.text))
    page.goto(article.get_absolute_url())
    return page


def focused_id(page):
    return page.evaluate("document.activeElement.id")


def assert_no_csp_error(page):
    assert not [text for text in page.console if "Content Security Policy" in text]


def test_j_and_k_walk_the_comments_in_page_order_replies_included(open_page, article, nested):
    page = opened(open_page, article)
    ids = [f"comment-{c.pk}" for c in nested]
    walked = []
    for _ in ids:
        page.keyboard.press("j")
        walked.append(focused_id(page))
    assert walked == ids
    page.keyboard.press("j")  # the last stays the last
    assert focused_id(page) == ids[-1]
    back = []
    for _ in ids[:-1]:
        page.keyboard.press("k")
        back.append(focused_id(page))
    assert back == ids[-2::-1]
    comment = page.locator(f"#{ids[0]}")
    expect(comment).to_be_in_viewport()
    assert comment.evaluate("el => el.matches(':focus-visible')")  # the ring is drawn
    outline = comment.locator(":scope > details > summary").evaluate(
        "el => getComputedStyle(el).outlineStyle"
    )
    assert outline == "solid"
    assert_no_csp_error(page)


def test_j_and_k_skip_the_replies_of_a_collapsed_comment(open_page, article, nested):
    ann, bob, cy, dee, *_ = nested
    page = opened(open_page, article)
    page.locator(f"#comment-{bob.pk} > details > summary").click(position={"x": 4, "y": 8})
    expect(page.locator(f"#comment-{cy.pk}")).to_be_hidden()
    page.keyboard.press("j")  # from Bob's line, which the click focused
    assert focused_id(page) == f"comment-{dee.pk}"
    page.keyboard.press("k")
    assert focused_id(page) == f"comment-{bob.pk}"
    page.keyboard.press("k")
    assert focused_id(page) == f"comment-{ann.pk}"


def test_with_nothing_focused_j_starts_at_the_first_comment_in_view(open_page, article, many):
    comments = many
    page = opened(open_page, article)
    tenth = page.locator(f"#comment-{comments[10].pk}")
    tenth.evaluate(
        "el => window.scrollBy({ top: el.getBoundingClientRect().top, behavior: 'instant' })"
    )
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("j")
    assert focused_id(page) == f"comment-{comments[10].pk}"
    page.keyboard.press("j")
    expect(page.locator(f"#comment-{comments[11].pk}")).to_be_in_viewport()


def test_a_far_comment_is_scrolled_to_at_once_when_motion_is_reduced(open_page, article, many):
    comments = many
    page = opened(open_page, article, reduced_motion="reduce")
    page.locator(f"#comment-{comments[-1].pk}").focus()
    page.evaluate("window.scrollTo(0, 0)")
    # The press is dispatched in the page, so the scroll position is read in the same task:
    # with reduced motion it has already moved, without any animation frame.
    moved = page.evaluate(
        """() => {
          const before = window.scrollY;
          document.activeElement.dispatchEvent(
            new KeyboardEvent("keydown", { key: "k", bubbles: true, cancelable: true }));
          return window.scrollY - before;
        }"""
    )
    assert moved > 0
    expect(page.locator(f"#comment-{comments[-2].pk}")).to_be_focused()
    expect(page.locator(f"#comment-{comments[-2].pk}")).to_be_in_viewport()


def test_modified_keys_are_left_to_the_browser(open_page, article, nested):
    page = opened(open_page, article)
    page.keyboard.press("Alt+j")
    page.keyboard.press("Shift+J")
    assert page.evaluate("document.activeElement === document.body")


def test_r_opens_the_reply_form_and_keys_typed_there_are_text(open_page, article, nested):
    _, bob, *_ = nested
    page = opened(open_page, article)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("r")
    slot = page.locator(f"#reply-{bob.pk}")
    field = slot.get_by_label("Your comment")
    expect(field).to_be_focused()
    page.keyboard.press("Escape")  # in the field, even empty: nothing happens
    expect(field).to_be_focused()
    page.keyboard.type("just kidding?")
    expect(field).to_have_value("just kidding?")
    expect(field).to_be_focused()
    expect(page.locator("#keyboard-shortcuts")).to_be_hidden()
    page.locator(f"#comment-{bob.pk}").focus()
    page.keyboard.press("r")  # already open: back into it, the text kept
    expect(field).to_be_focused()
    expect(field).to_have_value("just kidding?")
    assert_no_csp_error(page)


def test_escape_out_of_the_field_closes_an_empty_form_and_focuses_the_comment(
    open_page, article, nested
):
    ann, *_ = nested
    page = opened(open_page, article)
    page.keyboard.press("j")
    page.keyboard.press("r")
    slot = page.locator(f"#reply-{ann.pk}")
    expect(slot.get_by_label("Your comment")).to_be_focused()
    slot.get_by_role("button", name="Post reply").focus()
    page.keyboard.press("Escape")
    expect(slot.locator("form")).to_have_count(0)
    expect(page.locator(f"#comment-{ann.pk}")).to_be_focused()
    assert_no_csp_error(page)


def test_escape_asks_before_throwing_away_typed_text(open_page, article, nested):
    ann, *_ = nested
    page = opened(open_page, article)
    page.keyboard.press("j")
    page.keyboard.press("r")
    slot = page.locator(f"#reply-{ann.pk}")
    slot.get_by_label("Your comment").fill("Half a thought")
    slot.get_by_role("button", name="Preview").focus()
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.type)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.keyboard.press("Escape")
    expect(slot.get_by_label("Your comment")).to_have_value("Half a thought")
    expect(slot.get_by_role("button", name="Preview")).to_be_focused()
    page.once("dialog", lambda dialog: answer(dialog, True))
    page.keyboard.press("Escape")
    expect(slot.locator("form")).to_have_count(0)
    expect(page.locator(f"#comment-{ann.pk}")).to_be_focused()
    assert asked == ["confirm", "confirm"]


def test_n_shows_new_comments_only_when_the_button_is_there_to_see(open_page, article, nested):
    page = opened(open_page, article)
    page.evaluate(
        """() => {
          const button = document.getElementById("new-comments")
            || document.body.appendChild(document.createElement("button"));
          button.id = "new-comments";
          window.newCommentClicks = 0;
          button.addEventListener("click", (event) => {
            event.stopImmediatePropagation();
            window.newCommentClicks += 1;
          }, { capture: true });
          button.hidden = true;
        }"""
    )
    page.keyboard.press("n")
    assert page.evaluate("window.newCommentClicks") == 0
    page.evaluate("document.getElementById('new-comments').hidden = false")
    page.keyboard.press("n")
    assert page.evaluate("window.newCommentClicks") == 1


def test_the_shortcuts_button_lists_the_keys_and_escape_gives_the_focus_back(
    open_page, article, nested
):
    page = opened(open_page, article)
    button = page.get_by_role("button", name="Keyboard shortcuts")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_hidden()
    button.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    for key in ["j", "k", "r", "n", "Esc", "?"]:
        expect(dialog.locator("kbd", has_text=key).first).to_be_visible()
    assert dialog.evaluate("el => el.contains(document.activeElement)")
    page.keyboard.press("j")  # the page behind is out of reach while the list is open
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("?")  # from a comment, and back to it
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#comment-{nested[0].pk}")).to_be_focused()
    assert_no_csp_error(page)


def test_without_javascript_the_shortcuts_are_not_offered(open_page, article, nested):
    page = opened(open_page, article, js=False)
    expect(page.locator(".shortcuts-open")).to_be_hidden()
    expect(page.locator("#keyboard-shortcuts")).to_be_hidden()
    expect(page.locator(f"#comment-{nested[0].pk}")).to_be_visible()


def test_the_keys_work_on_a_focused_thread_page_too(open_page, article, nested):
    ann, bob, *_ = nested
    page = open_page()
    page.goto(f"/comments/{ann.pk}/thread/")
    expect(page.get_by_role("button", name="Keyboard shortcuts")).to_be_visible()
    page.locator(f"#comment-{ann.pk}").focus()
    page.keyboard.press("j")
    expect(page.locator(f"#comment-{bob.pk}")).to_be_focused()
    page.keyboard.press("r")
    expect(page.locator(f"#reply-{bob.pk}").get_by_label("Your comment")).to_be_focused()
