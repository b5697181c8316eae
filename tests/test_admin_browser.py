"""An editor moderates in a real browser, through the real admin, and readers see the result.

Headless Chromium (Debian's; tests/support/browser.py) driven by Playwright's
sync API against pytest-django's ``live_server``, on whichever database ``DATABASE_URL``
names. The editor is an account made an editor by ``manage.py make_editor`` and logs in
through the admin's own login form; every moderation step is a click an editor makes
(the queue's one-click buttons, the action select on the comment list and on a comment's
change form). What readers see is checked on the article page in a separate, anonymous
browser context, by the hooks the thread template documents (``comment-<pk>``,
``data-depth``, ``data-parent``).

The admin pages an editor walks through must load without a console error, an uncaught
script error or a Content Security Policy violation.

Screenshots of the queue and the comment list go to /tmp/admin-shots/ (never the repo),
for a person to look at.
"""

import io
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from playwright.sync_api import expect

from comments.models import Comment
from comments.roles import ensure_editors_group
from tests.support.browser import browser_fixture  # noqa: F401 (``browser``)

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/admin-shots")
PASSWORD = "pw-edna-correct-horse"
QUEUE = "/admin/comments/queuedcomment/"
CHANGELIST = "/admin/comments/comment/"

# Each action as the comment list (several comments) and a change form (one) name it.
ACTIONS = {
    "approve": ("Approve selected comments", "Approve"),
    "mark_spam": ("Mark selected as spam", "Mark as spam"),
    "remove": (
        "Remove selected (replies stay, under “[removed]”)",
        "Remove (replies stay, under “[removed]”)",
    ),
    "remove_with_replies": ("Remove selected with all their replies", "Remove with all replies"),
    "restore": ("Restore selected comments", "Restore"),
}
WHERE = ["comment list", "change form"]

