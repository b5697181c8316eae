"""Reading from a lagging replica never costs a reader their own change, never takes a
reader back in time, and never leaves an old page in the cache under a newer version.

Against the running cluster (tests/support/cluster.py): HAProxy in front of two app servers
that read pages from a streaming replica (core/reads.py). Replay is held back on purpose,
with ``pg_wal_replay_pause()``, or with ``recovery_min_apply_delay`` where it must outlast a
restart of the replica:

- while replay is paused, a poster sees their own post on every page, through either app
  server; another reader sees it only once the replica has it, and then at once;
- the shared page cache (Redis) never holds a page drawn from the paused replica under the
  version the primary has: after replay resumes, readers get the new comment on their next
  page, and the live poll offers it;
- a reader who was shown a page drawn from the primary (the replica was down) is not shown
  an older one when the replica comes back behind;
- under readers and posters at once, with replay paused, no reader's page ever lacks a
  comment an earlier page of theirs showed.
"""

import re
import threading
import time
from contextlib import contextmanager

import pytest

from tests.support.cluster import cluster_fixture  # noqa: F401 (the ``cluster`` fixture)
from tests.support.http import Reader

pytestmark = pytest.mark.postgres

COMMENT_ID = re.compile(r'<article class="comment[^"]*" id="comment-(\d+)"')
VERSION = re.compile(r'data-version="(\d+)"')


def shown(answer) -> set[int]:
    assert answer.status == 200, (answer.status, answer.error, answer.text[:300])
    return {int(pk) for pk in COMMENT_ID.findall(answer.text)}


@contextmanager
def replay_paused(cluster):
    cluster.sql("SELECT pg_wal_replay_pause()", on="replica")
    try:
        yield
    finally:
        cluster.sql("SELECT pg_wal_replay_resume()", on="replica")
    cluster.replayed()


def posted(answer) -> int:
    assert answer.status == 303, (answer.status, answer.error, answer.text[:300])
    return answer.comment_id


def test_a_poster_sees_their_post_at_once_and_others_once_the_replica_has_it(cluster):
    cluster.replayed()
    article = cluster.article()
    poster, other = Reader(cluster.url, article, name="Ann"), Reader(cluster.url, article)
    before = shown(other.read_page())
    shown(poster.read_page())
    with replay_paused(cluster):
        pk = posted(poster.post("Posted while the replica is paused."))
        for _ in range(6):  # HAProxy alternates the two app servers
            assert pk in shown(poster.read_page())
            assert shown(other.read_page()) == before
        for app_url in cluster.app_urls:  # each app server on its own, too
            assert pk in shown(poster.get(app_url + article.get_absolute_url()))
    assert pk in shown(other.read_page())


def test_no_page_from_the_paused_replica_is_cached_under_the_primarys_version(cluster):
    cluster.replayed()
    article = cluster.article()
    poster, reader = Reader(cluster.url, article, name="Bo"), Reader(cluster.url, article)
    first = reader.read_page()
    version, floor = int(VERSION.search(first.text)[1]), max(shown(first))
    shown(poster.read_page())
    with replay_paused(cluster):
        pk = posted(poster.post("Cached pages must not hide me."))
        assert pk in shown(poster.read_page())  # drawn from the primary, at the new version
        for _ in range(4):  # every reader without a newer page reads the paused replica
            assert pk not in shown(Reader(cluster.url, article).read_page())
    # Replayed: the next page of every reader shows it (nothing older was kept under the
    # new version), and the live poll of a page drawn before it offers it.
    assert pk in shown(reader.read_page())
    assert pk in shown(Reader(cluster.url, article).read_page())
    poll = reader.get(f"/articles/{article.slug}/comments/new/?since={version}&after={floor}")
    assert poll.status == 200 and f"[{pk}," in poll.text


def test_a_reader_shown_the_primary_is_not_shown_an_older_page_when_the_replica_returns(
    cluster,
):
    cluster.replayed()
    article = cluster.article()
    poster, reader = Reader(cluster.url, article, name="Cy"), Reader(cluster.url, article)
    shown(poster.read_page())
    shown(reader.read_page())
    # Replay held back in a way that outlasts a restart of the replica.
    cluster.sql("ALTER SYSTEM SET recovery_min_apply_delay = '1h'", on="replica")
    cluster.sql("SELECT pg_reload_conf()", on="replica")
    try:
        pk = posted(poster.post("Written while the replica holds back."))
        assert pk not in shown(reader.read_page())  # from the replica, behind
        cluster.stop_replica()
        deadline = time.monotonic() + 15
        while pk not in (page := shown(reader.read_page())):  # from the primary now
            assert time.monotonic() < deadline, "pages never came from the primary"
        assert pk in page
        cluster.start_replica(streaming=False)  # back, and still behind
        assert cluster.sql("SELECT pg_is_in_recovery()", on="replica") == [(True,)]
        assert not cluster.sql("SELECT 1 FROM comments_comment WHERE id = %s", [pk], on="replica")
        for _ in range(10):  # both app servers, each trying the replica again
            assert pk in shown(reader.read_page())
            time.sleep(0.3)
    finally:
        cluster.sql("ALTER SYSTEM RESET recovery_min_apply_delay", on="replica")
        cluster.sql("SELECT pg_reload_conf()", on="replica")
    cluster.replayed()
    assert pk in shown(Reader(cluster.url, article).read_page())


def test_no_reader_goes_back_in_time_under_load_while_replay_is_paused(cluster):
    cluster.replayed()
    article = cluster.article()
    readers = [Reader(cluster.url, article, name=f"R{i}") for i in range(6)]
    for reader in readers:
        shown(reader.read_page())
    went_back, errors, stop = [], [], threading.Event()

    def read_and_post(reader, posts):
        seen: set[int] = set()
        n = 0
        while not stop.is_set():
            if posts and n % 3 == 0:
                answer = reader.post(f"{reader.name} says {n}.")
                if answer.status != 303:
                    errors.append((answer.status, answer.error))
            answer = reader.read_page()
            if answer.status != 200:
                errors.append((answer.status, answer.error))
                continue
            page = shown(answer)
            if not seen <= page:
                went_back.append((reader.name, sorted(seen - page)))
            seen = page
            n += 1

    threads = [
        threading.Thread(target=read_and_post, args=(reader, i < 3))
        for i, reader in enumerate(readers)
    ]
    with replay_paused(cluster):
        for thread in threads:
            thread.start()
        time.sleep(8)
    time.sleep(3)  # and on, after replay resumed
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert went_back == []
