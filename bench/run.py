"""Measure how fast Threadline serves big discussions and takes replies; write BENCHMARKS.md.

Run with ``make bench`` (or ``.venv/bin/python bench/run.py``). It needs PostgreSQL:
``DATABASE_URL`` defaults to ``postgres://postgres@127.0.0.1:5432/threadline_bench``, a
database of its own that the script drops and creates anew at every start, so a rerun
measures the same data. It refuses the ``threadline`` database that the tests use.
``REDIS_URL`` is ignored: the script clears its cache, so it uses the local-memory one.

What it measures (server time: no browser; no network except for the throughput part):

* article pages through Django's test client with the full middleware stack, with an empty
  cache and with the discussion fragment cached, on articles of 1,000 / 10,000 / 100,000
  comments, one of 100,000 top-level comments and one holding a single 10,000-comment
  thread; for each, the SQL queries, their time, and the CPU time of the app process;
* ``comment_create`` latency for replies and new top-level comments, and a whole POST;
* requests per second from gunicorn (2 workers) with and without persistent connections;
* django-mptt's ``get_cached_trees`` on the same rows, to show why the page does not use it.

Speed is measured here, never asserted in tests. Bounded: about five minutes on two cores.
"""

import datetime
import math
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/threadline_bench"
PROTECTED_DATABASES = {"threadline", "postgres", "template0", "template1"}

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.pop("REDIS_URL", None)  # cache.clear() must never empty a shared Redis

import dj_database_url  # noqa: E402
import psycopg2  # noqa: E402
from psycopg2 import sql  # noqa: E402


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database, so every run starts from the same empty
    schema (whatever migrations it saw before); refuse anything but PostgreSQL and the
    databases that others use."""
    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit(f"bench: DATABASE_URL must point at PostgreSQL, not {config['ENGINE']}.")
    name = config["NAME"]
    if name in PROTECTED_DATABASES:
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


recreate_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

import mptt  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from mptt.utils import get_cached_trees  # noqa: E402

from articles.models import Article  # noqa: E402
from bench.forest import bulk_forest  # noqa: E402
from comments.models import Comment  # noqa: E402
from comments.services import comment_create  # noqa: E402
from comments.thread import build_thread  # noqa: E402

# How many times each figure is measured; the median and the p95 (nearest rank) are shown.
COLD_REPS = 15
WARM_REPS = 40
POSTS = 50
HOT_POSTS = 10  # each renumbers most of a 10,000-row thread: keep the run short
HTTP_REQUESTS = 400
HTTP_THREADS = 8
COMMENT_ELEMENT = re.compile(r'id="comment-\d+"')  # one per comment drawn (README, hooks)


# --- figures -------------------------------------------------------------------------------


@dataclass
class Samples:
    """Per repetition: wall-clock seconds, CPU seconds of this process, seconds in SQL."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def median_ms(samples: list[float]) -> str:
    return ms(statistics.median(samples))


def p95_ms(samples: list[float]) -> str:
    return ms(percentile(samples, 0.95))


def timed(action, reps: int, *, before=None) -> Samples:
    """Run ``action`` ``reps`` times; ``before`` runs first each time, outside the timing."""
    samples = Samples()
    for _ in range(reps):
        if before is not None:
            before()
        with CaptureQueriesContext(connection) as queries:
            cpu, start = time.process_time(), time.perf_counter()
            action()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        samples.wall.append(wall)
        samples.cpu.append(cpu)
        samples.sql.append(sum(float(query["time"]) for query in queries.captured_queries))
    return samples


# --- data ----------------------------------------------------------------------------------


