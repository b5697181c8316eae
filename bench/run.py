"""Measure how fast Threadline serves big discussions and takes replies; write BENCHMARKS.md.

Run with ``make bench`` (or ``.venv/bin/python bench/run.py``). It needs PostgreSQL:
``DATABASE_URL`` defaults to ``postgres://postgres@127.0.0.1:5432/threadline_bench``, a
database of its own that the script drops and creates anew at every start, so a rerun
measures the same rows. It refuses the databases that the tests and the app use.
``REDIS_URL`` is ignored: the script clears its cache, so it uses the local-memory one.

What it measures, as the issue asks ("6. make bench"), and prints as one table:

* four articles of 10, 1,000, 10,000 and 100,000 comments in a seeded, realistic shape
  (``bench.forest.realistic_forest``: 20% top-level, replies to random earlier comments,
  12 levels deep at most, bodies of 1-6 sentences), inserted in bulk;
* per article: queries of the first page, its server time (p50/p95) with the cache empty
  and warm, its HTML bytes; the 1,000-comment article also with the whole discussion shown;
* ``comment_create`` latency (p50/p99) for replies early in the largest thread and at its
  end, and replies/s from 8 concurrent writers in one thread (the tree checked after);
* requests/s and p99 from ``wrk`` against the ``make serve`` command (gunicorn, 2 workers,
  DEBUG off) for the 1,000-comment page: cached, uncached, and 304s;
* the ReDoS probes of the security issue through ``render_comment``, and the refusal of a
  100,001-character POST.

Server time is measured in this process through Django's test client with DEBUG off, the
settings of ``make serve``. Speed is measured here, never asserted in tests.
Bounded: about five minutes on two cores.
"""

import cProfile
import datetime
import functools
import html
import http.client
import logging
import math
import os
import pickle
import platform
import pstats
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/threadline_bench"
PROTECTED_DATABASES = {"threadline", "postgres", "template0", "template1"}

# The settings of `make serve` (README, "Deploying"), for this process and for gunicorn.
SERVE_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-key-not-a-secret",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.update(SERVE_ENV)
os.environ.pop("REDIS_URL", None)  # cache.clear() must never empty a shared Redis
os.environ.pop("COMMENTS_CACHE_SECONDS", None)

import dj_database_url  # noqa: E402
import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database, so every run starts from the same empty
    schema; refuse anything but PostgreSQL and the databases that others use."""
    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit(f"bench: DATABASE_URL must point at PostgreSQL, not {config['ENGINE']}.")
    name = config["NAME"]
    if name in PROTECTED_DATABASES or name.startswith("tl_"):
        sys.exit(f"bench: refusing to use the {name!r} database; the script drops it.")
    connection = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            log(f"recreating database {name}")
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


# A finished run is saved here; BENCH_REPORT_ONLY=1 rewrites BENCHMARKS.md from it.
SAVED = Path(tempfile.gettempdir()) / "threadline-bench-results.pickle"
REPORT_ONLY = os.environ.get("BENCH_REPORT_ONLY") == "1"
if not REPORT_ONLY:
    recreate_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

import markdown_it  # noqa: E402
import mptt  # noqa: E402
import nh3  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.db.models import F  # noqa: E402
from django.template.loader import get_template  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from articles.models import Article  # noqa: E402
from bench.forest import realistic_forest  # noqa: E402
from comments import markup  # noqa: E402
from comments.integrity import find_broken_threads  # noqa: E402
from comments.models import Comment  # noqa: E402
from comments.services import ThreadBusy, comment_create  # noqa: E402
from comments.thread import ANONYMOUS, ArticleThreads, build_thread  # noqa: E402

SIZES = (10, 1_000, 10_000, 100_000)
FULL = "1,000 (all shown)"  # the 1,000-comment article with the whole discussion on one page
SHOW_ALL = {"COMMENTS_PAGE_THREADS": 10**6, "COMMENTS_PAGE_MAX": 10**6, "COMMENTS_MAX_DEPTH": 99}
COLD_REPS = 30
WARM_REPS = 100
REPLIES = 100  # per write figure (p99 of 100 is the second slowest)
WRITERS = 8
WRITERS_SECONDS = 10
WRK = {"threads": 2, "connections": 16, "seconds": 10, "warmup": 3}
REDOS_REPS = 5
REFUSAL_REPS = 5
COMMENT_ELEMENT = re.compile(r'id="comment-\d+"')  # one per comment drawn (README, hooks)


def label(size: int) -> str:
    return f"{size:,}"


# --- figures -------------------------------------------------------------------------------


@dataclass
class Samples:
    """Per repetition: wall-clock seconds, CPU seconds of this process, seconds in SQL."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest rank: the p99 of 100 samples is the 99th smallest."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def fmt_ms(seconds: float) -> str:
    value = seconds * 1000
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def timed(action, reps: int, *, before=None) -> Samples:
    """Run ``action`` ``reps`` times; ``before`` runs first each time, outside the timing."""
    samples = Samples()
    for _ in range(reps):
        if before is not None:
            before()
        reset_queries()  # the log of queries keeps at most 9,000
        with CaptureQueriesContext(connection) as queries:
            cpu, start = time.process_time(), time.perf_counter()
            action()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        samples.wall.append(wall)
        samples.cpu.append(cpu)
        samples.sql.append(sum(float(query["time"]) for query in queries.captured_queries))
    return samples


# --- data ----------------------------------------------------------------------------------


def vacuum() -> None:
    """Fresh statistics and visibility map, as autovacuum would leave them in production."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE comments_comment")
        cursor.execute("VACUUM ANALYZE articles_article")


def largest_thread(article) -> Comment:
    """The top-level comment of the article's biggest thread (roots have lft = 1)."""
    return Comment.objects.filter(article=article, level=0).order_by("-rght", "tree_id").first()


def build_data() -> dict:
    """Migrate the new database and build the four articles; returns them by size."""
    log("migrating")
    call_command("migrate", verbosity=0, interactive=False)
    articles = {}
    for size in SIZES:
        start = time.perf_counter()
        article = Article.objects.create(
            title=f"Bench {size:,}", slug=f"bench-{size}", body="An article with a discussion."
        )
        realistic_forest(article, size, seed=size)
        articles[size] = {"article": article, "size": size}
        log(f"built the {size:,}-comment article in {time.perf_counter() - start:.1f} s")
    vacuum()
    for entry in articles.values():
        article = entry["article"]
        root = largest_thread(article)
        entry["threads"] = Comment.objects.filter(article=article, level=0).count()
        entry["largest"] = (root.rght - root.lft + 1) // 2
        entry["deepest"] = max(
            Comment.objects.filter(article=article).values_list("level", flat=True)
        )
        entry["build_seconds"] = 0.0
    start = time.perf_counter()
    problems = find_broken_threads(Comment.objects.filter(article=articles[10_000]["article"]))
    assert problems == [], problems[:5]
    log(f"the 10,000-comment article's trees are valid ({time.perf_counter() - start:.1f} s)")
    return articles


# --- pages ---------------------------------------------------------------------------------


def measure_page(client: Client, name: str, url: str) -> dict:
    """Time the page cold (cache emptied before each request) and warm (fragment cached)."""

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    def count_queries() -> int:
        # A request resets the query log: start it at 0 so that the context sees them all,
        # and count at once (the context reads the log when asked).
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            get()
        return len(queries)

    cache.clear()
    response = get()
    cache.clear()
    cold_queries = count_queries()
    warm_queries = count_queries()
    row = {
        "name": name,
        "shown": len(COMMENT_ELEMENT.findall(response.content.decode())),
        "bytes": len(response.content),
        "cold_queries": cold_queries,
        "warm_queries": warm_queries,
        "cold": timed(get, COLD_REPS, before=cache.clear),
    }
    get()
    row["warm"] = timed(get, WARM_REPS)
    log(
        f"page {name}: {row['shown']} comments, cold p50 {fmt_ms(p50(row['cold'].wall))} ms, "
        f"warm p50 {fmt_ms(p50(row['warm'].wall))} ms"
    )
    return row


def measure_pages(articles: dict) -> dict:
    client = Client(HTTP_HOST="127.0.0.1")
    client.get("/")  # imports, URL resolver and template loaders: not part of any figure
    pages = {}
    for size in SIZES:
        url = articles[size]["article"].get_absolute_url()
        pages[label(size)] = measure_page(client, label(size), url)
        if size == 1_000:
            with override_settings(**SHOW_ALL):
                pages[FULL] = measure_page(client, FULL, url)
    return pages


