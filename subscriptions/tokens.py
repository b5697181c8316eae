"""The signed links in Threadline's mail, each signed with a salt of its own so that one
kind of link can never be read as another.

- **confirm**: "this address is mine" (for an account, or for a reader without one). It
  expires after ``MAIL_CONFIRM_DAYS``: a link found in an old mailbox cannot tie an
  address to an account years later.
- **unsubscribe**: stop one kind of mail to one address (``scope``: "replies",
  "follow:<article>", "digest", "reports", "moderation"). It never expires: RFC 8058
  one-click unsubscribe must work from any mail, however old, and the link can only stop
  mail, never start it.
- **manage**: the page of everything one address hears of (``/notifications/<token>/``),
  linked from every notification; it does not expire either, for the same reason, and
  whoever holds it can only choose what that address is sent.

A link that was altered, or cut short when copied, raises ``BadLink`` (``expired`` says
whether it was only too old); views answer it with a 400 page in words.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from subscriptions.models import normalize

SCOPES = ("replies", "digest", "reports", "moderation")  # and "follow:<article pk>"

_confirm = signing.TimestampSigner(salt="threadline.subscriptions.confirm")
_unsubscribe = signing.Signer(salt="threadline.subscriptions.unsubscribe")
_manage = signing.Signer(salt="threadline.subscriptions.manage")


class BadLink(Exception):
    def __init__(self, *, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _email(value) -> str:
    if not isinstance(value, str):
        raise BadLink
    try:
        validate_email(value)
    except ValidationError:
        raise BadLink from None
    return normalize(value)


def _read(signer, token: str, **kwargs) -> dict:
    try:
        data = signer.unsign_object(token, **kwargs)
    except signing.SignatureExpired:
        raise BadLink(expired=True) from None
    except (signing.BadSignature, ValueError):  # altered, cut short, not ours
        raise BadLink from None
    if not isinstance(data, dict):
        raise BadLink
    return data


def confirm_token(*, email: str, user_id: int | None = None) -> str:
    return _confirm.sign_object({"e": normalize(email), "u": user_id}, compress=True)


def read_confirm_token(token: str) -> tuple[str, int | None]:
    """(address, account id or None) of a confirmation link still in date."""
    data = _read(_confirm, token, max_age=timedelta(days=settings.MAIL_CONFIRM_DAYS))
    user_id = data.get("u")
    if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool)):
        raise BadLink
    return _email(data.get("e")), user_id


def unsubscribe_token(*, email: str, scope: str) -> str:
    return _unsubscribe.sign_object({"e": normalize(email), "s": scope}, compress=True)


def read_unsubscribe_token(token: str) -> tuple[str, str]:
    """(address, scope) of an unsubscribe link."""
    data = _read(_unsubscribe, token)
    scope = data.get("s")
    if not isinstance(scope, str) or not valid_scope(scope):
        raise BadLink
    return _email(data.get("e")), scope


def valid_scope(scope: str) -> bool:
    if scope in SCOPES:
        return True
    kind, _, number = scope.partition(":")
    return kind == "follow" and number.isascii() and number.isdigit() and len(number) < 19


def manage_token(*, email: str) -> str:
    return _manage.sign_object({"e": normalize(email)}, compress=True)


def read_manage_token(token: str) -> str:
    """The address whose page a manage link opens."""
    return _email(_read(_manage, token).get("e"))
