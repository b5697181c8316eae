"""Faults: the database restarts under load; an app worker is killed in the middle of posts.

The app runs as in production, gunicorn processes on the test database
(tests/support/servers.py), and readers talk to it over HTTP from threads of this process
(tests/support/http.py).

* PostgreSQL restarts while readers post and read pages. What is asked during the outage
  fails with a 500 or 503 or a dropped connection, never a false success. Once the database
  accepts connections again, every request succeeds at once, from the same gunicorn
  processes: each worker checks its kept connection before using it (CONN_HEALTH_CHECKS).
  Every post answered with a 303 is in the database.
* A gunicorn worker is killed with SIGKILL, four times, at a moment its database session holds
  the lock of the thread that eight readers are replying into. gunicorn forks a new worker;
  each comment is stored whole or not at all, every post answered with a 303 is stored under
  the parent it named, and the tree checker finds nothing wrong.
* Two moments that the loads above hit only now and then are made certain here, in this
  process, by ending the test's own database session: after a post is committed but before
  the reader's session is saved (the answer must be a 500, not a 400), and right after a
  commit, before the on-commit hooks run, as when a worker dies there (the comment must show
  on the article page, not a page cached before it).

Restarting needs root and ``pg_ctlcluster`` on the machine that runs the test database's
cluster (CI runs as root); where that cannot be done, the test skips with the reason, or
fails under THREADLINE_REQUIRE_ALL. The restart cuts every session on the cluster, other
databases' too, and takes a few seconds.
"""

import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.urls import reverse

from comments import ownership
from comments.integrity import find_broken_threads
from comments.locks import THREAD_LOCK
from comments.models import Comment
from comments.services import comment_create
from tests.support.http import Answer, Reader
from tests.support.servers import app_servers

pytestmark = pytest.mark.postgres

TIME_LIMIT = 120  # seconds, for each test's load
REPLY_SHARE = 0.5
RESTART_READERS = 6
POSTS_BEFORE_RESTART = 20
REQUESTS_AFTER_RESTART = 10  # by each reader, once the database is back
KILL_READERS = 8
KILLS = 4
POSTS_BETWEEN_KILLS = 10
MAX_REQUESTS_EACH = 1000
FAILED = {500, 503, None}  # None: the connection was refused or dropped
# Kept connections as in production, the cache in each process (no Redis needed); errors
# only in the log (a traceback for each request that fails while PostgreSQL is down).
SERVER_SETTINGS = {"CONN_MAX_AGE": 60, "REDIS_URL": "", "LOG_LEVEL": "ERROR"}
DROPPED = {"RemoteDisconnected", "ConnectionResetError", "BrokenPipeError", "IncompleteRead"}


@dataclass(frozen=True)
class Exchange:
    """One request a reader made, and what came back."""

    reader: int
    body: str  # empty for a page view
    parent: int | None
    started: float
    finished: float
    answer: Answer

    @property
    def ok(self) -> bool:
        return self.answer.status == (303 if self.body else 200)


class Load:
    """What the readers did, and the comments they saw land (to reply to)."""

    def __init__(self, parents=()):
        self.lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self.landed: list[int] = list(parents)
        self.stop = threading.Event()
        self.deadline = time.monotonic() + TIME_LIMIT

    def record(self, exchange: Exchange) -> Exchange:
        with self.lock:
            self.exchanges.append(exchange)
            if exchange.body and exchange.ok:
                self.landed.append(exchange.answer.comment_id)
        return exchange

    def pick_parent(self, rng, share) -> int | None:
        with self.lock:
            return rng.choice(self.landed) if self.landed and rng.random() < share else None

    def posts(self) -> list[Exchange]:
        with self.lock:
            return [exchange for exchange in self.exchanges if exchange.body]

    def wait_until(self, done: Callable[[], bool], what: str) -> None:
        while not done():
            assert time.monotonic() < self.deadline, f"out of time waiting for {what}"
            time.sleep(0.05)

    def read_page(self, number: int, reader: Reader) -> Exchange:
        started = time.monotonic()
        answer = reader.read_page()
        return self.record(Exchange(number, "", None, started, time.monotonic(), answer))

    def post(self, number: int, reader: Reader, body: str, parent: int | None) -> Exchange:
        started = time.monotonic()
        answer = reader.post(body, parent)
        return self.record(Exchange(number, body, parent, started, time.monotonic(), answer))

    def run(self, number: int, reader: Reader, *, pages: bool, reply_share: float) -> None:
        """One reader's requests until told to stop: posts (between page views if
        ``pages``), each a reply with the chance ``reply_share``, else a top-level comment."""
        rng = random.Random(number)
        for i in range(MAX_REQUESTS_EACH):
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return
            if not reader.csrf_token or (pages and i % 2 == 0):
                self.read_page(number, reader)
            else:
                parent = self.pick_parent(rng, reply_share)
                self.post(number, reader, f"Reader {number}, post {i}.", parent)


