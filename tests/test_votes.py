"""Readers vote up or down: one vote per account per comment, changeable and withdrawable,
never on their own comments, on comments not shown, on closed articles or while banned;
readers without an account only when COMMENTS_ANONYMOUS_VOTES is on. With and without
JavaScript, CSRF-protected, rate-limited, never by a GET. A vote does not empty the cached
page for everyone, and the voter sees their own vote at once.
"""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from articles.models import Article
from comments import services, votes
from comments.locks import lock_thread
from comments.models import Ban, Comment, Vote


@pytest.fixture
def reader(client, db):
    user = User.objects.create_user("voter", password="pw-voter-123")
    client.force_login(user)
    return user


def vote(client, comment, value, **headers):
    return client.post(f"/comments/{comment.pk}/vote/", {"value": value}, **headers)


def counts(comment):
    fresh = Comment.objects.get(pk=comment.pk)
    return fresh.upvotes, fresh.downvotes, fresh.score


def test_a_reader_votes_up_changes_to_down_and_withdraws(client, reader, post, article):
    comment = post("Worth reading.")
    answer = vote(client, comment, "1")
    assert answer.status_code == 303
    assert answer["Location"] == f"{article.get_absolute_url()}#comment-{comment.pk}"
    assert counts(comment) == (1, 0, 1)
    vote(client, comment, "-1")
    assert counts(comment) == (0, 1, -1)
    assert Vote.objects.filter(comment=comment).count() == 1
    vote(client, comment, "0")
    assert counts(comment) == (0, 0, 0)
    assert not Vote.objects.filter(comment=comment).exists()


def test_one_vote_per_account_per_comment_is_a_database_rule(reader, post):
    comment = post("Hello.")
    Vote.objects.create(comment=comment, user=reader, value=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(comment=comment, user=reader, value=-1)


def test_a_reader_cannot_vote_on_their_own_comment(client, reader, post, article):
    mine = post("My words.", user=reader)
    answer = vote(client, mine, "1", follow=True)
    assert "You cannot vote on your own comment." in answer.content.decode()
    assert counts(mine) == (0, 0, 0)


@pytest.mark.parametrize("status", ["pending", "removed", "spam"])
def test_comments_not_shown_cannot_be_voted_on(client, reader, post, status):
    comment = post("Held.")
    Comment.objects.filter(pk=comment.pk).update(status=status)
    answer = vote(client, comment, "1", HTTP_HX_REQUEST="true")
    assert answer.status_code == 403
    assert answer.content.decode() == "This comment cannot be voted on."
    assert counts(comment) == (0, 0, 0)


def test_a_deleted_comment_cannot_be_voted_on(client, reader, post):
    comment = post("Gone soon.")
    Comment.objects.filter(pk=comment.pk).update(deleted_at=timezone.now())
    assert vote(client, comment, "1", HTTP_HX_REQUEST="true").status_code == 403
    assert not Vote.objects.exists()


def test_no_votes_on_a_closed_article(client, reader, post, article):
    comment = post("Before closing.")
    Article.objects.filter(pk=article.pk).update(comments_open=False)
    answer = vote(client, comment, "1", HTTP_HX_REQUEST="true")
    assert answer.content.decode() == "Voting is closed on this article."
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'aria-label="Upvote"' not in page  # the score stays, the buttons go
    assert 'class="score"' in page


def test_a_banned_account_cannot_vote(client, reader, post):
    comment = post("Hello.")
    Ban.objects.create(user=reader, reason="Trolling")
    answer = vote(client, comment, "1", HTTP_HX_REQUEST="true")
    assert answer.status_code == 403
    assert "banned" in answer.content.decode()
    assert not Vote.objects.exists()


def test_a_ban_stops_votes_while_it_lasts(client, reader, post):
    comment = post("Hello.")
    ban = Ban.objects.create(user=reader, until=timezone.now() + timedelta(days=1))
    assert vote(client, comment, "1", HTTP_HX_REQUEST="true").status_code == 403
    Ban.objects.filter(pk=ban.pk).update(until=timezone.now() - timedelta(seconds=1))
    assert vote(client, comment, "1", HTTP_HX_REQUEST="true").status_code == 200
    assert counts(comment) == (1, 0, 1)


def test_a_ban_on_someone_else_does_not_stop_a_vote(client, reader, post):
    comment = post("Hello.")
    Ban.objects.create(email="troll@example.org")
    assert vote(client, comment, "1", HTTP_HX_REQUEST="true").status_code == 200
    assert counts(comment) == (1, 0, 1)


def test_a_reader_without_an_account_is_asked_to_log_in(client, post, article):
    comment = post("Hello.")
    answer = vote(client, comment, "1")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/?next=")
    htmx = vote(client, comment, "1", HTTP_HX_REQUEST="true")
    assert (htmx.status_code, htmx.content.decode()) == (403, "Log in to vote.")
    assert not Vote.objects.exists()


def test_anonymous_votes_when_on_count_once_per_cookie_and_per_address(post, settings):
    settings.COMMENTS_ANONYMOUS_VOTES = True
    comment = post("Hello.")
    first = Client(REMOTE_ADDR="198.51.100.7")
    assert vote(first, comment, "1").status_code == 303
    assert "voter" in first.cookies
    vote(first, comment, "1")  # the same browser again: still one vote
    assert counts(comment) == (1, 0, 1)
    same_address = Client(REMOTE_ADDR="198.51.100.7")  # another browser, same address
    vote(same_address, comment, "-1")
    assert Vote.objects.count() == 1
    assert counts(comment) == (0, 1, -1)
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    vote(elsewhere, comment, "-1")
    assert counts(comment) == (0, 2, -2)


def test_an_anonymous_author_cannot_vote_on_what_they_wrote(client, article, settings):
    settings.COMMENTS_ANONYMOUS_VOTES = True
    client.post(f"/articles/{article.slug}/comments/", {"body": "Mine.", "author_name": "Ann"})
    mine = Comment.objects.get()
    vote(client, mine, "1")
    assert counts(mine) == (0, 0, 0)


def test_a_vote_is_never_changed_by_a_get(client, reader, post):
    comment = post("Hello.")
    assert client.get(f"/comments/{comment.pk}/vote/?value=1").status_code == 405
    assert not Vote.objects.exists()


def test_a_vote_without_the_csrf_token_is_refused(reader, post):
    comment = post("Hello.")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reader)
    assert vote(strict, comment, "1").status_code == 403
    assert not Vote.objects.exists()


