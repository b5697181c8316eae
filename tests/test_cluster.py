"""The cluster of ``make cluster`` survives the loss of any one of its parts (issue #15).

Against the running topology (HAProxy, two gunicorn app servers, a PostgreSQL primary and
its streaming replica, Redis, a task worker, a mail sink), over live HTTP:

- An app server killed (SIGKILL, master and workers) during a load of reads and posts
  leaves HAProxy's rotation within seconds; every read is answered 200; every post answered
  with a success (303) is stored exactly once, and no post is stored twice; running the
  script of ``make cluster`` again brings the server back into rotation.
- The replica stopped: ``/healthz`` still answers 200 and says the replica is unreachable;
  pages keep coming, now from the primary (a reader sees another's post at once), with no
  5xx answer; started again, it catches up and ``/healthz`` says so.
- Redis restarted (empty): pages keep being served and posts stored, and the app servers
  use Redis again once it is back.
- The worker killed in the middle of sending queued mail: a worker started afterwards sends
  every message, each exactly once.
- A ``pg_dump`` of the primary restores into a fresh database whose comment trees are sound
  (``check_comment_trees``) and whose row counts match: the restore docs/deploy.md describes.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.error import HTTPError

import redis

from deploy.cluster import postgres
from tests.support.cluster import ROOT, cluster_fixture  # noqa: F401 (``cluster``)
from tests.support.http import Reader
from tests.support.mail import wait_until

TABLES = ("articles_article", "comments_comment", "auth_user", "core_outboxmessage")


@dataclass
class Load:
    """Readers reading the article page and posting, each in a thread, for a bounded time;
    ``reads`` and ``posts`` are (time, status) and (time, status, body), in any order."""

    url: str
    article: object
    readers: int = 3
    reads: list = field(default_factory=list)
    posts: list = field(default_factory=list)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def run(self, seconds: float, *, during=None, at: float = 1.5) -> None:
        stop_at = time.monotonic() + seconds
        threads = [
            threading.Thread(target=self._reader, args=(n, stop_at)) for n in range(self.readers)
        ]
        for thread in threads:
            thread.start()
        try:
            if during:
                time.sleep(at)
                during()
        finally:
            for thread in threads:
                thread.join(timeout=seconds + 60)

    def _reader(self, number: int, stop_at: float) -> None:
        reader = Reader(self.url, self.article, name=f"Loader {number}", timeout=15)
        count = 0
        while time.monotonic() < stop_at:
            page = reader.read_page()
            self.reads.append((time.monotonic(), page.status))
            if reader.csrf_token:
                count += 1
                body = f"Cluster load {self.tag} reader {number} post {count}."
                self.posts.append((time.monotonic(), reader.post(body).status, body))

    def stored(self, body: str, cluster) -> int:
        [(count,)] = cluster.sql("SELECT count(*) FROM comments_comment WHERE body = %s", (body,))
        return count


def run_script(cluster, action: str) -> subprocess.CompletedProcess:
    env = {"CLUSTER_DIR": str(cluster.layout.run_dir), "CLUSTER_PORT": str(cluster.layout.port)}
    return subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-m", "deploy.cluster", action],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_killed_app_server_leaves_rotation_and_every_accepted_post_is_stored_once(cluster):
    assert cluster.server_states() == {"app1": "UP", "app2": "UP"}
    load, killed = Load(cluster.url, cluster.article()), {}

    def kill_app1():
        cluster.kill_app(1)
        killed["at"] = time.monotonic()
        killed["down"] = cluster.wait_for_state("app1", "DOWN", timeout=10)
        killed["down_at"] = time.monotonic()

    load.run(8, during=kill_app1)
    assert killed["down"], "HAProxy kept sending to the dead server"
    assert Counter(status for _, status in load.reads) == Counter({200: len(load.reads)})
    posts = Counter(status for _, status, _ in load.posts)
    assert posts[303] > 10 and set(posts) <= {303, 502}, posts
    # Only posts in flight on the dead server can fail; once it is out, every post succeeds.
    assert posts[502] <= load.readers
    assert all(status == 303 for at, status, _ in load.posts if at > killed["down_at"])
    for _, status, body in load.posts:
        stored = load.stored(body, cluster)
        assert stored == 1 if status == 303 else stored <= 1, (status, body, stored)

    again = run_script(cluster, "start")  # what `make cluster` runs: starts what is down
    assert again.returncode == 0, again.stderr
    assert cluster.wait_for_state("app1", "UP", timeout=15)
    assert Reader(cluster.app_urls[0], cluster.article()).read_page().status == 200


def health(cluster) -> tuple[int, dict]:
    """HAProxy's answer to ``GET /healthz``: its status and JSON; it sets no cookie."""
    try:
        response = urllib.request.urlopen(cluster.url + "/healthz", timeout=15)  # noqa: S310
    except HTTPError as error:
        response = error
    with response:
        assert response.headers.get("Set-Cookie") is None
        return response.status, json.load(response)


