"""A Redis outage breaks nothing and costs little: the cache is an optimisation.

The app runs as in production, gunicorn on the test database (tests/support/servers.py),
with ``REDIS_URL`` pointing at a redis-server this test starts for itself on a free port.
Readers talk to it over HTTP (tests/support/http.py). For each way Redis can fail:

* stopped (the process ends: connections are refused),
* hanging (the process is frozen with SIGSTOP: connections are accepted, nothing answers),
* full (``maxmemory`` reached under ``noeviction``: every write is refused),

the article page answers 200, rendered uncached and showing the latest comment, a post
answers 303 and is stored, and so does a vote, all of it within two seconds: each connect or
command waits at most ``REDIS_SOCKET_TIMEOUT``, and after a failure each process leaves
Redis alone for ``REDIS_RETRY_SECONDS`` instead of waiting on it again for every request.
The rate limit fails in the direction ``COMMENTS_RATE_LIMIT_FAIL_OPEN`` names: open by
default (the post goes through), closed when it is off (429, nothing stored). Sessions are
not in the cache: an anonymous poster keeps their edit rights through the outage. Once Redis
is back, the same gunicorn processes use it again without a restart: a page view stores its
cached fragment there, a post its rate-limit counter.
"""

import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest
import redis
from django.contrib.auth.models import User
from django.urls import reverse

from comments.models import Comment
from tests.support.http import Reader
from tests.support.servers import app_servers, free_port

pytestmark = pytest.mark.postgres

PROMPT = 2.0  # seconds: the most an outage may cost a few pages and a post, all told
RECOVERY = 15.0  # seconds to wait for the app to use Redis again once it is back
# The defaults, which tests/support/servers.py turns off or may be set in the environment.
SETTINGS = {"COMMENTS_RATE_LIMIT": "5/m", "REDIS_SOCKET_TIMEOUT": "0.5", "REDIS_RETRY_SECONDS": "5"}


class RedisServer:
    """A redis-server of the test's own on 127.0.0.1:port, without persistence."""

    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def start(self):
        self.process = subprocess.Popen(  # noqa: S603 (a fixed command on our own port)
            [
                shutil.which("redis-server"),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"redis-server exited ({self.process.returncode})"
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def stop(self):
        """End the process (SIGKILL also ends a frozen one) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.client.connection_pool.disconnect()

    @contextmanager
    def frozen(self):
        """Redis accepts connections and never answers, until the block ends."""
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)
            # Once this answers, Redis has run what waited for it, such as writes the app
            # had given up on.
            self.client.ping()

    @contextmanager
    def full(self):
        """Redis answers reads and refuses every write, until the block ends."""
        self.client.config_set("maxmemory-policy", "noeviction")
        self.client.config_set("maxmemory", 1)
        try:
            yield
        finally:
            self.client.config_set("maxmemory", 0)

    def keys(self, pattern) -> list[bytes]:
        return self.client.keys(f"threadline:*{pattern}*")


@pytest.fixture
def redis_server(tmp_path):
    if not shutil.which("redis-server"):
        if os.environ.get("THREADLINE_REQUIRE_ALL"):
            pytest.fail("redis-server is needed on PATH")
        pytest.skip("needs redis-server on PATH")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@contextmanager
def outage(server, kind):
    if kind == "stopped":
        server.stop()
        yield
        server.start()  # empty, on the same port
    elif kind == "hanging":
        with server.frozen():
            yield
    else:
        with server.full():
            yield


def timed(call, *args):
    started = time.monotonic()
    answer = call(*args)
    return answer, time.monotonic() - started


def wait_for_keys(server, pattern, action):
    """Repeat ``action`` (a page view or a post) until Redis holds a key matching
    ``pattern``; the app's pause after an error ends by itself."""
    deadline = time.monotonic() + RECOVERY
    while time.monotonic() < deadline:
        answer = action()
        assert answer.status in {200, 303}, (answer, answer.title)
        if server.keys(pattern):
            return
        time.sleep(0.2)
    raise AssertionError(f"no {pattern!r} key in Redis {RECOVERY} s after it came back")


def comments_of(article):
    comments = Comment.objects.filter(article=article).order_by("pk")
    return list(comments.values_list("body", flat=True))


def readers(app, article):
    """A visitor, who reads (nothing personal on the page: its discussion is cached), and a
    poster, whose own comments make the page personal, and so rendered for them."""
    visitor = Reader(app.url, article, timeout=30)
    poster = Reader(app.url, article, name="Poster", timeout=30)
    assert visitor.read_page().status == 200
    assert poster.read_page().status == 200
    return visitor, poster


@pytest.mark.parametrize("kind", ["stopped", "hanging", "full"])
def test_pages_and_posts_work_through_a_redis_outage(transactional_db, article, redis_server, kind):
    with app_servers(workers=1, threads=4, REDIS_URL=redis_server.url, **SETTINGS) as [app]:
        visitor, poster = readers(app, article)
        before = poster.post("Before the outage.")
        assert before.status == 303
        assert visitor.read_page().status == 200
        voter = Reader(app.url, article, timeout=30)
        voter.sign_in(User.objects.create_user("voter"))
        assert voter.read_page().status == 200
        assert redis_server.keys("template.cache"), "the page was not cached in Redis"
        assert redis_server.keys("rate:ip:"), "the post was not counted in Redis"

        with outage(redis_server, kind):
            started = time.monotonic()
            first = visitor.read_page()
            posted = poster.post(f"During the outage ({kind}).")
            pages = [visitor.read_page() for _ in range(5)]
            own = poster.read_page()
            voted = voter.submit(f"/comments/{before.comment_id}/vote/", {"value": "1"})
            seconds = time.monotonic() - started

        assert first.status == 200, (first, first.title)
        assert "Before the outage." in first.text
        assert posted.status == 303, (posted, posted.title)
        assert [page.status for page in pages] == [200] * 5
        # The vote limit fails open as the post limit does: the vote counts.
        assert voted.status == 303, (voted, voted.title)
        assert Comment.objects.get(pk=before.comment_id).upvotes == 1
        assert all(f"During the outage ({kind})." in page.text for page in pages)
        # Sessions are not in the cache: the poster may still edit their comment.
        assert reverse("comment_edit", args=[before.comment_id]) in own.text
        # Nine requests, and no waiting on Redis for each: after one timeout, it is left
        # alone for a while.
        assert seconds < PROMPT
        assert comments_of(article) == ["Before the outage.", f"During the outage ({kind})."]

        redis_server.client.flushdb()
        wait_for_keys(redis_server, "template.cache", visitor.read_page)
        assert poster.post("After the outage.").status == 303
        assert redis_server.keys("rate:ip:")


def test_rate_limit_fails_closed_when_told_to(transactional_db, article, redis_server):
    with app_servers(
        workers=1,
        threads=4,
        REDIS_URL=redis_server.url,
        COMMENTS_RATE_LIMIT_FAIL_OPEN="0",
        **SETTINGS,
    ) as [app]:
        visitor, poster = readers(app, article)
        assert poster.post("Before the outage.").status == 303

        with outage(redis_server, "stopped"):
            page = visitor.read_page()
            assert page.status == 200, (page, page.title)
            refused, seconds = timed(poster.post, "During the outage.")
            assert refused.status == 429, (refused, refused.title)
            assert seconds < PROMPT

        assert comments_of(article) == ["Before the outage."]
        wait_for_keys(redis_server, "template.cache", visitor.read_page)
        assert poster.post("After the outage.").status == 303
        assert comments_of(article) == ["Before the outage.", "After the outage."]
