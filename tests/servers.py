"""The app as production runs it, for tests: gunicorn processes serving the test database.

``app_servers()`` starts one or more gunicorn masters on free ports of 127.0.0.1, with the
settings a test names (as environment variables, over the test defaults below), waits until
each one listens and stops them afterwards. ``Reader`` is one reader's browser talking to a
server over HTTP: a cookie jar, the CSRF token from the article page, and redirects left
unfollowed (the 303 after a post names the new comment).

Limitations: the servers reach PostgreSQL with the test database's settings, so a test that
uses them needs ``transactional_db`` (the servers cannot see a test's open transaction).
"""

import html
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPException
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

from django.db import connection
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent

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


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 303 itself is the answer: it names the new comment


@dataclass(frozen=True)
class Answer:
    """What came back: a status, or no status and the error that stood in for it."""

    status: int | None
    text: str = ""
    location: str = ""
    error: str = ""

    @property
    def comment_id(self) -> int | None:
        """The new comment's id, from the 303 after a successful post."""
        if self.status != 303:
            return None
        return int(self.location.rsplit("#comment-", 1)[1])

    @property
    def title(self) -> str:
        """The page's title: with DEBUG on, an error page names the exception there."""
        found = re.search(r"<title>\s*(.*?)\s*</title>", self.text, re.DOTALL)
        return html.unescape(found[1]) if found else self.text[:200]

    def __str__(self):
        return str(self.status) if self.status is not None else self.error


class Reader:
    """One browser reading and posting on an article of ``server_url``.

    Requests never raise: an ``Answer`` holds the status, or (connection refused or
    dropped, timed out) the name of the error.
    """

    def __init__(self, server_url, article, *, timeout: float = 30):
        cookies = urllib.request.HTTPCookieProcessor(CookieJar())
        self.opener = urllib.request.build_opener(cookies, _KeepRedirects)
        self.page_url = server_url + article.get_absolute_url()
        self.post_url = server_url + reverse("comment_post", args=[article.slug])
        self.timeout = timeout
        self.csrf_token = ""

    def read_page(self) -> Answer:
        """GET the article page; the first good one gives the CSRF token for posting."""
        answer = self._send(urllib.request.Request(self.page_url))  # noqa: S310 (http://127.0.0.1)
        if answer.status == 200 and not self.csrf_token:
            self.csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', answer.text)[
                1
            ]
        return answer

    def post(self, body: str, parent: int | None = None) -> Answer:
        """Send the comment form, as a reply to ``parent`` if given."""
        assert self.csrf_token, "read the page first: posting needs its CSRF token"
        data = {
            "csrfmiddlewaretoken": self.csrf_token,
            "body": body,
            "parent": parent or "",
            "author_name": "Reader",
            "author_email": "",
        }
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1)
            self.post_url, data=urlencode(data).encode(), headers={"Referer": self.page_url}
        )
        return self._send(request)

    def _send(self, request) -> Answer:
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Answer(response.status, response.read().decode(errors="replace"))
        except HTTPError as answer:
            try:
                text = answer.read().decode(errors="replace")
            except (OSError, HTTPException):
                text = ""  # the status came, then the connection dropped
            return Answer(answer.code, text, answer.headers.get("Location", ""))
        except (OSError, HTTPException) as error:
            reason = error.reason if isinstance(error, URLError) else error
            if isinstance(reason, TimeoutError):
                return Answer(None, error="timeout")
            return Answer(None, error=type(reason).__name__)
