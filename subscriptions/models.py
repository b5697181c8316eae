"""Confirmed addresses and followed discussions.

An ``Address`` is one email address, stored in lower case (one row per mailbox, however a
reader spells it). It is *confirmed* once its owner has shown it is theirs: by following
the link of a confirmation mail, or by being an account's address (``User.email`` is only
written once confirmed, or by an administrator). Nothing but a confirmation mail is ever
sent to an address that is not confirmed. A row may also exist unconfirmed, holding an
editor's choice to hear no more (``reports``, ``moderation_digest``).

A ``Follow`` is an address's wish to hear of new approved comments in one article: each
as it comes, or in the daily digest.
"""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def normalize(email: str) -> str:
    """The stored, compared form of an address: trimmed, lower case."""
    return email.strip().lower()


class AddressQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(confirmed_at__isnull=False)

    def of(self, email: str):
        return self.filter(email=normalize(email))


class Address(models.Model):
    email = models.EmailField(_("email"), max_length=254, unique=True)
    confirmed_at = models.DateTimeField(
        _("confirmed"),
        null=True,
        blank=True,
        help_text=_("Empty: never confirmed, and nothing but a confirmation link is sent."),
    )
    created_at = models.DateTimeField(_("first seen"), default=timezone.now)
    reports = models.BooleanField(
        _("reports"), default=True, help_text=_("Editors: a mail on a comment's first report.")
    )
    moderation_digest = models.BooleanField(
        _("moderation digest"),
        default=True,
        help_text=_("Editors: the daily summary of the moderation queue, when it is sent."),
    )

    objects = AddressQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="address_lower_case"),
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalize(self.email)
        super().save(*args, **kwargs)

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class Follow(models.Model):
    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", _("each new comment")
        DIGEST = "digest", _("a daily digest")

    address = models.ForeignKey(
        Address, on_delete=models.CASCADE, related_name="follows", verbose_name=_("address")
    )
    article = models.ForeignKey(
        "articles.Article",
        on_delete=models.CASCADE,
        related_name="followers",
        verbose_name=_("article"),
    )
    mode = models.CharField(_("mode"), max_length=10, choices=Mode, default=Mode.IMMEDIATE)
    created_at = models.DateTimeField(_("since"), default=timezone.now)
    digested_through = models.DateTimeField(
        _("digest up to"),
        default=timezone.now,
        help_text=_("The next digest lists comments approved after this."),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("followed discussion")
        verbose_name_plural = _("followed discussions")
        constraints = [
            models.UniqueConstraint(fields=["address", "article"], name="follow_once"),
            models.CheckConstraint(
                condition=Q(mode__in=["immediate", "digest"]), name="follow_mode_valid"
            ),
        ]
        # A comment's immediate followers, when it is approved.
        indexes = [models.Index(fields=["article", "mode"], name="follow_article_mode_idx")]

    def __str__(self):
        return f"{self.address} follows article #{self.article_id} ({self.mode})"
