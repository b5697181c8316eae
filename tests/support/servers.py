"""The app as production runs it, for tests: gunicorn processes serving the test database.

``app_servers()`` starts one or more gunicorn masters on free ports of 127.0.0.1, with the
settings a test names (as environment variables, over the test defaults below), waits until
each one listens and stops them afterwards. Talk to them with ``tests.support.http.Reader``.

Limitations: the servers reach PostgreSQL with the test database's settings, so a test that
uses them needs ``transactional_db`` (the servers cannot see a test's open transaction).
"""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]  # the repository, where config/ is

# As in conftest's ``_defences_off_unless_tested``: tests post fast and often.
TEST_SETTINGS = {
    "DEBUG": "1",
    "COMMENTS_MIN_SUBMIT_SECONDS": "0",
    "COMMENTS_RATE_LIMIT": "off",
    "COMMENTS_REFUSE_DUPLICATES": "0",
    "COMMENTS_MODERATION": "none",  # the default, whatever the environment says
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database (the one pytest-django created) as a DATABASE_URL."""
    db = connection.settings_dict
    user = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        user += ":" + quote(db["PASSWORD"], safe="")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@dataclass
class AppServer:
    """One gunicorn master on 127.0.0.1:port and the workers it forks."""

    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> set[int]:
        """The master's live children (killed workers it has not reaped yet are left out)."""
        pids = set()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # it exited while we looked
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == self.process.pid and state != "Z":
                pids.add(int(entry.name))
        return pids

    def wait_for_workers(self, count: int, *, not_among=(), timeout: float = 30) -> set[int]:
        """Wait until the master has ``count`` live workers, none of them in ``not_among``."""
        deadline, pids = time.monotonic() + timeout, set()
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited ({self.process.returncode})"
            pids = self.worker_pids()
            if len(pids) == count and not pids & set(not_among):
                return pids
            time.sleep(0.05)
        raise AssertionError(f"gunicorn on port {self.port} has workers {pids}, not {count}")

    def wait_until_listening(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited ({self.process.returncode})"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn on port {self.port} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def app_servers(count: int = 1, *, workers: int = 2, threads: int = 4, **settings):
    """Run ``count`` gunicorn masters (``workers`` processes of ``threads`` threads each) on
    the test database, each setting given as an environment variable:
    ``app_servers(2, REDIS_URL=url, CONN_MAX_AGE=0)``. Yields the list of ``AppServer``.
    """
    env = {
        **os.environ,
        **TEST_SETTINGS,
        "DATABASE_URL": database_url(),
        **{name: str(value) for name, value in settings.items()},
    }
    servers = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    f"--bind=127.0.0.1:{port}",
                    f"--workers={workers}",
                    f"--threads={threads}",
                    "--log-level=warning",
                    # Every gunicorn shares one control socket path by default
                    # (~/.gunicorn/gunicorn.ctl): servers started side by side would take it
                    # from each other.
                    "--no-control-socket",
                ],
                cwd=ROOT,
                env=env,
            )
            servers.append(AppServer(port, process))
        deadline = time.monotonic() + 30
        for server in servers:
            server.wait_until_listening(deadline)
        yield servers
    finally:
        for server in servers:
            server.stop()
