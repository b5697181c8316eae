"""Votes and cached pages: anonymous reads of an article page under wrk, without votes and
while 100 votes a second go into the same article.

What is measured is the design of ``comments/votes.py``: a vote never empties the cached
discussion; it stamps its refresh slot on the article at most once a slot, and
``scores_key`` (part of the fragment's cache key and of the ETag) follows that stamp, so a
worker draws the page again once a slot rather than at every vote.

The server is ``http_load``'s gunicorn (the command of ``make serve``, 2 workers), with
``bench/render_counter.py`` as its config: the workers count their draws of the discussion
fragment. The voter is this module run as a child process (``python -m bench.votes PK``):
it sets Django up against the bench database and calls ``comments.votes.comment_vote``
directly (no HTTP, so the vote rate limit of the view does not apply), paced on the clock
at ``RATE`` a second, each vote by one of ``VOTERS`` accounts made beforehand on a random
visible comment of the article, always a change (up, down or withdrawn). It is stopped
with SIGTERM, always, and then reports the time of every vote it cast.
"""

import dataclasses
import itertools
import json
import os
import random
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from bench import http_load
from bench.harness import ROOT, Config, fmt_ms, log, vacuum

RATE = 100  # votes a second
VOTERS = 50
THREADS = 4  # votes in flight at most
PREFIX = "bench-voter-"


