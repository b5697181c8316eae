"""A reader in a real browser: post, reply three levels deep, edit, delete, fold, permalink.

Headless Chromium (Debian's; the ``browser`` fixture in tests/support/browser.py) driven by
Playwright's sync API against pytest-django's ``live_server``, on whichever database
``DATABASE_URL`` names. If Chromium cannot be launched these tests fail, never skip: CI
must not pass without having looked at the page.

Locators are the ones a reader (or a screen reader) uses: roles and accessible names
("Reply to …", "Post comment", "Post reply"), labels for fields. The ids and data
attributes on each comment (``comment-<pk>``, ``data-depth``, ``data-parent``) are the
documented hooks for checking the tree's shape.
"""

import re

import pytest
from playwright.sync_api import expect

from comments.models import Comment
from tests.support.browser import browser_fixture, open_page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

POST = re.compile(r"^Post")
REPLY = re.compile(r"^Reply")


# What a reader sees, by the hooks the thread template documents.


def comment_el(page, pk):
    return page.locator(f"#comment-{pk}")


def own_line(page, pk, part):
    """A part (meta, body, actions) of comment ``pk`` itself, not of its replies."""
    selector = {"meta": "summary.meta", "body": ".body", "actions": ".actions"}[part]
    return page.locator(f"#comment-{pk} > details > {selector}")


def reply_control(page, pk):
    return own_line(page, pk, "actions").get_by_role("link", name=REPLY)


def main_form(page):
    return page.locator("#comment-form form")


def reply_form(page, pk):
    return page.locator(f"#reply-{pk} form")


def fill(form, *, body, name=None, email=None):
    if name is not None:
        form.get_by_label("Name").fill(name)
    if email is not None:
        form.get_by_label("Email").fill(email)
    form.get_by_label("Your comment").fill(body)


def pk_of(element) -> int:
    return int(element.get_attribute("id").removeprefix("comment-"))


def last_top_level(page):
    return page.locator("#thread > .comment").last


def mark_page(page):
    """Set a marker that a full reload would wipe out."""
    page.evaluate("window.__threadlineMarker = 1")


def assert_not_reloaded(page):
    assert page.evaluate("window.__threadlineMarker") == 1, "the page reloaded"


# With JavaScript: htmx posts in place.


def test_reader_posts_and_replies_three_levels_deep_in_place(open_page, article):
    page = open_page()
    page.goto(article.get_absolute_url())
    mark_page(page)

    form = main_form(page)
    fill(form, name="Ann", body="A first thought.")
    form.get_by_role("button", name=POST).click()
    top = last_top_level(page)
    expect(top).to_contain_text("A first thought.")
    expect(top).to_be_focused()
    expect(top).to_have_attribute("data-depth", "0")
    expect(top).to_have_attribute("data-parent", "")
    expect(form.get_by_label("Your comment")).to_have_value("")  # a fresh form to post again

    chain = [pk_of(top)]
    for depth, (name, text) in enumerate(
        [("Bo", "I disagree."), ("Cy", "Why?"), ("Di", "Because of the river.")], start=1
    ):
        parent = chain[-1]
        reply_control(page, parent).click()
        reply = reply_form(page, parent)
        expect(reply.get_by_label("Your comment")).to_be_focused()
        expect(reply.locator("input[name=parent]")).to_have_value(str(parent))
        fill(reply, name=name, body=text)
        reply.get_by_role("button", name=POST).click()

        new = page.locator(f"#replies-{parent} > .comment").last
        expect(new).to_contain_text(text)
        expect(new).to_be_focused()
        expect(new).to_have_attribute("data-depth", str(depth))
        expect(new).to_have_attribute("data-parent", str(parent))
        expect(reply_form(page, parent)).to_have_count(0)  # the reply form closed
        child_x = own_line(page, pk_of(new), "body").bounding_box()["x"]
        parent_x = own_line(page, parent, "body").bounding_box()["x"]
        assert child_x > parent_x, f"depth {depth} is not indented under its parent"
        chain.append(pk_of(new))

    assert_not_reloaded(page)
    assert page.evaluate("document.activeElement.id") == f"comment-{chain[-1]}"
    comments = Comment.objects.in_bulk(chain)
    assert [comments[pk].parent_id for pk in chain] == [None, *chain[:-1]]
    assert [comments[pk].level for pk in chain] == [0, 1, 2, 3]
    assert comments[chain[0]].get_descendant_count() == 3


