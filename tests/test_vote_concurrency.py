"""Votes at the same moment, over live HTTP on PostgreSQL, add up exactly.

Fifty readers, each signed in to an account of their own (tests/support/http.py: cookie jar,
CSRF token from the page), vote on one comment at once, served by gunicorn as in production
(tests/support/servers.py: 2 workers of 8 threads, each thread its own database connection):
fifty vote rows, fifty up votes, every answer a 303. One account voting up and down from two
browsers at the same moment keeps one vote row, and the comment's counts are that row's. A
vote locks only its comment's row, so these serialize on it: nothing lost, nothing counted
twice.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User

from comments.models import Comment, Vote
from comments.services import comment_create
from comments.votes import miscounted
from tests.support.http import Reader
from tests.support.servers import app_servers

pytestmark = pytest.mark.postgres

VOTERS = 50
ROUNDS = 10


@pytest.fixture
def server(transactional_db):
    # Every reader here comes from 127.0.0.1: the per-address vote limit would refuse most.
    with app_servers(1, workers=2, threads=8, COMMENTS_VOTE_RATE_LIMIT="off") as servers:
        yield servers[0]


def signed_in(server, article, username) -> Reader:
    """A reader signed in to a new account, holding the CSRF token of its page."""
    reader = Reader(server.url, article, timeout=60)
    reader.sign_in(User.objects.create_user(username))
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


def test_fifty_readers_voting_at_once_give_fifty_votes(server, article):
    comment = comment_create(article=article, body="Vote on me.", author_name="Ann")
    readers = [signed_in(server, article, f"reader{i}") for i in range(VOTERS)]
    url = f"/comments/{comment.pk}/vote/"
    answers = all_at_once([lambda r=r: r.submit(url, {"value": "1"}) for r in readers])
    assert sorted(str(answer) for answer in answers) == ["303"] * VOTERS
    assert Vote.objects.filter(comment=comment, value=1).count() == VOTERS
    fresh = Comment.objects.get(pk=comment.pk)
    assert (fresh.upvotes, fresh.downvotes, fresh.score) == (VOTERS, 0, VOTERS)
    assert miscounted() == []


def test_one_account_voting_twice_at_once_keeps_one_vote(server, article):
    comment = comment_create(article=article, body="Vote on me.", author_name="Ann")
    first = signed_in(server, article, "twice")
    second = Reader(server.url, article, timeout=60)  # another browser, the same account
    second.sign_in(User.objects.get(username="twice"))
    assert second.read_page().status == 200
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
