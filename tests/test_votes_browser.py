"""Voting in Chromium as readers do it: with JavaScript the score and the pressed button
change in place (by mouse or keyboard, no reload); without it the form posts and the page
comes back at the comment with the vote shown; a refused vote is said in words where the
reader looks; a second reader sees the new score once the refresh slot has passed; the
order switch reorders the discussion.
"""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from comments.models import Comment
from tests.support.browser import browser_fixture, open_page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PASSWORD = "pw-voter-123"


@pytest.fixture(autouse=True)
def _fast_accounts(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def discussion(article, post):
    first = post("The first response.", name="Ann")
    second = post("The second response.", name="Bob")
    post("A reply to the first.", name="Cy", parent=first)
    return first, second


def signed_in(open_page, username, *, js=True):
    User.objects.create_user(username, password=PASSWORD)
    page = open_page(js=js)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def controls(page, comment):
    return page.locator(f"#votes-{comment.pk}")


def settled(page, comment):
    """The swapped-in controls once htmx has settled them: until then (``htmx-added``) their
    buttons are plain form buttons, and a key pressed on one would post without htmx."""
    expect(controls(page, comment)).not_to_have_class(re.compile(r"\bhtmx-added\b"))


def test_with_javascript_a_vote_changes_in_place_by_mouse_and_by_keyboard(
    open_page, article, discussion
):
    first, _ = discussion
    page = signed_in(open_page, "reader")
    page.goto(article.get_absolute_url())
    page.evaluate("window.notReloaded = true")
    up = controls(page, first).get_by_role("button", name="Upvote")
    expect(up).to_have_attribute("aria-pressed", "false")
    up.click()
    expect(controls(page, first).locator(".score")).to_contain_text("1")
    up = controls(page, first).get_by_role("button", name="Upvote")
    expect(up).to_have_attribute("aria-pressed", "true")
    settled(page, first)
    down = controls(page, first).get_by_role("button", name="Downvote")
    down.focus()
    page.keyboard.press("Enter")
    expect(controls(page, first).get_by_role("button", name="Downvote")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(controls(page, first).locator(".score")).to_contain_text("-1")
    assert page.evaluate("window.notReloaded") is True
    fresh = Comment.objects.get(pk=first.pk)
    assert (fresh.upvotes, fresh.downvotes) == (0, 1)


def test_without_javascript_a_vote_posts_and_returns_to_the_comment(open_page, article, discussion):
    _, second = discussion
    page = signed_in(open_page, "reader", js=False)
    page.goto(article.get_absolute_url())
    controls(page, second).get_by_role("button", name="Upvote").click()
    expect(page).to_have_url(f"{page.url.split('#')[0].split('?')[0]}#comment-{second.pk}")
    expect(controls(page, second).get_by_role("button", name="Upvote")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(controls(page, second).locator(".score")).to_contain_text("1")
    expect(page.locator(f"#comment-{second.pk}")).to_be_in_viewport()


def test_a_refused_vote_is_said_in_words_in_view(open_page, article, discussion):
    first, _ = discussion
    page = open_page()  # no account, and votes without one are off
    page.goto(article.get_absolute_url())
    controls(page, first).get_by_role("button", name="Upvote").click()
    status = page.locator("#live-status")
    expect(status).to_have_text("Log in to vote.")
    expect(status).to_be_in_viewport()
    assert not Comment.objects.get(pk=first.pk).upvotes


def test_a_second_reader_sees_the_new_score_after_the_refresh(
    open_page, article, discussion, settings
):
    settings.COMMENTS_SCORE_REFRESH_SECONDS = 1
    first, _ = discussion
    other = open_page()
    other.goto(article.get_absolute_url())  # drawn and cached before the vote
    expect(controls(other, first).locator(".score")).to_contain_text("0")
    voter = signed_in(open_page, "reader")
    voter.goto(article.get_absolute_url())
    controls(voter, first).get_by_role("button", name="Upvote").click()
    expect(controls(voter, first).locator(".score")).to_contain_text("1")
    other.wait_for_timeout(3_200)  # the slot of the vote has ended
    other.reload()
    expect(controls(other, first).locator(".score")).to_contain_text("1")


def test_the_order_switch_puts_the_best_first(open_page, article, discussion):
    first, second = discussion
    voter = signed_in(open_page, "reader")
    voter.goto(article.get_absolute_url())
    controls(voter, second).get_by_role("button", name="Upvote").click()
    expect(controls(voter, second).locator(".score")).to_contain_text("1")
    voter.get_by_role("navigation", name="Order of responses").get_by_role(
        "link", name="Best"
    ).click()
    expect(voter.locator("#thread > .comment").first).to_have_id(f"comment-{second.pk}")
    expect(voter.get_by_role("navigation", name="Order of responses")).to_contain_text("Best")
