"""The example proxy (deploy/nginx.conf) keeps the site answering and readers apart.

gunicorn runs as ``make serve`` runs it (two sync workers), with ``TRUSTED_PROXY_COUNT=1`` as
the README's deploy example sets it, and nginx runs in front of it with the example file.

* Two clients send a comment form's headers and then its body a byte a second. Straight to
  gunicorn they hold both workers: an article page asked for meanwhile gets no answer in
  3 s (the attack is real). Through nginx, which reads a body in full before it passes the
  request on, the same page answers at once.
* A reader reaching nginx from 127.0.0.2, with a forged ``X-Forwarded-For``, posts a comment:
  the comment keeps 127.0.0.2, neither the forged address nor nginx's 127.0.0.1. That is the
  address rate limits, bans and reports key on.

Needs nginx (CI installs Debian's); without it the tests skip with the reason, or fail under
THREADLINE_REQUIRE_ALL. Every process started here is stopped, within a few seconds.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.urls import reverse

from comments.models import Comment
from tests.support.http import Reader
from tests.support.servers import ROOT, app_servers, free_port

EXAMPLE = ROOT / "deploy" / "nginx.conf"
TRICKLERS = 2  # as many as `make serve` has workers
WORKERS = 2

# What the test adds around the example's server block: nginx's own files in a directory of
# the test's, as a standalone nginx needs them (the example sits in Debian's nginx.conf).
MAIN_CONF = """\
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/threadline.conf;
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        if os.environ.get("THREADLINE_REQUIRE_ALL"):
            pytest.fail("nginx is needed: apt-get install nginx")
        pytest.skip("needs nginx (apt-get install nginx)")
    return found


def example_for(*, listen: int, app: int) -> str:
    """deploy/nginx.conf as it is, but for these two ports of 127.0.0.1."""
    text = EXAMPLE.read_text()
    for default, ours in [
        ("listen 80;", f"listen 127.0.0.1:{listen};"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app};"),
    ]:
        assert text.count(default) == 1, f"deploy/nginx.conf no longer says {default!r}"
        text = text.replace(default, ours)
    return text


@contextmanager
def nginx_in_front_of(app_port: int):
    """nginx, in the foreground, serving the example on a free port; yields its URL."""
    binary = nginx_binary()
    with tempfile.TemporaryDirectory(prefix="threadline-nginx-") as tmp:
        # nginx's workers run as nobody when the test runs as root: they must reach it.
        os.chmod(tmp, 0o755)  # noqa: S103
        port = free_port()
        Path(tmp, "threadline.conf").write_text(example_for(listen=port, app=app_port))
        Path(tmp, "nginx.conf").write_text(MAIN_CONF.format(tmp=tmp))
        log = Path(tmp, "stderr")
        directives = f"daemon off; pid {tmp}/nginx.pid; error_log stderr;"
        with log.open("wb") as stderr:
            process = subprocess.Popen(  # noqa: S603 (nginx with our own configuration)
                [binary, "-e", "stderr", "-p", tmp, "-c", f"{tmp}/nginx.conf", "-g", directives],
                stderr=stderr,
                start_new_session=True,  # its workers die with it, whatever happens
            )
        try:
            deadline = time.monotonic() + 10
            while True:
                assert process.poll() is None, f"nginx exited: {log.read_text()}"
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"nginx did not start: {log.read_text()}"
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


@pytest.fixture
def proxied_app(transactional_db):
    """gunicorn as in the deploy example, and the example nginx in front: (app, proxy URL)."""
    nginx_binary()  # before starting gunicorn: skip or fail at once without nginx
    with (
        app_servers(workers=WORKERS, threads=1, TRUSTED_PROXY_COUNT=1) as [app],
        nginx_in_front_of(app.port) as proxy_url,
    ):
        yield app, proxy_url


@contextmanager
def trickling_posts(port: int, path: str, count: int):
    """``count`` connections to 127.0.0.1:port sending a POST's headers at once, then its
    body a byte a second, until the block ends."""
    connections = []
    stop = threading.Event()

    def trickle():
        while not stop.wait(1):
            for conn in connections:
                with suppress(OSError):  # dropped by the server: it holds nothing then
                    conn.sendall(b"x")

    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        # A well-formed CSRF cookie: without one Django refuses the post unread.
        f"Cookie: csrftoken={'a' * 32}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\nb"
    ).encode()
    sender = threading.Thread(target=trickle, daemon=True)
    try:
        for _ in range(count):
            connections.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            connections[-1].sendall(head)
        sender.start()
        time.sleep(1)  # the server has taken them in: a worker each, when it is gunicorn
        yield
    finally:
        stop.set()
        if sender.is_alive():
            sender.join(timeout=5)
        for conn in connections:
            conn.close()


@pytest.mark.postgres
def test_clients_trickling_a_body_cannot_hold_the_workers_behind_the_proxy(proxied_app, article):
    app, proxy_url = proxied_app
    post_path = reverse("comment_post", args=[article.slug])
    # Both workers warm (a first page also compiles templates), so that only waiting counts.
    assert [Reader(app.url, article).read_page().status for _ in range(4)] == [200] * 4

    with trickling_posts(app.port, post_path, TRICKLERS):
        direct = Reader(app.url, article, timeout=3).read_page()
    assert str(direct) == "timeout"  # both sync workers are busy reading a body

    proxy_port = int(proxy_url.rsplit(":", 1)[1])
    with trickling_posts(proxy_port, post_path, TRICKLERS):
        through_proxy = Reader(proxy_url, article, timeout=5).read_page()
    assert through_proxy.status == 200, str(through_proxy)
    assert article.title in through_proxy.text


@pytest.mark.postgres
def test_behind_the_proxy_a_post_keeps_the_readers_own_address(proxied_app, article):
    _, proxy_url = proxied_app
    source = "127.0.0.2"  # nginx reaches the app from 127.0.0.1
    reader = Reader(proxy_url, article, name="Far reader", timeout=5, source=source)
    assert reader.read_page().status == 200
    answer = reader.submit(
        reverse("comment_post", args=[article.slug]),
        {"body": "Seen from where?", "parent": "", "author_name": "Far reader"},
        # Forged: the proxy appends what it saw, and the app believes only that.
        headers={"X-Forwarded-For": "203.0.113.9"},
    )

    assert answer.status == 303
    comment_id = answer.comment_id
    assert Comment.objects.get(pk=comment_id).ip_address == source