# --- where the time of a cold page goes ----------------------------------------------------

AREAS = (
    ("Django template engine", ("django/template/", "django/templatetags/")),
    (
        "escaping, lazy and safe strings, localize (for the templates)",
        (
            "django/utils/html.py",
            "django/utils/safestring.py",
            "django/utils/functional.py",
            "django/utils/formats.py",
            "django/utils/numberformat.py",
            "python3.13/html/",
        ),
    ),
    ("sanitize (nh3) at output", ("nh3", "comments/markup.py")),
    ("build_thread, decorate", ("comments/thread.py",)),
    ("dates (localtime, strftime)", ("django/utils/timezone.py", "datetime", "zoneinfo")),
    ("queries, rows to objects", ("django/db/", "psycopg2")),
    ("cache (pickle)", ("django/core/cache/", "pickle")),
    (
        "forms, CSRF, signing, hashing",
        ("django/forms/", "django/core/signing", "django/middleware/csrf", "hashlib", "hmac"),
    ),
    ("URLs (resolve, reverse)", ("django/urls/",)),
)


def area_of(filename: str, function: str) -> str:
    where = f"{filename} {function}"
    for name, needles in AREAS:
        if any(needle in where for needle in needles):
            return name
    return "everything else (middleware, forms, URLs, ...)"