def build_data() -> dict:
    """Migrate the new database and build the articles; returns them by name with their shapes."""
    log("migrating")
    call_command("migrate", verbosity=0, interactive=False)
    cache.clear()
    plan = [
        # name, comments, fanout, depth, description
        ("1k", 1_000, 3, 4, "threads of 121 (3 replies a comment, 4 levels deep)"),
        ("10k", 10_000, 3, 4, "threads of 121 (3 replies a comment, 4 levels deep)"),
        ("100k", 100_000, 3, 4, "threads of 121 (3 replies a comment, 4 levels deep)"),
        ("100k flat", 100_000, 0, 0, "all top-level: 100,000 threads of one comment"),
        ("10k one thread", 10_000, 10, 4, "one thread of 10,000 (10 replies a comment)"),
    ]
    articles = {}
    for name, size, fanout, depth, shape in plan:
        start = time.perf_counter()
        article = Article.objects.create(
            title=f"Bench {name}", slug=f"bench-{name.replace(' ', '-')}", body="Bench article."
        )
        bulk_forest(article, size, fanout=fanout, depth=depth)
        articles[name] = {"article": article, "size": size, "shape": shape}
        log(f"built {name}: {size:,} comments in {time.perf_counter() - start:.1f} s")
    vacuum()
    for entry in articles.values():
        entry["threads"] = Comment.objects.filter(article=entry["article"], level=0).count()
    return articles


