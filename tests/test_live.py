"""A reader who keeps an article open learns of new comments by a cheap conditional poll.

While the discussion is unchanged the poll answers 304 from the cache with no database
query, for anonymous readers, guests with a session and accounts alike; after a change
only the first open page's poll reads the database, the others share its answer, and
readers with nothing of their own share one drawing of the new comments. Once a comment is
posted or approved (committed), the next poll lists it; held, spam and removed comments of
others never; the comments' elements come drawn for the reader, with the button's words,
and replies to the reader's own comments (by account or by the session that posted them)
are marked. With Redis down the poll answers from the database, correctly; a slow writer
that stores an older version in the cache never hides a newer write; a malformed query is a
400 in words, not a 500.
"""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from comments import live
from comments.models import Comment
from comments.services import comments_moderate

OLD = timedelta(hours=1)


@pytest.fixture
def discussion(article, post):
    """Two threads posted an hour ago (long settled), one with a reply."""
    first = post("The first response.", name="Ann")
    second = post("The second response.", name="Bob")
    reply = post("A reply to the first.", name="Cy", parent=first)
    Comment.objects.filter(article=article).update(created_at=timezone.now() - OLD)
    return first, second, reply


class Page:
    """An article page as live.js sees it: its poll URL, its version, its comment ids."""

    def __init__(self, client, article):
        response = client.get(article.get_absolute_url())
        assert response.status_code == 200
        html = response.content.decode()
        hook = re.search(r'<script src="[^"]*live[^"]*\.js"[^>]*>', html)
        assert hook is not None, "the page carries no live hook"
        self.client = client
        self.url = re.search(r'data-url="([^"]+)"', hook[0])[1]
        self.version = int(re.search(r'data-version="(\d+)"', hook[0])[1])
        self.ids = {int(pk) for pk in re.findall(r'id="comment-(\d+)"', html)}
        self.after = None

    def start(self):
        """The page's first call: it learns the floor."""
        response = self.client.get(
            self.url, {"since": self.version, "top": max(self.ids, default=0)}
        )
        assert response.status_code == 200
        self.learn(response)
        return response

    def poll(self):
        return self.client.get(
            self.url,
            {"since": self.version, "after": self.after},
            HTTP_IF_NONE_MATCH=f'"{self.version}"',
        )

    def learn(self, response) -> set[int]:
        """What live.js does with a 200: the new ids, those not on the page already."""
        answer = json.loads(response.content)
        self.version, self.after = answer["version"], answer["after"]
        new = {pk for pk, _ in answer["comments"]} - self.ids
        self.ids |= new
        return new

    def show(self, ids):
        return self.client.get(self.url, {"show": ",".join(str(pk) for pk in sorted(ids))})


def committed(django_capture_on_commit_callbacks):
    """Run what a write does after its commit (the tests run inside a transaction)."""
    return django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def guest_client(client, article):
    """A reader without an account who has posted (their session owns the comment)."""
    response = client.post(
        reverse("comment_post", args=[article.slug]),
        {"body": "My own comment.", "author_name": "Gail"},
    )
    assert response.status_code == 303
    return client


@pytest.mark.parametrize("who", ["anonymous", "guest", "account"])
def test_an_unchanged_discussion_answers_304_without_a_database_query(
    client, article, discussion, who, django_assert_num_queries
):
    if who == "guest":
        client.post(
            reverse("comment_post", args=[article.slug]), {"body": "Mine.", "author_name": "Gail"}
        )
    elif who == "account":
        client.force_login(User.objects.create_user("reader"))
    page = Page(client, article)
    page.start()
    with django_assert_num_queries(0):
        response = page.poll()
    assert response.status_code == 304
    assert response["ETag"] == f'"{page.version}"'
    assert response["Cache-Control"] == "private, no-cache"


def test_the_first_call_of_a_page_is_answered_from_the_cache_too(
    client, article, discussion, django_assert_num_queries
):
    Page(client, article).start()  # another reader's page put the floor in the cache
    page = Page(client, article)
    with django_assert_num_queries(0):
        page.start()
    assert page.after == max(page.ids)