@pytest.mark.parametrize("value", ["2", "up", "", "1.0"])
def test_a_value_other_than_1_minus_1_or_0_is_refused_in_words(client, reader, post, value):
    comment = post("Hello.")
    answer = vote(client, comment, value, HTTP_HX_REQUEST="true")
    assert answer.status_code == 400
    assert "A vote is 1 (up), -1 (down) or 0 (withdraw)." in answer.content.decode()


def test_votes_are_rate_limited(client, reader, post, settings):
    settings.COMMENTS_VOTE_RATE_LIMIT = "2/m"
    comments = [post(f"Comment {i}.") for i in range(3)]
    assert [vote(client, c, "1", HTTP_HX_REQUEST="true").status_code for c in comments] == [
        200,
        200,
        429,
    ]
    assert Vote.objects.count() == 2


def test_with_htmx_the_controls_come_back_with_the_readers_vote_pressed(client, reader, post):
    comment = post("Hello.")
    html = vote(client, comment, "1", HTTP_HX_REQUEST="true").content.decode()
    assert html.startswith(f'<span class="votes" id="votes-{comment.pk}">')
    up = html[html.index("<button") : html.index('aria-label="Upvote"')]
    assert 'aria-pressed="true"' in up and 'value="0"' in up  # pressing again withdraws
    assert ">1<" in html  # the score


def test_buttons_have_names_and_the_voters_own_vote_shows_at_once(client, reader, post, article):
    comment = post("Hello.")
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'aria-label="Upvote"' in page and 'aria-label="Downvote"' in page
    assert 'aria-pressed="true"' not in page
    vote(client, comment, "-1")
    page = client.get(article.get_absolute_url()).content.decode()
    down = page[page.index(f'id="votes-{comment.pk}"') :]
    down = down[: down.index('aria-label="Downvote"')]
    assert down.count('aria-pressed="true"') == 1


def test_the_voters_page_is_not_a_stale_304_after_voting(client, reader, post, article):
    comment = post("Hello.")
    first = client.get(article.get_absolute_url())
    vote(client, comment, "1")
    again = client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200


class Clock:
    """A stand-in for ``time`` in comments.votes, so refresh slots are not left to chance."""

    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now


