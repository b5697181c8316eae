"""Live new comments (``comments/live.py``): 1,000 open pages polling one article.

The server is ``http_load``'s gunicorn (the command of ``make serve``, 2 workers) with a
Redis of this measure's own (``redis-server`` on a free port, no persistence, stopped
after), as a deployment with several app processes has it, and ``bench/query_counter.py``
as its config: the workers note every SQL statement they send. A page's poll is taken from
the article page itself (the URL and version of its live hook, the floor from its first
call); then ``wrk`` keeps ``PAGES`` connections polling it back to back, each a page that
asks again as soon as it is answered (a real page asks once every
``COMMENTS_LIVE_POLL_SECONDS``). Then a reader posts a comment over HTTP, and each of the
``PAGES`` pages makes its next poll and fetches the new comment (``?show=``), as live.js
does; the statements of each step are counted.

Run alone: ``.venv/bin/python -m bench.live`` (about a minute) makes a fresh bench database
with the 1,000-comment article only, takes this measure and rewrites the "Live new
comments" section of BENCHMARKS.md (or ``BENCH_OUTPUT``) in place. ``make bench`` takes it
with the others (``bench/run.py``). Without ``wrk`` or ``redis-server`` nothing is measured.
"""

import dataclasses
import datetime
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, http_load  # noqa: E402 (importable before Django is set up)
from bench.harness import Config, fmt_ms, log  # noqa: E402

PAGES = 1_000
HEADING = "## Live new comments"


def answers(port: int) -> bool:
    ping = [shutil.which("redis-cli"), "-p", str(port), "ping"]
    return subprocess.run(ping, capture_output=True).stdout.strip() == b"PONG"  # noqa: S603


@contextmanager
def redis_server():
    """A redis-server of this measure's own on a free port; yields its URL. Always stopped."""
    port = http_load.free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        command = [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(port)]
        command += ["--save", "", "--appendonly", "no", "--dir", directory]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 (Debian's)
        try:
            deadline = time.monotonic() + 10
            while not answers(port):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.1)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait(timeout=10)


def statements(path: str) -> int:
    """SQL statements the workers have sent so far (``bench/query_counter.py``)."""
    return Path(path).read_text().count("\n")


def http_post(port: int, path: str, fields: dict, headers: dict) -> int:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = urllib.parse.urlencode(fields)
        form = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        client.request("POST", path, body=body, headers=form)
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()


def open_page(port: int, path: str) -> dict:
    """What live.js reads from the article page: its poll URL and version, the highest comment
    id on it; with the cookie and the hidden fields of its comment form, to post."""
    status, headers, body = http_load.http_get(port, path)
    html = body.decode()
    assert status == 200, status
    hook = re.search(r"<script [^>]*js/live[^>]*>", html)[0]
    form = html[html.index('id="comment-form"') :]
    form = form[: form.index("</form>")]
    cookie = next(c for c in headers.get_all("Set-Cookie") if c.startswith("csrftoken="))
    return {
        "url": re.search(r'data-url="([^"]+)"', hook)[1],
        "version": int(re.search(r'data-version="(\d+)"', hook)[1]),
        "top": max(int(pk) for pk in re.findall(r'id="comment-(\d+)"', html)),
        "cookie": cookie.split(";", 1)[0],
        "fields": dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)),
    }


def many(port: int, paths: list[str], headers: dict) -> tuple[Counter, float]:
    """GET every path, 16 at a time; (statuses, seconds)."""
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda p: http_load.http_get(port, p, headers)[0], paths))
    return Counter(answers), time.monotonic() - started


def measure(article, config: Config) -> dict:
    """Polls/s and statements per 304 with ``PAGES`` connections polling; then what one new
    comment costs when ``PAGES`` pages are open."""
    from django.conf import settings
    from django.db import connection

    missing = [tool for tool in ("wrk", "redis-server", "redis-cli") if not shutil.which(tool)]
    if not config.wrk or missing:
        log(f"live new comments: not measured ({'BENCH_WRK=0' if not config.wrk else missing})")
        return {}
    path = article.get_absolute_url()
    runs = dataclasses.replace(config, wrk_connections=PAGES)
    connection.close()  # the workers are other processes; leave them the database
    with redis_server() as redis_url, tempfile.NamedTemporaryFile(prefix="bench-sql-") as log_:
        hooks = {
            "REDIS_URL": redis_url,
            "GUNICORN_CMD_ARGS": "--config python:bench.query_counter",
            "BENCH_QUERIES_FILE": log_.name,
            "COMMENTS_MIN_SUBMIT_SECONDS": "0",  # the reader below posts at once
        }
        with http_load.gunicorn(**hooks) as server:
            page = open_page(server.port, path)
            first = f"{page['url']}?since={page['version']}&top={page['top']}"
            status, _, body = http_load.http_get(server.port, first)
            floor = json.loads(body)["after"]
            poll = f"{page['url']}?since={page['version']}&after={floor}"
            conditional = {"If-None-Match": f'"{page["version"]}"'}
            assert http_load.http_get(server.port, poll, conditional)[0] == 304
            before = statements(log_.name)
            row = http_load.wrk(server, poll, runs, headers=conditional)
            during = statements(log_.name) - before

            fields = {**page["fields"], "body": "A new comment.", "author_name": "Bench"}
            cookie = {"Cookie": page["cookie"], "Referer": f"http://127.0.0.1:{server.port}/"}
            assert http_post(server.port, f"{path}comments/", fields, cookie) == 303
            before = statements(log_.name)
            polls, polls_seconds = many(server.port, [poll] * PAGES, conditional)
            after_polls = statements(log_.name)
            answer = json.loads(http_load.http_get(server.port, poll, conditional)[2])
            new = max(pk for pk, _ in answer["comments"])  # the one just posted
            show = f"{page['url']}?show={new}"
            shows, shows_seconds = many(server.port, [show] * PAGES, {})
            after_shows = statements(log_.name)
            again = f"{page['url']}?since={answer['version']}&after={answer['after']}"
            settled = http_load.http_get(server.port, again)[0]
    figures = {
        "path": poll.split("?")[0],
        "workers": http_load.WORKERS,
        "pages": PAGES,
        "threads": config.wrk_threads,
        "seconds": config.wrk_seconds,
        "interval": settings.COMMENTS_LIVE_POLL_SECONDS,
        "wrk": row,
        "statements": during,
        "polls": dict(polls),
        "polls_statements": after_polls - before,
        "polls_seconds": polls_seconds,
        "shows": dict(shows),
        "shows_statements": after_shows - after_polls,
        "shows_seconds": shows_seconds,
        "settled": settled,
    }
    answered = row["statuses"].get("304", 0)
    log(
        f"live: {row['rps']:.0f} polls/s with {PAGES:,} connections, p99 {fmt_ms(row['p99'])} ms, "
        f"statuses {row['statuses']}, {during} SQL statements for {answered:,} 304s; one new "
        f"comment: {PAGES:,} polls {dict(polls)} in {after_polls - before} statements, "
        f"{PAGES:,} shows {dict(shows)} in {after_shows - after_polls}; then {settled}"
    )
    return figures