def test_a_new_thread_and_a_deep_reply_are_listed_once_committed(
    client, article, discussion, post, django_capture_on_commit_callbacks
):
    _, _, reply = discussion
    page = Page(client, article)
    page.start()
    with committed(django_capture_on_commit_callbacks):
        deep = post("Deep in the thread.", name="Dee", parent=reply)
        thread = post("A new thread.", name="Eve")
    response = page.poll()
    assert response.status_code == 200
    assert page.learn(response) == {deep.pk, thread.pk}
    shown = page.show([deep.pk, thread.pk])
    html = shown.content.decode()
    assert 'data-label="2 new comments"' in html
    assert f'<template data-pk="{deep.pk}" data-parent="{reply.pk}">' in html
    assert f'<template data-pk="{thread.pk}" data-parent="">' in html
    assert html.index("Deep in the thread.") < html.index("A new thread.")  # page order
    assert 'data-responses="5 responses"' in html
    assert 'class="number">3.</span>' in html  # the new thread keeps its place in the numbering
    assert page.poll().status_code == 304  # the page is up to date again


def test_after_a_change_only_the_first_open_page_costs_queries(
    article, discussion, post, django_capture_on_commit_callbacks, django_assert_num_queries
):
    first, second = Page(Client(), article), Page(Client(), article)
    first.start()
    second.start()
    with committed(django_capture_on_commit_callbacks):
        new = post("A new thread.", name="Eve")
    assert first.learn(first.poll()) == {new.pk}
    with django_assert_num_queries(0):
        response = second.poll()
    assert second.learn(response) == {new.pk}


def test_readers_with_nothing_of_their_own_share_one_drawing_of_the_new_comments(
    article, discussion, post, django_assert_num_queries, guest_client
):
    new = post("A reply to Gail.", name="Eve", parent=Comment.objects.get(author_name="Gail"))
    url = reverse("comments_new", args=[article.slug])
    drawn = Client().get(url, {"show": new.pk}).content
    with django_assert_num_queries(1):  # the article: the drawing comes from the cache
        assert Client().get(url, {"show": new.pk}).content == drawn
    assert b"data-reply-to-you" not in drawn
    assert b"data-reply-to-you" in guest_client.get(url, {"show": new.pk}).content  # Gail's own


def test_a_comment_approved_after_the_page_was_drawn_counts_as_new(
    client, article, discussion, post, django_capture_on_commit_callbacks
):
    held = post("Held for moderation.", name="Hal", status=Comment.Status.PENDING)
    later = post("Published after the held one.", name="Ida")
    Comment.objects.filter(pk__in=[held.pk, later.pk]).update(created_at=timezone.now() - OLD)
    page = Page(client, article)
    assert held.pk not in page.ids and later.pk in page.ids
    page.start()
    with committed(django_capture_on_commit_callbacks):
        comments_moderate(pks=[held.pk], status=Comment.Status.APPROVED)
    assert page.learn(page.poll()) == {held.pk}
    assert 'data-label="1 new comment"' in page.show([held.pk]).content.decode()


def test_held_spam_and_removed_comments_of_others_are_never_listed(
    client, article, discussion, post, django_capture_on_commit_callbacks
):
    page = Page(client, article)
    page.start()
    with committed(django_capture_on_commit_callbacks):
        held = post("Waiting for an editor.", name="Hal", status=Comment.Status.PENDING)
        spam = post("Buy now.", name="Sam")
        gone = post("Soon removed.", name="Rae")
        comments_moderate(pks=[spam.pk], status=Comment.Status.SPAM)
        comments_moderate(pks=[gone.pk], status=Comment.Status.REMOVED)
    response = page.poll()
    assert response.status_code == 200  # the discussion changed ...
    assert page.learn(response) == set()  # ... but nothing a reader may see was added
    drawn = page.show([held.pk, spam.pk, gone.pk]).content.decode()
    for text in ("Waiting for an editor.", "Buy now.", "Soon removed."):
        assert text not in drawn


