"""Measure how fast Threadline serves big discussions and takes replies; write BENCHMARKS.md.

Run with ``make bench`` (or ``.venv/bin/python bench/run.py``). It needs PostgreSQL:
``DATABASE_URL`` defaults to ``postgres://postgres@127.0.0.1:5432/threadline_bench``, a
database of its own that is dropped and created anew at every start (the databases of the
app and the tests are refused). Speed is measured here, never asserted in tests. About
five minutes on two cores; ``BENCH_SIZES=10,1000 BENCH_QUICK=1`` takes about one.

Environment:

* ``BENCH_SIZES``: the articles to build, in comments (default ``10,1000,10000,100000``);
* ``BENCH_QUICK=1``: every measure, with few repetitions (figures for checking the bench);
* ``BENCH_WRK=0``: no wrk runs (nor the votes measure, which uses wrk);
* ``BENCH_CLUSTER=0``: no cluster figures (``bench/cluster.py`` starts ``make cluster``'s
  topology of its own, its own PostgreSQL primary and replica, about a minute);
* ``BENCH_OUTPUT``: where the report goes (default ``BENCHMARKS.md`` at the root);
* ``BENCH_REPORT_ONLY=1``: rewrite that report from the last run's saved figures.

The measures live in ``bench/pages.py``, ``writes.py``, ``redos.py``, ``http_load.py``,
``votes.py`` (reads while 100 votes a second go into the article), ``live.py`` (1,000
open pages polling for new comments; ``python -m bench.live`` runs it alone) and
``imports.py`` (a 100,000-comment WordPress file imported; 10,000 with ``BENCH_QUICK``),
``cluster.py`` (reads through HAProxy with one and two app servers, replies with the replica);
``harness.py`` holds the database, timing and machine; ``report.py`` writes the report.
"""

import datetime
import os
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402 (importable before Django is set up)


def measure(config: harness.Config) -> dict:
    """Build the articles and take every figure; returns plain figures for the report."""
    from bench import cluster, http_load, imports, live, pages, redos, votes, writes

    started, load = time.perf_counter(), os.getloadavg()[0]
    articles, shapes = harness.build_data(config.sizes)
    results = {
        "config": config,
        "machine": harness.machine(),
        "shapes": shapes,
        **pages.measure(articles, config),
        "redos": redos.measure(articles[min(articles)], config),
    }
    full = articles[harness.full_size(articles)]
    results["http"] = http_load.measure(full.get_absolute_url(), config)
    results["votes"] = votes.measure(full, config)  # after the page measures: scores change
    results["live"] = live.measure(full, config)  # posts a comment
    results["writes"] = writes.measure(articles, config)  # replies change the articles
    results["import"] = imports.measure(config)  # adds articles of its own
    results["cluster"] = cluster.measure(config)  # a cluster of its own, its own databases
    results["load"] = (load, os.getloadavg()[0])
    results["seconds"] = time.perf_counter() - started
    results["date"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return results


def main() -> None:
    config = harness.Config.from_env()
    harness.configure_environment()
    report_only = os.environ.get("BENCH_REPORT_ONLY") == "1"
    if not report_only:
        harness.recreate_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from bench import cluster, live, report

    if report_only:
        if not config.saved.exists():
            sys.exit(f"bench: no saved figures for {config.output}; run without BENCH_REPORT_ONLY.")
        with open(config.saved, "rb") as saved:
            results = pickle.load(saved)  # noqa: S301 (written by this script)
    else:
        results = measure(config)
        with open(config.saved, "wb") as saved:
            pickle.dump(results, saved)
    sections = [*live.section(results.get("live")), *cluster.section(results.get("cluster"))]
    config.output.write_text(report.render(results).rstrip("\n") + "\n\n" + "\n".join(sections))
    harness.log(f"wrote {config.output}")


if __name__ == "__main__":
    main()
