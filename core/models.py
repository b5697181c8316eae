"""The mail outbox: each message the app sends, from the transaction that queued it until a
worker has sent it or given it up (core/outbox.py does both)."""

from email.utils import format_datetime

from django.core.mail import EmailMultiAlternatives
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One email to one recipient, rendered when it was queued.

    ``key`` names what the message tells of ("reply:<comment>:<address>"): the database
    holds one message per key, so a notification cannot be queued twice. A message is sent
    as it is stored, with a ``Message-ID`` made from its key and the same ``Date`` on every
    attempt, so a rare second copy is the same message to the receiving side.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENT = "sent", _("sent")
        FAILED = "failed", _("given up")
        WITHDRAWN = "withdrawn", _("withdrawn before it was sent")

    key = models.CharField(_("idempotency key"), max_length=400, unique=True)
    kind = models.CharField(
        _("kind"),
        max_length=40,
        help_text=_('"reply", "follow", "digest", "report", "moderation", "confirm", "mail"'),
    )
    recipient = models.EmailField(_("recipient"))
    from_email = models.CharField(_("from"), max_length=320)
    subject = models.TextField(_("subject"))
    text = models.TextField(_("plain text"))
    html = models.TextField(_("HTML alternative"), blank=True)
    headers = models.JSONField(
        _("headers"), default=dict, blank=True, help_text=_("In-Reply-To, References, ...")
    )
    message_id = models.CharField(_("Message-ID"), max_length=255)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    task_id = models.CharField(
        _("delivery task"), max_length=64, blank=True, help_text=_("The queued deliver task.")
    )
    created_at = models.DateTimeField(_("queued"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing email")
        indexes = [
            # The sweep: pending messages by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="outbox_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sent", "failed", "withdrawn"]),
                name="outbox_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(state="sent", sent_at__isnull=False)
                | (~Q(state="sent") & Q(sent_at__isnull=True)),
                name="outbox_sent_when_sent",
            ),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.get_state_display()})"

    def email(self) -> EmailMultiAlternatives:
        """The message as the outgoing mailer sends it: plain text, the HTML alternative if
        any, the stored headers, its Message-ID and the time it was queued as its Date."""
        headers = dict(self.headers)
        reply_to = headers.pop("Reply-To", None)  # Django sets it from reply_to alone
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=self.text,
            from_email=self.from_email,
            to=[self.recipient],
            reply_to=[reply_to] if reply_to else None,
            headers={
                **headers,
                "Message-ID": self.message_id,
                "Date": format_datetime(self.created_at),
            },
        )
        if self.html:
            message.attach_alternative(self.html, "text/html")
        return message


class DailyRun(models.Model):
    """A once-a-day task (``core.daily``), enqueued for one day. The database holds one row
    per task and day, so however many workers find the task due, one of them enqueues it."""

    name = models.CharField(_("task"), max_length=100)
    day = models.DateField(_("day"))
    enqueued_at = models.DateTimeField(_("enqueued"), default=timezone.now)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)

    class Meta:
        ordering = ["-day", "name"]
        verbose_name = _("daily task run")
        verbose_name_plural = _("daily task runs")
        constraints = [models.UniqueConstraint(fields=["name", "day"], name="daily_run_once")]

    def __str__(self):
        return f"{self.name} for {self.day.isoformat()}"