def section(live: dict | None) -> list[str]:
    """The report's "Live new comments" section (``bench/run.py`` adds it to the others)."""
    lines = [HEADING, ""]
    if not live:
        return [*lines, "Not measured in this run (it needs wrk and redis-server).", ""]
    row, pages = live["wrk"], live["pages"]
    answered = row["statuses"].get("304", 0)
    per_304 = live["statements"] / answered if answered else float("nan")
    need = pages / live["interval"]
    return [
        *lines,
        f"An open article page asks `{live['path']}?since=<version>&after=<floor>` every "
        f"`COMMENTS_LIVE_POLL_SECONDS` ({live['interval']} s) while its tab is visible "
        "(`comments/live.py`, `static/js/live.js`). The condition: the command of `make serve` "
        f"({live['workers']} gunicorn workers) with a Redis of its own; `wrk -t{live['threads']} "
        f"-c{pages} -d{live['seconds']}s` on one page's poll with its `If-None-Match`: "
        f"{pages:,} pages, each asking again as soon as it is answered. SQL statements are "
        "counted by the workers themselves (`bench/query_counter.py`).",
        "",
        "| | |",
        "|---|---|",
        f"| polls answered per second | {row['rps']:,.0f} |",
        f"| p50 / p99 ms ({pages:,} connections at once) | {fmt_ms(row['p50'])} / "
        f"{fmt_ms(row['p99'])} |",
        f"| answers | {', '.join(f'{n:,} × {s}' for s, n in sorted(row['statuses'].items()))} |",
        f"| **SQL statements per 304** | **{per_304:g}** ({live['statements']} in all) |",
        f"| workers' CPU per poll | {fmt_ms(row['user_per_request'] + row['system_per_request'])} "
        "ms |",
        f"| {pages:,} pages polling every {live['interval']} s | {need:.0f} polls/s, "
        f"{need / row['rps']:.0%} of what the two workers answer |",
        f"| one new comment: the {pages:,} pages' next polls | "
        f"{', '.join(f'{n:,} × {s}' for s, n in sorted(live['polls'].items()))}; "
        f"{live['polls_statements']} SQL statements in all (only the first pages read the "
        f"database, the others share their answer), {live['polls_seconds']:.1f} s |",
        "| then each page fetches the new comment drawn for it (`?show=`; anonymous readers "
        "share one drawing) | "
        f"{', '.join(f'{n:,} × {s}' for s, n in sorted(live['shows'].items()))}; "
        f"{live['shows_statements'] / pages:.1f} SQL statements a page, "
        f"{live['shows_seconds']:.1f} s |",
        "",
        f"The next poll after that answered {live['settled']}.",
        "",
    ]


def main() -> None:
    """This measure alone, on a fresh bench database with the 1,000-comment article; its
    section of the report is rewritten in place."""
    config = Config.from_env()
    harness.configure_environment()
    harness.recreate_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    articles, _ = harness.build_data((1_000,))
    load = os.getloadavg()[0]
    figures = measure(articles[1_000], config)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = config.output.read_text() if config.output.exists() else "# Benchmarks\n"
    lines = section(figures)
    alone = f"Measured alone by `python -m bench.live` on {date} (load average {load:.1f} "
    lines[2:2] = [alone + f"at the start, on {os.cpu_count()} cores).", ""]
    start = text.find(HEADING)
    end = len(text) if start < 0 else text.find("\n## ", start + len(HEADING))
    start, end = (len(text), len(text)) if start < 0 else (start, len(text) if end < 0 else end)
    config.output.write_text(text[:start].rstrip("\n") + "\n\n" + "\n".join(lines) + text[end:])
    harness.log(f"wrote the live section of {config.output}")


if __name__ == "__main__":
    main()
