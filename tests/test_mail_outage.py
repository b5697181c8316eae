"""No request waits on mail, so a mail server that hangs holds up nobody.

With the SMTP backend pointed at a server that accepts the connection and never answers
(gunicorn with sync workers, as ``make serve`` runs it), a reply to an author who asked for
email answers within a second and its poster keeps the right to edit it; a report (mail to
the editors) and a password reset answer as quickly, and another reader is served meanwhile.
Mail leaves from a background sender whose every wait is bounded by ``EMAIL_TIMEOUT``; with a
server that does answer, the mail arrives, after the answer was sent.
"""

import socket
import threading
import time
from contextlib import contextmanager, suppress

import pytest
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.urls import reverse

from comments.models import Comment
from core import mail
from tests.support.http import Reader
from tests.support.servers import app_servers

SMTP = "django.core.mail.backends.smtp.EmailBackend"
PROMPTLY = 1.0  # seconds: the bound for an answer while the mail server hangs


@contextmanager
def _listener():
    """A TCP socket on a free port of 127.0.0.1 and a stop flag; both closed at the end."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # so the accepting thread sees the stop flag
    stop = threading.Event()
    try:
        yield listener, stop
    finally:
        stop.set()
        listener.close()


def _accepted(listener, stop):
    """Each connection made to ``listener`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return  # the listener was closed
        yield connection


@contextmanager
def silent_mail_server():
    """A server that accepts connections and never sends a byte; yields its port."""
    held = []
    with _listener() as (listener, stop):
        thread = threading.Thread(target=lambda: held.extend(_accepted(listener, stop)))
        thread.start()
        try:
            yield listener.getsockname()[1]
        finally:
            stop.set()
            thread.join(timeout=5)
            for connection in held:
                connection.close()


class HeldMailServer:
    """Just enough SMTP to take messages, holding the answer to each message's data until
    ``release()`` (for at most ten seconds): the mail counts as delivered only then."""

    def __init__(self, listener, stop):
        self.port = listener.getsockname()[1]
        self.messages: list[tuple[list[str], str]] = []
        self.released = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(listener, stop))

    def release(self):
        self.released.set()

    def _serve(self, listener, stop):
        for connection in _accepted(listener, stop):
            # A client that gives up (OSError) leaves the server to the next one.
            with connection, suppress(OSError):
                connection.settimeout(10)
                self._converse(connection.makefile("rb"), connection.sendall)

    def _converse(self, lines, send):
        send(b"220 127.0.0.1 ESMTP test\r\n")
        recipients = []
        for line in lines:
            verb = line[:4].upper()
            if verb == b"RCPT":
                recipients.append(line.split(b":", 1)[1].strip(b" <>\r\n").decode())
            if verb == b"DATA":
                send(b"354 go ahead\r\n")
                data = b"".join(iter(lines.readline, b".\r\n")).decode()
                self.released.wait(timeout=10)
                self.messages.append((recipients, data))
                recipients = []
            if verb == b"QUIT":
                send(b"221 bye\r\n")
                return
            send(b"250 ok\r\n")


@contextmanager
def held_mail_server():
    with _listener() as (listener, stop):
        server = HeldMailServer(listener, stop)
        server.thread.start()
        try:
            yield server
        finally:
            server.release()
            stop.set()
            server.thread.join(timeout=15)


def outgoing_smtp(port: int, *, timeout: int) -> dict:
    """MAILERS as config/settings.py makes them for SMTP: queued, then sent to ``port``."""
    return {
        "default": {"BACKEND": "core.mail.BackgroundEmailBackend"},
        "outgoing": {
            "BACKEND": SMTP,
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        },
    }


def timed(call, *args, **kwargs):
    """What ``call`` returned, and how many seconds it took."""
    start = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - start


def test_requests_that_send_mail_answer_promptly_while_the_mail_server_hangs(
    transactional_db, article, post
):
    parent = post("Tell me", name="Ann", author_email="ann@example.org", notify_replies=True)
    User.objects.create_user("cy", "cy@example.org", "pw-cy-12345")
    with (
        silent_mail_server() as mail_port,
        app_servers(
            workers=2,
            threads=1,  # sync workers: a request stuck on mail would hold a whole worker
            EMAIL_BACKEND=SMTP,
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=mail_port,
            EMAIL_USE_TLS="0",
            EMAIL_TIMEOUT="2",
            COMMENTS_MODERATOR_EMAILS="edna@example.org",
        ) as (server,),
    ):
        poster = Reader(server.url, article, name="Bo", timeout=5)
        other = Reader(server.url, article, name="Cy", timeout=5)
        for _ in range(4):  # both workers have drawn the page once
            assert poster.read_page().status == 200

        answer, seconds = timed(poster.post, "Here you go", parent=parent.pk)
        assert answer.status == 303, answer
        assert seconds < PROMPTLY
        edit = poster.get(reverse("comment_edit", args=[answer.comment_id]))
        assert edit.status == 200, edit
        assert "Here you go" in edit.text

        report_url = reverse("comment_report", args=[parent.pk])
        report, seconds = timed(poster.submit, report_url, {"reason": "spam"})
        assert report.status == 303, report
        assert seconds < PROMPTLY

        reset, seconds = timed(
            poster.submit, reverse("password_reset"), {"email": "cy@example.org"}
        )
        assert reset.status == 302, reset
        assert seconds < PROMPTLY

        page, seconds = timed(other.read_page)
        assert page.status == 200, page
        assert seconds < PROMPTLY
    assert Comment.objects.filter(body="Here you go").count() == 1


def test_a_reply_is_mailed_after_the_answer_and_arrives(
    transactional_db, client, article, post, settings
):
    parent = post("Tell me", name="Ann", author_email="ann@example.org", notify_replies=True)
    with held_mail_server() as server:
        settings.MAILERS = outgoing_smtp(server.port, timeout=5)
        response = client.post(
            reverse("comment_post", args=[article.slug]),
            {"body": "Here you go", "parent": parent.pk, "author_name": "Bo"},
        )
        assert response.status_code == 303
        assert server.messages == []  # the server has not taken it yet
        server.release()
        assert mail.drain(timeout=10)
    [(recipients, data)] = server.messages
    assert recipients == ["ann@example.org"]
    assert "Bo replied" in data and "Here you go" in data


def test_mail_to_a_server_that_never_answers_is_given_up_and_logged(settings, caplog):
    with silent_mail_server() as port:
        settings.MAILERS = outgoing_smtp(port, timeout=1)
        assert send_mail("Hello", "Are you there?", None, ["ann@example.org"]) == 1
        assert mail.drain(timeout=5)  # the sender is free for the next message
    assert "Could not send 'Hello' to 1 recipients" in caplog.text


@pytest.fixture
def queue_of_one(monkeypatch):
    """The sender's queue holds one message (a new queue and thread, for this test)."""
    monkeypatch.setattr(mail, "QUEUE_SIZE", 1)
    mail._forget_queue()
    yield
    assert mail.drain(timeout=10)
    mail._forget_queue()  # the next test gets a queue of the usual size


def test_when_the_queue_is_full_mail_is_dropped_and_logged_without_waiting(
    settings, caplog, queue_of_one
):
    with silent_mail_server() as port:
        settings.MAILERS = outgoing_smtp(port, timeout=1)
        sent = [send_mail(f"Hello {n}", "Hi", None, ["ann@example.org"]) for n in range(3)]
        assert sent[0] == 1 and 0 in sent  # one in the sender's hands, one waits at most
        assert "Mail queue full: dropped 'Hello " in caplog.text
        assert mail.drain(timeout=10)
