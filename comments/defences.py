"""Spam and flood defences for posting, each switched by a setting (see README).

Each check answers with the message a reader sees; none stores anything. Counters live in
Django's "rate_limit" cache, so with REDIS_URL set every app server shares them.
"""

import logging
import re
import time

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from comments.models import Ban, Comment
from core import rates

logger = logging.getLogger(__name__)
_clock_signer = signing.TimestampSigner(salt="threadline.comments.form-shown")
# One match per address: "[a](https://www.x.org)" is one link, not three.
_LINK = re.compile(r"(?:https?://|mailto:|www\.)[^\s)\]>]+", re.IGNORECASE)


def form_token() -> str:
    """A signed note of when the form was shown, for the minimum-delay check."""
    return _clock_signer.sign(str(time.time()))


def too_fast(token: str) -> bool:
    """True when the form came back sooner than COMMENTS_MIN_SUBMIT_SECONDS after it was
    shown, or without a valid note of when that was."""
    minimum = settings.COMMENTS_MIN_SUBMIT_SECONDS
    if not minimum:
        return False
    try:
        shown = float(_clock_signer.unsign(token or "", max_age=24 * 3600))
    except (signing.BadSignature, ValueError):
        return True
    return time.time() - shown < minimum


def over_rate_limit(*, ip_address, user=None) -> bool:
    """Count this post against its IP address and account; True when either is over
    COMMENTS_RATE_LIMIT for the current window."""
    return _over_limit("rate", settings.COMMENTS_RATE_LIMIT, ip_address=ip_address, user=user)


PREVIEW_LIMIT_MESSAGE = _(
    "You have asked for many previews in a short time. Wait a minute, then preview again; "
    "your text is still in the form, and you can post it as it is."
)


def over_preview_limit(*, ip_address, user=None) -> bool:
    """Count this preview against its IP address and account; True when either is over
    COMMENTS_PREVIEW_RATE_LIMIT. Previews are counted apart from posts (a post does not use
    up a preview, nor a preview a post)."""
    return _over_limit(
        "preview", settings.COMMENTS_PREVIEW_RATE_LIMIT, ip_address=ip_address, user=user
    )


VOTE_LIMIT_MESSAGE = _("You have voted many times in a short time. Wait a minute, then vote again.")


def over_vote_limit(*, ip_address, user=None) -> bool:
    """Count this vote against its IP address and account; True when either is over
    COMMENTS_VOTE_RATE_LIMIT (votes are counted apart from posts and previews)."""
    return _over_limit("vote", settings.COMMENTS_VOTE_RATE_LIMIT, ip_address=ip_address, user=user)


def _over_limit(kind: str, rate: str, *, ip_address, user) -> bool:
    """Fixed windows, counted atomically in the "rate_limit" cache. When the counters
    cannot be reached (Redis down, hanging or full), nothing is counted and the answer is
    COMMENTS_RATE_LIMIT_FAIL_OPEN's: not over (the request goes on to the other defences)
    by default, over (refused) when it is off."""
    parsed = rates.parse_rate(rate)
    if parsed is None:
        return False
    limit, window = parsed
    slot = int(time.time() // window)
    keys = [f"{kind}:ip:{ip_address}:{window}:{slot}"]
    if user is not None and user.is_authenticated:
        keys.append(f"{kind}:user:{user.pk}:{window}:{slot}")
    try:
        counts = [rates.count(key, window=window) for key in keys]
    except RedisError as error:
        fail_open = settings.COMMENTS_RATE_LIMIT_FAIL_OPEN
        logger.warning(
            "%s limit not counted (%s): %s, as COMMENTS_RATE_LIMIT_FAIL_OPEN=%s",
            kind,
            error,
            "allowed" if fail_open else "refused",
            fail_open,
        )
        return not fail_open
    return max(counts) > limit


def link_count(body: str) -> int:
    return len(_LINK.findall(body))


def too_many_links(body: str) -> bool:
    limit = settings.COMMENTS_MAX_LINKS
    return bool(limit) and link_count(body) > limit


def is_duplicate(*, body: str, user=None, author_email="", ip_address=None) -> bool:
    """True when the poster's previous comment has exactly this text."""
    if not settings.COMMENTS_REFUSE_DUPLICATES:
        return False
    if user is not None and user.is_authenticated:
        previous = Comment.objects.filter(user=user)
    elif author_email:
        previous = Comment.objects.filter(author_email__iexact=author_email)
    elif ip_address:
        previous = Comment.objects.filter(ip_address=ip_address, user__isnull=True)
    else:
        return False
    last = previous.order_by("-created_at").values_list("body", flat=True).first()
    return last is not None and last.strip() == body.strip()


def has_blocked_words(body: str) -> bool:
    words = [w.lower() for w in settings.COMMENTS_BLOCKED_WORDS if w]
    text = body.lower()
    return any(re.search(rf"\b{re.escape(word)}\b", text) for word in words)


def ban_for(*, user=None, email="", ip_address=None) -> Ban | None:
    return Ban.objects.matching(user=user, email=email, ip_address=ip_address).first()