def test_with_the_replica_stopped_pages_come_from_the_primary_without_errors(cluster):
    article = cluster.article()
    status, answer = health(cluster)
    assert (status, answer["database"], answer["replica"], answer["cache"]) == (
        200,
        "ok",
        "ok",
        "ok",
    )
    cluster.stop_replica()
    try:
        status, answer = health(cluster)
        assert (status, answer["database"], answer["replica"]) == (200, "ok", "unreachable")
        load = Load(cluster.url, article, readers=2)
        load.run(4)
        statuses = Counter(s for _, s in load.reads) + Counter(s for _, s, _ in load.posts)
        assert set(statuses) == {200, 303}, statuses
        # Another reader, who never posted, sees the latest post at once: from the primary.
        newest, other = max(load.posts)[2], Reader(cluster.url, article)
        assert newest in other.get(other.page_url + "?order=newest").text
    finally:
        cluster.start_replica()
    cluster.replayed()
    [(on_replica,)] = cluster.sql(
        "SELECT count(*) FROM comments_comment WHERE body = %s", (newest,), on="replica"
    )
    assert on_replica == 1
    assert health(cluster)[1]["replica"] == "ok"


def test_pages_and_posts_go_on_while_redis_restarts(cluster):
    load = Load(cluster.url, cluster.article(), readers=2)
    load.run(6, during=cluster.restart_redis, at=2)
    assert Counter(s for _, s in load.reads) == Counter({200: len(load.reads)})
    assert Counter(s for _, s, _ in load.posts) == Counter({303: len(load.posts)})
    for _, _, body in load.posts:
        assert load.stored(body, cluster) == 1

    def redis_in_use() -> bool:
        Reader(cluster.url, cluster.article()).read_page()
        return redis.Redis(port=cluster.layout.redis_port, socket_timeout=2).dbsize() > 0

    assert wait_until(redis_in_use, timeout=20), "the app servers never used Redis again"


def test_a_killed_worker_still_sends_queued_mail_once(cluster):
    tag = uuid.uuid4().hex[:12]
    cluster.pause_mail()
    try:
        queued = cluster.manage(
            "shell",
            "-c",
            "from django.core.mail import send_mail\n"
            f"for n in range(5): send_mail('Cluster {tag} ' + str(n), 'Hello.', None, "
            "['ann@example.org'])",
        )
        assert queued.returncode == 0, queued.stderr

        def sending() -> bool:
            [(count,)] = cluster.sql(
                "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'"
            )
            return count > 0

        assert wait_until(sending, timeout=20), "the worker never took the mail"
        cluster.kill_worker()  # while the mail sink holds its message unanswered
    finally:
        cluster.resume_mail()
    rows = f"FROM core_outboxmessage WHERE subject LIKE 'Cluster {tag} %%'"
    assert cluster.sql(f"SELECT count(*) {rows} AND state = 'sent'") == [(0,)]  # noqa: S608
    cluster.start_worker()

    def all_sent() -> bool:
        return cluster.sql(f"SELECT count(*) {rows} AND state = 'sent'") == [(5,)]  # noqa: S608

    assert wait_until(all_sent, timeout=60), cluster.sql(f"SELECT state, attempts {rows}")  # noqa: S608
    time.sleep(1)  # time enough for a second copy to arrive, if one were sent
    ids = {message_id for (message_id,) in cluster.sql(f"SELECT message_id {rows}")}  # noqa: S608
    delivered = Counter(m["Message-ID"] for m in cluster.delivered_mail())
    assert {message_id: delivered[message_id] for message_id in ids} == dict.fromkeys(ids, 1)


def test_a_pg_dump_of_the_primary_restores_into_a_sound_database(cluster, tmp_path):
    dump, port = tmp_path / "threadline.dump", str(cluster.layout.primary_port)
    tools = postgres.bin_dir()
    connection = ["-h", "127.0.0.1", "-p", port, "-U", "postgres"]
    subprocess.run(  # noqa: S603 (PostgreSQL's own tools, loopback)
        [tools / "pg_dump", *connection, "-Fc", "-f", dump, postgres.DATABASE], check=True
    )
    postgres.query(cluster.layout.primary_port, "DROP DATABASE IF EXISTS threadline_restored")
    postgres.query(cluster.layout.primary_port, "CREATE DATABASE threadline_restored")
    subprocess.run(  # noqa: S603
        [tools / "pg_restore", *connection, "--no-owner", "-d", "threadline_restored", dump],
        check=True,
    )
    restored = postgres.dsn(cluster.layout.primary_port, "threadline_restored")
    checked = cluster.manage("check_comment_trees", DATABASE_URL=restored, DATABASE_REPLICA_URL="")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for table in TABLES:
        count = f"SELECT count(*) FROM {table}"  # noqa: S608 (fixed names)
        original = cluster.sql(count)
        copy = postgres.query(cluster.layout.primary_port, count, database="threadline_restored")
        assert copy == original, table
