"""Votes at the same moment, over live HTTP on PostgreSQL, add up exactly.

Fifty readers, each signed in to an account of their own (tests/support/http.py: cookie jar,
CSRF token from the page), vote on one comment at once: fifty vote rows, fifty up votes,
every answer a 303. One account voting up and down from two browsers at the same moment keeps
one vote row, and the comment's counts are that row's. A vote locks only its comment's row,
so these serialize on it and nothing is lost or counted twice.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User

from comments.models import Comment, Vote
from comments.services import comment_create
from comments.votes import miscounted
from tests.support.http import CSRF_FIELD, Reader

pytestmark = pytest.mark.postgres

VOTERS = 50
ROUNDS = 10


@pytest.fixture(autouse=True)
def _fast_accounts(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.COMMENTS_VOTE_RATE_LIMIT = "off"  # every reader here comes from 127.0.0.1


def signed_in(server_url, article, username) -> Reader:
    """A reader signed in through the log-in form, holding the CSRF token issued after."""
    reader = Reader(server_url, article, timeout=60)
    page = reader.get("/accounts/login/")
    reader.csrf_token = CSRF_FIELD.search(page.text)[1]
    answer = reader.submit("/accounts/login/", {"username": username, "password": "pw-12345"})
    assert answer.status == 302, answer
    reader.csrf_token = ""
    assert reader.read_page().status == 200
    return reader


def all_at_once(jobs):
    """Run the callables together (released by one barrier); their results."""
    start = threading.Barrier(len(jobs))

    def run(job):
        start.wait(timeout=60)
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [future.result(timeout=120) for future in [pool.submit(run, j) for j in jobs]]


def test_fifty_readers_voting_at_once_give_fifty_votes(live_server, transactional_db, article):
    comment = comment_create(article=article, body="Vote on me.", author_name="Ann")
    for i in range(VOTERS):
        User.objects.create_user(f"reader{i}", password="pw-12345")
    readers = [signed_in(live_server.url, article, f"reader{i}") for i in range(VOTERS)]
    url = f"/comments/{comment.pk}/vote/"
    answers = all_at_once([lambda r=r: r.submit(url, {"value": "1"}) for r in readers])
    assert sorted(str(answer) for answer in answers) == ["303"] * VOTERS
    assert Vote.objects.filter(comment=comment, value=1).count() == VOTERS
    fresh = Comment.objects.get(pk=comment.pk)
    assert (fresh.upvotes, fresh.downvotes, fresh.score) == (VOTERS, 0, VOTERS)
    assert miscounted() == []


def test_one_account_voting_twice_at_once_keeps_one_vote(live_server, transactional_db, article):
    comment = comment_create(article=article, body="Vote on me.", author_name="Ann")
    User.objects.create_user("twice", password="pw-12345")
    first, second = (signed_in(live_server.url, article, "twice") for _ in range(2))
    url = f"/comments/{comment.pk}/vote/"
    for _ in range(ROUNDS):
        answers = all_at_once(
            [lambda: first.submit(url, {"value": "1"}), lambda: second.submit(url, {"value": "-1"})]
        )
        assert [str(answer) for answer in answers] == ["303", "303"]
        rows = list(Vote.objects.filter(comment=comment).values_list("value", flat=True))
        assert len(rows) == 1
        fresh = Comment.objects.get(pk=comment.pk)
        assert (fresh.upvotes, fresh.downvotes) == ((1, 0) if rows[0] == 1 else (0, 1))
    assert miscounted() == []
