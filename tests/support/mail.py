"""Mail servers for tests, and the task worker as production runs it.

- ``smtp_server()``: a real SMTP server (aiosmtpd's ``Controller``) on a free port of
  127.0.0.1, yielding its ``Mailbox``: every message it accepted (answered "250" to),
  parsed with the ``email`` package. ``mailbox.stall()`` makes it take each message's data
  and then never answer until ``resume()``; a message whose sender goes away meanwhile is
  not accepted. ``mailbox.refuse(address)`` refuses that recipient for good (550).
- ``silent_mail_server()``: accepts connections and never sends a byte; yields its port and
  the connections it holds (``is_held(connection)``: the client has not closed it).
- ``smtp_mailers(port, timeout=...)``: ``MAILERS`` as config/settings.py makes them for SMTP
  to that port, for tests that send from this process.
- ``worker_process(**settings)``: ``manage.py db_worker`` in a subprocess on the test
  database (a test using it needs ``transactional_db``), with settings as environment
  variables; stopped (or killed) at the end. ``wait_until(condition)`` polls for what it
  should have done.
"""

import asyncio
import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress

from aiosmtpd.controller import Controller

from tests.support.servers import ROOT, TEST_SETTINGS, database_url, free_port

SMTP = "django.core.mail.backends.smtp.EmailBackend"


class Mailbox:
    """What the test SMTP server accepted: ``messages`` as (envelope recipients, parsed
    message), in order."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.stalled = threading.Event()  # a message's data arrived while stalling
        self._stalling = False
        self._refused: set[str] = set()

    def refuse(self, address: str) -> None:
        self._refused.add(address)

    def stall(self) -> None:
        self._stalling = True

    def resume(self) -> None:
        self._stalling = False

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self._refused:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self._stalling:
            self.stalled.set()
            while self._stalling:  # cancelled when the client goes away
                await asyncio.sleep(0.05)
            if server.transport is None or server.transport.is_closing():
                return "421 The client went away"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server():
    mailbox = Mailbox(free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        mailbox.resume()
        controller.stop()


@contextmanager
def silent_mail_server():
    """A server that accepts connections and never answers; yields (port, the connections
    accepted so far)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # so the accepting thread sees the stop flag
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            with suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield listener.getsockname()[1], held
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for connection in held:
            connection.close()


def is_held(connection: socket.socket) -> bool:
    """Whether the client is still connected: no end of stream waits to be read."""
    connection.setblocking(False)
    try:
        return connection.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True  # nothing to read: still open
    except OSError:
        return False
    finally:
        connection.setblocking(True)


def smtp_mailers(port: int, *, timeout: float = 5) -> dict:
    """MAILERS as config/settings.py makes them for SMTP to 127.0.0.1:``port``."""
    return {
        "default": {"BACKEND": "core.outbox.OutboxBackend"},
        "outgoing": {
            "BACKEND": SMTP,
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": timeout},
        },
    }


def smtp_settings(port: int, *, timeout: float = 5) -> dict:
    """The environment that points a subprocess's outgoing mail at 127.0.0.1:``port``."""
    return {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": str(timeout),
    }


def wait_until(condition, *, timeout: float = 30) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@contextmanager
def worker_process(*, grace: float = 10, **settings):
    """``manage.py db_worker`` on the test database; yields the ``Popen``. At the end it is
    asked to stop (SIGTERM: it finishes the task in hand) and killed after ``grace``
    seconds."""
    env = {
        **os.environ,
        **TEST_SETTINGS,
        "DATABASE_URL": database_url(),
        **{name: str(value) for name, value in settings.items()},
    }
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval=0.1",
            "--verbosity=0",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
