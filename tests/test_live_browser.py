"""Two readers in Chromium: reader A keeps an article open and scrolls down to a comment;
reader B, in a browser of their own, replies to A's comment deep in a thread above it and
starts a new thread. Within the poll interval A sees "2 new comments" (one a reply to
them) on a button; one click shows both in place, without a reload, the reply under A's
comment marked "Reply to you", the new thread last, and the comment A was reading stays
where it was on the screen. A hidden tab does not poll; without JavaScript nothing polls
and nothing changes.
"""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from comments.models import Comment
from tests.support.browser import browser_fixture, open_page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PASSWORD = "pw-reader-a-123"
POLL = 1  # seconds: COMMENTS_LIVE_POLL_SECONDS for these tests
TEXT = "Words to read, long enough to take a few lines on the page so that it scrolls. " * 3


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.COMMENTS_LIVE_POLL_SECONDS = POLL


@pytest.fixture
def discussion(article, post):
    """Eight threads; in the second, three levels down, a comment by A's account."""
    reader = User.objects.create_user("reader-a", password=PASSWORD)
    threads = [post(f"Thread {n}. {TEXT}", name=f"R{n}") for n in range(8)]
    parent = threads[1]
    for depth in range(2):
        parent = post(f"Reply at depth {depth + 1}. {TEXT}", name=f"D{depth}", parent=parent)
    mine = post(f"A's own comment. {TEXT}", user=reader, parent=parent)
    return reader, threads, mine


def signed_in(open_page, user):
    page = open_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def top_of(page, pk):
    return page.evaluate(
        f"document.querySelector('#comment-{pk} > details > summary').getBoundingClientRect().top"
    )


def test_a_reader_sees_new_comments_and_shows_them_in_place_without_losing_their_place(
    open_page, article, discussion
):
    reader, threads, mine = discussion
    a = signed_in(open_page, reader)
    problems = []
    a.on("console", lambda message: message.type == "error" and problems.append(message.text))
    a.on("pageerror", lambda error: problems.append(str(error)))
    a.goto(article.get_absolute_url())
    a.evaluate("window.notReloaded = true")
    # The browser's own scroll anchoring off (Safari has none): live.js keeps the place itself.
    a.evaluate("document.documentElement.style.overflowAnchor = 'none'")
    reading = threads[5]
    a.evaluate(
        f"window.scrollTo({{top: document.getElementById('comment-{reading.pk}')"
        ".getBoundingClientRect().top + window.scrollY - 120, behavior: 'instant'})"
    )
    before = top_of(a, reading.pk)
    button = a.locator("#new-comments")
    expect(button).to_be_hidden()

    b = open_page()
    b.goto(article.get_absolute_url())
    b.locator(f"#comment-{mine.pk}").get_by_role("link", name="Reply to reader-a").click()
    slot = b.locator(f"#reply-{mine.pk}")
    slot.get_by_label("Name").fill("Bea")
    slot.get_by_label("Your comment").fill("A reply deep in the thread, to A.")
    slot.get_by_role("button", name="Post reply").click()
    expect(b.locator(f"#replies-{mine.pk} > .comment")).to_have_count(1)
    form = b.locator("#comment-form form")
    form.get_by_label("Name").fill("Bea")
    form.get_by_label("Your comment").fill("A new thread from B.")
    form.get_by_role("button", name="Post comment").click()
    expect(b.locator("#thread > .comment")).to_have_count(9)
    reply = Comment.objects.get(body="A reply deep in the thread, to A.")
    thread = Comment.objects.get(body="A new thread from B.")
    posted = timezone.now()

    expect(button).to_be_visible(timeout=(3 * POLL + 5) * 1000)
    expect(button.locator(".label")).to_have_text("2 new comments")
    expect(button.locator(".replies")).to_have_text("1 reply to you")
    expect(a.locator(".new-comments-bar")).to_have_attribute("role", "status")
    assert (timezone.now() - posted).total_seconds() < 30  # the bound, with room
    assert abs(top_of(a, reading.pk) - before) < 1  # nothing moved before the click

    button.click()
    shown = a.locator(f"#replies-{mine.pk} > #comment-{reply.pk}")
    expect(shown).to_be_visible()
    expect(shown).to_have_class("comment is-new reply-to-you")
    expect(shown.locator(":scope > details > summary .badge.reply-to-you")).to_have_text(
        "Reply to you"
    )
    expect(a.locator("#thread > .comment").last).to_have_id(f"comment-{thread.pk}")
    expect(a.locator(f"#comment-{thread.pk}")).to_have_class("comment is-new")
    expect(a.locator(f"#comment-{thread.pk} .number")).to_have_text("9.")
    expect(a.locator("#response-count")).to_have_text("13 responses")
    expect(button).to_be_hidden()
    assert abs(top_of(a, reading.pk) - before) < 1  # the reply went in above: compensated
    assert a.evaluate("window.notReloaded") is True
    # The new comments work like the others: Reply opens its form in place (htmx).
    a.locator(f"#comment-{thread.pk}").get_by_role("link", name="Reply to Bea").click()
    expect(a.locator(f"#reply-{thread.pk} form")).to_be_visible()
    assert problems == []


