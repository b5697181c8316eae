"""Reply figures: ``comments.services.comment_create`` latency, and concurrent writers.

Replies are measured in the largest thread of the written articles (those of 10,000
comments or more; with smaller sizes only, the largest article), each figure after a
VACUUM as autovacuum would leave the table. The concurrent writers are then checked with
``comments.integrity.find_broken_threads``.
"""

import logging
import random
import threading
import time

from django.db import connection, reset_queries
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from bench.harness import Config, fmt_ms, largest_thread, log, p50, percentile, timed, vacuum
from comments.integrity import find_broken_threads
from comments.locks import ThreadBusy
from comments.models import Comment
from comments.services import comment_create

WHERE = ("early", "end", "random")


def written_sizes(sizes) -> list[int]:
    """The articles that take replies: those of 10,000 comments or more, else the largest."""
    return [size for size in sizes if size >= 10_000] or [max(sizes)]


def reply_parents(article, root: Comment, where: str, count: int) -> list[int]:
    """``early``: the first leaves of the thread of ``root`` in page order (every row after
    them is renumbered); ``end``: its last comment, again and again (the reply becomes the
    thread's last row); ``random``: random comments of the article, as readers reply."""
    if where == "early":
        leaves = list(
            Comment.objects.filter(tree_id=root.tree_id, rght=F("lft") + 1)
            .order_by("lft")
            .values_list("pk", flat=True)[:count]
        )
        return (leaves * (count // max(len(leaves), 1) + 1))[:count]  # a small thread repeats
    if where == "end":
        last = Comment.objects.filter(tree_id=root.tree_id).order_by("-lft").first()
        return [last.pk] * count
    pks = list(Comment.objects.filter(article=article).values_list("pk", flat=True))
    rng = random.Random(article.pk)
    if len(pks) >= count:
        return rng.sample(pks, count)
    return [rng.choice(pks) for _ in range(count)]


def measure_replies(article, root: Comment, where: str, replies: int) -> dict:
    """``replies`` timed calls of ``comment_create`` (``where`` as in ``reply_parents``),
    after one untimed reply whose SQL statements are kept."""
    vacuum()
    size = Comment.objects.filter(tree_id=root.tree_id).count()
    pending = iter(reply_parents(article, root, where, replies + 1))
    counter = iter(range(10**6))

    def post():
        comment_create(
            article=article,
            body=f"A *reply*, measured ({next(counter)}).",
            parent_id=next(pending),
            author_name="Bench",
        )

    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        post()
    statements = [query["sql"] for query in queries.captured_queries]  # read it now
    samples = timed(post, replies)
    log(
        f"replies {where} ({size:,}-comment thread): p50 {fmt_ms(p50(samples.wall))} ms, "
        f"p99 {fmt_ms(percentile(samples.wall, 0.99))} ms, CPU p50 {fmt_ms(p50(samples.cpu))} ms"
    )
    return {"samples": samples, "queries": len(statements), "thread": size}


class CountingHandler(logging.Handler):
    """Counts the records of a logger (the lock-timeout retries of ``comments.locks``)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        self.count += 1


def concurrent_writers(article, root: Comment, config: Config) -> dict:
    """``config.writers`` threads, each with its own database connection, post replies to
    random comments of one thread for ``config.writers_seconds``; then the thread is checked
    and its rows counted."""
    parents = list(Comment.objects.filter(tree_id=root.tree_id).values_list("pk", flat=True))
    before = len(parents)
    latencies, busy, failures, lock = [], [0], [], threading.Lock()
    started = [0.0]
    barrier = threading.Barrier(
        config.writers, action=lambda: started.__setitem__(0, time.monotonic())
    )

    def writer(number: int) -> None:
        rng, n = random.Random(number), 0
        try:
            barrier.wait()
            while time.monotonic() < started[0] + config.writers_seconds:
                start = time.perf_counter()
                try:
                    comment_create(
                        article=article,
                        body=f"Reply {n} from writer {number}.",
                        parent_id=rng.choice(parents),
                        author_name=f"Writer {number}",
                    )
                except ThreadBusy:
                    with lock:
                        busy[0] += 1
                    continue
                n += 1
                with lock:
                    latencies.append(time.perf_counter() - start)
        except Exception as error:  # noqa: BLE001 (reported in the table, never hidden)
            with lock:
                failures.append(repr(error))
        finally:
            connection.close()

    retries, locks_log = CountingHandler(), logging.getLogger("comments.locks")
    locks_log.addHandler(retries)
    locks_log.propagate = False  # the lock-timeout retries are counted, not printed
    try:
        pool = [threading.Thread(target=writer, args=(n,)) for n in range(config.writers)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        locks_log.removeHandler(retries)
        locks_log.propagate = True
    seconds = time.monotonic() - started[0]
    after = Comment.objects.filter(tree_id=root.tree_id).count()
    problems = find_broken_threads(Comment.objects.filter(tree_id=root.tree_id))
    row = {
        "writers": config.writers,
        "seconds": config.writers_seconds,
        "thread": before,
        "replies": len(latencies),
        "rate": len(latencies) / seconds,
        "p50": p50(latencies) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "busy": busy[0],
        "retries": retries.count,
        "failures": failures,
        "intact": problems == [] and after == before + len(latencies),
    }
    log(
        f"{config.writers} writers in a thread of {before:,}: {row['rate']:.0f} replies/s, "
        f"tree intact: {row['intact']}, {row['retries']} lock timeouts retried, "
        f"{row['busy']} gave up, failures: {failures or 'none'}"
    )
    return row


def measure(articles: dict, config: Config) -> dict:
    """Reply figures for each written article, by size."""
    writes = {}
    for size in written_sizes(articles):
        article = articles[size]
        root = largest_thread(article)
        writes[size] = {
            where: measure_replies(article, root, where, config.replies) for where in WHERE
        }
        vacuum()
        writes[size]["concurrent"] = concurrent_writers(article, root, config)
    vacuum()  # the renumberings left dead rows behind
    return writes
