"""What every measurement shares: the run's knobs, the benchmark database, timing, the machine.

Importable before Django is set up (``bench/run.py`` configures the environment first);
the functions that need the app's models import them when called.
"""

import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

import dj_database_url
import psycopg2
from django.db import connection
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/threadline_bench"
# The script drops its database: never one that the app, the tests or PostgreSQL use.
PROTECTED_DATABASES = {"threadline", "postgres", "template0", "template1"}
PROTECTED_PREFIXES = ("tl_",)
ALL_SIZES = (10, 1_000, 10_000, 100_000)

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


@dataclass(frozen=True)
class Config:
    """How much to measure. ``quick`` keeps every measure but with few repetitions."""

    sizes: tuple[int, ...] = ALL_SIZES
    quick: bool = False
    wrk: bool = True
    output: Path = ROOT / "BENCHMARKS.md"
    cold_reps: int = 30
    warm_reps: int = 100
    replies: int = 100  # per reply figure (the p99 of 100 is the second slowest)
    writers: int = 8
    writers_seconds: int = 10
    wrk_threads: int = 2
    wrk_connections: int = 16
    wrk_seconds: int = 10
    wrk_warmup: int = 3
    redos_reps: int = 5
    refusal_reps: int = 5
    profile_reps: int = 5

    @classmethod
    def from_env(cls) -> "Config":
        """BENCH_SIZES (comma-separated article sizes), BENCH_QUICK=1, BENCH_WRK=0 (no wrk),
        BENCH_OUTPUT (where the report goes; BENCHMARKS.md by default)."""
        raw = os.environ.get("BENCH_SIZES", "")
        try:
            sizes = tuple(sorted({int(s.replace("_", "")) for s in raw.split(",") if s.strip()}))
        except ValueError:
            sys.exit(f"bench: BENCH_SIZES must list whole numbers, like 10,1000 (not {raw!r}).")
        if any(size < 1 for size in sizes):
            sys.exit("bench: every size in BENCH_SIZES must be at least 1.")
        output = Path(os.environ.get("BENCH_OUTPUT") or ROOT / "BENCHMARKS.md").resolve()
        base = cls(
            sizes=sizes or ALL_SIZES,
            wrk=os.environ.get("BENCH_WRK", "1") != "0",
            output=output,
        )
        if os.environ.get("BENCH_QUICK") != "1":
            return base
        return cls(
            sizes=base.sizes,
            quick=True,
            wrk=base.wrk,
            output=output,
            cold_reps=5,
            warm_reps=10,
            replies=10,
            writers=4,
            writers_seconds=2,
            wrk_seconds=2,
            wrk_warmup=1,
            redos_reps=1,
            refusal_reps=1,
            profile_reps=2,
        )

    @property
    def saved(self) -> Path:
        """Where a finished run's figures are kept (BENCH_REPORT_ONLY=1 rewrites the
        report from them), one file per report path."""
        key = sha256(str(self.output).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"threadline-bench-{key}.pickle"


def label(size: int) -> str:
    return f"{size:,}"


def full_size(sizes) -> int:
    """The article also shown whole, in a column of its own (and loaded with wrk): the
    1,000-comment one, or the largest below it."""
    return max((size for size in sizes if size <= 1_000), default=min(sizes))


def full_label(sizes) -> str:
    return f"{full_size(sizes):,} (all shown)"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def configure_environment() -> None:
    """Run with the settings of ``make serve``; call before Django is set up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.update(SERVE_ENV)
    os.environ.pop("REDIS_URL", None)  # cache.clear() must never empty a shared Redis
    os.environ.pop("COMMENTS_CACHE_SECONDS", None)


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database, so every run starts from the same empty
    schema; refuse anything but PostgreSQL and the databases that others use."""
    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit(f"bench: DATABASE_URL must point at PostgreSQL, not {config['ENGINE']}.")
    name = config["NAME"]
    if name in PROTECTED_DATABASES or name.startswith(PROTECTED_PREFIXES):
        sys.exit(f"bench: refusing to use the {name!r} database; the script drops it.")
    server = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            log(f"recreating database {name}")
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        server.close()


# --- timing --------------------------------------------------------------------------------


@dataclass
class Samples:
    """Per repetition: wall-clock seconds, and CPU seconds of this process."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


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
    """Run ``action`` ``reps`` times; ``before`` runs first each time, outside the timing.
    Queries are not logged meanwhile: the log's own cost would be timed too."""
    samples = Samples()
    for _ in range(reps):
        if before is not None:
            before()
        cpu, start = time.process_time(), time.perf_counter()
        action()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        samples.wall.append(wall)
        samples.cpu.append(cpu)
    return samples


def median_seconds(action, reps: int) -> float:
    """Median wall-clock seconds of ``reps`` runs of ``action``."""
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return p50(samples)


# --- data ----------------------------------------------------------------------------------


def vacuum() -> None:
    """Fresh statistics and visibility map, as autovacuum would leave them in production."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE comments_comment")
        cursor.execute("VACUUM ANALYZE articles_article")


def largest_thread(article):
    """The top-level comment of the article's biggest thread (roots have lft = 1)."""
    from comments.models import Comment

    return Comment.objects.filter(article=article, level=0).order_by("-rght", "tree_id").first()


def build_data(sizes) -> tuple[dict, dict]:
    """Migrate the new database and build one article per size with
    ``bench.forest.realistic_forest``. Returns the articles by size, and their shapes
    (threads, comments in the largest, deepest level) as plain figures for the report."""
    from django.core.management import call_command

    from articles.models import Article
    from bench.forest import realistic_forest
    from comments.integrity import find_broken_threads
    from comments.models import Comment

    log("migrating")
    call_command("migrate", verbosity=0, interactive=False)
    articles = {}
    for size in sizes:
        start = time.perf_counter()
        articles[size] = Article.objects.create(
            title=f"Bench {size:,}", slug=f"bench-{size}", body="An article with a discussion."
        )
        realistic_forest(articles[size], size, seed=size)
        log(f"built the {size:,}-comment article in {time.perf_counter() - start:.1f} s")
    vacuum()
    shapes = {}
    for size, article in articles.items():
        root = largest_thread(article)
        comments = Comment.objects.filter(article=article)
        shapes[size] = {
            "threads": comments.filter(level=0).count(),
            "largest": (root.rght - root.lft + 1) // 2,
            "deepest": max(comments.values_list("level", flat=True)),
        }
    checked = max((size for size in sizes if size <= 10_000), default=None)
    if checked is not None:  # the checker reads every row: not the 100,000 ones
        start = time.perf_counter()
        problems = find_broken_threads(Comment.objects.filter(article=articles[checked]))
        assert problems == [], problems[:5]
        shapes[checked]["checked"] = True
        seconds = time.perf_counter() - start
        log(f"the {checked:,}-comment article's trees are valid ({seconds:.1f} s)")
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off needs it
    return articles, shapes


# --- the machine ---------------------------------------------------------------------------


def machine() -> dict:
    """CPU, memory, OS and the versions of everything measured (PostgreSQL asked over the
    app's connection)."""
    import django
    import markdown_it
    import mptt
    import nh3

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024**2:.1f} GB"
    except (OSError, ValueError, IndexError):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    wrk_version = "not installed"
    if shutil.which("wrk"):
        done = subprocess.run([shutil.which("wrk"), "--version"], capture_output=True, text=True)  # noqa: S603
        wrk_version = (done.stdout or done.stderr).split(" [")[0].strip()
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