def vacuum() -> None:
    """Fresh statistics and visibility map, as autovacuum would leave them in production."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE comments_comment")
        cursor.execute("VACUUM ANALYZE articles_article")


def root_tree_ids(article) -> list[int]:
    return list(
        Comment.objects.filter(article=article, level=0)
        .order_by("tree_id")
        .values_list("tree_id", flat=True)
    )


# --- pages ---------------------------------------------------------------------------------


def measure_page(client: Client, label: str, url: str, *, cached: bool, **headers) -> dict:
    """Time one page cold (cache emptied before each request) and, when the page has a
    cached fragment, warm."""

    def get():
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        return response

    cache.clear()
    with CaptureQueriesContext(connection) as cold_queries:
        response = get()
    html = response.content.decode()
    row = {
        "label": label,
        "url": url,
        "comments": len(COMMENT_ELEMENT.findall(html)),
        "kb": len(response.content) / 1024,
        "cold_queries": [(q["sql"], float(q["time"])) for q in cold_queries.captured_queries],
        "cold": timed(get, COLD_REPS, before=cache.clear),
    }
    if cached:
        get()
        with CaptureQueriesContext(connection) as warm_queries:
            get()
        row["warm_queries"] = len(warm_queries)
        row["warm"] = timed(get, WARM_REPS)
    log(f"page {label}: cold {median_ms(row['cold'].wall)} ms")
    return row


def measure_pages(articles: dict) -> list[dict]:
    client = Client(HTTP_HOST="127.0.0.1")
    client.get("/")  # imports, URL resolver and template loaders: not part of any figure
    rows = []
    for name in ("1k", "10k", "100k", "100k flat", "10k one thread"):
        url = articles[name]["article"].get_absolute_url()
        rows.append(measure_page(client, f"{name}: first page", url, cached=True))
    big = articles["100k"]["article"]
    tree_ids = root_tree_ids(big)
    deep = f"{big.get_absolute_url()}?after={tree_ids[-20]}"
    rows.append(
        measure_page(
            client,
            f"100k: Load more, from thread {len(tree_ids) - 19:,} of {len(tree_ids):,}",
            deep,
            cached=True,
        )
    )
    rows.append(
        measure_page(
            client, "100k: the same, htmx fragment", deep, cached=True, HTTP_HX_REQUEST="true"
        )
    )
    rows.append(
        measure_page(
            client, "100k: newest first", f"{big.get_absolute_url()}?order=newest", cached=True
        )
    )
    flat = articles["100k flat"]["article"]
    flat_ids = root_tree_ids(flat)
    rows.append(
        measure_page(
            client,
            f"100k flat: Load more, from thread {len(flat_ids) - 99:,} of {len(flat_ids):,}",
            f"{flat.get_absolute_url()}?after={flat_ids[-100]}",
            cached=True,
        )
    )
    rows.append(
        measure_page(
            client,
            "100k flat: newest first",
            f"{flat.get_absolute_url()}?order=newest",
            cached=True,
        )
    )
    middle = Comment.objects.get(article=big, level=0, tree_id=tree_ids[len(tree_ids) // 2])
    rows.append(
        measure_page(
            client,
            "100k: focused thread (121 comments)",
            f"/comments/{middle.pk}/thread/",
            cached=False,
        )
    )
    hot = Comment.objects.get(article=articles["10k one thread"]["article"], level=0)
    rows.append(
        measure_page(
            client,
            "10k one thread: focused thread, first 500",
            f"/comments/{hot.pk}/thread/",
            cached=False,
        )
    )
    return rows


# --- writes --------------------------------------------------------------------------------


def measure_writes(articles: dict) -> list[dict]:
    """Latency of ``comment_create``: replies deep in the 100k article (each into another
    thread), new top-level comments, and replies early in the single 10,000-comment thread
    (the nested-set worst case: most rows of the thread are renumbered)."""
    big = articles["100k"]["article"]
    tree_ids = root_tree_ids(big)
    middle = len(tree_ids) // 2
    deep_parents = list(
        Comment.objects.filter(article=big, level=4, tree_id__in=tree_ids[middle : middle + POSTS])
        .order_by("tree_id", "lft")
        .distinct("tree_id")
        .values_list("pk", flat=True)
    )
    hot = articles["10k one thread"]["article"]
    early_parents = list(
        Comment.objects.filter(article=hot, level=2)
        .order_by("lft")
        .values_list("pk", flat=True)[:HOT_POSTS]
    )
    rows = []

    def posts(label, article, parents, thread_size):
        pending = iter(parents)

        def post():
            comment_create(
                article=article,
                body="A *reply*, measured.",
                parent_id=next(pending),
                author_name="Bench",
            )

        with CaptureQueriesContext(connection) as queries:
            post()  # counted, not timed
        samples = timed(post, len(parents) - 1)
        rows.append(
            {"label": label, "thread": thread_size, "queries": len(queries), "samples": samples}
        )
        log(f"writes {label}: {median_ms(samples.wall)} ms")

    posts("reply at depth 5, 100k article", big, deep_parents, "121")
    posts("new top-level comment, 100k article", big, [None] * POSTS, "new")
    posts("reply early in a 10,000-comment thread", hot, early_parents, "10,000")
    vacuum()  # those renumberings left dead rows behind
    return rows


def measure_post_view(articles: dict) -> dict:
    """The whole reply request: POST → 303, CSRF and session middleware, the spam and flood
    defences included. Each post comes from another reader (address) with other text, and
    the minimum delay between showing and posting the form is off (a script is fast)."""
    big = articles["100k"]["article"]
    tree_ids = root_tree_ids(big)
    parents = iter(
        Comment.objects.filter(article=big, level=3, tree_id__in=tree_ids[:POSTS])
        .order_by("tree_id", "lft")
        .distinct("tree_id")
        .values_list("pk", flat=True)
    )
    url = f"{big.get_absolute_url()}comments/"
    counter = iter(range(POSTS))

    def post():
        n = next(counter)
        response = Client(
            HTTP_HOST="127.0.0.1", REMOTE_ADDR=f"127.0.{n // 200}.{n % 200 + 1}"
        ).post(url, {"body": f"Reply number {n}.", "parent": next(parents), "author_name": "Bench"})
        assert response.status_code == 303, response.status_code

    with override_settings(COMMENTS_MIN_SUBMIT_SECONDS=0):
        samples = timed(post, POSTS)
    log(f"POST reply: {median_ms(samples.wall)} ms")
    return {"label": "POST a reply to the view (303)", "samples": samples}


# --- get_cached_trees ----------------------------------------------------------------------


def time_on_fresh_rows(function, queryset, reps: int) -> list[float]:
    """Time ``function(rows)``, each time on rows fetched anew (outside the timing)."""
    samples = []
    for _ in range(reps):
        rows = list(queryset)
        start = time.perf_counter()
        function(rows)
        samples.append(time.perf_counter() - start)
    return samples


def measure_tree_building(articles: dict) -> list[dict]:
    """django-mptt's get_cached_trees against the page's build_thread, on the same rows."""
    rows = []
    for name, reps in (("1k", 5), ("10k", 3), ("100k", 3)):
        queryset = Comment.objects.filter(article=articles[name]["article"]).order_by(
            "tree_id", "lft"
        )
        row = {
            "rows": articles[name]["size"],
            "build_thread": time_on_fresh_rows(build_thread, queryset, reps),
        }
        if name != "100k":  # quadratic: at 100k it would take many minutes
            row["get_cached_trees"] = time_on_fresh_rows(get_cached_trees, queryset, reps)
        rows.append(row)
        log(f"tree building {name} done")
    return rows


# --- throughput ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> int:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(url)
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback only)
        response.read()
        return response.status


def load(url: str, total: int, threads: int) -> tuple[list[float], float, int]:
    """``total`` GETs of ``url`` from ``threads`` client threads; (latencies, seconds, errors)."""
    latencies, errors, lock = [], [0], threading.Lock()
    remaining = [total]

    def worker():
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            try:
                ok = fetch(url) == 200
            except OSError:
                ok = False
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                errors[0] += not ok

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, time.perf_counter() - start, errors[0]


def workers_cpu(master: int) -> float:
    """CPU seconds used so far by the children (the workers) of process ``master``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def measure_throughput(articles: dict, conn_max_age: int) -> dict:
    """Serve with gunicorn (2 sync workers, DEBUG on, local-memory cache per worker) and hit
    the 100k article's first page from 8 client threads; gunicorn is always stopped."""
    port = free_port()
    env = {**os.environ, "DEBUG": "1", "CONN_MAX_AGE": str(conn_max_age)}
    env.pop("REDIS_URL", None)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    url = f"http://127.0.0.1:{port}{articles['100k']['article'].get_absolute_url()}"
    log(f"gunicorn on port {port}, CONN_MAX_AGE={conn_max_age}")
    with tempfile.TemporaryFile() as server_log:
        server = subprocess.Popen(  # noqa: S603 (fixed arguments, our own venv)
            [str(gunicorn), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=server_log,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    fetch(url)
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        server_log.seek(0)
                        tail = server_log.read().decode(errors="replace")[-2000:]
                        raise RuntimeError(f"gunicorn did not start:\n{tail}") from None
                    time.sleep(0.2)
            load(url, 40, HTTP_THREADS)  # every worker renders and caches the fragment once
            cpu = workers_cpu(server.pid)
            latencies, seconds, errors = load(url, HTTP_REQUESTS, HTTP_THREADS)
            cpu = workers_cpu(server.pid) - cpu
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    log(f"throughput CONN_MAX_AGE={conn_max_age}: {HTTP_REQUESTS / seconds:.0f} req/s")
    return {
        "conn_max_age": conn_max_age,
        "rps": HTTP_REQUESTS / seconds,
        "cpu_per_request": cpu / HTTP_REQUESTS,
        "latencies": latencies,
        "errors": errors,
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
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "mptt": mptt.__version__,
        "postgres": postgres,
        "os": platform.platform(terse=True),
    }


def page(pages: list[dict], label: str) -> dict:
    return next(row for row in pages if row["label"] == label)


def short_sql(statement: str) -> str:
    """A query cut down to what tells it apart: its table and the start of its WHERE."""
    statement = re.sub(r'"\w+"\.', "", " ".join(statement.split())).replace('"', "")
    select = "SELECT COUNT(*)" if statement.startswith("SELECT COUNT(*)") else "SELECT …"
    table = re.search(r" FROM (\w+)", statement)
    where = statement.find(" WHERE ")
    condition = statement[where + 7 : where + 95] if where > 0 else ""
    return f"{select} FROM {table[1] if table else '?'} WHERE {condition}…".replace("|", "\\|")


def report(*, info, load_avg, articles, pages, writes, post_view, trees, http, seconds) -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        f"Written by `bench/run.py` (`make bench`) on {today}; the run took "
        f"{seconds / 60:.1f} minutes. Rerun it rather than editing the figures.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {info['cpu']}, {info['cores']} cores |",
        f"| load average (1 min) | {load_avg[0]:.1f} at the start, {load_avg[1]:.1f} at the end "
        "of the run (other work on the machine competes for the same cores) |",
        f"| OS | {info['os']} |",
        f"| Python | {info['python']} |",
        f"| Django | {info['django']} (django-mptt {info['mptt']}) |",
        f"| PostgreSQL | {info['postgres']}, same machine, TCP on 127.0.0.1 |",
        "| settings | `DEBUG=1` (as `make run`), local-memory cache, "
        "`COMMENTS_PAGE_THREADS=50`, `COMMENTS_PAGE_MAX=500`, `COMMENTS_MAX_DEPTH=10` |",
        "",
        "## How to reproduce",
        "",
        "```sh",
        "make bench    # = .venv/bin/python bench/run.py",
        "```",
        "",
        "It needs PostgreSQL. `DATABASE_URL` defaults to "
        "`postgres://postgres@127.0.0.1:5432/threadline_bench`; the script drops and "
        "creates that database, runs the migrations and builds the data below with "
        "`bench.forest.bulk_forest` (valid nested sets inserted in bulk), so every run "
        "measures the same rows. It refuses the `threadline` database of the tests.",
        "",
        "## Data",
        "",
        "| article | comments | top-level threads | shape |",
        "|---|---:|---:|---|",
    ]
    for name, entry in articles.items():
        lines.append(f"| {name} | {entry['size']:,} | {entry['threads']:,} | {entry['shape']} |")
    lines += [
        "",
        "## Pages",
        "",
        "Server time of one GET through Django's test client: URL resolving, every "
        "middleware, queries, template rendering; no network, no browser. *Cold*: the cache "
        f"is emptied before each request ({COLD_REPS} requests); *warm*: the discussion "
        f"fragment is in the cache ({WARM_REPS} requests). Milliseconds, median and p95 "
        "(nearest rank) of the wall-clock time; *SQL* is the median time spent in queries (as "
        "Django logs them, to the millisecond) and "
        "*CPU* the median CPU time of the app process, which other load on the machine "
        "affects least. A page shows at most 50 top-level threads and 500 comments.",
        "",
        "| page | comments shown | HTML KB | queries cold | cold median | cold p95 | SQL | CPU "
        "| queries warm | warm median | warm p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in pages:
        cold = row["cold"]
        if "warm" in row:
            warm = (str(row["warm_queries"]), median_ms(row["warm"].wall), p95_ms(row["warm"].wall))
        else:
            warm = ("not cached", "", "")
        lines.append(
            f"| {row['label']} | {row['comments']} | {row['kb']:.0f} | {len(row['cold_queries'])} "
            f"| {median_ms(cold.wall)} | {p95_ms(cold.wall)} | {median_ms(cold.sql)} "
            f"| {median_ms(cold.cpu)} | {warm[0]} | {warm[1]} | {warm[2]} |"
        )
    lines += [
        "",
        "The queries of one cold request for the 100k article, first page and deep "
        '"Load more" (single run, milliseconds):',
        "",
        "| page | ms | query |",
        "|---|---:|---|",
    ]
    for label in (pages[2]["label"], pages[5]["label"]):
        for statement, seconds_spent in page(pages, label)["cold_queries"]:
            lines.append(f"| {label} | {seconds_spent * 1000:.0f} | `{short_sql(statement)}` |")
    lines += [
        "",
        "## Writes",
        "",
        "`comments.services.comment_create` called directly (locked transaction, validation, "
        "Markdown rendering, nested-set update, commit). The last line is the whole request: "
        "a new reader POSTs the form and gets its 303.",
        "",
        "| write | size of the thread written | timed posts | queries | median ms | p95 ms "
        "| SQL ms | CPU ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in writes:
        samples = row["samples"]
        lines.append(
            f"| {row['label']} | {row['thread']} | {len(samples.wall)} | {row['queries']} "
            f"| {median_ms(samples.wall)} | {p95_ms(samples.wall)} | {median_ms(samples.sql)} "
            f"| {median_ms(samples.cpu)} |"
        )
    samples = post_view["samples"]
    lines.append(
        f"| {post_view['label']} | 121 | {len(samples.wall)} | | {median_ms(samples.wall)} "
        f"| {p95_ms(samples.wall)} | {median_ms(samples.sql)} | {median_ms(samples.cpu)} |"
    )
    lines += [
        "",
        "## Throughput",
        "",
        f"gunicorn, 2 sync workers, serving the 100k article's first page (fragment cached in "
        f"each worker) to {HTTP_THREADS} client threads on the same 2 cores, "
        f"{HTTP_REQUESTS} requests after a warm-up. Latency as the client sees it.",
        "",
        "| `CONN_MAX_AGE` | requests/s | median ms | p95 ms | p99 ms | errors "
        "| workers' CPU ms per request |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in http:
        latencies = row["latencies"]
        lines.append(
            f"| {row['conn_max_age']} | {row['rps']:.0f} | {median_ms(latencies)} "
            f"| {p95_ms(latencies)} | {ms(percentile(latencies, 0.99))} | {row['errors']} "
            f"| {ms(row['cpu_per_request'])} |"
        )
    lines += [
        "",
        "## Building the tree in Python: `get_cached_trees` against `build_thread`",
        "",
        "The same rows (every comment of the article, in `tree_id, lft` order, fetched "
        "beforehand) turned into a tree by django-mptt's `get_cached_trees` and into page "
        "order by `comments.thread.build_thread`. Milliseconds, median.",
        "",
        "| rows | `get_cached_trees` | `build_thread` |",
        "|---:|---:|---:|",
    ]
    for row in trees:
        mptt_time = (
            median_ms(row["get_cached_trees"])
            if "get_cached_trees" in row
            else "not run (quadratic)"
        )
        lines.append(f"| {row['rows']:,} | {mptt_time} | {median_ms(row['build_thread'])} |")
    lines += [
        "",
        "## What the figures say",
        "",
        *interpretation(info, load_avg, pages, writes, post_view, trees, http),
    ]
    return "\n".join(lines) + "\n"


def interpretation(info, load_avg, pages, writes, post_view, trees, http) -> list[str]:
    """A reading of the figures; every number in it comes from this run."""

    def median(values):
        return statistics.median(values) * 1000

    first = {name: page(pages, f"{name}: first page") for name in ("1k", "10k", "100k")}
    big = first["100k"]
    htmx = page(pages, "100k: the same, htmx fragment")
    focused = page(pages, "10k one thread: focused thread, first 500")
    gct = [median(row["get_cached_trees"]) for row in trees[:2]]
    build = [median(row["build_thread"]) for row in trees]
    reply, top, hot = (row["samples"] for row in writes)
    fresh, persistent = http
    lines = []
    if max(load_avg) > info["cores"]:
        lines.append(
            f"- **A busy machine.** The load average reached {max(load_avg):.1f} on "
            f"{info['cores']} cores during the run, so the wall-clock figures include waiting "
            "for a core. The CPU columns measure the app's own work and vary least."
        )
    sql_ms = ", ".join(
        f"{median(first[name]['cold'].sql):.0f} ms at {name}" for name in ("1k", "10k", "100k")
    )
    counts = [t for q, t in big["cold_queries"] if q.startswith("SELECT COUNT(*)")]
    deep_counts = [t for q, t in pages[5]["cold_queries"] if q.startswith("SELECT COUNT(*)")]
    lines += [
        f"- **What grows with the discussion.** A cold first page runs the same "
        f"{len(big['cold_queries'])} queries at every size; their time was {sql_ms}. The "
        "threads and rows shown come by index (at most 51 top-level comments, at most 501 "
        'rows), but the `COUNT(*)` behind "N responses" reads every row of the article '
        f"({sum(counts) * 1000:.0f} ms of the cold 100k page), and a later page adds a second "
        "count for the number of its first thread "
        f'({", ".join(f"{t * 1000:.0f}" for t in deep_counts)} ms on the deep "Load more"). '
        "These are the parts that grow with the article's size.",
        f"- **What a cold page costs is drawing it.** The app spent "
        f"{median(big['cold'].cpu):.0f} ms of CPU on the 100k article's first page "
        f"({big['comments']} comments, {big['kb']:.0f} KB of HTML) and "
        f"{median(first['1k']['cold'].cpu):.0f} ms on the 1k article's, against "
        f"{median(big['cold'].sql):.0f} ms in SQL: the cost follows what is shown, about "
        f"{median(big['cold'].cpu) / max(big['comments'], 1):.2f} ms of CPU per comment drawn.",
        f"- **The cache.** With the discussion fragment cached the page took "
        f"{median(big['warm'].wall):.1f} ms (median) and {big['warm_queries']} query"
        + (" at every size" if len({row["warm_queries"] for row in first.values()}) == 1 else "")
        + ". A write bumps the article's version, so the next reader draws it again.",
    ]
    if htmx["warm_queries"] > big["warm_queries"]:
        lines.append(
            f'- **Not cached: "Load more" through htmx.** The fragment that htmx fetches '
            f"took {median(htmx['warm'].wall):.0f} ms and {htmx['warm_queries']} queries even "
            "with the cache warm: it is rendered outside the `{% cache %}` block, so every "
            "click draws its comments anew. The same page without htmx is cached."
        )
    lines += [
        f"- **Focused thread pages are never cached**: the first 500 comments of the "
        f"10,000-comment thread took {median(focused['cold'].wall):.0f} ms "
        f"({median(focused['cold'].cpu):.0f} ms CPU) on every request.",
        "- **Peers, for orientation only** (their figures come from another 2-core machine): "
        "django-comments-xtd 2.10 draws all 1,000 comments of a page in about 0.4–0.5 s "
        "and 10,000 in about 3.7 s. Threadline's cold first page took "
        f"{median(first['1k']['cold'].wall):.0f} ms "
        f"({median(first['1k']['cold'].cpu):.0f} ms CPU) at 1,000 comments and "
        f"{median(first['10k']['cold'].wall):.0f} ms "
        f"({median(first['10k']['cold'].cpu):.0f} ms CPU) at 10,000, because it draws at "
        'most 500 comments and pages the rest ("Load more", "Continue this thread"): '
        "less HTML, not a faster way to draw the same HTML.",
        f"- **Why not `get_cached_trees`.** It took {gct[0]:.0f} ms on 1,000 rows and "
        f"{gct[1]:.0f} ms on 10,000 ({gct[1] / max(gct[0], 1e-9):.0f}× the time for 10× the "
        "rows): for each comment it scans the whole level above it for the parent. "
        f"`build_thread` took {build[0]:.1f}, {build[1]:.0f} and {build[2]:.0f} ms on 1,000, "
        "10,000 and 100,000 rows: one pass.",
        f"- **Writes.** A reply deep in the 100k article took {median(reply.wall):.0f} ms "
        f"(median; {median(reply.cpu):.0f} ms CPU, {median(reply.sql):.0f} ms SQL) and a new "
        f"top-level comment {median(top.wall):.0f} ms: each thread has its own `tree_id`, so a "
        "write renumbers only its own thread. The whole POST (form, spam and flood checks, "
        f"session) took {median(post_view['samples'].wall):.0f} ms, "
        f"{median(post_view['samples'].sql):.0f} ms of it in SQL.",
        f"- **The price of nested sets is one huge thread.** A reply early in a "
        f"10,000-comment thread took {median(hot.wall):.0f} ms, nearly all of it in the "
        "`UPDATE` that gives the rows to its right new `lft`/`rght` values (every index of "
        "the table gets a new entry for each). Writers of that thread queue behind its lock "
        "meanwhile; other threads are not affected.",
        f"- **Persistent connections.** gunicorn served {persistent['rps']:.0f} requests/s with "
        f"`CONN_MAX_AGE=60` and {fresh['rps']:.0f} with `CONN_MAX_AGE=0`; its workers spent "
        f"{persistent['cpu_per_request'] * 1000:.1f} and {fresh['cpu_per_request'] * 1000:.1f} "
        "ms of CPU per request. The client threads ran on the same 2 cores.",
        "- **Limits of these figures.** `DEBUG=1` (as in development; SQL is logged in "
        "memory), the database on the same 2 cores as the app and the client, a local-memory "
        "cache per worker rather than Redis, and one-line comment bodies; real comments are "
        "longer, so their HTML is larger and slower to draw in proportion.",
    ]
    return lines


def main() -> None:
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    articles = build_data()
    info = machine()
    pages = measure_pages(articles)
    trees = measure_tree_building(articles)
    writes = measure_writes(articles)
    post_view = measure_post_view(articles)
    connection.close()
    http = [measure_throughput(articles, 0), measure_throughput(articles, 60)]
    text = report(
        info=info,
        load_avg=(load_start, os.getloadavg()[0]),
        articles=articles,
        pages=pages,
        writes=writes,
        post_view=post_view,
        trees=trees,
        http=http,
        seconds=time.perf_counter() - started,
    )
    (ROOT / "BENCHMARKS.md").write_text(text)
    log(f"wrote BENCHMARKS.md in {(time.perf_counter() - started) / 60:.1f} minutes")


if __name__ == "__main__":
    main()