# Runs before any script of every document: reports each CSP violation to the test.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} `
                              + `at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def problems():
    """What went wrong in the browser while the test ran: console errors, uncaught script
    errors, CSP violations, each with the address of the page."""
    return []


@pytest.fixture
def open_page(browser, live_server, transactional_db, problems):
    """``open_page()``: a fresh visitor (own cookies) on a new page, watched for problems."""
    contexts = []

    def _open():
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        context.expose_binding(
            "__reportCspViolation",
            lambda source, text: problems.append(f"{source['page'].url}: CSP: {text}"),
        )
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                problems.append(f"{page.url}: console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(f"{page.url}: page error: {error}"))
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def editors_group(transactional_db):
    """The Editors group, as every migrate makes it (``roles.ensure_editors_group``).

    A transactional test ends by flushing every table, and a flush brings back Django's
    own permissions but not the group: after the first such test it may be gone. The same
    function that makes it after a migrate puts it back.
    """
    if not Group.objects.filter(name="Editors").exists():
        ensure_editors_group()


@pytest.fixture
def editor(editors_group):
    user = User.objects.create_user("edna", email="edna@example.org", password=PASSWORD)
    call_command("make_editor", "edna", stdout=io.StringIO())
    return user


@pytest.fixture
def editor_page(open_page, editor):
    """A page on which the editor has logged in through the admin's login form."""
    page = open_page()
    log_in(page, editor)
    return page


@pytest.fixture
def reader_page(open_page):
    """An anonymous reader, in a browser context of their own."""
    return open_page()


# What an editor does, the way an editor does it.


def log_in(page, user):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def row_of(page, comment):
    """The row of the admin list that shows this comment."""
    return page.get_by_role("row").filter(has=page.locator(f"input[value='{comment.pk}']"))


def success_message(page):
    return page.locator("ul.messagelist li.success")


def run_action(page, comment, action, *, where):
    """Choose an action from the select and press Run, on the comment list (the comment's
    checkbox ticked) or on the comment's change form."""
    plural, singular = ACTIONS[action]
    if where == "comment list":
        page.goto(CHANGELIST)
        row_of(page, comment).get_by_role("checkbox").check()
        label = plural
    else:
        page.goto(f"{CHANGELIST}{comment.pk}/change/")
        label = singular
    page.get_by_role("combobox", name="Action").select_option(label=label)
    page.get_by_role("button", name="Run").click()


def dead_links(page, row):
    """The links in an admin row that do not open for this viewer, with the status each gets."""
    dead = {}
    for href in row.locator("a[href]").evaluate_all("links => links.map(a => a.href)"):
        response = page.request.get(href)
        if not response.ok:
            dead[href] = response.status
    return dead


def shoot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


# What a reader sees.


def open_article(page, article):
    page.goto(article.get_absolute_url())
    expect(page.locator("#responses-heading")).to_be_visible()


def comment_el(page, pk):
    return page.locator(f"#comment-{pk}")


def own_line(page, pk, part):
    """A part (meta, body) of comment ``pk`` itself, not of its replies."""
    selector = {"meta": "summary.meta", "body": ".body"}[part]
    return page.locator(f"#comment-{pk} > details > {selector}")


def thread(page):
    return page.locator("#thread")


# The queue.


def test_editor_logs_in_approves_a_held_comment_and_readers_see_it(
    open_page, editor, reader_page, article, post
):
    post("Already on the page.", name="Ann")
    held = post("Held for a first-time poster.", name="Bo", status=Comment.Status.PENDING)
    open_article(reader_page, article)
    expect(thread(reader_page)).not_to_contain_text(held.body)

    page = open_page()
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.get_by_label("Username").fill("edna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    queue_link = page.get_by_role("link", name="Moderation queue: 1 comment waiting")
    expect(queue_link).to_be_visible()
    queue_link.click()
    expect(page).to_have_url(re.compile(rf"{QUEUE}$"))
    row = row_of(page, held)
    expect(row).to_contain_text(held.body)
    expect(row).to_contain_text("pending")
    expect(page.get_by_role("row").filter(has_text="Already on the page.")).to_have_count(0)
    shoot(page, "queue")

    row.get_by_role("button", name="Approve").click()
    expect(success_message(page)).to_have_text("Approved: 1 comment.")
    expect(page).to_have_url(re.compile(rf"{QUEUE}$"))
    expect(row_of(page, held)).to_have_count(0)
    expect(page.get_by_text(held.body)).to_have_count(0)
    page.goto("/admin/")
    expect(page.get_by_role("link", name="Moderation queue: 0 comments waiting")).to_be_visible()

    open_article(reader_page, article)
    expect(own_line(reader_page, held.pk, "body")).to_have_text(held.body)
    assert Comment.objects.get(pk=held.pk).status == Comment.Status.APPROVED


def test_queue_buttons_remove_and_mark_spam_in_one_click(editor_page, reader_page, article, post):
    removed = post("Held, and rightly.", name="Bo", status=Comment.Status.PENDING)
    spam = post("Cheap watches here.", name="Spammer", status=Comment.Status.PENDING)
    page = editor_page
    page.goto(QUEUE)

    row_of(page, removed).get_by_role("button", name="Remove").click()
    expect(success_message(page)).to_have_text("Removed: 1 comment.")
    row_of(page, spam).get_by_role("button", name="Spam").click()
    expect(success_message(page)).to_have_text("Marked as spam: 1 comment.")
    expect(page.locator("#result_list")).to_have_count(0)  # the queue is empty

    assert Comment.objects.get(pk=removed.pk).status == Comment.Status.REMOVED
    assert Comment.objects.get(pk=spam.pk).status == Comment.Status.SPAM
    open_article(reader_page, article)
    expect(thread(reader_page)).not_to_contain_text(removed.body)
    expect(thread(reader_page)).not_to_contain_text(spam.body)


def test_a_long_held_comment_can_be_read_in_full_from_the_queue(editor_page, post):
    """The queue shows an excerpt: the whole text must be in the row or one click away,
    and no link in the row may lead the editor to a dead end."""
    reader = User.objects.create_user("cat", password="pw-cat-12345")
    body = (
        "It starts well. " + "Then it goes on, and on, and on, for a while. " * 4 + "THE SPAM LINK."
    )
    held = post(body, user=reader, status=Comment.Status.PENDING)
    page = editor_page
    page.goto(QUEUE)
    row = row_of(page, held)
    expect(row).to_contain_text("It starts well.")

    hrefs = row.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
    opened = [page.request.get(href).text() for href in hrefs]
    assert any("THE SPAM LINK." in text for text in [row.inner_text(), *opened]), (
        "the end of the held comment is nowhere the editor can reach from the queue"
    )
    assert dead_links(page, row) == {}


# Actions on the comment list and on a comment's change form.


@pytest.mark.parametrize("where", WHERE)
def test_a_comment_marked_as_spam_is_gone_from_the_page(
    editor_page, reader_page, article, post, where
):
    post("A fair point.", name="Ann")
    spam = post("Buy cheap watches at example.com.", name="Spammer")
    open_article(reader_page, article)
    expect(own_line(reader_page, spam.pk, "body")).to_have_text(spam.body)

    page = editor_page
    if where == "comment list":
        page.goto(CHANGELIST)
        shoot(page, "comment-list")
    run_action(page, spam, "mark_spam", where=where)
    expect(success_message(page)).to_have_text("Marked as spam: 1 comment.")

    reader_page.reload()
    expect(comment_el(reader_page, spam.pk)).to_have_count(0)
    expect(thread(reader_page)).not_to_contain_text(spam.body)
    expect(thread(reader_page)).to_contain_text("A fair point.")
    assert Comment.objects.get(pk=spam.pk).status == Comment.Status.SPAM


@pytest.mark.parametrize("where", WHERE)
def test_removing_a_comment_keeps_its_replies_under_a_placeholder(
    editor_page, reader_page, article, post, where
):
    rude = post("A rude remark.", name="Ann")
    reply = post("Calm down, please.", parent=rude, name="Bo")
    deeper = post("Seconded.", parent=reply, name="Cy")
    sibling = post("Unrelated, and fine.", name="Di")

    run_action(editor_page, rude, "remove", where=where)
    expect(success_message(editor_page)).to_have_text("Removed: 1 comment.")

    open_article(reader_page, article)
    placeholder = comment_el(reader_page, rude.pk)
    expect(placeholder).to_have_class(re.compile(r"\bplaceholder\b"))
    expect(own_line(reader_page, rude.pk, "meta").locator(".author")).to_have_text("[removed]")
    expect(own_line(reader_page, rude.pk, "body")).to_have_count(0)
    expect(thread(reader_page)).not_to_contain_text(rude.body)
    # The replies keep their place inside the placeholder's element.
    kept = placeholder.locator(f"#comment-{reply.pk}")
    expect(kept).to_have_attribute("data-parent", str(rude.pk))
    expect(kept).to_have_attribute("data-depth", "1")
    expect(own_line(reader_page, reply.pk, "body")).to_have_text(reply.body)
    expect(kept.locator(f"#comment-{deeper.pk}")).to_have_attribute("data-depth", "2")
    expect(own_line(reader_page, deeper.pk, "body")).to_have_text(deeper.body)
    expect(own_line(reader_page, sibling.pk, "body")).to_have_text(sibling.body)

    statuses = dict(Comment.objects.values_list("pk", "status"))
    assert statuses[rude.pk] == Comment.Status.REMOVED
    assert statuses[reply.pk] == statuses[deeper.pk] == Comment.Status.APPROVED


@pytest.mark.parametrize("where", WHERE)
def test_removing_with_all_replies_hides_the_whole_thread(
    editor_page, reader_page, article, post, where
):
    keep = post("Stays.", name="Ann")
    top = post("Starts a flame war.", name="Bo")
    reply = post("Joins it.", parent=top, name="Cy")
    deeper = post("Escalates it.", parent=reply, name="Di")
    open_article(reader_page, article)
    expect(comment_el(reader_page, deeper.pk)).to_have_count(1)

    run_action(editor_page, top, "remove_with_replies", where=where)
    expect(success_message(editor_page)).to_have_text("Removed with replies: 3 comments.")

    reader_page.reload()
    for gone in (top, reply, deeper):
        expect(comment_el(reader_page, gone.pk)).to_have_count(0)
        expect(thread(reader_page)).not_to_contain_text(gone.body)
    expect(thread(reader_page)).not_to_contain_text("[removed]")
    expect(own_line(reader_page, keep.pk, "body")).to_have_text(keep.body)
    assert set(
        Comment.objects.filter(pk__in=[top.pk, reply.pk, deeper.pk]).values_list(
            "status", flat=True
        )
    ) == {Comment.Status.REMOVED}


def test_every_link_in_the_comment_list_opens_for_an_editor(editor_page, post):
    reader = User.objects.create_user("cat", password="pw-cat-12345")
    by_account = post("Posted from an account.", user=reader)
    anonymous = post("Posted without one.", name="Ann")
    spam = post("Cheap watches.", name="Spammer")
    page = editor_page
    run_action(page, spam, "mark_spam", where="comment list")
    expect(success_message(page)).to_be_visible()

    dead = {c.body: dead_links(page, row_of(page, c)) for c in (by_account, anonymous, spam)}
    assert {body: links for body, links in dead.items() if links} == {}


def test_history_page_lists_the_moderation_action(editor_page, post):
    comment = post("Something questionable.", name="Ann")
    page = editor_page
    run_action(page, comment, "mark_spam", where="comment list")
    expect(success_message(page)).to_have_text("Marked as spam: 1 comment.")

    page.goto(f"{CHANGELIST}{comment.pk}/history/")
    entry = page.locator("#change-history tbody tr").filter(has_text="Marked as spam")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Marked as spam (status: spam).")
    expect(entry).to_contain_text("edna")


# The admin pages themselves.


def test_admin_pages_an_editor_walks_through_have_no_console_errors_or_csp_violations(
    open_page, editor, article, post, problems
):
    held = post("Held.", name="Bo", status=Comment.Status.PENDING)
    top = post("A thread.", name="Ann")
    post("A reply.", parent=top, name="Cy")
    page = open_page()
    log_in(page, editor)  # the login page and the index
    page.goto(QUEUE)
    row_of(page, held).get_by_role("button", name="Approve").click()
    expect(success_message(page)).to_be_visible()
    run_action(page, top, "remove", where="comment list")
    expect(success_message(page)).to_be_visible()
    run_action(page, top, "restore", where="change form")
    expect(success_message(page)).to_have_text("Restored: 1 comment.")
    page.goto(f"{CHANGELIST}{top.pk}/history/")
    expect(page.locator("#change-history")).to_be_visible()
    page.goto(f"{CHANGELIST}?status__exact=removed")
    page.goto("/admin/")
    page.wait_for_load_state("networkidle")

    assert problems == [], "\n".join(problems)