def _run_readers(load: Load, readers, main: Callable[[], None], **kwargs) -> None:
    """Run the readers in threads while ``main`` runs here; stop them when it returns."""
    with ThreadPoolExecutor(max_workers=len(readers)) as pool:
        running = [
            pool.submit(load.run, number, reader, **kwargs) for number, reader in enumerate(readers)
        ]
        try:
            main()
        finally:
            load.stop.set()
        for reader in running:
            reader.result(timeout=60)


def _assert_every_answered_post_is_stored(load: Load, article) -> dict[str, Comment]:
    """Each 303 names a stored comment with that body and the parent that was named;
    nothing is stored twice or unasked; the trees are sound. Returns the comments by body."""
    comments = list(Comment.objects.filter(article=article))
    assert [body for body, n in Counter(c.body for c in comments).items() if n > 1] == []
    stored = {comment.body: comment for comment in comments}
    sent = {exchange.body: exchange for exchange in load.posts()}
    landed = {body: exchange for body, exchange in sent.items() if exchange.ok}
    assert [body for body in landed if body not in stored] == []
    assert {body: stored[body].pk for body in landed} == {
        body: exchange.answer.comment_id for body, exchange in landed.items()
    }
    by_readers = {body: comment for body, comment in stored.items() if body in sent}
    assert {body: comment.parent_id for body, comment in by_readers.items()} == {
        body: sent[body].parent for body in by_readers
    }
    assert find_broken_threads() == []
    return by_readers


# (a) PostgreSQL restarts.


def _cannot(reason: str):
    if os.environ.get("THREADLINE_REQUIRE_ALL"):
        pytest.fail(f"CI must test this: {reason}", pytrace=False)
    pytest.skip(reason)


def _cluster_on(port: int) -> list[str] | None:
    """``[version, name]`` of the local PostgreSQL cluster listening on ``port``."""
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"],  # noqa: S607 (postgresql-common, found on PATH)
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    for line in listing.stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == str(port):
            return [version, name]
    return None


@pytest.fixture
def restart_postgres(transactional_db):
    """A function that restarts the PostgreSQL cluster holding the test database, waits until
    it accepts connections and returns that moment (``time.monotonic()``)."""
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)
    if host not in {"127.0.0.1", "localhost", "::1"} and not host.startswith("/"):
        _cannot(f"the test database is on {host}; only a local cluster can be restarted")
    if not (shutil.which("pg_ctlcluster") and shutil.which("pg_isready")):
        _cannot("restarting PostgreSQL needs pg_ctlcluster and pg_isready (postgresql-common)")
    if os.geteuid() != 0:
        _cannot("restarting PostgreSQL with pg_ctlcluster needs root")
    cluster = _cluster_on(port)
    if cluster is None:
        _cannot(f"no cluster in pg_lsclusters listens on port {port}")

    def restart() -> float:
        try:
            subprocess.run(  # noqa: S603
                ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart"],  # noqa: S607
                check=True,
                capture_output=True,
                timeout=120,
            )
            deadline = time.monotonic() + 60
            while subprocess.call(["pg_isready", "-q", "-h", host, "-p", str(port)]):  # noqa: S603, S607
                assert time.monotonic() < deadline, "PostgreSQL did not come back within 60 s"
                time.sleep(0.1)
            return time.monotonic()
        finally:
            # This process's own session died with the server: reconnect on next use (the
            # flush after a transactional_db test too).
            connections.close_all()

    yield restart
    connections.close_all()


