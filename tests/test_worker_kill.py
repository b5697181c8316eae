"""A worker killed in the middle of sending a message loses nothing and sends nothing twice.

A real ``manage.py db_worker`` sends a reply notification to a real SMTP server that takes
the message's data and then never answers. Killed there (SIGKILL: no clean-up runs), the
worker's transaction rolls back: the message is still pending, no attempt recorded, and its
task row stays "running" for ever. A worker started afterwards (its sweep at start), or one
already running beside it (its sweep every ``MAIL_SWEEP_SECONDS``, having passed over the
message while the first held it), sends it: the server accepts it exactly once, with the
Message-ID made from its key, and the outbox row is "sent".
"""

import os
import signal
import time

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from comments.models import Comment
from core import outbox
from core.models import OutboxMessage
from tests.support.mail import smtp_server, smtp_settings, wait_until, worker_process

SLOW_SERVER = 60  # the killed worker's EMAIL_TIMEOUT: it would wait that long for the reply


@pytest.fixture(autouse=True)
def _readers_confirmed(confirmed):
    """The readers here confirmed their addresses (tests/test_addresses.py: before that)."""
    confirmed("ann@example.org")


def settled() -> bool:
    """The message is sent and no task waits to run (nothing more will be sent)."""
    return (
        OutboxMessage.objects.filter(state="sent").exists()
        and not DBTaskResult.objects.filter(status="READY").exists()
    )


def post_a_reply_that_notifies(client, article, post) -> Comment:
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    response = client.post(
        reverse("comment_post", args=[article.slug]),
        {"body": "Here you go", "parent": parent.pk, "author_name": "Bo"},
    )
    assert response.status_code == 303
    return Comment.objects.get(parent=parent)


def kill_mid_send(worker, mailbox) -> None:
    """Kill ``worker`` once the server holds its message's data unanswered."""
    assert mailbox.stalled.wait(timeout=30), "the worker never sent the message's data"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts, message.sent_at) == ("pending", 0, None)
    assert DBTaskResult.objects.filter(status="RUNNING").count() == 1  # the dead worker's


def assert_received_once(mailbox, reply) -> None:
    assert wait_until(settled), OutboxMessage.objects.values().get()
    time.sleep(0.5)  # time enough for a duplicate to reach the server, if one were sent
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.org"]
    assert message["Message-ID"] == outbox.message_id(f"reply:{reply.pk}:ann@example.org")
    assert "Here you go" in message.get_body(preferencelist=("plain",)).get_content()
    stored = OutboxMessage.objects.get()
    assert (stored.state, stored.attempts) == ("sent", 1)


def test_a_worker_started_after_the_kill_sends_the_message_once(
    transactional_db, client, article, post
):
    with smtp_server() as mailbox:
        mailbox.stall()
        with worker_process(**smtp_settings(mailbox.port, timeout=SLOW_SERVER)) as first:
            reply = post_a_reply_that_notifies(client, article, post)
            kill_mid_send(first, mailbox)
        mailbox.resume()
        with worker_process(**smtp_settings(mailbox.port)):
            assert_received_once(mailbox, reply)


def test_a_worker_running_beside_the_killed_one_sends_the_message_once(
    transactional_db, client, article, post
):
    settings = smtp_settings(0, timeout=SLOW_SERVER)
    with smtp_server() as mailbox:
        settings["EMAIL_PORT"] = str(mailbox.port)
        mailbox.stall()
        with worker_process(**settings) as first:
            reply = post_a_reply_that_notifies(client, article, post)
            assert mailbox.stalled.wait(timeout=30)
            with worker_process(**settings, MAIL_SWEEP_SECONDS="0.2") as second:
                time.sleep(1)  # several sweeps while the first worker holds the message
                assert DBTaskResult.objects.filter(status="READY").count() == 0
                kill_mid_send(first, mailbox)
                mailbox.resume()
                assert_received_once(mailbox, reply)
                assert second.poll() is None