# --- CPU, from /proc -------------------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command's name (state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def process_seconds(pid: int, *, children: bool = False) -> float:
    """CPU seconds (user + system) of a process, with its waited-for children's if asked."""
    fields = _stat(pid)
    ticks = sum(int(n) for n in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_seconds() -> float | None:
    """CPU seconds of PostgreSQL on this machine: the postmaster with its ended backends,
    plus the running ones. None when its processes are not visible here."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                processes[int(entry.name)] = (
                    (entry / "comm").read_text().strip(),
                    int(_stat(int(entry.name))[1]),
                )
            except (OSError, IndexError, ValueError):
                continue  # ended meanwhile
    ours = {pid for pid, (name, _) in processes.items() if name == "postgres"}
    masters = [pid for pid in ours if processes[pid][1] not in ours]
    if len(masters) != 1:
        return None
    total = process_seconds(masters[0], children=True)
    for pid in ours - set(masters):
        try:
            total += process_seconds(pid)
        except OSError:
            continue
    return total


@contextmanager
def cpu_meter(server, voter_pid: int | None = None):
    """Cores used while the block runs: by the whole machine, the workers, PostgreSQL, the
    voter, wrk (this process's children that ended meanwhile) and the rest (the machine
    is shared). The figures are filled in on exit."""
    figures = {}
    busy, total = machine_ticks()
    workers, database = sum(server.workers_cpu()), postgres_seconds()
    voter = process_seconds(voter_pid) if voter_pid else 0.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    yield figures
    seconds = time.monotonic() - started
    busy_after, total_after = machine_ticks()
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    database_after = postgres_seconds()
    figures.update(
        machine=(busy_after - busy) / max(total_after - total, 1) * os.cpu_count(),
        workers=(sum(server.workers_cpu()) - workers) / seconds,
        postgres=0.0 if None in (database, database_after) else (database_after - database),
        voter=(process_seconds(voter_pid) - voter) / seconds if voter_pid else 0.0,
        wrk=(ended.ru_utime + ended.ru_stime - children.ru_utime - children.ru_stime) / seconds,
    )
    figures["postgres"] /= seconds
    measured = ("workers", "postgres", "voter", "wrk")
    figures["rest"] = max(0.0, figures["machine"] - sum(figures[name] for name in measured))


# --- the voter -------------------------------------------------------------------------------


def voter_pool(count: int) -> int:
    """``count`` accounts that vote (no password: they never log in); returns how many."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    users = get_user_model()
    unusable = make_password(None)
    users.objects.bulk_create(
        users(username=f"{PREFIX}{n}", password=unusable) for n in range(count)
    )
    return count


def cast(article_pk: int) -> None:
    """The voter process: vote at ``RATE`` a second until SIGTERM, then print (as JSON) the
    monotonic time of every vote cast, the refusals, the failures and how late a vote
    started at worst. Vote *n* is due ``n / RATE`` seconds after the start; ``THREADS``
    threads (each with its own connection and its own share of the accounts) take the
    next vote due, so a slow commit does not hold the pace back."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from comments.models import Comment
    from comments.votes import Voter, comment_vote

    voters = [
        Voter(user=user)
        for user in get_user_model().objects.filter(username__startswith=PREFIX).order_by("pk")
    ]
    comments = list(
        Comment.objects.filter(article_id=article_pk).visible().values_list("pk", flat=True)
    )
    connection.close()
    stopping, lock, schedule = threading.Event(), threading.Lock(), itertools.count()
    times, refused, failures, lag = [], [], [], [0.0]
    start = time.monotonic()

    def voter(number: int) -> None:
        rng, mine, current = random.Random(number), voters[number::THREADS], {}
        try:
            while not stopping.is_set():
                with lock:
                    due = start + next(schedule) / RATE
                if stopping.wait(max(0.0, due - time.monotonic())):
                    break
                with lock:
                    lag[0] = max(lag[0], time.monotonic() - due)
                who, pk = rng.choice(mine), rng.choice(comments)
                before = current.get((who.user.pk, pk), 0)
                value = rng.choice([v for v in (1, -1, 0) if v != before])
                try:
                    comment_vote(comment_pk=pk, voter=who, value=value)
                except ValidationError as error:
                    with lock:
                        refused.append(" ".join(error.messages))
                    continue
                current[who.user.pk, pk] = value
                with lock:
                    times.append(time.monotonic())
        except Exception as error:  # noqa: BLE001 (reported, never hidden)
            with lock:
                failures.append(repr(error))
        finally:
            connection.close()

    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    pool = [threading.Thread(target=voter, args=(n,)) for n in range(THREADS)]
    for thread in pool:
        thread.start()
    print("ready", flush=True)
    while not stopping.is_set():
        time.sleep(0.05)  # the main thread receives SIGTERM
    for thread in pool:
        thread.join()
    report = {"times": times, "refused": refused, "failures": failures, "lag": lag[0]}
    print(json.dumps(report), flush=True)


@contextmanager
def voter_process(article_pk: int):
    """The voter, started and voting when the block begins; always stopped. Yields a dict
    that holds, after the block, what the voter printed (``times``, ``refused``, ``lag``)."""
    child = subprocess.Popen(  # noqa: S603 (this interpreter, this module)
        [sys.executable, "-m", "bench.votes", str(article_pk)],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.PIPE,
        text=True,
    )
    report = {"pid": child.pid}
    try:
        ready, _, _ = select.select([child.stdout], [], [], 60)
        if not ready or child.stdout.readline().strip() != "ready":
            raise RuntimeError("the voter process did not start (its errors are above)")
        yield report
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=30)
        report.update(json.loads(output))
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


# --- the measure -----------------------------------------------------------------------------


def renders(path: str) -> int:
    """Discussion fragments the workers have drawn so far (``bench/render_counter.py``)."""
    return Path(path).read_text().count("\n")


def warm_up(server, path: str, config: Config, counter: str) -> None:
    """``http_load``'s warm-up, again until each worker has drawn the page anew (with the
    first votes in it: the voter runs), or for a minute at most."""
    drawn, deadline = renders(counter), time.monotonic() + 60
    http_load.warm_up(server, path, config)
    while renders(counter) < drawn + http_load.WORKERS and time.monotonic() < deadline:
        http_load.warm_up(server, path, config)


def read(server, path: str, config: Config, counter: str, voter_pid: int | None = None):
    """One wrk run of ``http_load`` with the fragment's draws and the CPU used meanwhile;
    also the monotonic times it started and ended."""
    drawn = renders(counter)
    with cpu_meter(server, voter_pid) as cpu:
        started = time.monotonic()
        row = http_load.wrk(server, path, config)
        ended = time.monotonic()
    return {**row, "renders": renders(counter) - drawn, "cpu": cpu}, (started, ended)


def measure(article, config: Config) -> dict:
    """The article's page under wrk as an anonymous reader (cached): without votes, then
    while the voter casts ``RATE`` votes a second into the article, each run after a
    warm-up and lasting whole refresh slots (3; 1 with ``BENCH_QUICK``), so that each
    holds as many slot changes as it lasts slots. Run after the other page measures:
    the votes change the article's scores and its ``votes_stamp``."""
    from comments.votes import refresh_seconds

    if not config.wrk:
        log("BENCH_WRK=0: no figures for votes and cached pages")
        return {}
    if shutil.which("wrk") is None:
        log("wrk is missing (apt-get install wrk): no figures for votes and cached pages")
        return {}
    path, slot = article.get_absolute_url(), refresh_seconds()
    runs = dataclasses.replace(config, wrk_seconds=slot * (1 if config.quick else 3))
    voters = voter_pool(VOTERS)
    connection.close()  # the workers and the voter are other processes
    with tempfile.NamedTemporaryFile(prefix="bench-renders-") as counter:
        hooks = {
            "GUNICORN_CMD_ARGS": "--config python:bench.render_counter",
            "BENCH_RENDERS_FILE": counter.name,
        }
        with http_load.gunicorn(**hooks) as server:
            http_load.warm_up(server, path, config)
            quiet, _ = read(server, path, runs, counter.name)
            with voter_process(article.pk) as voter:
                warm_up(server, path, config, counter.name)
                voting, (started, ended) = read(server, path, runs, counter.name, voter["pid"])
    during = sum(started <= t <= ended for t in voter["times"])
    figures = {
        "path": path,
        "workers": http_load.WORKERS,
        "seconds": runs.wrk_seconds,
        "rate": RATE,
        "voters": voters,
        "threads": THREADS,
        "slot": slot,
        "quiet": quiet,
        "voting": voting,
        "ratio": voting["rps"] / quiet["rps"] if quiet["rps"] else 0.0,
        "votes": during,
        "cast_rate": during / (ended - started),
        "refused": len(voter["refused"]),
        "failures": sorted(set(voter["refused"] + voter["failures"])),
        "lag": voter["lag"],
    }
    vacuum()  # the votes left dead rows behind
    for name in ("quiet", "voting"):
        row, cpu = figures[name], figures[name]["cpu"]
        log(
            f"votes, {name}: {row['rps']:.0f} requests/s, p99 {fmt_ms(row['p99'])} ms, "
            f"{row['renders']} fragment draws in {row['requests']:,} requests; cores used: "
            + ", ".join(f"{part} {used:.2f}" for part, used in cpu.items())
        )
    log(
        f"votes: {figures['cast_rate']:.0f} votes/s cast ({during:,} during wrk, "
        f"{figures['refused']} refused, failures: {figures['failures'] or 'none'}, latest "
        f"start {fmt_ms(figures['lag'])} ms late); reads kept {figures['ratio']:.0%} of "
        "their throughput"
    )
    return figures


if __name__ == "__main__":
    cast(int(sys.argv[1]))