def test_app_serves_again_after_postgres_restarts_and_keeps_every_answered_post(
    restart_postgres, article
):
    busy_settings = {"workers": 2, "threads": 4, **SERVER_SETTINGS}
    # One worker thread, so one kept connection, which nothing uses during the restart: the
    # first request after it finds that connection dead, unless it is checked first.
    idle_settings = {**busy_settings, "workers": 1, "threads": 1}
    with app_servers(**busy_settings) as (busy,), app_servers(**idle_settings) as (idle,):
        workers = busy.wait_for_workers(2) | idle.wait_for_workers(1)
        readers = [Reader(busy.url, article) for _ in range(RESTART_READERS)]
        load = Load()
        idle_reader, idle_number = Reader(idle.url, article), RESTART_READERS
        assert load.read_page(idle_number, idle_reader).ok
        assert load.post(idle_number, idle_reader, "Before the restart.", None).ok
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_postmaster_start_time()")
            (started_before,) = cursor.fetchone()
        moments = {}

        def restart_in_the_middle():
            load.wait_until(lambda: len(load.landed) >= POSTS_BEFORE_RESTART, "posts")
            moments["down"] = time.monotonic()
            moments["up"] = restart_postgres()

            def everyone_read_and_posted_since():
                with load.lock:
                    since = Counter(e.reader for e in load.exchanges if e.started > moments["up"])
                return min(since[n] for n in range(RESTART_READERS)) >= REQUESTS_AFTER_RESTART

            load.wait_until(everyone_read_and_posted_since, "requests after the restart")

        _run_readers(load, readers, restart_in_the_middle, pages=True, reply_share=REPLY_SHARE)
        first_page = load.read_page(idle_number, idle_reader)
        first_post = load.post(idle_number, idle_reader, "After the restart.", None)

        # Nothing was restarted but PostgreSQL: the same masters and workers served throughout.
        assert busy.process.poll() is None and idle.process.poll() is None
        assert busy.worker_pids() | idle.worker_pids() == workers

    assert (str(first_page.answer), str(first_post.answer)) == ("200", "303")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_postmaster_start_time()")
        (started_after,) = cursor.fetchone()
    assert started_after > started_before

    down, up = moments["down"], moments["up"]
    before = [e for e in load.exchanges if e.finished < down]
    during = [e for e in load.exchanges if e.finished >= down and e.started <= up]
    after = [e for e in load.exchanges if e.started > up]
    assert [(str(e.answer), e.answer.title) for e in before if not e.ok] == []
    failed = [e.answer for e in during if not e.ok]
    assert failed, "no request failed: the restart did not happen during the load"
    assert [(str(a), a.title) for a in failed if a.status not in FAILED] == []
    assert [answer for answer in failed if answer.error == "timeout"] == []
    assert [(e.body, str(e.answer), e.answer.title) for e in after if not e.ok] == []
    assert {bool(e.body) for e in after} == {True, False}  # pages and posts

    _assert_every_answered_post_is_stored(load, article)


