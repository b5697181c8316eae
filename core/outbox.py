"""Mail that never holds up a request: a transactional outbox sent by task workers.

Every message the app sends is written to the outbox (``core.models.OutboxMessage``) with
a ``deliver`` task for it, both rows in the transaction of whatever the message tells of:
``queue()`` for notifications (comments/notify.py, inside the services' transactions), and
``OutboxBackend``, the ``default`` mailer, for anything sent through Django's mail API
(password resets). So a message is queued if and only if that transaction commits, and no
request ever opens a connection to a mail server. The queue is django-tasks-db's table in
the same database: no other service is needed, and Redis (a cache here, which may be down
or flushed) holds no mail.

A worker (``manage.py db_worker``, ``make worker``) runs ``deliver``: it locks the message
(``SELECT ... FOR UPDATE SKIP LOCKED``), sends it through the ``outgoing`` mailer (SMTP,
every wait bounded by ``EMAIL_TIMEOUT``), marks it sent and commits, all in one
transaction. What that guarantees:

- **Nothing is lost.** A message stays pending until a worker has committed "sent" or
  given it up. A failed attempt is recorded (attempts, last error) and retried after each
  of ``MAIL_RETRY_DELAYS`` in turn (a 5xx refusal of the recipient is final at once); after
  the last one the message is "failed" and logged. A worker killed mid-send rolls its
  transaction back, and its task row stays "running" for ever, so each worker runs
  ``recover()`` when it starts and every ``MAIL_SWEEP_SECONDS``: pending messages that are
  due and have no delivery task waiting get a new one.
- **Sent once, with one exception.** Another worker cannot send a message while one holds
  it, and nobody sends it once "sent" is committed. The exception: a worker that dies after
  the SMTP server's final "250" and before its commit has delivered the message but not
  recorded it, and the message goes out again later. The copy has the same ``Message-ID``
  (made from the message's key), so receivers that drop duplicates drop it.
"""

import hashlib
import logging
import smtplib
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Q
from django.tasks import TaskResultStatus, task
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone

from core.models import OutboxMessage

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500  # messages one sweep looks at; the next sweep takes the rest


def mail_domain() -> str:
    """The site's host name (from ``SITE_URL``), the right-hand side of its Message-IDs."""
    host = urlsplit(settings.SITE_URL).hostname or ""
    return host if host and ":" not in host else "localhost"


