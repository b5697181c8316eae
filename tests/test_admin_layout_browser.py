"""An editor on a laptop: the comment list and the moderation queue fit a window 1100 or
1280 px wide without scrolling sideways, every one-click button of the queue is in view,
both show a comment's text as readers read it (rendered, not its Markdown), and the queue's
footer says in words how many comments wait.

Before issue #14 (point 9) the list was 1,629 px wide in a 631 px box, the queue's "Spam"
button was out of sight at 1100 px, the queue showed raw Markdown with stray backslashes,
and its footer read "5 moderation queue". The comments here are the ones that widen a
table: deep replies, long words and addresses, long names, emails and titles, reports and
votes. The editor logs in through the admin's form. Screenshots go to /tmp/admin-shots/.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from articles.models import Article
from comments.models import Comment, Flag
from tests.support.browser import browser_fixture, open_page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/admin-shots")
CHANGELIST = "/admin/comments/comment/"
QUEUE = "/admin/comments/queuedcomment/"
WIDTHS = [1100, 1280]
HEIGHT = 800

# Where the page is wider than the window, or a list wider than the box it is drawn in.
OVERFLOW = """() => {
  const results = document.querySelector("#changelist .results");
  const table = document.querySelector("#result_list");
  return {
    window: window.innerWidth,
    page: document.documentElement.scrollWidth,
    box: results.clientWidth,
    list: results.scrollWidth,
    right: table.getBoundingClientRect().right,
  };
}"""
MARKDOWN = "A **bold** claim, \\*not\\* emphasis, and [a source](https://example.org/report)."


@pytest.fixture(autouse=True)
def _fast_accounts(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def wide_discussion(post):
    """Everything that makes a row wide; returns what waits in the queue: four held
    comments and a reported one."""
    article = Article.objects.create(
        title="A very long article title that goes on and on about the state of the world "
        "and the river and the city and everything else besides",
        slug="long-title",
        body="Words.",
    )
    reader = User.objects.create_user("an-account-with-a-rather-long-username-indeed")
    top = post("Top of the thread.", name="Ann", on=article)
    parent = top
    for depth in range(1, 10):
        parent = post(
            f"Reply at depth {depth}.", name=f"Replier {depth}", parent=parent, on=article
        )
    post("x" * 300, name="Wordy", parent=parent, on=article)
    post("See https://example.org/" + "long-path-segment/" * 12, name="Linker", on=article)
    held = [
        post(
            MARKDOWN,
            name="Someone-with-a-long-unbroken-name-" + "x" * 40,
            author_email="a.very.long.address.indeed@subdomain.example-mail.org",
            ip_address="2001:db8:85a3:1234:5678:8a2e:370:7334",
            status=Comment.Status.PENDING,
            on=article,
        ),
        post("y" * 1000, name="Bo", status=Comment.Status.PENDING, on=article),
        post("Held from an account.", user=reader, status=Comment.Status.PENDING, on=article),
        post("> A quote\n\n1. one\n2. two\n\n`code`", name="Cy", status=Comment.Status.PENDING),
    ]
    reported = post("Reported, still shown.", name="Di", parent=top, on=article)
    Flag.objects.create(comment=reported, reason=Flag.Reason.ABUSE, reporter="ip:x")
    return [*held, reported]


def editor_page(open_page, editor, width):
    page = open_page(viewport={"width": width, "height": HEIGHT})
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(editor.username)
    page.get_by_label("Password").fill("pw-edna-123")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    return page


def shoot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("where", [CHANGELIST, QUEUE], ids=["comment list", "queue"])
def test_the_list_fits_the_window_without_scrolling_sideways(
    open_page, editor, wide_discussion, where, width
):
    page = editor_page(open_page, editor, width)
    page.goto(where)
    expect(page.locator("#result_list tbody tr").first).to_be_visible()
    shoot(page, f"{'queue' if where == QUEUE else 'comment-list'}-{width}")
    size = page.evaluate(OVERFLOW)
    assert size["page"] <= size["window"], size
    assert size["list"] <= size["box"], f"the list scrolls sideways in its box: {size}"
    assert size["right"] <= size["window"], size


@pytest.mark.parametrize("width", WIDTHS)
def test_every_button_of_the_queue_is_in_view(open_page, editor, wide_discussion, width):
    page = editor_page(open_page, editor, width)
    page.goto(QUEUE)
    buttons = page.locator("#result_list tbody button")
    expect(buttons).to_have_count(3 * len(wide_discussion))
    box = page.locator("#changelist .results").bounding_box()
    for index in range(buttons.count()):
        button = buttons.nth(index)
        edge = button.bounding_box()
        name = button.inner_text()
        assert edge["x"] + edge["width"] <= min(width, box["x"] + box["width"]), (
            f"{name} button out of sight: {edge}"
        )
    for name in ("Approve", "Remove", "Spam"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(
            len(wide_discussion)
        )


def test_the_queue_shows_the_text_as_readers_read_it(open_page, editor, wide_discussion):
    page = editor_page(open_page, editor, 1280)
    page.goto(QUEUE)
    row = page.get_by_role("row").filter(
        has=page.locator(f"input[value='{wide_discussion[0].pk}']")
    )
    text = row.locator(".tl-full-text")
    expect(text.locator("strong")).to_have_text("bold")
    expect(text.get_by_role("link", name="a source")).to_have_attribute(
        "href", "https://example.org/report"
    )
    expect(text).to_contain_text("*not* emphasis")
    for markdown in ("**", "\\", "]("):
        assert markdown not in text.inner_text()
    long_one = page.get_by_role("row").filter(
        has=page.locator(f"input[value='{wide_discussion[1].pk}']")
    )
    assert len(long_one.locator(".tl-full-text").inner_text()) < 1000  # cut, with a link on
    long_one.get_by_role("link", name="Open the whole comment").click()
    expect(page.get_by_label("Body")).to_have_value("y" * 1000)


def test_the_comment_list_shows_the_text_as_readers_read_it(open_page, editor, wide_discussion):
    page = editor_page(open_page, editor, 1280)
    page.goto(CHANGELIST)
    row = page.get_by_role("row").filter(
        has=page.locator(f"input[value='{wide_discussion[0].pk}']")
    )
    excerpt = row.locator(".field-thread_excerpt")
    expect(excerpt).to_contain_text("A bold claim, *not* emphasis, and a source.")
    assert "\\" not in excerpt.inner_text()


def test_the_queue_footer_says_how_many_comments_wait(open_page, editor, wide_discussion):
    page = editor_page(open_page, editor, 1280)
    page.goto(QUEUE)
    expect(page.locator(".paginator")).to_contain_text("5 comments awaiting moderation")
    Comment.objects.filter(pk__in=[c.pk for c in wide_discussion[1:]]).update(
        status=Comment.Status.APPROVED
    )
    Flag.objects.update(reviewed=True)
    page.reload()
    expect(page.locator(".paginator")).to_contain_text("1 comment awaiting moderation")
