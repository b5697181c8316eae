"""How much a reader's report weighs toward hiding a comment: the one home for that rule.

A comment is hidden (held for review) when its open reports weigh
``COMMENTS_FLAG_THRESHOLD`` together:

- an editor's report (the ``comments.can_moderate`` permission, or a superuser) weighs the
  whole threshold: it hides the comment at once;
- a trusted account's weighs 1: one that joined more than ``COMMENTS_FLAG_TRUSTED_AGE_DAYS``
  days ago and has at least one approved comment still shown;
- any other report weighs 0: a new account, one with no approved comment, a banned one, a
  reader without an account (reports are per address, and addresses are cheap).

So sign-ups and addresses, however many, never hide a comment alone; three trusted accounts
(by default) or one editor do. Every report is still recorded, puts the comment in the
moderation queue and, as the first one, tells the editors. A report keeps the weight its
reporter had when it was made (``Flag.weight``), so the sum is one query.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from comments.models import Ban, Comment, Flag

TRUSTED = 1
UNTRUSTED = 0


def threshold() -> int:
    """The weight that hides a comment; never below 1, so weightless reports never do."""
    return max(settings.COMMENTS_FLAG_THRESHOLD, 1)


def report_weight(user) -> int:
    """What a report by this reader (an account, AnonymousUser or None) weighs."""
    if user is None or not user.is_authenticated:
        return UNTRUSTED
    if user.has_perm("comments.can_moderate"):
        return threshold()
    joined_before = timezone.now() - timedelta(days=settings.COMMENTS_FLAG_TRUSTED_AGE_DAYS)
    if user.date_joined > joined_before:
        return UNTRUSTED
    if not Comment.objects.visible().filter(user=user).exists():
        return UNTRUSTED
    if Ban.objects.matching(user=user).exists():
        return UNTRUSTED
    return TRUSTED


def hides(total: int) -> bool:
    """Whether open reports weighing ``total`` hide their comment."""
    return total >= threshold()


def tally(comment_id: int) -> tuple[int, int]:
    """What a comment's open reports weigh together, and how many reports it ever had
    (reviewed ones included: the first report is the one editors hear of). One query."""
    row = Flag.objects.filter(comment_id=comment_id).aggregate(
        weight=Sum("weight", filter=Q(reviewed=False), default=0), reports=Count("pk")
    )
    return row["weight"], row["reports"]