def profile_page(url: str, *, cold: bool, reps: int, show_all: bool) -> dict:
    """cProfile of a page, cold or warm: own time by area (a built-in function counts for
    its callers' areas) and the functions with most own time. The profiler inflates code
    that makes many small calls."""
    client = Client(HTTP_HOST="127.0.0.1")
    profiler = cProfile.Profile()
    with override_settings(**(SHOW_ALL if show_all else {})):
        client.get(url)
        for _ in range(reps):
            if cold:
                cache.clear()
            profiler.enable()
            client.get(url)
            profiler.disable()
    stats = pstats.Stats(profiler).stats
    areas: dict[str, float] = {}
    functions = []
    for (filename, line, function), (_, calls, own, _, callers) in stats.items():
        if filename == "~" and callers:  # a built-in: share its time among its callers
            total = sum(entry[2] for entry in callers.values()) or 1.0
            for (caller_file, _, caller), entry in callers.items():
                area = area_of(caller_file, caller)
                areas[area] = areas.get(area, 0.0) + own * entry[2] / total
        else:
            area = area_of(filename, function)
            areas[area] = areas.get(area, 0.0) + own
        short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        functions.append((own, calls // reps, f"{short}:{line}({function})"))
    functions.sort(reverse=True)
    return {
        "areas": sorted(((own / reps, name) for name, own in areas.items()), reverse=True),
        "functions": [(own / reps, calls, name) for own, calls, name in functions[:12]],
    }


def python_render(nodes, *, article_url: str, accepting: bool, reply_slot=None) -> str:
    """Prototype: the template's ``nodes`` partial (comments/thread.html) as Python code.
    ``reply_slot(c)`` gives the HTML of an open reply form under ``c`` (none by default).
    Same HTML as the template, byte for byte (checked in ``render_breakdown``)."""
    escape, out = html.escape, []
    append = out.append
    for c in nodes:
        pk, status, placeholder = c.pk, c.status, c.placeholder
        classes = "comment"
        if placeholder:
            classes += " placeholder"
        if status == "pending":
            classes += " pending"
        if c.focus:
            classes += " highlight"
        parent = "" if c.parent_id is None else c.parent_id
        number = f'<span class="number">{c.number}.</span>' if c.number else ""
        append(
            f'\n<article class="{classes}" id="comment-{pk}" data-depth="{c.level}" '
            f'data-parent="{parent}" tabindex="-1" aria-labelledby="meta-{pk}">\n'
            f'<details class="fold" open>\n<summary class="meta" id="meta-{pk}">\n{number}\n'
        )
        urls = c.urls
        if placeholder:
            append(f'<span class="author gone">[{escape(placeholder)}]</span>\n</summary>\n')
        else:
            author = escape(c.display_author)
            append(
                f'<span class="author">{author}</span>\n<a class="when" '
                f'href="{escape(urls["permalink"])}" title="Link to this comment"><time '
                f'datetime="{escape(c.created_iso)}" title="{escape(c.created_long)}">'
                f"{escape(c.created_short)}</time></a>"
            )
            if c.edited_at:
                append(
                    f'\n<span class="edited" title="Edited {escape(c.edited_long)}">edited</span>'
                )
            if status == "pending":
                append('\n<span class="badge">awaiting moderation</span>')
            append("\n</summary>\n")
            append(f'<div class="body">{c.rendered_body}</div>\n<div class="actions">')
            if accepting and status == "approved":
                append(
                    f'<a class="reply-link" href="{escape(article_url)}?reply={pk}#reply-{pk}" '
                    f'hx-get="{escape(urls["reply_form"])}" hx-target="#reply-{pk}" '
                    f'aria-controls="reply-{pk}">Reply<span class="visually-hidden"> to '
                    f"{author}</span></a>"
                )
            if c.can_edit:
                append(f'\n<a href="{escape(urls["edit"])}">Edit</a>')
            if c.can_delete:
                append(f'\n<a href="{escape(urls["delete"])}">Delete</a>')
            if status == "approved":
                append(
                    f'\n<a class="report-link" href="{escape(urls["report"])}" '
                    'rel="nofollow">Report</a>'
                )
            slot = reply_slot(c) if reply_slot is not None else ""
            append(f'</div>\n<div class="reply-slot" id="reply-{pk}">{slot}</div>')
        append("\n")
        if c.continue_after is not None:
            after = f"?after={c.continue_after}" if c.continue_after else ""
            append(
                f'<p class="continue"><a href="{escape(urls["thread"])}{after}">'
                "Continue this thread →</a></p>"
            )
        append(f'\n<div class="replies" id="replies-{pk}">\n')
        append("</div></details></article>" * len(c.closers))
        append("\n")
    return "".join(out)


def median_seconds(action, reps: int) -> float:
    """Median seconds of ``reps`` runs of ``action``."""
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return p50(samples)


def render_breakdown(article) -> dict:
    """The cold 1,000-comment page taken apart, without a profiler: queries and decorating,
    sanitizing the bodies, drawing the comments with the template, and with the prototype."""
    template = get_template("comments/thread.html#nodes")
    url, accepting = article.get_absolute_url(), article.accepts_comments
    with override_settings(**SHOW_ALL):
        threads = ArticleThreads(article, ANONYMOUS)
        nodes = threads.nodes
        tree_ids, _ = threads._page
        queryset = (
            Comment.objects.filter(article=article, tree_id__in=tree_ids)
            .select_related("user")
            .order_by("tree_id", "lft")
        )
        fetch = median_seconds(lambda: list(queryset.all()), 10)
        rows = list(queryset.all())
        decorate = median_seconds(lambda: build_thread(rows, ANONYMOUS), 10)
    context = {"nodes": nodes, "article": article, "reply_to": None, "reply_form": None}
    django_html = template.render(context)
    python_html = python_render(nodes, article_url=url, accepting=accepting)
    return {
        "comments": len(nodes),
        "fetch": fetch,
        "decorate": decorate,
        "sanitize": median_seconds(lambda: [markup.sanitize(n.body_html) for n in nodes], 10),
        "template": median_seconds(lambda: template.render(context), 10),
        "python": median_seconds(
            lambda: python_render(nodes, article_url=url, accepting=accepting), 10
        ),
        "same_html": django_html == python_html,
    }


# --- writes --------------------------------------------------------------------------------


def measure_replies(article, root: Comment, where: str, *, replies: int = REPLIES) -> dict:
    """``comment_create`` replies: ``early`` to the first leaves of the thread of ``root``
    in page order (every row after them is renumbered), ``end`` to its last comment (the
    reply becomes the thread's last row), ``random`` to random comments of the article (as
    readers reply). One untimed reply first; VACUUM before, as autovacuum would do."""
    vacuum()
    size = Comment.objects.filter(tree_id=root.tree_id).count()
    if where == "early":
        parents = list(
            Comment.objects.filter(tree_id=root.tree_id, rght=F("lft") + 1)
            .order_by("lft")
            .values_list("pk", flat=True)[: replies + 1]
        )
    elif where == "end":
        last = Comment.objects.filter(tree_id=root.tree_id).order_by("-lft").first()
        parents = [last.pk] * (replies + 1)
    else:
        pks = list(Comment.objects.filter(article=article).values_list("pk", flat=True))
        parents = random.Random(article.pk).sample(pks, replies + 1)
    pending = iter(parents)
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
    samples = timed(post, len(parents) - 1)
    log(
        f"replies {where} ({size:,}-comment thread): p50 {fmt_ms(p50(samples.wall))} ms, "
        f"p99 {fmt_ms(percentile(samples.wall, 0.99))} ms, CPU p50 {fmt_ms(p50(samples.cpu))} ms"
    )
    return {
        "samples": samples,
        "queries": len(statements),
        "statements": statements,
        "thread": size,
    }


class CountingHandler(logging.Handler):
    """Counts the records of a logger (the lock-timeout retries of comment_create)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        self.count += 1


def concurrent_writers(article, root: Comment) -> dict:
    """``WRITERS`` threads, each with its own database connection, post replies to random
    comments of one thread for ``WRITERS_SECONDS``; then the thread is checked."""
    parents = list(Comment.objects.filter(tree_id=root.tree_id).values_list("pk", flat=True))
    before = len(parents)
    latencies, busy, failures, lock = [], [0], [], threading.Lock()
    deadline = [0.0]
    barrier = threading.Barrier(WRITERS, action=lambda: deadline.__setitem__(0, time.monotonic()))

    def writer(number: int) -> None:
        rng, n = random.Random(number), 0
        try:
            barrier.wait()
            while time.monotonic() < deadline[0] + WRITERS_SECONDS:
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

    retries, service_log = CountingHandler(), logging.getLogger("comments.services")
    service_log.addHandler(retries)
    service_log.propagate = False  # the lock-timeout retries are counted, not printed
    try:
        pool = [threading.Thread(target=writer, args=(number,)) for number in range(WRITERS)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        service_log.removeHandler(retries)
        service_log.propagate = True
    seconds = time.monotonic() - deadline[0]
    after = Comment.objects.filter(tree_id=root.tree_id).count()
    problems = find_broken_threads(Comment.objects.filter(tree_id=root.tree_id))
    row = {
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
        f"{WRITERS} writers in a thread of {before:,}: {row['rate']:.0f} replies/s, "
        f"tree intact: {row['intact']}, {row['retries']} lock timeouts retried, "
        f"{row['busy']} gave up, failures: {failures or 'none'}"
    )
    return row


def measure_writes(articles: dict) -> dict:
    writes = {}
    for size in (10_000, 100_000):
        article = articles[size]["article"]
        root = largest_thread(article)
        writes[size] = {
            where: measure_replies(article, root, where) for where in ("early", "end", "random")
        }
        vacuum()
        writes[size]["concurrent"] = concurrent_writers(article, root)
    vacuum()  # the renumberings left dead rows behind
    return writes


# --- ReDoS ---------------------------------------------------------------------------------


def probe_texts(length: int) -> dict[str, str]:
    """The probes of the security issue (c), cut to ``length`` characters."""

    def repeat(unit: str) -> str:
        return (unit * (length // len(unit) + 1))[:length]

    return {
        "spaces, then `$`": " " * (length - 1) + "$",
        "`[]:0` repeated": repeat("[]:0"),
        "`[` repeated": repeat("["),
        "`]` repeated": repeat("]"),
        "`<![` repeated": repeat("<!["),
        "`>` repeated (nested quotes)": repeat(">"),
        "`> ` repeated (nested quotes)": repeat("> "),
        "`*` repeated": repeat("*"),
        "`* ` repeated (nested lists)": repeat("* "),
        "`*a` repeated (emphasis)": repeat("*a"),
    }


def measure_redos(articles: dict) -> dict:
    """Time ``render_comment`` on each probe at the length limit and at 100,000 characters,
    then POST each 100,001-character probe and check the form refuses it unrendered."""
    limit = settings.COMMENTS_MAX_LENGTH
    probes = {name: {} for name in probe_texts(limit)}
    for name, text in probe_texts(limit).items():
        probes[name]["limit"] = median_seconds(
            lambda text=text: markup.render_comment(text), REDOS_REPS
        )
    for name, text in probe_texts(100_000).items():
        probes[name]["big"] = median_seconds(lambda text=text: markup.render_comment(text), 1)
        log(
            f"ReDoS {name}: {fmt_ms(probes[name]['limit'])} ms at {limit:,}, "
            f"{fmt_ms(probes[name]['big'])} ms at 100,000"
        )
    article = articles[10]["article"]
    url = f"{article.get_absolute_url()}comments/"
    client = Client(HTTP_HOST="127.0.0.1")
    rendered = []  # the length of every text render_comment is given during the POSTs
    real = markup.render_comment

    def spy(source):
        rendered.append(len(source))
        return real(source)

    with (
        mock.patch("comments.services.render_comment", spy),
        mock.patch("comments.views.render_comment", spy),
        # A post that passes the form must not be stopped by a defence meant for people.
        override_settings(
            COMMENTS_MIN_SUBMIT_SECONDS=0,
            COMMENTS_RATE_LIMIT="off",
            COMMENTS_REFUSE_DUPLICATES=False,
        ),
    ):
        for name, text in probe_texts(100_001).items():
            statuses, first = [], len(rendered)

            def post(text=text, statuses=statuses):
                response = client.post(url, {"body": text, "author_name": "Probe", "parent": ""})
                refused = f"at most {limit} characters" in response.content.decode()
                statuses.append("refused" if refused else str(response.status_code))

            samples = timed(post, REFUSAL_REPS)
            probes[name]["refusal"] = p50(samples.wall)
            probes[name]["outcome"] = ", ".join(sorted(set(statuses)))
            probes[name]["rendered"] = max(rendered[first:], default=0)
    return {"probes": probes, "render_calls": len(rendered), "limit": limit}


# --- throughput: wrk against gunicorn ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(port: int, path: str, headers: dict | None = None):
    """(status, headers, body) of one GET on the loopback."""
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection_.request("GET", path, headers=headers or {})
        response = connection_.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection_.close()


@dataclass
class Server:
    port: int
    log_path: str
    pid: int

    def statuses(self) -> Counter:
        """HTTP statuses answered so far, from gunicorn's access log."""
        text = Path(self.log_path).read_text(errors="replace")
        return Counter(re.findall(r'HTTP/1\.[01]" (\d{3}) ', text))

    def workers_cpu(self) -> tuple[float, float]:
        """CPU seconds (user, system) used so far by the workers, the master's children."""
        ticks, user, system = os.sysconf("SC_CLK_TCK"), 0.0, 0.0
        for pid in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            user, system = user + int(fields[11]) / ticks, system + int(fields[12]) / ticks
        return user, system


@contextmanager
def gunicorn(**extra_env):
    """The command of ``make serve`` (after its migrate and collectstatic) on a free port:
    2 workers, DEBUG off, access log on. Always stopped, with its workers."""
    port = free_port()
    env = {**os.environ, **SERVE_ENV, **extra_env, "WEB_CONCURRENCY": "2", "PORT": str(port)}
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--access-logfile",
        "-",
    ]
    with tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log") as server_log:
        server = subprocess.Popen(  # noqa: S603 (fixed arguments, our own venv)
            command, cwd=ROOT, env=env, stdout=server_log, stderr=server_log
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    http_get(port, "/")
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        server_log.seek(0)
                        tail = server_log.read().decode(errors="replace")[-2000:]
                        raise RuntimeError(f"gunicorn did not start:\n{tail}") from None
                    time.sleep(0.2)
            yield Server(port, server_log.name, server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def seconds_of(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(server: Server, path: str, *, seconds: int, headers: dict | None = None) -> dict:
    """One bounded wrk run on the loopback; requests/s, latency percentiles, the statuses
    answered (from the server's log)."""
    port, before, cpu = server.port, server.statuses(), server.workers_cpu()
    command = [
        shutil.which("wrk"),
        f"-t{WRK['threads']}",
        f"-c{WRK['connections']}",
        f"-d{seconds}s",
    ]
    command += ["--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(  # noqa: S603 (wrk from Debian, loopback only)
        command, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None or "99" not in latency:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output)[1])
    return {
        "rps": float(rate[1]),
        "requests": requests,
        "p50": seconds_of(latency["50"]),
        "p99": seconds_of(latency["99"]),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "bad": int(bad[1]) if bad else 0,
        "statuses": dict(server.statuses() - before),
        "user_per_request": (server.workers_cpu()[0] - cpu[0]) / max(requests, 1),
        "system_per_request": (server.workers_cpu()[1] - cpu[1]) / max(requests, 1),
    }


def warm_up(server: Server, path: str) -> None:
    """Concurrent GETs for a few seconds, so that each worker has drawn the page once."""
    subprocess.run(  # noqa: S603 (wrk from Debian, loopback only)
        [
            shutil.which("wrk"),
            "-t2",
            "-c8",
            f"-d{WRK['warmup']}s",
            f"http://127.0.0.1:{server.port}{path}",
        ],
        capture_output=True,
        timeout=WRK["warmup"] + 30,
        check=True,
    )


def measure_throughput(articles: dict) -> dict:
    """The 1,000-comment page under wrk: cached (each worker has drawn it once), 304s
    (the ETag of a first GET sent back with that GET's cookie), and uncached
    (COMMENTS_CACHE_SECONDS=0: the fragment cache stores each entry already expired)."""
    if shutil.which("wrk") is None:
        log("wrk is missing (apt-get install wrk): no throughput figures")
        return {}
    path = articles[1_000]["article"].get_absolute_url()
    results = {}
    connection.close()
    with gunicorn() as server:
        warm_up(server, path)
        results["cached"] = wrk(server, path, seconds=WRK["seconds"])
        status, headers, _ = http_get(server.port, path)
        cookie = next(c for c in headers.get_all("Set-Cookie") if c.startswith("csrftoken="))
        conditional = {"Cookie": cookie.split(";", 1)[0], "If-None-Match": headers["ETag"]}
        assert status == 200 and http_get(server.port, path, conditional)[0] == 304
        results["304"] = wrk(server, path, seconds=WRK["seconds"], headers=conditional)
    with gunicorn(COMMENTS_CACHE_SECONDS="0") as server:
        warm_up(server, path)
        results["uncached"] = wrk(server, path, seconds=WRK["seconds"])
    for name, row in results.items():
        log(
            f"wrk {name}: {row['rps']:.0f} requests/s, p99 {fmt_ms(row['p99'])} ms, "
            f"statuses {row['statuses']}, socket errors {row['socket_errors']}, workers' CPU "
            f"per request {fmt_ms(row['user_per_request'])} ms user + "
            f"{fmt_ms(row['system_per_request'])} ms system"
        )
    return results


# --- the proposed fixes, tried on the bench database --------------------------------------

_PLAIN_MARKDOWN = markdown_it.MarkdownIt("js-default").disable(["link", "image", "reference"])
BRACKET_LIMIT = 200


def proposed_render_comment(source: str) -> str:
    """``comments.markup.render_comment`` with the proposed guard: with more than
    BRACKET_LIMIT "[" the text is rendered with link syntax off (brackets stay text)."""
    parser = markup._markdown if source.count("[") <= BRACKET_LIMIT else _PLAIN_MARKDOWN
    return markup._clean(parser.render(source), markup.COMMENT_TAGS)


def try_redos_fix(redos: dict) -> None:
    """The probes again, at the length limit, through the proposed renderer."""
    for name, text in probe_texts(redos["limit"]).items():
        redos["probes"][name]["fixed"] = median_seconds(
            lambda text=text: proposed_render_comment(text), 3
        )


def try_sanitize_cache(breakdown: dict, article) -> None:
    """Output sanitizing through an LRU cache keyed by the stored HTML: the second and later
    pages that show a comment reuse nh3's answer for exactly that input."""
    cached = functools.lru_cache(maxsize=50_000)(markup.sanitize)
    with override_settings(**SHOW_ALL):
        nodes = ArticleThreads(article, ANONYMOUS).nodes
    [cached(node.body_html) for node in nodes]
    breakdown["sanitize_cached"] = median_seconds(
        lambda: [cached(node.body_html) for node in nodes], 10
    )


REDUNDANT_INDEXES = {  # index definition → why it is not needed
    "(status)": "`status` has `db_index=True`; `comment_status_created_idx` starts with it",
    "(status varchar_pattern_ops)": "the `LIKE` twin of the same `db_index=True`",
    "(tree_id)": "django-mptt's `tree_id` index; `(tree_id, lft)` starts with it",
    "(article_id)": "the foreign key's index; `comment_thread_page_idx` starts with it",
    "(user_id)": "the foreign key's index; `comment_user_recent_idx` starts with it",
}


def comment_indexes() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'comments_comment' "
            "ORDER BY indexname"
        )
        return cursor.fetchall()


def lighter_full_clean(original):
    """``Model.full_clean`` as proposed for ``comment_create``: no database round trips (the
    article and parent were just read; the CHECK constraints stay in PostgreSQL)."""

    def full_clean(self, exclude=None, validate_unique=True, validate_constraints=True):
        exclude = {*(exclude or ()), "article", "parent"}
        return original(
            self, exclude=exclude, validate_unique=validate_unique, validate_constraints=False
        )

    return full_clean


def try_write_fixes(articles: dict) -> dict:
    """Replies measured as is, with the redundant indexes dropped and one on (tree_id, rght)
    added, then also with the lighter ``full_clean``; 30 replies each. Runs last: it changes
    the bench database's schema."""
    cases = {
        "early, 10,000-comment article": (articles[10_000]["article"], "early"),
        "end, 10,000-comment article": (articles[10_000]["article"], "end"),
        "end, 100,000-comment article": (articles[100_000]["article"], "end"),
    }

    def measure_all():
        return {
            name: measure_replies(article, largest_thread(article), where, replies=30)
            for name, (article, where) in cases.items()
        }

    before = comment_indexes()
    stages = {"as is": measure_all()}
    dropped = []
    with connection.cursor() as cursor:
        for name, definition in before:
            suffix = definition[definition.index(" USING btree ") + 13 :]
            if suffix in REDUNDANT_INDEXES:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                dropped.append((name, REDUNDANT_INDEXES[suffix]))
        cursor.execute("CREATE INDEX bench_tree_rght_idx ON comments_comment (tree_id, rght)")
    stages["indexes"] = measure_all()
    with mock.patch.object(Comment, "full_clean", lighter_full_clean(Comment.full_clean)):
        stages["indexes + lighter full_clean"] = measure_all()
    return {
        "before": len(before),
        "after": len(comment_indexes()),
        "dropped": dropped,
        "stages": stages,
    }


# --- report --------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    wrk_version = "not installed"
    if shutil.which("wrk"):
        done = subprocess.run([shutil.which("wrk"), "--version"], capture_output=True, text=True)  # noqa: S603
        wrk_version = (done.stdout or done.stderr).split(" [")[0].strip()
    memory = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024**2:.1f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cores": os.cpu_count(),
        "usable": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "django": django.get_version(),
        "mptt": mptt.__version__,
        "markdown_it": markdown_it.__version__,
        "nh3": getattr(nh3, "__version__", "?"),
        "postgres": postgres,
        "wrk": wrk_version,
        "os": platform.platform(terse=True),
    }


def characters(n: int) -> str:
    return f"{n:,} character" + ("" if n == 1 else "s")


def pair(a: float, b: float) -> str:
    return f"{fmt_ms(a)} / {fmt_ms(b)}"


def size_of(name: str) -> int:
    return 1_000 if name == FULL else int(name.replace(",", ""))


def summary_table(articles, pages, writes, http) -> list[str]:
    """The one table of the issue: a measure per line, an article per column."""
    names = list(pages)
    lines = [
        "| comments in the article → | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]

    def row(title, cell):
        lines.append(f"| {title} | " + " | ".join(cell(name) for name in names) + " |")

    def of_page(render):
        return lambda name: render(pages[name])

    def of_writes(render):
        return lambda name: (
            render(writes[size_of(name)]) if size_of(name) in writes and name != FULL else ""
        )

    def of_http(key):
        def cell(name):
            result = http.get(key)
            if not result or name != label(1_000):
                return ""
            return f"{result['rps']:,.0f}; {fmt_ms(result['p99'])}"

        return cell

    def latency(samples):
        return pair(p50(samples.wall), percentile(samples.wall, 0.99))

    row(
        "threads; comments in the largest",
        lambda n: f"{articles[size_of(n)]['threads']:,}; {articles[size_of(n)]['largest']:,}",
    )
    row("comments shown on the first page", of_page(lambda p: f"{p['shown']:,}"))
    row(
        "queries per page, cold / warm",
        of_page(lambda p: f"{p['cold_queries']} / {p['warm_queries']}"),
    )
    row(
        "first page, cold cache: p50 / p95 ms",
        of_page(lambda p: pair(p50(p["cold"].wall), percentile(p["cold"].wall, 0.95))),
    )
    row(
        "first page, cold: CPU of the app process, p50 ms",
        of_page(lambda p: fmt_ms(p50(p["cold"].cpu))),
    )
    row(
        "first page, warm cache: p50 / p95 ms",
        of_page(lambda p: pair(p50(p["warm"].wall), percentile(p["warm"].wall, 0.95))),
    )
    row(
        "cold p50 ÷ comments shown, µs",
        of_page(lambda p: f"{p50(p['cold'].wall) / max(p['shown'], 1) * 1e6:,.0f}"),
    )
    row("HTML bytes", of_page(lambda p: f"{p['bytes']:,}"))
    row(
        "reply early in the largest thread: p50 / p99 ms",
        of_writes(lambda w: latency(w["early"]["samples"])),
    )
    row(
        "reply at the end of the largest thread: p50 / p99 ms",
        of_writes(lambda w: latency(w["end"]["samples"])),
    )
    row(
        "reply to a random comment of the article: p50 / p99 ms",
        of_writes(lambda w: latency(w["random"]["samples"])),
    )

    def concurrent(w):
        state = "tree intact" if w["concurrent"]["intact"] else "TREE BROKEN"
        return f"{w['concurrent']['rate']:.0f} ({state})"

    row(f"{WRITERS} concurrent writers in the largest thread: replies/s", of_writes(concurrent))
    row("wrk, cached: requests/s; p99 ms", of_http("cached"))
    row("wrk, uncached: requests/s; p99 ms", of_http("uncached"))
    row("wrk, 304 Not Modified: requests/s; p99 ms", of_http("304"))
    return lines


def reproduce() -> list[str]:
    return [
        "## How to reproduce",
        "",
        "```sh",
        "apt-get install wrk   # the load generator (Debian package); without it the wrk "
        "lines stay empty",
        "make bench            # = .venv/bin/python bench/run.py",
        "```",
        "",
        "It needs PostgreSQL. `DATABASE_URL` defaults to "
        "`postgres://postgres@127.0.0.1:5432/threadline_bench`; the script drops and creates "
        "that database, migrates it and builds the articles with "
        "`bench.forest.realistic_forest` (seeded, so every run measures the same rows). It "
        "refuses the `threadline` database of the tests and the `tl_*` ones. It runs with "
        "the settings of `make serve` (it sets `DEBUG=0`, a throwaway `SECRET_KEY`, "
        "`ALLOWED_HOSTS=127.0.0.1` and no HTTPS redirect or secure cookies) and runs "
        "`collectstatic`, as `make serve` does.",
        "",
    ]


def how_measured(articles: dict) -> list[str]:
    big = articles[100_000]
    return [
        "How each figure was taken:",
        "",
        "- **Data.** `realistic_forest(article, size, seed=size)`: each new comment starts a "
        "thread with probability 0.2, else replies to a uniformly random earlier comment "
        "whose level is below 12; replies keep posting order under their parent; bodies are "
        "1–6 sentences from a fixed word list (400 distinct bodies, rendered once with "
        "`render_comment`). Busy threads grow in proportion to their size, so the "
        f"100,000-comment article has {big['threads']:,} threads, the largest of "
        f"{big['largest']:,} comments, {big['deepest']} levels deep at most. "
        "`find_broken_threads` finds the 10,000-comment article's trees valid.",
        f"- **Pages.** Server time of one GET through Django's test client in the bench "
        "process: URL resolving, every middleware, queries, template rendering; no network. "
        f"*Cold*: the cache emptied before each of {COLD_REPS} requests; *warm*: "
        f"{WARM_REPS} requests with the discussion fragment cached. p50 and p95 are nearest "
        "ranks. A page shows at most 50 threads, 500 comments and 10 levels (then "
        '"Load more" and "Continue this thread"); in the column '
        f"*{FULL}* these limits are lifted (`COMMENTS_PAGE_THREADS`, `COMMENTS_PAGE_MAX`, "
        "`COMMENTS_MAX_DEPTH` overridden) so the whole discussion is on the page.",
        "- **Replies.** `comments.services.comment_create` called directly: thread lock, "
        "re-read, validation, Markdown, nested-set update, commit. *Early*: "
        f"{REPLIES} replies, each to one of the first leaves of the largest thread in page "
        "order, so nearly every row of the thread is renumbered; *end*: "
        f"{REPLIES} replies to the thread's last comment (only its ancestors' `rght` "
        f"change). One untimed reply first; the p99 of {REPLIES} is the second slowest.",
        f"- **Concurrent writers.** {WRITERS} Python threads, each with its own database "
        f"connection, reply to random comments of the largest thread for {WRITERS_SECONDS} "
        "s; then `find_broken_threads` checks the thread and its row count is checked.",
        "- **wrk.** `gunicorn config.wsgi --workers 2 --access-logfile -` (the command of "
        f"`make serve`), `wrk -t{WRK['threads']} -c{WRK['connections']} "
        f"-d{WRK['seconds']}s --latency` after a {WRK['warmup']} s warm-up, all on the "
        "same cores as PostgreSQL. *Cached*: anonymous GETs (each is given a new CSRF "
        "cookie); each worker has its own local-memory cache, filled in the warm-up. "
        "*Uncached*: a second gunicorn with `COMMENTS_CACHE_SECONDS=0`: Django stores a "
        "fragment cached for 0 seconds already expired, so every request draws the "
        "discussion and nothing else changes. *304*: `If-None-Match` with the ETag of a "
        "first GET, sent with that GET's `csrftoken` cookie (the ETag covers the reader's "
        "CSRF secret).",
        "",
    ]


def verdict(measured: float, target: float, *, at_least: bool = False) -> str:
    met = measured >= target if at_least else measured <= target
    if met:
        return "yes"
    factor = target / measured if at_least else measured / target
    return f"no ({factor:.1f}× off)"


def targets(results: dict) -> list[str]:
    pages, writes, http, redos = (
        results["pages"],
        results["writes"],
        results["http"],
        results["redos"],
    )
    full, big, small = pages[FULL], pages[label(100_000)], pages[label(10)]
    paged = [pages[label(size)] for size in SIZES]
    worst_cold = max(paged, key=lambda p: p50(p["cold"].wall))
    worst_warm = max(paged, key=lambda p: p50(p["warm"].wall))
    per_comment = p50(full["cold"].wall) / full["shown"]
    slope = (p50(full["cold"].wall) - p50(small["cold"].wall)) / (full["shown"] - small["shown"])
    ten = writes[10_000]
    early, end = ten["early"]["samples"].wall, ten["end"]["samples"].wall
    probes = redos["probes"]
    slowest = max(probes, key=lambda name: probes[name]["limit"])
    lines = [
        "| target | measured | met? |",
        "|---|---|---|",
        f"| first page uncached ≤ 30 ms: 1,000 comments shown in full | "
        f"{fmt_ms(p50(full['cold'].wall))} ms (p50) | {verdict(p50(full['cold'].wall), 0.030)} |",
        f"| first page uncached ≤ 30 ms: 100,000 stored, paged | "
        f"{fmt_ms(p50(big['cold'].wall))} ms (p50; {big['shown']} comments shown) | "
        f"{verdict(p50(big['cold'].wall), 0.030)} |",
        f"| first page uncached ≤ 30 ms: any article (slowest, paged) | "
        f"{fmt_ms(p50(worst_cold['cold'].wall))} ms ({worst_cold['name']} comments) | "
        f"{verdict(p50(worst_cold['cold'].wall), 0.030)} |",
        f"| warm cache ≤ 5 ms: 1,000 comments shown in full | {fmt_ms(p50(full['warm'].wall))} "
        f"ms p50, {fmt_ms(percentile(full['warm'].wall, 0.95))} ms p95 "
        f"({full['bytes'] / 1024:,.0f} KB of HTML) | {verdict(p50(full['warm'].wall), 0.005)} |",
        f"| warm cache ≤ 5 ms: any article, paged (slowest) | "
        f"{fmt_ms(p50(worst_warm['warm'].wall))} ms p50, "
        f"{fmt_ms(percentile(worst_warm['warm'].wall, 0.95))} ms p95 ({worst_warm['name']} "
        f"comments) | {verdict(p50(worst_warm['warm'].wall), 0.005)} |",
        f"| uncached rendering ≤ 15 µs per comment shown | {per_comment * 1e6:.0f} µs "
        f"(whole request ÷ {full['shown']:,}); {slope * 1e6:.0f} µs per added comment "
        f"(10 → 1,000 shown) | {verdict(per_comment, 15e-6)} |",
        f"| reply into a 10,000-comment article: p50 ≤ 5 ms | early in its largest thread "
        f"({ten['early']['thread']:,}): {fmt_ms(p50(early))} ms; at its end: "
        f"{fmt_ms(p50(end))} ms | early: {verdict(p50(early), 0.005)}; end: "
        f"{verdict(p50(end), 0.005)} |",
        f"| reply into a 10,000-comment article: p99 ≤ 15 ms, lock included | early: "
        f"{fmt_ms(percentile(early, 0.99))} ms; end: {fmt_ms(percentile(end, 0.99))} ms | "
        f"early: {verdict(percentile(early, 0.99), 0.015)}; end: "
        f"{verdict(percentile(end, 0.99), 0.015)} |",
    ]
    if http:
        lines += [
            f"| ≥ 800 requests/s, 1,000-comment page, warm, 2 workers | "
            f"{http['cached']['rps']:,.0f}/s (p99 {fmt_ms(http['cached']['p99'])} ms) | "
            f"{verdict(http['cached']['rps'], 800, at_least=True)} |",
            f"| ≥ 1,200 requests/s for 304s | {http['304']['rps']:,.0f}/s "
            f"(p99 {fmt_ms(http['304']['p99'])} ms) | "
            f"{verdict(http['304']['rps'], 1200, at_least=True)} |",
        ]
    for size in (10_000, 100_000):
        concurrent = writes[size]["concurrent"]
        lines.append(
            f"| {WRITERS} concurrent writers in one thread: ≥ 30 replies/s, tree intact | "
            f"{concurrent['rate']:.0f}/s into a thread of {concurrent['thread']:,} "
            f"({size:,}-comment article), "
            f"{'tree intact' if concurrent['intact'] else 'TREE BROKEN'}, "
            f"{concurrent['busy']} refused as busy | "
            f"{verdict(concurrent['rate'], 30, at_least=True) if concurrent['intact'] else 'no'} |"
        )
    refusals = [probe["refusal"] for probe in probes.values()]
    refused = [name for name, probe in probes.items() if probe["outcome"] == "refused"]
    longest = max(probe["rendered"] for probe in probes.values())
    stripped = sum(
        probe["outcome"] == "303" and probe["rendered"] <= redos["limit"]
        for probe in probes.values()
    )
    lines += [
        f"| ReDoS probes render in < 100 ms (at the {redos['limit']:,}-character limit) | "
        f"slowest: {slowest}, {fmt_ms(probes[slowest]['limit'])} ms | "
        f"{verdict(probes[slowest]['limit'], 0.100)} |",
        f"| a longer request is capped by the length limit | {len(refused)} of {len(probes)} "
        f"100,001-character POSTs refused by the form in {fmt_ms(min(refusals))}–"
        f"{fmt_ms(max(refusals))} ms; {stripped} posted after the form stripped surrounding "
        f"whitespace; the longest text rendered: {characters(longest)} | "
        f"{'yes' if longest <= redos['limit'] else 'no'} |",
    ]
    return lines


def summarize(rows: list[str]) -> list[str]:
    """The targets table, after a line that counts what is met."""
    verdicts = [row.rsplit("|", 2)[-2].strip() for row in rows[2:]]
    met = sum(verdict == "yes" for verdict in verdicts)
    return [
        f"{met} of {len(verdicts)} met. *Off* is how many times slower (or fewer) than the "
        "target the measure was; the next section says what limits each, and the last one "
        "what would fix it.",
        "",
        *rows,
    ]


def share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def limits(results: dict) -> list[str]:
    """A reading of the figures; every number in it comes from this run."""
    pages, breakdown, profile = results["pages"], results["breakdown"], results["profile"]
    writes, http, redos, trial = (
        results["writes"],
        results["http"],
        results["redos"],
        results["indexes"],
    )
    full, b = pages[FULL], breakdown
    shown, cold, cpu = full["shown"], p50(full["cold"].wall), p50(full["cold"].cpu)
    with_python = cold - b["template"] + b["python"]
    with_both = with_python - b["sanitize"] + b["sanitize_cached"]
    lookups = next(
        (calls for _, calls, name in profile["functions"] if "_resolve_lookup" in name), 0
    )
    lines = []
    if max(results["load"]) > results["info"]["usable"]:
        lines += [
            f"**A shared machine.** The load average was {results['load'][0]:.1f} at the start "
            f"and {results['load'][1]:.1f} at the end on {results['info']['usable']} cores: "
            "other work competed for them, so wall-clock figures include waiting for a core. "
            "The CPU figures (the app's own work) are the steadier ones.",
            "",
        ]
    lines += [
        "### The cold page: drawing the comments",
        "",
        f"The cold page with all {shown:,} comments of the 1,000-comment article took "
        f"{fmt_ms(cold)} ms (p50; {fmt_ms(cpu)} ms of CPU), {cold / shown * 1e6:.0f} µs a "
        "comment, against a target of 15 µs. Its parts, timed without a profiler on the same "
        "comments (medians of 10 runs):",
        "",
        "| part | ms | µs a comment |",
        "|---|---:|---:|",
    ]
    parts = [
        ('query of the rows (whole discussion, `select_related("user")`)', b["fetch"]),
        ("`build_thread`: decorate (links, dates, closers)", b["decorate"]),
        ("`sanitize` of every body at output (nh3)", b["sanitize"]),
        ("the same through an LRU cache keyed by the stored HTML", b["sanitize_cached"]),
        ("drawing the comments: `comments/thread.html#nodes` (sanitize included)", b["template"]),
        (
            "drawing them with `python_render` (bench/run.py), sanitize included; same HTML: "
            + ("yes, byte for byte" if b["same_html"] else "**no**"),
            b["python"],
        ),
    ]
    for title, seconds in parts:
        lines.append(f"| {title} | {fmt_ms(seconds)} | {seconds / b['comments'] * 1e6:.1f} |")
    lines += [
        "",
        f"Where the CPU goes (cProfile, {len(profile['areas'])} areas, own time; the "
        "profiler inflates code that makes many small calls, such as the template engine):",
        "",
        "| area | share |",
        "|---|---:|",
    ]
    total = sum(own for own, _ in profile["areas"])
    for own, name in profile["areas"]:
        lines.append(f"| {name} | {share(own, total)} |")
    lines += [
        "",
        "Functions with most own time: "
        + "; ".join(
            f"`{name.split('/')[-1]}` {share(own, total)} ({calls:,} calls)"
            for own, calls, name in profile["functions"][:6]
        )
        + ".",
        "",
        f"**Django's template engine is the limit.** It made {lookups / shown:.0f} calls of "
        "`Variable._resolve_lookup` a comment; each value then goes through `localize` and "
        "autoescaping. That is about "
        f"{(b['template'] - b['sanitize']) / b['comments'] * 1e6:.0f} µs a comment beyond "
        "sanitizing. The same HTML written as one f-string per comment (the prototype "
        f"`python_render` in bench/run.py) took {fmt_ms(b['python'])} ms against "
        f"{fmt_ms(b['template'])} ms. With it the cold page would take about "
        f"{fmt_ms(with_python)} ms ({with_python / shown * 1e6:.0f} µs a comment), and about "
        f"{fmt_ms(with_both)} ms ({with_both / shown * 1e6:.0f} µs) with output sanitizing "
        "cached too. What is left is the query and Django's model instances "
        f"({fmt_ms(b['fetch'])} ms), decorating ({fmt_ms(b['decorate'])} ms: a comment's "
        "links and its date in three forms) and the request itself. 15 µs a comment would "
        "also need the rows fetched as tuples (`values_list`) rather than model instances, "
        "and dates formatted without `strftime`.",
        "",
    ]
    ten, big = writes[10_000], writes[100_000]
    early, end = ten["early"], ten["end"]
    per_row = (p50(early["samples"].wall) - p50(end["samples"].wall)) / early["thread"]
    validation = sum(
        1
        for statement in early["statements"]
        if "_check" in statement or 'SELECT 1 AS "a"' in statement or "SAVEPOINT" in statement
    )
    lines += [
        "### Replies: nested sets renumber what follows",
        "",
        f"A reply early in the 10,000-comment article's largest thread ({early['thread']:,} "
        f"comments) took {fmt_ms(p50(early['samples'].wall))} ms (p50), at its end "
        f"{fmt_ms(p50(end['samples'].wall))} ms, to a random comment of the article "
        f"{fmt_ms(p50(ten['random']['samples'].wall))} ms (p99 "
        f"{fmt_ms(percentile(ten['random']['samples'].wall, 0.99))} ms). In the 100,000-comment "
        f"article's largest thread ({big['early']['thread']:,} comments) an early reply took "
        f"{fmt_ms(p50(big['early']['samples'].wall))} ms. django-mptt gives every row after the "
        "new one new `lft`/`rght` numbers in one `UPDATE`: about "
        f"{per_row * 1e6:.0f} µs a row here, because such an update is never HOT (`lft` and "
        f"`rght` are indexed), so each row version gets an entry in each of the table's "
        f"{trial['before']} indexes. The app's own CPU was "
        f"{fmt_ms(p50(early['samples'].cpu))} ms a reply; the rest is PostgreSQL.",
        "",
        f"A reply makes {early['queries']} queries; {validation} of them are `full_clean`'s "
        "round trips (the foreign-key existence checks, and each `CheckConstraint` evaluated "
        "in its own savepoint), all inside the thread's lock.",
        "",
        "Proposals 4 and 5, tried on the bench database after everything else: the "
        f"{len(trial['dropped'])} redundant indexes dropped and one added on "
        f"`(tree_id, rght)` ({trial['before']} → {trial['after']} indexes), then also "
        "`full_clean` without its round trips (patched in the bench process). 30 replies "
        "each, p50 / p99 ms, app CPU p50 in brackets:",
        "",
        "| reply to the largest thread | " + " | ".join(trial["stages"]) + " |",
        "|---|" + "---:|" * len(trial["stages"]),
    ]
    first = next(iter(trial["stages"].values()))
    for case in first:
        cells = []
        for stage in trial["stages"].values():
            samples = stage[case]["samples"]
            cells.append(
                f"{pair(p50(samples.wall), percentile(samples.wall, 0.99))} "
                f"({fmt_ms(p50(samples.cpu))}; {stage[case]['queries']} queries)"
            )
        lines.append(f"| {case} ({first[case]['thread']:,} comments) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Dropped: " + "; ".join(f"`{name}` ({why})" for name, why in trial["dropped"]) + ". "
        "Every renumbered row gets fewer index entries, and the `(tree_id, rght)` index lets "
        "the renumbering `UPDATE` (`WHERE tree_id = %s AND (lft > %s OR rght > %s)`) find the "
        "few rows to change at the end of a thread instead of reading the whole thread. An "
        "early reply still changes every following row: 5 ms there needs an order that does "
        "not renumber (proposal 6).",
        "",
    ]
    concurrent = ten["concurrent"]
    lines += [
        "### Concurrent writers",
        "",
        f"{WRITERS} writers in one thread of {concurrent['thread']:,} comments made "
        f"{concurrent['rate']:.0f} replies/s (p50 {fmt_ms(concurrent['p50'])} ms, p99 "
        f"{fmt_ms(concurrent['p99'])} ms a reply, waiting included; "
        f"{concurrent['retries']} lock waits over `COMMENTS_LOCK_TIMEOUT_MS` retried, "
        f"{concurrent['busy']} given up). Writers of one thread queue on its lock, so the "
        "rate is one over the time a reply holds it: the renumbering of about half the thread "
        "on average, plus the queries and Markdown rendering done under the lock. In the "
        f"{big['concurrent']['thread']:,}-comment thread: {big['concurrent']['rate']:.0f} "
        "replies/s. The tree was intact after both runs.",
        "",
    ]
    warm_areas = results["warm_profile"]["areas"]
    warm_total = sum(own for own, _ in warm_areas)
    if http:
        cached, uncached = http["cached"], http["uncached"]
        lines += [
            "### Requests per second",
            "",
            f"Cached, the workers spent {fmt_ms(cached['user_per_request'])} ms user + "
            f"{fmt_ms(cached['system_per_request'])} ms system CPU a request, for "
            f"{pages[label(1_000)]['bytes'] / 1024:,.0f} KB of HTML; wrk, PostgreSQL and "
            "the workers share the 2 cores, so about "
            f"{2 / (cached['user_per_request'] + cached['system_per_request']):,.0f} "
            "requests/s is the ceiling of that CPU cost alone, against 800 wanted. Where a "
            "warm request's CPU goes (cProfile in the bench process, own time): "
            + ", ".join(f"{name} {share(own, warm_total)}" for own, name in warm_areas)
            + ". The templates draw the page around the cached discussion: the article and "
            "the comment form with its per-reader CSRF and `shown_at` tokens, which is why the "
            "page is not cached whole (proposal 8).",
            "",
            f"Uncached, the workers spent {fmt_ms(uncached['user_per_request'])} ms user + "
            f"{fmt_ms(uncached['system_per_request'])} ms system CPU a request, where the "
            f"bench process spent {fmt_ms(p50(pages[label(1_000)]['cold'].cpu))} ms on the same "
            "page. The system time is CPython 3.13.0 allocating and freeing a 16 KB chunk "
            "of its frame stack (`mmap`/`munmap`) at every call that crosses a chunk boundary "
            "(cpython gh-142183): deep template rendering in a gunicorn worker sits exactly "
            "on such a boundary (strace on a worker, run once by hand: about 16,000 "
            "`mmap`/`munmap` pairs for one page; with 30 more frames below the app, the system "
            "time went away). Fixed in Python 3.13.13."
            if uncached["system_per_request"] > 0.3 * uncached["user_per_request"]
            else f"Uncached, the workers spent {fmt_ms(uncached['user_per_request'])} ms user "
            f"+ {fmt_ms(uncached['system_per_request'])} ms system CPU a request.",
            "",
        ]
    slow = [name for name, probe in redos["probes"].items() if probe["limit"] > 0.100]
    if slow:
        fixed = max(redos["probes"][name]["fixed"] for name in redos["probes"])
        lines += [
            "### ReDoS",
            "",
            f"Over 100 ms at the length limit: {', '.join(slow)}. Not a regular expression: "
            "markdown-it-py tries every `[` as the start of a link, and its link-label scan "
            "nests into each following `[` up to `maxNesting` (100 in the `js-default` preset) "
            "before giving up, so text with thousands of `[` costs about 100 steps a bracket "
            "(`<![` also runs the image rule). With the proposed guard (below) the slowest "
            f"probe took {fmt_ms(fixed)} ms.",
            "",
        ]
    return lines


def redos_section(redos: dict) -> list[str]:
    limit = redos["limit"]
    lines = [
        f"`comments.markup.render_comment` (markdown-it-py, then nh3) on each probe of the "
        f"security issue, at the length limit (`COMMENTS_MAX_LENGTH`, {limit:,} characters; "
        f"p50 of {REDOS_REPS} runs) and at 100,000 characters (one run). Then each probe at "
        "100,001 characters is POSTed as a new comment to the 10-comment article through the "
        'test client; the form refuses a body over the limit ("Ensure this value has at most '
        f'{limit} characters") and the page comes back with the error. p50 of {REFUSAL_REPS} '
        "POSTs.",
        "",
        f"| probe | render at {limit:,} chars, ms | with the proposed guard, ms "
        "| render at 100,000 chars, ms | POST of 100,001 chars | POST, ms |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for name, probe in redos["probes"].items():
        if probe["outcome"] == "refused":
            outcome = "refused by the form, not rendered"
        elif probe["outcome"] == "303" and probe["rendered"] <= limit:
            outcome = (
                "posted (303): the form strips leading and trailing whitespace, so "
                f"`render_comment` got {characters(probe['rendered'])}"
            )
        else:
            outcome = f"HTTP {probe['outcome']}; rendered {characters(probe['rendered'])}"
        lines.append(
            f"| {name} | {fmt_ms(probe['limit'])} | {fmt_ms(probe['fixed'])} | "
            f"{fmt_ms(probe['big'])} | {outcome} | "
            f"{fmt_ms(probe['refusal'])} |"
        )
    lines += [
        "",
        f"`render_comment` was given {redos['render_calls']} texts during the POSTs (it is "
        "spied on in `comments.services` and `comments.views`); for the POSTs the timing, "
        "rate and duplicate defences are off, so a text that passes the form is posted.",
    ]
    return lines


PROPOSALS = """\
## Proposed fixes

For the app's owners (the bench changes no app file). Measured effects are above.

1. **ReDoS: text with many `[`** (`comments/markup.py`; applied, the figures above
   include it). Render it with link syntax off; a
   comment may hold at most `COMMENTS_MAX_LENGTH` characters and `COMMENTS_MAX_LINKS` links,
   so one with over 200 `[` is not a list of links. Brackets stay text; code blocks are not
   affected.

   ```python
   _markdown = MarkdownIt("js-default")
   # markdown-it-py tries each "[" as a link and nests into the next ones up to maxNesting:
   # ~100 steps a bracket (0.4 s for 10,000 "["). Past BRACKET_LIMIT, links are off.
   _markdown_no_links = MarkdownIt("js-default").disable(["link", "image", "reference"])
   BRACKET_LIMIT = 200


   def render_comment(source: str) -> str:
       parser = _markdown if source.count("[") <= BRACKET_LIMIT else _markdown_no_links
       return _clean(parser.render(source), COMMENT_TAGS)
   ```

2. **Draw the comment element in Python** (`comments/thread.html`, partial `nodes`). Move
   `python_render` from bench/run.py to `comments/render.py` (as `render_nodes`) and call
   it from a tag; the bench checks that it writes the template's bytes. Its output
   is marked safe: every value goes through `html.escape` and the body through `sanitize`,
   so the XSS corpus tests must cover it (they render pages, so they do).

   ```python
   # comments/templatetags/comment_nodes.py
   @register.simple_tag(takes_context=True)
   def comment_nodes(context, nodes):
       article, form = context["article"], context.get("reply_form")
       reply_to = context.get("reply_to")

       def reply_slot(c):  # the only part that needs a template
           if reply_to == c.pk and form:
               return render_to_string("comments/form.html", {**context.flatten(), "form": form})
           return ""

       html = render_nodes(nodes, article_url=article.get_absolute_url(),
                           accepting=article.accepts_comments, reply_slot=reply_slot)
       return mark_safe(html)  # noqa: S308 (values escaped, bodies through sanitize)
   ```

   and `{% partialdef nodes %}{% comment_nodes nodes %}{% endpartialdef %}`.

3. **Cache output sanitizing** (`comments/markup.py`; applied, the figures above
   include it). Same guarantee (the result is nh3's
   answer for exactly the stored HTML), paid once per distinct body and worker:

   ```python
   @functools.lru_cache(maxsize=10_000)
   def _clean_cached(html: str, article: bool) -> str:
       return _clean(html, ARTICLE_TAGS if article else COMMENT_TAGS)


   def sanitize(html: str, *, article: bool = False) -> SafeString:
       return mark_safe(_clean_cached(html, article))  # noqa: S308
   ```

4. **Less work under a thread's lock** (`comments/services.py`, `comment_create`). Render
   the Markdown before taking the lock, and skip `full_clean`'s database round trips: the
   parent and the article were just read, and the CHECK constraints stay in PostgreSQL.

   ```python
   _check_length(body)
   body_html = render_comment(body)  # pure: no lock needed
   with transaction.atomic():
       ...
       comment = Comment(..., body_html=body_html, ...)
       if comment.user_id is None and not comment.author_name:
           raise ValidationError({"author_name": "Give a name to post without an account."})
       comment.full_clean(
           exclude=TREE_FIELDS | {"article", "parent"}, validate_constraints=False
       )
   ```

5. **Indexes** (`comments/models.py`, one migration): drop the five that others cover, add
   one for the end of a thread.

   ```python
   article = models.ForeignKey(..., db_index=False)   # comment_thread_page_idx covers it
   user = models.ForeignKey(..., db_index=False)      # comment_user_recent_idx covers it
   status = models.CharField(..., db_index=False)     # comment_status_created_idx covers it
   tree_id = models.PositiveIntegerField(editable=False, db_index=False)  # (tree_id, lft)
   # Meta.indexes:
   models.Index(fields=["tree_id", "rght"], name="comment_tree_rght_idx"),
   ```

   (django-mptt adds `tree_id` only when the model does not define it.)

6. **A reply that renumbers nothing.** Nested sets make an early reply cost every row after
   it. The structural fix is an order key that never changes: a `path` column of fixed-width
   sibling positions (`0001.0004.0002`, a child's position from a `replies` counter on its
   parent, under the thread lock), an index on `(article, tree_id, path)` for pages, `path`
   ranges for subtrees, and a `size` counter on top-level comments for the page budget. A
   reply then writes its row, its parent's counter and its root's size: O(depth), whatever
   the thread's size. It replaces django-mptt's `lft`/`rght` (and the integrity checker's
   rules) and is the only way to the 5 ms target for early replies in big threads.

7. **Python ≥ 3.13.13 for serving.** 3.13.0 (this venv) frees and re-allocates a 16 KB
   frame-stack chunk at every call that crosses a chunk boundary (cpython gh-142183); in
   gunicorn's workers the template rendering sits on one: the system CPU time of an
   uncached page, above. `pyenv install 3.13.13`, then recreate `.venv`.

8. **A warm page without the template.** A warm page still draws the article, the form and
   its tokens: most of its CPU. Cache the whole anonymous page as bytes per article version
   with placeholders for the two per-reader values (the CSRF token and the form's `shown_at`
   token), and replace them per request (`bytes.replace` on 0.5 MB takes well under 1 ms).
   That leaves the article query and the ETag: the way to 800 requests/s on 2 workers.
"""


def report(results: dict) -> str:
    info, articles, pages = results["info"], results["articles"], results["pages"]
    writes, http, redos = results["writes"], results["http"], results["redos"]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `bench/run.py` (`make bench`) on {results['date']}; the run took "
        f"{results['seconds'] / 60:.1f} minutes. Rerun it rather than editing the figures.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {info['cpu']}, {info['cores']} cores ({info['usable']} usable), "
        f"{info['memory']} RAM |",
        f"| load average (1 min) | {results['load'][0]:.1f} at the start, "
        f"{results['load'][1]:.1f} at the end (other work on the machine shares the cores) |",
        f"| OS | {info['os']} |",
        f"| software | Python {info['python']}, Django {info['django']}, django-mptt "
        f"{info['mptt']}, markdown-it-py {info['markdown_it']}, nh3 {info['nh3']} |",
        f"| PostgreSQL | {info['postgres']}, same machine, TCP on 127.0.0.1 |",
        f"| load generator | {info['wrk']} (Debian package), same machine |",
        "| settings | those of `make serve`: `DEBUG=0`, local-memory cache (per process), "
        "`CONN_MAX_AGE=60`, `COMMENTS_PAGE_THREADS=50`, `COMMENTS_PAGE_MAX=500`, "
        "`COMMENTS_MAX_DEPTH=10` |",
        "",
        *reproduce(),
        "## Results",
        "",
        *summary_table(articles, pages, writes, http),
        "",
        *how_measured(articles),
        "## Targets (2-core machine)",
        "",
        *summarize(targets(results)),
        "",
        "## What limits the rest",
        "",
        *limits(results),
        "## ReDoS probes",
        "",
        *redos_section(redos),
        "",
        PROPOSALS,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    articles = build_data()
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off needs it
    info = machine()
    pages = measure_pages(articles)
    url = articles[1_000]["article"].get_absolute_url()
    profile = profile_page(url, cold=True, reps=5, show_all=True)
    warm_profile = profile_page(url, cold=False, reps=50, show_all=False)
    breakdown = render_breakdown(articles[1_000]["article"])
    log(
        f"breakdown: template {fmt_ms(breakdown['template'])} ms, prototype "
        f"{fmt_ms(breakdown['python'])} ms, same HTML: {breakdown['same_html']}"
    )
    try_sanitize_cache(breakdown, articles[1_000]["article"])
    redos = measure_redos(articles)
    try_redos_fix(redos)
    writes = measure_writes(articles)
    http = measure_throughput(articles)
    indexes = try_write_fixes(articles)
    results = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "info": info,
        "load": (load_start, os.getloadavg()[0]),
        "articles": articles,
        "pages": pages,
        "profile": profile,
        "warm_profile": warm_profile,
        "breakdown": breakdown,
        "redos": redos,
        "writes": writes,
        "http": http,
        "indexes": indexes,
        "seconds": time.perf_counter() - started,
    }
    with open(SAVED, "wb") as saved:
        pickle.dump(results, saved)
    print("\n".join(summary_table(articles, pages, writes, http)))
    (ROOT / "BENCHMARKS.md").write_text(report(results))
    log(f"wrote BENCHMARKS.md in {(time.perf_counter() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    if REPORT_ONLY:
        with open(SAVED, "rb") as saved:
            (ROOT / "BENCHMARKS.md").write_text(report(pickle.load(saved)))  # noqa: S301
    else:
        main()