def _end_this_database_session() -> None:
    """Have PostgreSQL end this thread's session, as a restart would; the next query fails."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        other.close()


def test_post_stored_just_before_the_database_goes_away_is_answered_500(
    transactional_db, client, article, monkeypatch
):
    """A moment of the restart above that the load hits only now and then: the comment is
    stored, then the database goes away before the session (holding the author's token for
    the comment) is saved. The answer must be a server error, not "bad request"."""
    client.raise_request_exception = False
    url = reverse("comment_post", args=[article.slug])
    assert client.post(url, {"body": "First.", "author_name": "Ann"}).status_code == 303
    # Called once the comment is committed; the session is saved after the view returns.
    remember = ownership.remember

    def remember_then_lose_the_database(request, comment):
        remember(request, comment)
        _end_this_database_session()

    monkeypatch.setattr(ownership, "remember", remember_then_lose_the_database)
    try:
        response = client.post(url, {"body": "Second.", "author_name": "Ann"})
    finally:
        connections.close_all()
    assert Comment.objects.filter(body="Second.").exists()
    assert response.status_code == 500


def test_comment_stored_just_before_the_process_dies_shows_on_the_cached_page(
    transactional_db, client, article
):
    """What a worker killed right after its COMMIT leaves behind (the test below does that
    now and then): the comment is stored, so readers must see it, not a page cached before
    it. Here the database session ends right after the commit, before the hooks after it."""
    comment_create(article=article, body="Cached before.", author_name="Ann")
    assert "Cached before." in client.get(article.get_absolute_url()).text
    try:
        with transaction.atomic():
            transaction.on_commit(_end_this_database_session)  # the first hook to run
            comment_create(article=article, body="Stored, then the worker died.", author_name="Bo")
    except DatabaseError:
        pass  # a later hook's error, if it is not swallowed: the commit is done
    finally:
        connections.close_all()
    assert Comment.objects.filter(body="Stored, then the worker died.").exists()
    assert "Stored, then the worker died." in client.get(article.get_absolute_url()).text


# (b) A worker is killed mid-write.


def _sockets_of(pid: int) -> set[str]:
    links = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return links
    for fd in fds:
        try:
            links.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue  # closed while we looked
    return links


def _process_using_port(pids, local_port: int) -> int | None:
    """Which of ``pids`` holds the TCP socket bound to ``local_port`` here."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        if inodes & _sockets_of(pid):
            return pid
    return None


def _worker_writing_to(server, tree_id: int, *, timeout: float = 5) -> int | None:
    """The worker whose database session holds the lock of thread ``tree_id`` right now
    (found from its TCP port in pg_stat_activity), or None if none was seen to."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s"
                " AND l.objid = %s AND l.objsubid = 2 AND a.datname = current_database()",
                [THREAD_LOCK, tree_id],
            )
            ports = [port for (port,) in cursor.fetchall() if port and port > 0]
        for port in ports:
            pid = _process_using_port(server.worker_pids(), port)
            if pid is not None:
                return pid
        time.sleep(0.002)
    return None


def test_worker_killed_mid_post_leaves_each_comment_whole_or_absent(transactional_db, article):
    top = comment_create(article=article, body="Where the replies go.", author_name="Host")
    with app_servers(workers=2, threads=4, **SERVER_SETTINGS) as (server,):
        server.wait_for_workers(2)
        readers = [Reader(server.url, article) for _ in range(KILL_READERS)]
        load = Load(parents=[top.pk])
        killed = []

        def kill_workers_while_they_write():
            for _ in range(KILLS):
                enough = len(load.landed) + POSTS_BETWEEN_KILLS
                load.wait_until(lambda enough=enough: len(load.landed) >= enough, "posts")
                victim = _worker_writing_to(server, top.tree_id)
                assert victim, "no worker was seen holding the thread's lock"
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
                server.wait_for_workers(2, not_among=killed)
            enough = len(load.landed) + POSTS_BETWEEN_KILLS
            load.wait_until(lambda: len(load.landed) >= enough, "posts after the last kill")

        _run_readers(load, readers, kill_workers_while_they_write, pages=False, reply_share=1)
        assert server.process.poll() is None
        assert len(killed) == KILLS

    answers = Counter(str(e.answer) for e in load.posts())
    assert answers.keys() <= {"303", *DROPPED}, answers
    assert answers["303"] < sum(answers.values()), "no post was cut off by the kills"

    comments = _assert_every_answered_post_is_stored(load, article)
    top.refresh_from_db()
    assert top.rght == top.lft + 1 + 2 * len(comments)
    incomplete = [
        comment.pk
        for comment in comments.values()
        if comment.body not in comment.body_html or not comment.lft < comment.rght
    ]
    assert incomplete == []