def test_empty_comment_shows_an_inline_error_and_stores_nothing(open_page, article, post):
    parent = post("Something to answer.", name="Ann")
    page = open_page()
    page.goto(article.get_absolute_url())
    mark_page(page)

    form = main_form(page)
    fill(form, name="Bo", body="")
    form.get_by_role("button", name=POST).click()
    expect(form).to_contain_text("Write something before posting.")
    expect(form.get_by_label("Name")).to_have_value("Bo")

    reply_control(page, parent.pk).click()
    reply = reply_form(page, parent.pk)
    fill(reply, name="Cy", body="   ")
    reply.get_by_role("button", name=POST).click()
    expect(reply).to_contain_text("Write something before posting.")
    expect(reply.locator("input[name=parent]")).to_have_value(str(parent.pk))

    assert_not_reloaded(page)
    assert Comment.objects.count() == 1


def test_text_is_kept_when_the_form_comes_back_with_an_error(open_page, article):
    page = open_page()
    page.goto(article.get_absolute_url())
    mark_page(page)

    form = main_form(page)
    text = "A long, careful answer that must not be lost."
    fill(form, name="Ann", email="not-an-email", body=text)
    form.get_by_role("button", name=POST).click()
    expect(form).to_contain_text("Enter a valid email address.")
    expect(form.get_by_label("Your comment")).to_have_value(text)
    expect(form.get_by_label("Name")).to_have_value("Ann")

    assert_not_reloaded(page)
    assert not Comment.objects.exists()


def test_a_post_the_spam_defences_refuse_shows_why_in_place(open_page, article, settings):
    """A refusal (here: posted sooner than the minimum delay) answers 4xx with the form and
    its reason; with htmx the reader must see it in place, like any other error."""
    settings.COMMENTS_MIN_SUBMIT_SECONDS = 60
    page = open_page()
    page.goto(article.get_absolute_url())
    mark_page(page)

    form = main_form(page)
    fill(form, name="Ann", body="Posted in a hurry.")
    form.get_by_role("button", name=POST).click()
    expect(form).to_contain_text("That was quick")
    expect(form.get_by_label("Your comment")).to_have_value("Posted in a hurry.")

    assert_not_reloaded(page)
    assert not Comment.objects.exists()


def test_every_field_keeps_its_label_and_help_while_a_reply_form_is_open(open_page, article, post):
    parent = post("Answer me.", name="Ann")
    page = open_page()
    page.goto(article.get_absolute_url())
    reply_control(page, parent.pk).click()
    expect(reply_form(page, parent.pk).get_by_label("Your comment")).to_be_focused()

    for form in (reply_form(page, parent.pk), main_form(page)):
        body = form.get_by_role("textbox", name="Your comment")
        expect(body).to_have_count(1)
        expect(body).to_have_accessible_description(re.compile("Markdown"))
        expect(form.get_by_role("textbox", name="Name")).to_have_count(1)
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(el => el.id)")
    assert sorted({i for i in ids if ids.count(i) > 1}) == [], "ids used twice on the page"


# Edit and delete by the author.


def test_author_edits_a_comment_and_it_shows_edited(open_page, article):
    page = open_page()
    page.goto(article.get_absolute_url())
    form = main_form(page)
    fill(form, name="Ann", body="Teh army is advancing.")
    form.get_by_role("button", name=POST).click()
    pk = pk_of(last_top_level(page))
    expect(own_line(page, pk, "meta")).not_to_contain_text("edited")

    own_line(page, pk, "actions").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit your comment")).to_be_visible()
    page.get_by_label("Your comment").fill("The army is advancing.")
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url(re.compile(rf"{article.get_absolute_url()}#comment-{pk}$"))
    expect(own_line(page, pk, "body")).to_have_text("The army is advancing.")
    expect(own_line(page, pk, "meta")).to_contain_text("edited")
    assert Comment.objects.get(pk=pk).edited_at is not None


