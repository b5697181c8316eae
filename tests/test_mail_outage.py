"""No request waits on mail, so a mail server that hangs holds up nobody but the worker.

Requests only queue mail (a row in the outbox, in their own transaction); the task worker
sends it. With the worker stuck on a server that accepted its connection and never answers
(gunicorn with sync workers, as ``make serve`` runs it), a reply to an author who asked for
email, a report, a password reset and an editor's approval each answer within a second,
while the server still holds the worker's connection; the poster keeps the right to edit.

The worker waits on a hanging server at most ``EMAIL_TIMEOUT`` per attempt, records why,
and schedules the next attempt after the next of ``MAIL_RETRY_DELAYS``; once the server
answers again, the retry delivers the message. After the last attempt the message is given
up and logged; a recipient the server refuses for good (5xx) is given up at once.
"""

import time

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from comments.models import Comment
from core.models import OutboxMessage
from tests.support.http import Reader
from tests.support.mail import (
    is_held,
    silent_mail_server,
    smtp_mailers,
    smtp_server,
    smtp_settings,
    wait_until,
    worker_process,
)
from tests.support.servers import app_servers, free_port
from tests.support.tasks import run_tasks

PROMPTLY = 1.0  # seconds: the bound for an answer while the mail server hangs
HANGING = 60  # the worker's EMAIL_TIMEOUT: it is still waiting when the test ends


@pytest.fixture(autouse=True)
def _readers_confirmed(confirmed):
    """The readers here confirmed their addresses (tests/test_addresses.py: before that)."""
    confirmed("ann@example.org", "gone@example.org")


def timed(call, *args, **kwargs):
    """What ``call`` returned, and how many seconds it took."""
    start = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - start


def test_requests_that_send_mail_answer_while_the_worker_is_stuck_on_the_mail_server(
    transactional_db, article, post, editor
):
    parent = post("Tell me", name="Ann", author_email="ann@example.org", notify_replies=True)
    held = post("Held for review", parent=parent, name="Cy", status=Comment.Status.PENDING)
    User.objects.create_user("cy", "cy@example.org", "pw-cy-12345")
    with (
        silent_mail_server() as (mail_port, connections),
        worker_process(grace=0, **smtp_settings(mail_port, timeout=HANGING)) as worker,
        app_servers(
            workers=2,
            threads=1,  # sync workers: a request stuck on mail would hold a whole worker
            **smtp_settings(mail_port, timeout=HANGING),
            COMMENTS_MODERATOR_EMAILS="desk@example.org",
        ) as (server,),
    ):
        poster = Reader(server.url, article, name="Bo", timeout=30)
        desk = Reader(server.url, article, name="Edna", timeout=30)
        desk.sign_in(editor)
        for reader in (poster, desk, poster, desk):  # both workers have drawn the page
            assert reader.read_page().status == 200

        answer, seconds = timed(poster.post, "Here you go", parent=parent.pk)
        assert answer.status == 303, answer
        assert seconds < PROMPTLY
        assert wait_until(lambda: connections), "the worker never reached the mail server"

        report_url = reverse("comment_report", args=[parent.pk])
        report, report_seconds = timed(poster.submit, report_url, {"reason": "spam"})
        reset, reset_seconds = timed(
            poster.submit, reverse("password_reset"), {"email": "cy@example.org"}
        )
        approve_url = reverse("admin:comments_queue_decide", args=[held.pk, "approve"])
        approval, approval_seconds = timed(desk.submit, approve_url, {})
        edit = poster.get(reverse("comment_edit", args=[answer.comment_id]))

        # Every answer came while the worker still waited on the server's greeting.
        assert worker.poll() is None
        assert len(connections) == 1 and is_held(connections[0])
        assert (report.status, reset.status, approval.status) == (303, 302, 302)
        assert max(report_seconds, reset_seconds, approval_seconds) < PROMPTLY
        assert edit.status == 200 and "Here you go" in edit.text
    assert Comment.objects.get(pk=held.pk).status == Comment.Status.APPROVED
    queued = sorted(OutboxMessage.objects.values_list("kind", "recipient"))
    assert queued == [
        ("mail", "cy@example.org"),
        ("reply", "ann@example.org"),
        ("reply", "ann@example.org"),
        ("report", "desk@example.org"),
        ("report", "edna@example.org"),
    ]


def test_a_hanging_server_costs_one_timeout_then_the_retry_is_scheduled(
    client, article, post, settings
):
    settings.MAIL_RETRY_DELAYS = [300, 1800]
    parent = post("Tell me", name="Ann", author_email="ann@example.org", notify_replies=True)
    with silent_mail_server() as (port, connections):
        settings.MAILERS = smtp_mailers(port, timeout=1)
        post("Here you go", parent=parent, name="Bo")
        assert run_tasks() == 1
        assert len(connections) == 1
    message = OutboxMessage.objects.get()
    assert message.state == OutboxMessage.State.PENDING and message.attempts == 1
    assert "timed out" in message.last_error
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.args_kwargs["args"] == [message.pk]
    assert retry.run_after == message.next_attempt_at
    assert 299 <= (message.next_attempt_at - message.created_at).total_seconds() <= 301 + 5
    assert run_tasks() == 0  # not due yet: nothing is sent early


def test_once_the_server_answers_the_retry_delivers_the_message(article, post, settings):
    settings.MAIL_RETRY_DELAYS = [0]
    parent = post("Tell me", name="Ann", author_email="ann@example.org", notify_replies=True)
    settings.MAILERS = smtp_mailers(free_port())  # nothing listens there
    post("Here you go", parent=parent, name="Bo")
    with smtp_server() as mailbox:
        assert run_tasks(limit=1) == 1  # refused: the retry is due at once
        assert OutboxMessage.objects.get().attempts == 1
        settings.MAILERS = smtp_mailers(mailbox.port)
        assert run_tasks() == 1
    [(recipients, received)] = mailbox.messages
    assert recipients == ["ann@example.org"]
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts, message.last_error) == ("sent", 2, "")
    assert received["Message-ID"] == message.message_id


def test_after_the_last_attempt_the_message_is_given_up_and_logged(article, post, settings, caplog):
    settings.MAIL_RETRY_DELAYS = [0, 0]
    settings.MAILERS = smtp_mailers(free_port())
    parent = post("Tell me", name="Ann", author_email="ann@example.org", notify_replies=True)
    post("Here you go", parent=parent, name="Bo")
    assert run_tasks() == 3
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == ("failed", 3)
    assert "ConnectionRefusedError" in message.last_error
    assert f"Gave up on outbox message {message.pk} (reply) after 3 attempts" in caplog.text
    assert "ann@example.org" not in caplog.text  # logs name messages, not readers


def test_a_recipient_refused_for_good_is_given_up_at_once(article, post, settings):
    parent = post("Tell me", name="Ann", author_email="gone@example.org", notify_replies=True)
    with smtp_server() as mailbox:
        mailbox.refuse("gone@example.org")
        settings.MAILERS = smtp_mailers(mailbox.port)
        post("Here you go", parent=parent, name="Bo")
        assert run_tasks() == 1
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == ("failed", 1)
    assert "550" in message.last_error
    assert mailbox.messages == []
    assert not DBTaskResult.objects.filter(status="READY").exists()
