"""Turn an article's comment rows into what the page shows, in one linear pass.

The rows arrive in pre-order (``tree_id, lft``), so the page is that same sequence: each
comment opens an element and closes as many as the next row's depth says. No recursion, no
per-node query, and the cost is O(n) whatever the depth.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from comments.models import Comment


@dataclass(frozen=True)
class Viewer:
    """Who is looking: decides which pending comments and which controls they see."""

    user_id: int | None = None
    owned_ids: frozenset[int] = field(default_factory=frozenset)

    def owns(self, comment: Comment) -> bool:
        return (self.user_id is not None and comment.user_id == self.user_id) or (
            comment.pk in self.owned_ids
        )


ANONYMOUS = Viewer()


def _shown_as_comment(comment: Comment, viewer: Viewer) -> bool:
    if comment.deleted_at is not None:
        return False
    if comment.status == Comment.Status.APPROVED:
        return True
    return comment.status == Comment.Status.PENDING and viewer.owns(comment)


def edit_deadline(comment: Comment):
    return comment.created_at + timedelta(minutes=settings.COMMENTS_EDIT_WINDOW_MINUTES)


def decorate(comment: Comment, viewer: Viewer, *, now=None) -> Comment:
    """Set what the template needs to draw one comment for this viewer."""
    now = now or timezone.now()
    shown = _shown_as_comment(comment, viewer)
    comment.placeholder = "" if shown else ("deleted" if comment.deleted_at else "removed")
    owner = shown and viewer.owns(comment)
    comment.can_delete = owner
    comment.can_edit = owner and now < edit_deadline(comment)
    comment.closers = range(1)
    return comment


def build_thread(rows: Iterable[Comment], viewer: Viewer = ANONYMOUS) -> list[Comment]:
    """Return the comments to draw, in page order.

    A comment the viewer may not see is dropped, unless a reply under it is shown: then it
    stays as a "[deleted]" or "[removed]" placeholder so the replies keep their place.
    Each returned comment carries ``placeholder``, ``number`` (top-level only),
    ``can_edit``, ``can_delete`` and ``closers`` (how many elements close after it).
    """
    rows = list(rows)
    keep: set[int] = set()
    for comment in reversed(rows):  # children come after parents in pre-order
        if comment.pk in keep or _shown_as_comment(comment, viewer):
            keep.add(comment.pk)
            if comment.parent_id is not None:
                keep.add(comment.parent_id)
    now = timezone.now()
    nodes = [decorate(c, viewer, now=now) for c in rows if c.pk in keep]
    number = 0
    for index, comment in enumerate(nodes):
        if comment.level == 0:
            number += 1
            comment.number = number
        next_level = nodes[index + 1].level if index + 1 < len(nodes) else 0
        comment.closers = range(
            comment.level - next_level + 1 if next_level <= comment.level else 0
        )
    return nodes


def count_responses(nodes: list[Comment]) -> int:
    return sum(1 for node in nodes if not node.placeholder)