def test_author_deletes_a_comment_with_replies_and_the_replies_stay(open_page, article, post):
    page = open_page()
    page.goto(article.get_absolute_url())
    form = main_form(page)
    fill(form, name="Ann", body="My regrettable point.")
    form.get_by_role("button", name=POST).click()
    pk = pk_of(last_top_level(page))
    mine = Comment.objects.get(pk=pk)
    reply = post("Your point was fine.", parent=mine, name="Bo")
    deeper = post("Agreed.", parent=reply, name="Cy")

    page.reload()
    own_line(page, pk, "actions").get_by_role("link", name="Delete").click()
    expect(page.get_by_text("they stay, under a “[deleted]” placeholder")).to_be_visible()
    page.get_by_role("button", name="Delete").click()

    placeholder = comment_el(page, pk)
    expect(placeholder).to_have_class(re.compile(r"\bplaceholder\b"))
    expect(own_line(page, pk, "meta")).to_contain_text("[deleted]")
    expect(placeholder).not_to_contain_text("My regrettable point.")
    expect(reply_control(page, pk)).to_have_count(0)
    kept = page.locator(f"#replies-{pk} > #comment-{reply.pk}")
    expect(kept).to_contain_text("Your point was fine.")
    expect(kept).to_have_attribute("data-depth", "1")
    expect(page.locator(f"#replies-{reply.pk} > #comment-{deeper.pk}")).to_contain_text("Agreed.")
    assert Comment.objects.get(pk=pk).deleted_at is not None


# Without JavaScript: plain forms, 303s and fragments.


def test_without_javascript_a_reader_posts_and_replies(open_page, article):
    page = open_page(js=False)
    page.goto(article.get_absolute_url())

    form = main_form(page)
    fill(form, name="Ann", body="Posted the old way.")
    form.get_by_role("button", name=POST).click()
    top = last_top_level(page)
    top_pk = pk_of(top)
    expect(page).to_have_url(re.compile(rf"{article.get_absolute_url()}#comment-{top_pk}$"))
    expect(top).to_contain_text("Posted the old way.")

    reply_control(page, top_pk).click()
    expect(page).to_have_url(
        re.compile(rf"{article.get_absolute_url()}\?reply={top_pk}#reply-{top_pk}$")
    )
    reply = reply_form(page, top_pk)
    expect(reply.locator("input[name=parent]")).to_have_value(str(top_pk))
    fill(reply, name="Bo", body="And replied the old way.")
    reply.get_by_role("button", name=POST).click()

    new = page.locator(f"#replies-{top_pk} > .comment").last
    expect(new).to_contain_text("And replied the old way.")
    reply_pk = pk_of(new)
    expect(page).to_have_url(re.compile(rf"{article.get_absolute_url()}#comment-{reply_pk}$"))
    expect(new).to_have_attribute("data-depth", "1")
    expect(new).to_have_attribute("data-parent", str(top_pk))
    assert Comment.objects.get(pk=reply_pk).parent_id == top_pk


def test_without_javascript_an_error_comes_back_with_the_text_kept(open_page, article, post):
    parent = post("Answer me.", name="Ann")
    page = open_page(js=False)
    page.goto(article.get_absolute_url())

    reply_control(page, parent.pk).click()
    reply = reply_form(page, parent.pk)
    text = "My answer, which I do not want to type again."
    fill(reply, name="Bo", email="bo-at-example", body=text)
    reply.get_by_role("button", name=POST).click()

    reply = reply_form(page, parent.pk)  # the page again, the form still under its comment
    expect(reply).to_contain_text("Enter a valid email address.")
    expect(reply.get_by_label("Your comment")).to_have_value(text)
    expect(reply.get_by_label("Name")).to_have_value("Bo")
    expect(reply.locator("input[name=parent]")).to_have_value(str(parent.pk))
    assert Comment.objects.count() == 1


# Finding and folding.


def test_permalink_lands_on_the_comment_and_highlights_it(open_page, article, post):
    first = post("Not this one.", name="Ann")
    wanted = post("This one.", parent=first, name="Bo")
    page = open_page()

    page.goto(f"/comments/{wanted.pk}/")

    expect(page).to_have_url(re.compile(rf"{article.get_absolute_url()}#comment-{wanted.pk}$"))
    target = comment_el(page, wanted.pk)
    assert target.evaluate("el => el.matches(':target')")
    expect(target).to_be_in_viewport()

    def background(pk):
        return own_line(page, pk, "meta").evaluate("el => getComputedStyle(el).backgroundColor")

    assert background(wanted.pk) != background(first.pk)


