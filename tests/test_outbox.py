"""The outbox keeps its promises: queued with what it tells of, once per key, sent once.

A notification is queued (its message and its delivery task) if and only if the change it
tells of commits. The database holds one message per idempotency key. A message is sent
once: not while another worker holds it, never again once it is sent. A delivery task that
was lost (its worker killed mid-task leaves it "running" for ever) is replaced by the sweep,
which leaves alone a message whose task is still waiting, one not yet due, and one being
sent. Mail sent through Django's API is queued one copy per recipient.
"""

import threading
from contextlib import contextmanager

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core import outbox
from core.models import OutboxMessage
from tests.support.tasks import queued_tasks, run_tasks


def queue(key="reply:1:ann@example.org", **fields):
    fields = {"kind": "reply", "recipient": "ann@example.org", "subject": "Hello", **fields}
    return outbox.queue(key=key, text="Hi Ann", **fields)


@contextmanager
def locked_elsewhere(pk):
    """Another session holds the message's row lock, as a worker sending it does."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                OutboxMessage.objects.select_for_update().get(pk=pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        thread.join(timeout=10)


def test_a_reply_rolled_back_queues_nothing(db, post, confirmed):
    confirmed("ann@example.org")
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        post("Here you go", parent=parent, name="Bo")
        assert OutboxMessage.objects.count() == 1 and queued_tasks() == 1
        raise RuntimeError("the request failed after the reply was written")
    assert not OutboxMessage.objects.exists() and not DBTaskResult.objects.exists()


def test_a_key_is_queued_once(db):
    first = queue()
    assert first is not None and first.state == "pending"
    assert queue(subject="Again") is None
    assert OutboxMessage.objects.get().subject == "Hello"
    assert queued_tasks() == 1


def test_the_database_holds_one_message_per_key_and_sent_only_with_a_time(db):
    message = queue()
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(key=message.key, recipient="x@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk).update(state="sent")


def test_a_subject_is_folded_onto_one_line(db):
    message = queue(subject="New reply\r\nBcc: victim@example.org")
    assert message.subject == "New reply Bcc: victim@example.org"
    run_tasks()
    assert mail.outbox[0].recipients() == ["ann@example.org"]


def test_a_sent_message_is_not_sent_again(db):
    message = queue()
    run_tasks()
    outbox.deliver.enqueue(message.pk)  # a second task for it, as the sweep might add
    assert run_tasks() == 1
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("sent", 1)


def test_a_message_being_sent_elsewhere_is_passed_over(transactional_db):
    message = queue()
    with locked_elsewhere(message.pk):
        assert outbox.deliver.call(message.pk) == "skipped"
        assert outbox.recover() == 0
    assert mail.outbox == []
    outbox.deliver.enqueue(message.pk)
    run_tasks()
    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.get().state == "sent"


def test_a_lost_delivery_task_is_queued_again_by_the_sweep(db):
    message = queue()
    task = DBTaskResult.objects.get()
    task.claim("killed-worker")  # what a worker killed mid-task leaves behind
    assert run_tasks() == 0 and mail.outbox == []

    assert outbox.recover() == 1
    assert outbox.recover() == 0  # its new task waits: no second one
    assert run_tasks() == 1
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.state == "sent" and str(message.task_id) != str(task.id)
    assert outbox.recover() == 0


def test_the_sweep_leaves_waiting_and_future_messages_alone(db):
    queue()
    later = queue(key="reply:2:ann@example.org")
    later.next_attempt_at = timezone.now() + timezone.timedelta(hours=1)
    later.task_id = ""
    later.save()
    assert outbox.recover() == 0
    assert queued_tasks() == 2


def test_mail_through_djangos_api_is_queued_one_copy_per_recipient(db):
    message = EmailMessage(
        "Hello",
        "Hi both",
        None,
        ["ann@example.org"],
        bcc=["bo@example.org"],
        reply_to=["desk@example.org"],
        headers={"X-Campaign": "test"},
    )
    assert message.send() == 1
    assert mail.outbox == []
    rows = OutboxMessage.objects.order_by("recipient")
    assert [(row.kind, row.recipient) for row in rows] == [
        ("mail", "ann@example.org"),
        ("mail", "bo@example.org"),
    ]
    assert rows[0].message_id != rows[1].message_id
    run_tasks()
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ann@example.org",
        "bo@example.org",
    ]
    for sent in mail.outbox:
        assert sent.recipients() == sent.to and len(sent.to) == 1  # nobody sees the other
        assert sent.reply_to == ["desk@example.org"] and sent.extra_headers["X-Campaign"] == "test"
        assert sent.body == "Hi both" and not sent.alternatives


def test_mail_with_an_attachment_is_refused_not_sent_in_part(db):
    message = EmailMessage("Report", "See attached", None, ["ann@example.org"])
    message.attach("report.txt", "numbers", "text/plain")
    with pytest.raises(ValueError, match="plain text"):
        message.send()
    assert not OutboxMessage.objects.exists()
