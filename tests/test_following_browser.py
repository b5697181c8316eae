"""Following a discussion and "What you follow", in Chromium, as readers do it.

Without JavaScript the "Follow this discussion" form posts and the page comes back at the
control, the choice saved and shown, and said in the page's message; with JavaScript (htmx)
the control is answered in place, without a reload, the same choice saved and said. "What
you follow" is plain forms, the same with or without JavaScript: a reader stops a followed
discussion there and sees it gone. No page reports a Content Security Policy violation.
"""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from subscriptions.models import Follow
from tests.support.browser import browser_fixture, open_page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PASSWORD = "pw-follower-123"


@pytest.fixture(autouse=True)
def _fast_accounts(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in(open_page, *, js):
    User.objects.create_user("ann", "ann@example.org", PASSWORD)
    page = open_page(js=js)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page, violations


def follow_section(page):
    return page.get_by_role("region", name="Follow this discussion")


@pytest.mark.parametrize("js", [False, True], ids=["without-js", "with-js"])
def test_a_reader_follows_a_discussion_and_stops_it_on_what_you_follow(open_page, article, js):
    page, violations = signed_in(open_page, js=js)
    page.goto(article.get_absolute_url())
    if js:
        page.evaluate("window.notReloaded = true")
    section = follow_section(page)
    expect(section.get_by_label("Not following")).to_be_checked()
    section.get_by_label("A daily digest").check()
    section.get_by_role("button", name="Save").click()

    said = page.get_by_role("status").filter(has_text="its new comments come in a daily digest")
    expect(said).to_be_in_viewport()  # in the control (htmx), or the page's sticky message
    expect(follow_section(page).get_by_label("A daily digest")).to_be_checked()
    if js:
        assert page.evaluate("window.notReloaded") is True
    else:
        assert page.url.endswith("#follow")
    assert list(Follow.objects.values_list("mode", flat=True)) == ["digest"]

    follow_section(page).get_by_role("link", name="Everything you follow").click()
    expect(page.get_by_role("heading", name="What you follow")).to_be_visible()
    listed = page.get_by_role("region", name="Discussions you follow").get_by_role("listitem")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(article.title)
    listed.get_by_label("Not following").check()
    listed.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("You no longer follow this discussion.")
    expect(page.get_by_text("You follow no discussion.")).to_be_visible()
    assert not Follow.objects.exists()

    page.goto(article.get_absolute_url())
    expect(follow_section(page).get_by_label("Not following")).to_be_checked()
    assert violations == []


def test_a_reader_without_an_address_is_told_how_to_get_one(open_page, article):
    page = open_page(js=True)
    page.goto(article.get_absolute_url())
    section = follow_section(page)
    expect(section).to_contain_text("post a comment with “Notify me” ticked")
    expect(section.get_by_role("button")).to_have_count(0)