def message_id(key: str) -> str:
    """The Message-ID of the message with this key: the same on every attempt, in every
    process, and different for every key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{mail_domain()}>"


def thread_id(name: str) -> str:
    """A stable message id for something mails refer to (``thread_id("comment-12")``), for
    ``In-Reply-To`` and ``References``: mail clients thread the messages that name it."""
    return f"<{name}@{mail_domain()}>"


def queue(
    *,
    key: str,
    kind: str,
    recipient: str,
    subject: str,
    text: str,
    html: str = "",
    headers: dict[str, str] | None = None,
    from_email: str = "",
) -> OutboxMessage | None:
    """Queue one email to ``recipient``, once per ``key``, in the caller's transaction.

    Returns the new message, or None when a message with this key was queued before
    (whatever became of it). The subject is folded onto one line; ``headers`` must carry no
    text a reader typed.
    """
    with transaction.atomic():
        message, created = OutboxMessage.objects.get_or_create(
            key=key,
            defaults={
                "kind": kind,
                "recipient": recipient,
                "from_email": from_email or settings.DEFAULT_FROM_EMAIL,
                "subject": " ".join(str(subject).split()),
                "text": text,
                "html": html,
                "headers": headers or {},
                "message_id": message_id(key),
            },
        )
        if not created:
            return None
        schedule(message)
    return message


def withdraw(prefixes: list[str]) -> int:
    """Withdraw the pending messages whose key starts with one of ``prefixes`` (news that is
    no longer true: a comment removed or deleted before its notification went out), in the
    caller's transaction; their tasks then find nothing to send. A message a worker is
    sending at this moment is passed over (``SKIP LOCKED``): it is on its way. Returns how
    many were withdrawn."""
    if not prefixes:
        return 0
    matches = Q()
    for prefix in prefixes:
        matches |= Q(key__startswith=prefix)
    waiting = OutboxMessage.objects.filter(matches, state=OutboxMessage.State.PENDING)
    pks = list(waiting.select_for_update(skip_locked=True).values_list("pk", flat=True))
    return OutboxMessage.objects.filter(pk__in=pks).update(state=OutboxMessage.State.WITHDRAWN)


def schedule(message: OutboxMessage) -> None:
    """Queue a ``deliver`` task for ``message`` at its next attempt, and note its id."""
    due = message.next_attempt_at if message.next_attempt_at > timezone.now() else None
    result = deliver.using(run_after=due).enqueue(message.pk)
    message.task_id = str(result.id)
    message.save(update_fields=["task_id"])


class OutboxBackend(BaseEmailBackend):
    """The ``default`` mailer: ``send_messages()`` queues each message in the outbox, one
    copy per recipient (addressed to that recipient alone), and returns at once.

    For mail sent through Django's API (password resets): plain text with at most an HTML
    alternative; anything else (attachments, other parts) is refused with a ValueError.
    """

    def send_messages(self, email_messages) -> int:
        queued = 0
        for email in email_messages:
            html = _html_alternative(email)
            headers = {
                name: str(value)
                for name, value in email.extra_headers.items()
                if name.lower() not in {"message-id", "date", "to", "cc"}
            }
            if email.reply_to:
                headers["Reply-To"] = ", ".join(email.reply_to)
            key = f"mail:{uuid.uuid4().hex}"
            for number, recipient in enumerate(email.recipients()):
                queue(
                    key=f"{key}:{number}",
                    kind="mail",
                    recipient=recipient,
                    subject=str(email.subject),
                    text=str(email.body),
                    html=html,
                    headers=headers,
                    from_email=email.from_email,
                )
            queued += 1
        return queued


def _html_alternative(email) -> str:
    if email.attachments or email.content_subtype != "plain":
        raise ValueError("The outbox sends plain text, with at most an HTML alternative.")
    alternatives = getattr(email, "alternatives", [])
    if any(mimetype != "text/html" for _, mimetype in alternatives) or len(alternatives) > 1:
        raise ValueError("The outbox sends plain text, with at most an HTML alternative.")
    return str(alternatives[0][0]) if alternatives else ""


@task
def deliver(outbox_id: int) -> str:
    """Send one outbox message, or record why it could not be sent and schedule the retry.

    One transaction holds the message's row lock from before the send until "sent" is
    committed (module docstring: what that guarantees). Returns what became of it:
    "sent", "pending" (a retry is scheduled), "failed", or "skipped" (another worker holds
    it, it is not due yet, or it was settled before).
    """
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=outbox_id).first()
        )
        if (
            message is None
            or message.state != OutboxMessage.State.PENDING
            or message.next_attempt_at > timezone.now()
        ):
            return "skipped"
        message.attempts += 1
        try:
            if mail.mailers["outgoing"].send_messages([message.email()]) != 1:
                raise smtplib.SMTPException("The mailer sent nothing.")
        except Exception as error:
            # Whatever went wrong (a server that hangs, refuses or is not there, a broken
            # setting), the message is kept, with the reason, for a later attempt.
            _failed(message, error)
        else:
            message.state = OutboxMessage.State.SENT
            message.sent_at = timezone.now()
            message.last_error = ""
        message.save(
            update_fields=["attempts", "state", "sent_at", "last_error", "next_attempt_at"]
        )
        return message.state


def _failed(message: OutboxMessage, error: Exception) -> None:
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    delays = settings.MAIL_RETRY_DELAYS
    if _refused_for_good(error) or message.attempts > len(delays):
        message.state = OutboxMessage.State.FAILED
        logger.error(
            "Gave up on outbox message %s (%s) after %d attempts: %s",
            message.pk,
            message.kind,
            message.attempts,
            message.last_error,
        )
        return
    message.next_attempt_at = timezone.now() + timedelta(seconds=delays[message.attempts - 1])
    logger.warning(
        "Could not send outbox message %s (%s), attempt %d; next at %s: %s",
        message.pk,
        message.kind,
        message.attempts,
        message.next_attempt_at.isoformat(timespec="seconds"),
        message.last_error,
    )
    schedule(message)


def _refused_for_good(error: Exception) -> bool:
    """The server refused the recipient with a permanent (5xx) reply: retrying cannot help."""
    return isinstance(error, smtplib.SMTPRecipientsRefused) and all(
        code >= 500 for code, _ in error.recipients.values()
    )


def recover(*, limit: int = SWEEP_BATCH) -> int:
    """Give a new ``deliver`` task to each pending, due message whose task is not waiting to
    run: its worker was killed mid-task (the task row stays "running"), or the task ended
    without settling it. Messages being sent right now are locked and passed over. Returns
    how many were queued again; safe to run in any number of workers at once.

    A message's row stays locked while the sweep looks at it, so a ``deliver`` that comes
    for it in that moment passes it over; the next sweep then queues it again.
    """
    queued = 0
    with transaction.atomic():
        due = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=timezone.now())
            .order_by("next_attempt_at")[:limit]
        )
        for message in due:
            if not _task_waiting(message.task_id):
                schedule(message)
                queued += 1
    if queued:
        logger.warning("Queued %d stalled outbox messages again", queued)
    return queued


def _task_waiting(task_id: str) -> bool:
    if not task_id:
        return False
    try:
        return deliver.get_result(task_id).status == TaskResultStatus.READY
    except TaskResultDoesNotExist:
        return False