def test_a_vote_does_not_empty_the_cached_page_and_shows_within_the_refresh(
    post, article, settings, django_assert_num_queries, monkeypatch
):
    settings.COMMENTS_SCORE_REFRESH_SECONDS = 10
    clock = Clock(1_000_000.0)
    monkeypatch.setattr(votes, "time", clock)
    comment = post("Hello.")
    anonymous = Client()
    anonymous.get(article.get_absolute_url())  # drawn and cached
    for name in ("v", "w"):
        voter = votes.Voter(user=User.objects.create_user(name))
        votes.comment_vote(comment_pk=comment.pk, voter=voter, value=1)
        votes.stamp(comment.article_id)  # what the commit runs (this test's transaction stays open)
        clock.now += 1
        page = anonymous.get(article.get_absolute_url()).content.decode()
    # The first vote of the slot drew the page again, the second did not: still one vote.
    assert 'title="1 up, 0 down">1<' in page
    with django_assert_num_queries(1):  # the article: the discussion still comes cached
        anonymous.get(article.get_absolute_url())
    clock.now += 10  # the slot of the votes has ended (and a second more)
    page = anonymous.get(article.get_absolute_url()).content.decode()
    assert 'title="2 up, 0 down">2<' in page


@pytest.mark.postgres
def test_a_vote_does_not_wait_for_the_threads_lock(post, transactional_db):
    """A reply being written holds its thread's lock; a vote in that thread goes through."""
    comment = post("Hello.")
    voter = User.objects.create_user("v")
    held, release = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                lock_thread(comment.tree_id)
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        votes.comment_vote(comment_pk=comment.pk, voter=votes.Voter(user=voter), value=1)
        assert counts(comment) == (1, 0, 1)
    finally:
        release.set()
        thread.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")


def test_deleting_an_account_takes_its_votes_out_of_the_counts(post, transactional_db):
    comment = post("Hello.")
    voter = User.objects.create_user("v")
    votes.comment_vote(comment_pk=comment.pk, voter=votes.Voter(user=voter), value=1)
    voter.delete()
    assert counts(comment) == (0, 0, 0)
    assert votes.miscounted() == []


def test_pinning_from_the_page_is_for_editors_only(client, reader, post, article):
    comment = post("Hello.")
    assert client.post(f"/comments/{comment.pk}/pin/", {"pinned": "1"}).status_code == 403
    editor = User.objects.create_superuser("ed", password="pw-ed-12345")
    client.force_login(editor)
    page = client.get(article.get_absolute_url()).content.decode()
    assert ">Pin</button>" in page
    answer = client.post(f"/comments/{comment.pk}/pin/", {"pinned": "1"})
    assert answer.status_code == 303
    assert Comment.objects.get(pk=comment.pk).pinned
    reply = post("A reply.", parent=comment)
    refused = client.post(f"/comments/{reply.pk}/pin/", {"pinned": "1"}, follow=True)
    assert "Only a top-level comment can be pinned." in refused.content.decode()
    services.comment_pin(comment=comment, pinned=False)


@pytest.mark.parametrize(
    "url, data",
    [
        ("/comments/99999999999999999999/vote/", {"value": "1"}),
        ("/comments/{pk}/vote/", {"value": "1", "next": "/articles/x/\r\nSet-Cookie: a=1"}),
        ("/comments/{pk}/vote/", {"value": "1", "next": "//evil.example/"}),
        ("/comments/{pk}/vote/", {"value": "1", "next": "https://evil.example/"}),
        ("/comments/{pk}/vote/", {"value": "\x00"}),
        ("/comments/{pk}/thread/?order=best&start=999999999999999999", None),
        ("/comments/{pk}/thread/?order=oldest&after=999999999999999999", None),
        ("/articles/clash-looming/?order=best&after=999999999999999999", None),
        ("/articles/clash-looming/?order=%00", None),
        ("/comments/99999999999999999999/pin/", {"pinned": "1"}),
    ],
)
def test_hostile_vote_and_order_input_gets_a_clear_answer_never_a_500(
    client, reader, post, article, url, data
):
    comment = post("Hello.")
    url = url.format(pk=comment.pk)
    client.raise_request_exception = False
    answer = client.post(url, data) if data is not None else client.get(url)
    assert answer.status_code in (200, 303, 400, 403, 404)
    location = answer.get("Location", "")
    assert "evil.example" not in location and "\n" not in location
    assert Vote.objects.filter(comment=comment).count() <= 1