@pytest.mark.parametrize("js", [True, False], ids=["with-js", "without-js"])
def test_a_thread_folds_and_unfolds(open_page, article, post, js):
    parent = post("The parent.", name="Ann")
    child = post("The hidden reply.", parent=parent, name="Bo")
    page = open_page(js=js)
    page.goto(article.get_absolute_url())
    summary = own_line(page, parent.pk, "meta")
    reply = comment_el(page, child.pk)
    expect(reply).to_be_visible()

    summary.locator(".author").click()
    expect(reply).to_be_hidden()
    expect(own_line(page, parent.pk, "body")).to_be_hidden()
    expect(summary).to_be_visible()
    expect(page.locator(f"#comment-{parent.pk} > details")).not_to_have_attribute("open", "")

    summary.locator(".author").click()
    expect(reply).to_be_visible()
    expect(reply).to_contain_text("The hidden reply.")


def test_the_site_icon_the_browser_asks_for_exists(open_page, article):
    """Browsers fetch the page's icon (or /favicon.ico) once; a 404 there is a failed
    request in every new reader's console."""
    page = open_page()
    page.goto(article.get_absolute_url())
    icon = page.evaluate(
        "(document.querySelector('link[rel~=icon]') || {href: location.origin + '/favicon.ico'})"
        ".href"
    )
    if not icon.startswith("data:"):
        assert page.request.get(icon).ok, f"the site icon {icon} does not load"


def test_article_page_has_no_console_errors_or_failed_requests(open_page, article, post):
    first = post("Opening remark.", name="Ann")
    post("A reply.", parent=first, name="Bo")
    page = open_page()
    problems = []

    def on_console(message):
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    def on_response(response):
        if response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))

    page.goto(article.get_absolute_url())
    reply_control(page, first.pk).click()
    reply = reply_form(page, first.pk)
    fill(reply, name="Cy", body="Checking the console.")
    reply.get_by_role("button", name=POST).click()
    expect(page.locator(f"#replies-{first.pk} > .comment")).to_have_count(2)
    page.wait_for_load_state("networkidle")

    assert problems == []


# Huge discussions: paging with htmx, permalinks to later pages.


def test_load_more_appends_the_next_threads_in_place(open_page, article, post, settings):
    settings.COMMENTS_PAGE_THREADS = 2
    tops = [post(f"Thread {i}") for i in range(5)]
    page = open_page()
    page.goto(article.get_absolute_url())
    page.evaluate("window.__marker = 1")
    expect(page.locator('[data-depth="0"]')).to_have_count(2)
    page.get_by_role("link", name="Load more comments").click()
    expect(page.locator('[data-depth="0"]')).to_have_count(4)
    page.get_by_role("link", name="Load more comments").click()
    expect(page.locator('[data-depth="0"]')).to_have_count(5)
    expect(page.get_by_role("link", name="Load more comments")).to_have_count(0)
    assert page.evaluate("window.__marker") == 1  # no reload
    numbers = page.locator('[data-depth="0"] > details > summary .number').all_inner_texts()
    assert numbers == ["1.", "2.", "3.", "4.", "5."]
    ids = page.locator('[data-depth="0"]').evaluate_all("els => els.map(e => e.id)")
    assert ids == [f"comment-{c.pk}" for c in tops]


def test_permalink_to_a_comment_on_a_later_page_opens_its_context(
    open_page, article, post, settings
):
    settings.COMMENTS_PAGE_THREADS = 1
    post("First thread")
    later = post("Later thread")
    reply = post("The reply someone linked to", parent=later)
    page = open_page()
    page.goto(f"/comments/{reply.pk}/")
    expect(page).to_have_url(re.compile(rf"/comments/{reply.pk}/thread/#comment-{reply.pk}$"))
    expect(own_line(page, reply.pk, "body")).to_have_text("The reply someone linked to")
    expect(own_line(page, later.pk, "body")).to_have_text("Later thread")  # context above
    assert page.evaluate(f"document.getElementById('comment-{reply.pk}').matches(':target')")
