"""Accessibility, checked in Chromium: axe-core (axe-playwright-python) finds no violation,
of any impact, on the pages readers and editors use, in the states they see them in; the
discussion works by keyboard and tells screen readers where each reply sits; the article
page needs no sideways scrolling on a 320 px screen or at 200% zoom; readers who ask for
reduced motion get no smooth scrolling and no highlight animation.

The pages axe checks: the home page; the article page (nested comments, an edited, a pinned,
a deleted one with replies, Markdown) with a reply form open and with a form error shown,
in light and dark mode, with and without JavaScript; the focused thread, edit and report
pages (and their errors), log-in and sign-up (and their errors); the admin's log-in, index,
comment list, a comment's change page and the moderation queue, as an editor. On failure
each violation is listed with the elements it was found on.

Before issue #14 (point 11) the article page had one "nested-interactive" violation per
comment: the collapse control (<summary>) held the comment's permalink.
"""

import io
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from comments import services
from comments.models import Comment
from tests.support.browser import browser_fixture, open_page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

AXE = Axe()
PASSWORD = "pw-a11y-reader-123"
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
LONG_URL = "https://example.org/" + "a-very-long-path-segment/" * 8 + "?q=" + "x" * 60


@pytest.fixture(autouse=True)
def _fast_accounts(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def describe(violations) -> str:
    """Each violation, its impact and where: readable in a test report."""
    lines = [f"{len(violations)} accessibility violation(s):"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    at {target}: {node['html'][:240]}")
            summary = (node.get("failureSummary") or "").strip()
            if summary:
                lines.extend(f"      {line.strip()}" for line in summary.splitlines())
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    violations = AXE.run(page).response["violations"]
    if violations:
        pytest.fail(f"{where} ({page.url}):\n{describe(violations)}", pytrace=False)


@pytest.fixture
def discussion(article, post):
    """A few nested comments in every state the page draws: an edited one, a pinned one by
    an account, a deleted one that keeps its replies, Markdown with a link, a quote and
    code. Returns the comments by author."""
    account = User.objects.create_user("dora", password=PASSWORD)
    ann = post("A *fair* point, see [the report](https://example.org/report).", name="Ann")
    bo = post("> A fair point\n\nNot so fair: `git log` says otherwise.", name="Bo", parent=ann)
    cy = post("Agreed with Bo.", name="Cy", parent=bo)
    dora = post("Pinned words from an account.", user=account)
    services.comment_pin(comment=dora, pinned=True)
    gone = post("Soon deleted.", name="Eve")
    fay = post("A reply that outlives its parent.", name="Fay", parent=gone)
    services.comment_delete_by_author(comment=gone)
    Comment.objects.filter(pk=ann.pk).update(edited_at=timezone.now())
    return {"ann": ann, "bo": bo, "cy": cy, "dora": dora, "fay": fay}


def without_scripts(page):
    """A page on which the site's scripts never load: what a reader without JavaScript
    gets. (axe itself needs JavaScript, so the browser's switch cannot be used here.)"""
    page.route(re.compile(r"\.js(\?|$)"), lambda route: route.abort())
    return page


def signed_in(open_page, username, **options):
    """A reader with an account, logged in through the site's form."""
    page = open_page(**options)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    return page


# What axe finds.


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_home_page(open_page, discussion, scheme):
    page = open_page(color_scheme=scheme)
    page.goto("/")
    assert_accessible(page, f"home page, {scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_article_page_with_a_reply_form_open_and_with_an_error(
    open_page, article, discussion, scheme
):
    """As a reader with an account (votes, their own comment's Edit and Delete), with
    JavaScript: the reply form opens in place and a refused reply answers in it."""
    User.objects.create_user("gil", password=PASSWORD)
    page = signed_in(open_page, "gil", color_scheme=scheme)
    page.goto(article.get_absolute_url())
    page.locator(f"#votes-{discussion['bo'].pk}").get_by_role("button", name="Upvote").click()
    expect(
        page.locator(f"#votes-{discussion['bo'].pk}").get_by_role("button", name="Upvote")
    ).to_have_attribute("aria-pressed", "true")
    assert_accessible(page, f"article page, {scheme}")

    bo = page.locator(f"#comment-{discussion['bo'].pk}")
    bo.get_by_role("link", name="Reply to Bo").click()
    form = page.locator(f"#reply-{discussion['bo'].pk} form")
    expect(form.get_by_label("Your comment")).to_be_focused()
    assert_accessible(page, f"article page with a reply form open, {scheme}")

    form.get_by_role("button", name="Post reply").click()  # nothing written: refused
    error = page.locator(f"#reply-{discussion['bo'].pk} .field-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    assert_accessible(page, f"article page with a refused reply, {scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_article_page_without_javascript_with_a_reply_form_and_an_error(
    open_page, article, discussion, scheme
):
    """As a reader without an account: the name and email fields, the reply form opened by
    its link, and a refused post coming back with its errors."""
    page = without_scripts(open_page(color_scheme=scheme))
    page.goto(article.get_absolute_url())
    page.locator(f"#comment-{discussion['cy'].pk}").get_by_role("link", name="Reply to Cy").click()
    form = page.locator(f"#reply-{discussion['cy'].pk} form")
    expect(form).to_be_visible()
    assert_accessible(page, f"article page, reply form open without JavaScript, {scheme}")

    form.get_by_role("button", name="Post reply").click()  # no name, no text
    errors = page.locator(".field-error")
    expect(errors.first).to_be_visible()
    for index in range(errors.count()):
        expect(errors.nth(index)).to_have_attribute("role", "alert")
    assert_accessible(page, f"article page, refused post without JavaScript, {scheme}")


def test_focused_thread_and_report_pages(open_page, discussion):
    page = open_page()
    page.goto(f"/comments/{discussion['bo'].pk}/thread/")
    expect(page.locator(f"#comment-{discussion['cy'].pk}")).to_be_visible()
    assert_accessible(page, "focused thread")

    page.goto(f"/comments/{discussion['bo'].pk}/report/")
    assert_accessible(page, "report page")
    page.get_by_role("button", name="Send report").click()  # no reason chosen
    expect(page.locator(".field-error").first).to_have_attribute("role", "alert")
    assert_accessible(page, "report page with an error")


def test_edit_page_and_its_error(open_page, article, post):
    author = User.objects.create_user("hal", password=PASSWORD)
    comment = post("My own words.", user=author)
    page = signed_in(open_page, "hal")
    page.goto(f"/comments/{comment.pk}/edit/")
    assert_accessible(page, "edit page")
    page.get_by_label("Your comment").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".field-error")).to_have_attribute("role", "alert")
    assert_accessible(page, "edit page with an error")


def test_log_in_and_sign_up_pages_and_their_errors(open_page, db):
    page = open_page()
    page.goto("/accounts/login/")
    assert_accessible(page, "log-in page")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("[role=alert]").first).to_be_visible()
    assert_accessible(page, "log-in page with an error")

    page.goto("/accounts/signup/")
    assert_accessible(page, "sign-up page")
    page.get_by_role("button", name="Create account").click()  # nothing filled in
    expect(page.locator(".field-error").first).to_have_attribute("role", "alert")
    assert_accessible(page, "sign-up page with errors")


def test_mail_pages_of_a_reader_with_an_address(open_page, article, discussion):
    """The follow control on the article page, "What you follow" and the address page."""
    User.objects.create_user("gus", email="gus@example.org", password=PASSWORD)
    page = signed_in(open_page, "gus")
    page.goto(article.get_absolute_url())
    page.locator("#follow input[type=radio]").nth(1).check()
    page.locator("#follow").get_by_role("button", name="Save").click()
    expect(page.locator("#follow .follow-status")).to_be_visible()
    assert_accessible(page, "article page with the follow control, following")
    for where, url in [("what you follow", "/notifications/"), ("address", "/accounts/email/")]:
        page.goto(url)
        expect(page.locator("main")).to_be_visible()
        assert_accessible(page, where)


def test_admin_pages_an_editor_uses(open_page, post, discussion):
    User.objects.create_user("ida", password=PASSWORD)
    call_command("make_editor", "ida", stdout=io.StringIO())
    held = post("Held: **needs** a look.", name="Jo", status=Comment.Status.PENDING)
    page = open_page()
    page.goto("/admin/login/")
    assert_accessible(page, "admin log-in")
    page.get_by_label("Username").fill("ida")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    assert_accessible(page, "admin index")
    for where, url in [
        ("comment list", "/admin/comments/comment/"),
        ("a comment's change page", f"/admin/comments/comment/{discussion['bo'].pk}/change/"),
        ("moderation queue", "/admin/comments/queuedcomment/"),
    ]:
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()
        assert_accessible(page, where)
    expect(page.locator(f"input[value='{held.pk}']")).to_have_count(1)


# Keyboard and screen readers.


@pytest.mark.parametrize("js", [True, False], ids=["with-js", "without-js"])
def test_the_collapse_control_holds_no_link_and_works_by_keyboard(
    open_page, article, discussion, js
):
    page = open_page(js=js)
    page.goto(article.get_absolute_url())
    assert page.locator("summary :is(a, button, input, select, textarea, [tabindex])").count() == 0
    ann = discussion["ann"]
    summary = page.locator(f"#comment-{ann.pk} > details > summary")
    reply = page.locator(f"#comment-{discussion['bo'].pk}")

    summary.focus()
    page.keyboard.press("Enter")
    expect(reply).to_be_hidden()
    page.keyboard.press("Space")
    expect(reply).to_be_visible()
    page.keyboard.press("Tab")  # the permalink comes right after the control
    permalink = page.locator(f"#comment-{ann.pk} > details > a.when")
    expect(permalink).to_be_focused()
    expect(permalink).to_have_attribute("href", f"/comments/{ann.pk}/")


def test_each_reply_is_named_for_the_comment_it_answers(open_page, article, discussion):
    page = open_page()
    page.goto(article.get_absolute_url())
    for name, key in [
        ("1. Ann edited", "ann"),
        ("Bo reply to Ann", "bo"),
        ("Cy reply to Bo", "cy"),
        ("Fay reply to [deleted]", "fay"),
    ]:
        comment = page.get_by_role("article", name=name, exact=True)
        expect(comment).to_have_attribute("id", f"comment-{discussion[key].pk}")


# Narrow screens, zoom and motion.


@pytest.fixture
def deep_and_wide(article, post):
    """Replies ten deep whose last holds a long word and a long address, under a long name,
    with a code line too long for a phone; returns the deepest."""
    parent = post("The top of a deep thread.", name="Ann")
    for depth in range(1, 10):
        parent = post(f"Depth {depth}.", name=f"Reader {depth}", parent=parent)
    return post(
        f"{LONG_WORD} {LONG_URL}\n\n```\n{'x = 1; ' * 30}\n```",
        name="Someone" + "withaverylongname" * 4,
        parent=parent,
    )


@pytest.mark.parametrize(
    "screen",
    [
        {"viewport": {"width": 320, "height": 640}},
        # 1280 px at 200% zoom: 640 CSS pixels, each drawn with two device pixels.
        {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
    ],
    ids=["320px", "1280px-at-200%"],
)
def test_the_article_page_needs_no_sideways_scrolling(open_page, article, deep_and_wide, screen):
    page = open_page(js=False, **screen)
    page.goto(f"{article.get_absolute_url()}?reply={deep_and_wide.pk}#reply-{deep_and_wide.pk}")
    expect(page.locator(f"#reply-{deep_and_wide.pk} form")).to_be_visible()
    expect(page.locator(f"#comment-{deep_and_wide.pk} .body")).to_contain_text(LONG_WORD)
    width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1], f"the page is {width[0]} px wide in a {width[1]} px window"
    wider = page.evaluate(
        """(limit) => [...document.querySelectorAll("main *")]
        .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
        .map((el) => el.tagName + "." + el.className)""",
        width[1],
    )
    assert wider == [], f"elements past the right edge: {wider[:10]}"


@pytest.mark.parametrize(
    ("motion", "scrolling", "animation"),
    [("reduce", "auto", "none"), ("no-preference", "smooth", "landed")],
)
def test_reduced_motion_turns_off_smooth_scrolling_and_the_highlight_animation(
    open_page, article, discussion, motion, scrolling, animation
):
    page = open_page(reduced_motion=motion)
    page.goto(f"/comments/{discussion['cy'].pk}/")  # the permalink lands on the comment
    target = page.locator(f"#comment-{discussion['cy'].pk}")
    expect(target).to_be_in_viewport()
    assert target.evaluate("el => el.matches(':target')")
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == scrolling
    meta = target.locator(":scope > details > summary")
    assert meta.evaluate("el => getComputedStyle(el).animationName") == animation
