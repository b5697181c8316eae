"""The cluster of ``make cluster`` under load: page reads through HAProxy with one and with two
app servers, and replies with the streaming replica attached.

A cluster of its own is started (``deploy/cluster``: its own run directory and ports, its
own PostgreSQL primary and replica, Redis, two gunicorn app servers of ``WEB_CONCURRENCY``
workers), measured and removed. Reads: ``wrk`` on the demo article's page through HAProxy,
with both app servers, then with the second stopped (HAProxy's health check takes it out).
Replies: readers, each with its own cookies, post replies to the article's comments through
HAProxy as fast as they are answered; every reply is a write on the primary, streamed to
the replica. The CPU that each part used during each run is read from /proc, so the report
can say what limits the figures on this machine.

``bench/run.py`` takes this measure unless ``BENCH_CLUSTER=0``; without wrk, HAProxy or
redis-server nothing is measured. Run alone: ``.venv/bin/python -m bench.cluster`` prints
the figures.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import http_load  # noqa: E402
from bench.harness import Config, fmt_ms, log  # noqa: E402
from deploy.cluster import haproxy, postgres, processes, topology  # noqa: E402

HEADING = "## The cluster (`make cluster`)"
POSTERS = 4
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (not idle nor waiting), from /proc/stat."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS


def parts(layout: topology.Layout) -> dict[str, list[int]]:
    """The pids of each part: app servers (by process group), HAProxy, PostgreSQL (both
    servers and their backends, by parent), Redis."""
    groups = {
        "app servers": [processes.running(layout.run_dir, f"app{n}") for n in (1, 2)],
        "HAProxy": [processes.running(layout.run_dir, "haproxy")],
        "Redis": [processes.running(layout.run_dir, "redis")],
    }
    masters = []
    for name in ("primary", "replica"):
        with open(layout.run_dir / name / "postmaster.pid") as pid_file:
            masters.append(int(pid_file.readline()))
    found = {name: [] for name in (*groups, "PostgreSQL")}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid, pgid = int(entry.name), int(stat[1]), int(stat[2])
        for name, leaders in groups.items():
            if pgid in leaders:
                found[name].append(pid)
        if pid in masters or ppid in masters:
            found["PostgreSQL"].append(pid)
    return found


def cpu_by_part(layout, action):
    """Run ``action()``; returns its result and the CPU seconds each part (and this
    process's children, wrk) used meanwhile."""
    pids = parts(layout)
    before = {name: cpu_seconds(p) for name, p in pids.items()}
    children, busy = os.times(), machine_busy()
    result = action()
    after = {name: cpu_seconds(p) for name, p in pids.items()}
    now = os.times()
    used = {name: after[name] - before[name] for name in pids}
    used["wrk"] = (now.children_user - children.children_user) + (
        now.children_system - children.children_system
    )
    used["whole machine"] = machine_busy() - busy
    return result, used


def wrk(url: str, config: Config) -> dict:
    output = subprocess.run(  # noqa: S603 (wrk from Debian, loopback only)
        [
            shutil.which("wrk"),
            f"-t{config.wrk_threads}",
            f"-c{config.wrk_connections}",
            f"-d{config.wrk_seconds}s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=config.wrk_seconds + 60,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50": http_load.seconds_of(latency["50"]),
        "p99": http_load.seconds_of(latency["99"]),
        "bad": int(bad[1]) if bad else 0,
    }


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 303 after a post is its success: count it, do not follow it


def post_replies(layout, slug: str, parents: list[int], seconds: float) -> dict:
    """POSTERS readers posting replies through HAProxy for ``seconds``; answers counted."""
    from django.urls import reverse

    page = f"{layout.url}{reverse('article_detail', kwargs={'slug': slug})}"
    post = f"{layout.url}{reverse('comment_post', args=[slug])}"
    answers, stop_at = Counter(), time.monotonic() + seconds

    def poster(number: int) -> None:
        cookies = urllib.request.HTTPCookieProcessor(CookieJar())
        opener = urllib.request.build_opener(cookies, _KeepRedirects)
        with opener.open(page, timeout=30) as response:  # noqa: S310 (loopback)
            token = re.search(
                r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode()
            )[1]
        count = 0
        while time.monotonic() < stop_at:
            count += 1
            form = {
                "csrfmiddlewaretoken": token,
                "body": f"Bench reply {number}.{count}.",
                "parent": parents[(number + count) % len(parents)],
                "author_name": f"Bench {number}",
                "author_email": "",
            }
            request = urllib.request.Request(  # noqa: S310 (loopback)
                post, data=urlencode(form).encode(), headers={"Referer": page}
            )
            try:
                with opener.open(request, timeout=30) as response:
                    answers[response.status] += 1
            except HTTPError as answer:  # the 303 is not followed: it is the success
                answers[answer.code] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=poster, args=(n,)) for n in range(POSTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    return {"rps": answers[303] / elapsed, "answers": dict(answers), "seconds": elapsed}


def measure(config: Config) -> dict | None:
    if os.environ.get("BENCH_CLUSTER") == "0":
        log("BENCH_CLUSTER=0: no cluster figures")
        return None
    missing = [name for name in ("wrk", "haproxy", "redis-server") if not shutil.which(name)]
    if missing or not config.wrk:
        log(f"no cluster figures (missing: {', '.join(missing) or 'BENCH_WRK=0'})")
        return None
    layout = topology.Layout.fresh("threadline-cluster-bench-")
    try:
        log(f"cluster: starting in {layout.run_dir}")
        topology.start(layout)
        [(slug,)] = postgres.query(
            layout.primary_port,
            "SELECT slug FROM articles_article ORDER BY id LIMIT 1",
            database=postgres.DATABASE,
        )
        url = f"{layout.url}/articles/{slug}/"
        subprocess.run(  # noqa: S603 (warm both servers' caches)
            [shutil.which("wrk"), "-t2", "-c8", f"-d{config.wrk_warmup}s", url],
            capture_output=True,
            check=True,
        )
        results = {
            "workers": topology.app_env(layout)["WEB_CONCURRENCY"],
            "threads": config.wrk_threads,
        }
        results["two"], results["two_cpu"] = cpu_by_part(layout, lambda: wrk(url, config))
        processes.stop(layout.run_dir, "app2")
        processes.wait_for(lambda: _state(layout, "app2") == "DOWN", timeout=15, what="app2 out")
        results["one"], results["one_cpu"] = cpu_by_part(layout, lambda: wrk(url, config))
        topology.start_app(layout, 2)
        processes.wait_for(lambda: _state(layout, "app2") == "UP", timeout=15, what="app2 back")
        parents = [
            pk
            for (pk,) in postgres.query(
                layout.primary_port,
                "SELECT id FROM comments_comment ORDER BY id LIMIT 20",
                database=postgres.DATABASE,
            )
        ]
        seconds = max(config.writers_seconds, 2)
        results["replies"], results["replies_cpu"] = cpu_by_part(
            layout, lambda: post_replies(layout, slug, parents, seconds)
        )
        started = time.monotonic()
        postgres.replayed(layout.primary_port, layout.replica_port)
        results["catch_up"] = time.monotonic() - started
        results["seconds"] = config.wrk_seconds
        log(
            f"cluster: reads/s {results['two']['rps']:.0f} (2 servers), "
            f"{results['one']['rps']:.0f} (1); replies/s {results['replies']['rps']:.0f} "
            f"{results['replies']['answers']}"
        )
        return results
    finally:
        topology.stop_all(layout, remove=True)


def _state(layout, server: str) -> str:
    return haproxy.server_states(layout.run_dir).get(server, "?")


def cores(used: dict, seconds: float) -> str:
    """CPU of each part as cores busy on average: "app servers 1.6, wrk 0.3, ..."."""
    ranked = sorted(
        ((name, cpu) for name, cpu in used.items() if name != "whole machine"),
        key=lambda item: -item[1],
    )
    mine = ", ".join(f"{name} {cpu / seconds:.2f}" for name, cpu in ranked if cpu > 0)
    return f"{mine}; whole machine {used['whole machine'] / seconds:.2f}"


def section(cluster: dict | None) -> list[str]:
    """The report's cluster section (``bench/run.py`` adds it to the others)."""
    lines = [HEADING, ""]
    if not cluster:
        return [
            *lines,
            "Not measured in this run (`BENCH_CLUSTER=0`, or wrk, HAProxy or "
            "redis-server missing).",
            "",
        ]
    one, two, replies = cluster["one"], cluster["two"], cluster["replies"]
    seconds, machine_cores = cluster["seconds"], len(os.sched_getaffinity(0))
    answers = ", ".join(f"{n:,} × {s}" for s, n in sorted(replies["answers"].items()))
    used = dict(cluster["two_cpu"])
    machine = min(used.pop("whole machine") / seconds, machine_cores)  # /proc/stat rounds
    busiest, total = max(used, key=used.get), sum(used.values()) / seconds
    return [
        *lines,
        "`make cluster`'s topology, started afresh for this measure (deploy/cluster): "
        "HAProxy in front of gunicorn app servers of "
        f"{cluster['workers']} workers each, a PostgreSQL primary with a streaming replica "
        "(pages read from the replica where the router sends them), Redis for the page cache. "
        f"Reads: `wrk -t{cluster['threads']}` for {seconds} s on the demo article's page "
        f"through HAProxy. Replies: {POSTERS} readers posting replies through HAProxy as fast "
        "as they are answered, each a write on the primary streamed to the replica. Every "
        "part, and wrk, runs on this machine's cores.",
        "",
        "| | per second | p50 / p99 ms | CPU used, in cores (the busiest first) |",
        "|---|---|---|---|",
        f"| page reads, 2 app servers | {two['rps']:,.0f} | {fmt_ms(two['p50'])} / "
        f"{fmt_ms(two['p99'])} | {cores(cluster['two_cpu'], seconds)} |",
        f"| page reads, 1 app server | {one['rps']:,.0f} | {fmt_ms(one['p50'])} / "
        f"{fmt_ms(one['p99'])} | {cores(cluster['one_cpu'], seconds)} |",
        f"| replies, replica attached | {replies['rps']:,.1f} | – | "
        f"{cores(cluster['replies_cpu'], replies['seconds'])} |",
        "",
        f"Answers to the replies: {answers}; the replica had replayed them all "
        f"{fmt_ms(cluster['catch_up'])} ms after the last. Non-2xx reads: "
        f"{one['bad'] + two['bad']}.",
        "",
        f"**What limits them on {machine_cores} cores:** during the reads with two app "
        f"servers the machine was {machine:.1f} of {machine_cores} cores busy, "
        f"{total:.1f} of them the cluster's parts and wrk ({busiest} the most)"
        + (", other work on the machine the rest" if machine - total >= 0.25 else "")
        + (
            ": the CPU is spent, so a second app server on the same machine adds processes, "
            "not cores"
            if machine >= 0.85 * machine_cores
            else ": the CPU was not all spent, so the limit was elsewhere"
        )
        + f" (two serve {two['rps'] / one['rps']:.2f}× what one does). On machines of their "
        "own, each app server brings its own cores.",
        "",
    ]


if __name__ == "__main__":
    import django

    from bench import harness

    harness.configure_environment()
    django.setup()
    print("\n".join(section(measure(Config.from_env()))))
