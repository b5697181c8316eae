"""Every write to confirmed addresses and follows.

- ``request_confirmation``: the one mail an address gets before it is confirmed, at most one
  a day per address whoever asks (the outbox key ``confirm:<address>:<day>``), queued in the
  caller's transaction.
- ``confirm``: its link was followed. For an account, the address becomes ``User.email``
  (the old one kept working until now) and what the old one followed moves to it.
- ``follow`` / ``unfollow``, ``stop``: what a confirmed address hears of.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from core import outbox
from subscriptions import tokens
from subscriptions.models import Address, Follow, normalize

SESSION_ADDRESS = "subscriptions.address"  # a guest's confirmed address, in their session


def is_confirmed(email: str) -> bool:
    return bool(email) and Address.objects.confirmed().of(email).exists()


def address_vouched(email: str) -> Address:
    """Record ``email`` as confirmed (an account's address), if it is not already."""
    address, _ = Address.objects.get_or_create(
        email=normalize(email), defaults={"confirmed_at": timezone.now()}
    )
    if address.confirmed_at is None:
        address.confirmed_at = timezone.now()
        address.save(update_fields=["confirmed_at"])
    return address


def request_confirmation(*, email: str, user=None) -> bool:
    """Queue the mail that asks the owner of ``email`` to confirm it: for ``user``'s
    account, or (no user) to hear of replies to their comments. In the caller's
    transaction. Returns False, queuing nothing, when this address has been sent a
    confirmation mail today already (by anyone's request)."""
    email = normalize(email)
    link = settings.SITE_URL + reverse(
        "confirm_address",
        args=[tokens.confirm_token(email=email, user_id=user.pk if user is not None else None)],
    )
    days = settings.MAIL_CONFIRM_DAYS
    site = outbox.mail_domain()
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Confirm your email address")
        if user is not None:
            why = gettext(
                "Someone, we hope you, asked to use this address for the account “%(name)s” "
                "at %(site)s."
            ) % {"name": user.get_username(), "site": site}
        else:
            why = gettext(
                "Someone, we hope you, gave this address with a comment at %(site)s and asked "
                "to hear of replies."
            ) % {"site": site}
        expiry = ngettext(
            "Follow this link to confirm it (it works for %(days)d day):",
            "Follow this link to confirm it (it works for %(days)d days):",
            days,
        ) % {"days": days}
        after = gettext(
            "Until you do, we send nothing else to this address. If it was not you, ignore "
            "this mail: you will not hear from us."
        )
        html = render_to_string(
            "subscriptions/mail/confirm.html",
            {
                "subject": subject,
                "language": translation.get_language(),
                "paragraphs": [why, expiry],
                "link": link,
                "after": after,
            },
        )
    message = outbox.queue(
        key=f"confirm:{email}:{timezone.localdate().isoformat()}",
        kind="confirm",
        recipient=email,
        subject=subject,
        text="\n\n".join([why, expiry, link, after]) + "\n",
        html=html,
        headers={"Auto-Submitted": "auto-generated"},
    )
    return message is not None


@transaction.atomic
def confirm(*, email: str, user=None) -> Address:
    """The owner of ``email`` followed its confirmation link: it is confirmed, and for
    ``user`` it becomes the account's address; what the account's previous address
    followed, and its editor's choices, move to the new one. ValidationError (nothing
    stored) if the account is gone."""
    address = address_vouched(email)
    if user is None:
        return address
    account = get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if account is None:  # deleted since the link was opened: nothing is stored
        raise ValidationError(gettext("That account no longer exists."))
    previous = normalize(account.email)
    if previous == address.email:
        return address
    old = Address.objects.filter(email=previous).first() if previous else None
    if old is not None:
        followed = set(address.follows.values_list("article_id", flat=True))
        old.follows.exclude(article_id__in=followed).update(address=address)
        old.follows.all().delete()  # those the new address follows already: its choice stands
        address.reports, address.moderation_digest = old.reports, old.moderation_digest
        address.save(update_fields=["reports", "moderation_digest"])
    account.email = address.email
    account.save(update_fields=["email"])
    return address


def follow(*, email: str, article_id: int, mode: str) -> Follow:
    """``email`` (confirmed) hears of the article's new approved comments in ``mode``.
    Changing to the digest starts it from now: comments already mailed one by one are not
    listed again."""
    if mode not in Follow.Mode.values:
        raise ValidationError(gettext("Choose how you want to hear of new comments."))
    with transaction.atomic():
        address = Address.objects.confirmed().of(email).first()
        if address is None:
            raise ValidationError(gettext("Confirm your email address first."))
        now = timezone.now()
        found, created = Follow.objects.select_for_update().get_or_create(
            address=address,
            article_id=article_id,
            defaults={"mode": mode, "created_at": now, "digested_through": now},
        )
        if not created and found.mode != mode:
            found.mode, found.digested_through = mode, now
            found.save(update_fields=["mode", "digested_through"])
        return found


def unfollow(*, email: str, article_id: int | None = None, mode: str | None = None) -> int:
    """Stop following one article (or, with ``mode``, every one followed that way, or
    all); returns how many follows ended."""
    follows = Follow.objects.filter(address__email=normalize(email))
    if article_id is not None:
        follows = follows.filter(article_id=article_id)
    if mode is not None:
        follows = follows.filter(mode=mode)
    return follows.delete()[0]


def editor_choices(*, email: str, reports: bool | None = None, digest: bool | None = None):
    """An editor's (or a moderation address's) choice of reports and of the moderation
    digest. The row may stay unconfirmed: it only holds the choice to hear less."""
    address, _ = Address.objects.get_or_create(email=normalize(email))
    if reports is not None:
        address.reports = reports
    if digest is not None:
        address.moderation_digest = digest
    address.save(update_fields=["reports", "moderation_digest"])
    return address


def muted(email: str, field: str) -> bool:
    """Whether ``email`` asked to hear no more of ``field`` ("reports", "moderation_digest")."""
    return Address.objects.of(email).filter(**{field: False}).exists()


def editor_settings(email: str) -> dict[str, bool]:
    """An editor's choices: whether reports and the moderation digest are sent to them."""
    address = Address.objects.of(email).first()
    if address is None:
        return {"reports": True, "moderation_digest": True}
    return {"reports": address.reports, "moderation_digest": address.moderation_digest}