def test_replies_to_a_readers_own_comment_are_marked_for_them_only(
    guest_client, article, post, django_capture_on_commit_callbacks
):
    own = Comment.objects.get(body="My own comment.")
    other = post("Someone else's.", name="Oz")
    page = Page(guest_client, article)
    page.start()
    with committed(django_capture_on_commit_callbacks):
        to_guest = post("Replying to Gail.", name="Bea", parent=own)
        to_other = post("Replying to Oz.", name="Bea", parent=other)
    new = page.learn(page.poll())
    assert new == {to_guest.pk, to_other.pk}
    html = page.show(new).content.decode()
    assert f'<template data-pk="{to_guest.pk}" data-parent="{own.pk}" data-reply-to-you>' in html
    assert f'<template data-pk="{to_other.pk}" data-parent="{other.pk}">' in html
    assert 'data-replies="1 reply to you"' in html and 'data-badge="Reply to you"' in html
    stranger = Page(Client(), article)
    assert "data-reply-to-you" not in stranger.show(new).content.decode()


def test_replies_to_an_accounts_comment_are_marked_in_any_browser(
    client, article, post, django_capture_on_commit_callbacks
):
    user = User.objects.create_user("una")
    own = post("Una's comment.", user=user)
    client.force_login(user)
    page = Page(client, article)
    page.start()
    with committed(django_capture_on_commit_callbacks):
        reply = post("Replying to Una.", name="Bea", parent=own)
    assert page.learn(page.poll()) == {reply.pk}
    assert "data-reply-to-you" in page.show([reply.pk]).content.decode()


def test_a_late_writer_storing_an_older_version_never_hides_a_newer_write(
    client, article, discussion, post, django_capture_on_commit_callbacks
):
    page = Page(client, article)
    page.start()
    with committed(django_capture_on_commit_callbacks):
        new = post("A new thread.", name="Eve")
    # A writer that committed earlier stores its (older) version after the newer one did.
    cache.set(live.version_key(article.slug), page.version)
    assert page.learn(page.poll()) == {new.pk}


def test_with_redis_down_the_poll_answers_from_the_database(
    client, article, discussion, post, settings, django_capture_on_commit_callbacks
):
    dead = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    settings.REDIS_URL = dead
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "REDIS_CLIENT_CLASS": "config.cache.PausingRedis",
                "IGNORE_EXCEPTIONS": True,
            },
        },
    }
    page = Page(client, article)
    page.start()
    assert page.poll().status_code == 304
    with committed(django_capture_on_commit_callbacks):
        new = post("Posted while Redis is down.", name="Eve")
    assert page.learn(page.poll()) == {new.pk}
    assert 'data-label="1 new comment"' in page.show([new.pk]).content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"since": "abc"},
        {"since": "-1"},
        {"since": "1", "after": "1e3"},
        {"since": "1", "top": "x"},
        {"show": ""},
        {"show": "1,two"},
        {"show": ",".join(["1"] * (live.SHOW_LIMIT + 1))},
        {"show": "9" * 5000},  # past Python's int() digit limit: not a 500
    ],
)
def test_a_malformed_poll_is_a_400_in_words(client, article, query):
    response = client.get(reverse("comments_new", args=[article.slug]), query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert len(response.content.decode()) > 20


def test_an_article_that_is_not_published_has_nothing_to_poll(client, article):
    article.published_at = timezone.now() + timedelta(days=1)
    article.save()
    url = reverse("comments_new", args=[article.slug])
    assert client.get(url, {"since": 0, "top": 0}).status_code == 404
    assert client.get(url, {"show": "1"}).status_code == 404
    assert (
        client.get(reverse("comments_new", args=["no-such-article"]), {"since": 0}).status_code
        == 404
    )


def test_without_the_setting_the_page_has_no_live_hook(client, article, settings):
    settings.COMMENTS_LIVE_POLL_SECONDS = 0
    html = client.get(article.get_absolute_url()).content.decode()
    assert "live.js" not in html and 'id="new-comments"' not in html