def test_the_key_helper_can_show_them_and_a_later_comment_is_offered_again(
    open_page, article, discussion, post
):
    _, threads, _ = discussion
    a = open_page()
    a.goto(article.get_absolute_url())
    first = post("One more thread.", name="Cal")
    expect(a.locator("#new-comments .label")).to_have_text(
        "1 new comment", timeout=(3 * POLL + 5) * 1000
    )
    a.evaluate("document.getElementById('new-comments').click()")  # what a shortcut key does
    expect(a.locator(f"#thread > #comment-{first.pk}")).to_be_visible()
    second = post("An answer to it.", name="Dan", parent=first)
    expect(a.locator("#new-comments .label")).to_have_text(
        "1 new comment", timeout=(3 * POLL + 5) * 1000
    )
    a.locator("#new-comments").click()
    expect(a.locator(f"#replies-{first.pk} > #comment-{second.pk}")).to_be_visible()
    expect(a.locator(f"#comment-{second.pk}")).to_be_focused()  # the button had the focus


def test_new_comments_go_where_the_readers_order_puts_them(open_page, article, discussion, post):
    _, threads, _ = discussion
    a = open_page()
    a.goto(f"{article.get_absolute_url()}?order=newest")
    reply = post("The newest answer to the first thread.", name="Fay", parent=threads[0])
    thread = post("The newest thread.", name="Gus")
    a.locator("#new-comments").click(timeout=(3 * POLL + 5) * 1000)
    expect(a.locator("#thread > .comment").first).to_have_id(f"comment-{thread.pk}")
    expect(a.locator(f"#replies-{threads[0].pk} > .comment").first).to_have_id(
        f"comment-{reply.pk}"
    )


def test_a_new_thread_that_belongs_on_a_later_page_is_not_offered(
    open_page, article, discussion, post, settings
):
    _, threads, _ = discussion
    settings.COMMENTS_PAGE_THREADS = 3  # the oldest first: new threads go on the last page
    a = open_page()
    a.goto(article.get_absolute_url())
    expect(a.locator("#load-more")).to_be_visible()
    post("A thread for the last page.", name="Hap")
    reply = post("An answer on this page.", name="Ivy", parent=threads[0])
    expect(a.locator("#new-comments .label")).to_have_text(
        "1 new comment", timeout=(3 * POLL + 5) * 1000
    )
    a.locator("#new-comments").click()
    expect(a.locator(f"#replies-{threads[0].pk} > #comment-{reply.pk}")).to_be_visible()
    expect(a.locator("#thread > .comment")).to_have_count(3)


def test_a_hidden_tab_does_not_poll_and_asks_again_once_shown(open_page, article, discussion):
    a = open_page()
    a.add_init_script(
        "window.tabHidden = true; Object.defineProperty(document, 'visibilityState', "
        "{get: () => window.tabHidden ? 'hidden' : 'visible'});"
    )
    polls = []
    a.on("request", lambda request: "/comments/new/" in request.url and polls.append(request.url))
    a.goto(article.get_absolute_url())
    a.wait_for_timeout(3 * POLL * 1000)
    assert polls == []
    a.evaluate("window.tabHidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    a.wait_for_timeout(3 * POLL * 1000)
    assert polls


def test_without_javascript_nothing_polls_and_nothing_changes(open_page, article, discussion, post):
    a = open_page(js=False)
    polls = []
    a.on("request", lambda request: "/comments/new/" in request.url and polls.append(request.url))
    a.goto(article.get_absolute_url())
    post("Posted while A reads.", name="Eve")
    a.wait_for_timeout(3 * POLL * 1000)
    assert polls == []
    expect(a.locator("#new-comments")).to_be_hidden()
    expect(a.locator("#thread > .comment")).to_have_count(8)
