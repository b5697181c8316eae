"""Throughput: ``wrk`` against the command of ``make serve`` (gunicorn, 2 workers, DEBUG off).

The page of the 1,000-comment article (or the ``full_size`` one of a smaller run) is loaded
cached, uncached and as 304s. gunicorn and wrk run on the loopback, bounded in time, and
are always stopped. Without ``wrk`` on the PATH (``apt-get install wrk``) nothing is
measured here.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from bench.harness import ROOT, SERVE_ENV, Config, fmt_ms, log

WORKERS = 2
UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(port: int, path: str, headers: dict | None = None):
    """(status, headers, body) of one GET on the loopback."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", path, headers=headers or {})
        response = client.getresponse()
        return response.status, response.headers, response.read()
    finally:
        client.close()


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
    """The command of ``make serve`` (after its migrate and collectstatic) on a free port,
    access log on. Always stopped, with its workers."""
    port = free_port()
    env = {**os.environ, **SERVE_ENV, **extra_env, "WEB_CONCURRENCY": str(WORKERS)}
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
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


def seconds_of(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(server: Server, path: str, config: Config, *, headers: dict | None = None) -> dict:
    """One bounded wrk run on the loopback: requests/s, latency percentiles, the statuses
    answered (from the server's log) and the workers' CPU a request."""
    before, cpu = server.statuses(), server.workers_cpu()
    seconds = config.wrk_seconds
    command = [
        shutil.which("wrk"),
        f"-t{config.wrk_threads}",
        f"-c{config.wrk_connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{server.port}{path}")
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
    user, system = server.workers_cpu()
    return {
        "rps": float(rate[1]),
        "requests": requests,
        "p50": seconds_of(latency["50"]),
        "p99": seconds_of(latency["99"]),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "bad": int(bad[1]) if bad else 0,
        "statuses": dict(server.statuses() - before),
        "user_per_request": (user - cpu[0]) / max(requests, 1),
        "system_per_request": (system - cpu[1]) / max(requests, 1),
    }


def warm_up(server: Server, path: str, config: Config) -> None:
    """Concurrent GETs for a few seconds, so that each worker has drawn the page once."""
    subprocess.run(  # noqa: S603 (wrk from Debian, loopback only)
        [
            shutil.which("wrk"),
            "-t2",
            "-c8",
            f"-d{config.wrk_warmup}s",
            f"http://127.0.0.1:{server.port}{path}",
        ],
        capture_output=True,
        timeout=config.wrk_warmup + 30,
        check=True,
    )


def measure(path: str, config: Config) -> dict:
    """The page at ``path`` under wrk: cached (each worker has drawn it once), 304s (the
    ETag of a first GET sent back with that GET's cookie), and uncached
    (COMMENTS_CACHE_SECONDS=0: the fragment cache stores each entry already expired)."""
    if not config.wrk:
        log("BENCH_WRK=0: no throughput figures")
        return {}
    if shutil.which("wrk") is None:
        log("wrk is missing (apt-get install wrk): no throughput figures")
        return {}
    results = {}
    connection.close()  # the workers are other processes; leave them the database
    with gunicorn() as server:
        warm_up(server, path, config)
        results["cached"] = wrk(server, path, config)
        status, headers, _ = http_get(server.port, path)
        cookie = next(c for c in headers.get_all("Set-Cookie") if c.startswith("csrftoken="))
        conditional = {"Cookie": cookie.split(";", 1)[0], "If-None-Match": headers["ETag"]}
        assert status == 200 and http_get(server.port, path, conditional)[0] == 304
        results["304"] = wrk(server, path, config, headers=conditional)
    with gunicorn(COMMENTS_CACHE_SECONDS="0") as server:
        warm_up(server, path, config)
        results["uncached"] = wrk(server, path, config)
    for name, row in results.items():
        log(
            f"wrk {name}: {row['rps']:.0f} requests/s, p99 {fmt_ms(row['p99'])} ms, "
            f"statuses {row['statuses']}, socket errors {row['socket_errors']}, workers' CPU "
            f"per request {fmt_ms(row['user_per_request'])} ms user + "
            f"{fmt_ms(row['system_per_request'])} ms system"
        )
    return {"path": path, "workers": WORKERS, **results}
