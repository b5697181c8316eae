"""What a page draws for each comment: a small typed ``CommentNode``, built in one pass.

Rows arrive in pre-order (``tree_id, lft``), so a page is that same sequence: each comment
opens an element and closes as many as the next row's depth says (``closers``). No
recursion, no per-node query; the cost is O(rows shown) whatever the depth or the size of
the article's discussion. Links and dates are computed here rather than with {% url %} and
|date in the template: at hundreds of comments a page, that is most of the cost of drawing.
"""

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.safestring import SafeString
from django.utils.translation import get_language, pgettext_lazy

from comments.models import Comment
from core import names

URL_NAMES = ("permalink", "reply_form", "report", "edit", "delete", "thread", "vote", "pin")


@dataclass(frozen=True)
class Viewer:
    """Who is looking: decides which pending comments and which controls they see."""

    user_id: int | None = None
    owned_ids: frozenset[int] = field(default_factory=frozenset)
    editor: bool = False  # may pin (and so never gets a shared cached page)
    vote_cookie: str = ""  # a reader without an account who voted (COMMENTS_ANONYMOUS_VOTES)

    def owns(self, comment: Comment) -> bool:
        return (self.user_id is not None and comment.user_id == self.user_id) or (
            comment.pk in self.owned_ids
        )

    def sees(self, comment: Comment) -> bool:
        """Shown as a comment (not a placeholder): visible, or the viewer's own one that is
        held ("awaiting moderation") or was marked as spam ("not published"), so that it
        never vanishes from its author's view without a word."""
        if comment.is_visible:
            return True
        return (
            comment.deleted_at is None
            and comment.status in (Comment.Status.PENDING, Comment.Status.SPAM)
            and self.owns(comment)
        )


ANONYMOUS = Viewer()


@dataclass(slots=True)
class CommentNode:
    """One comment as a page draws it for one viewer.

    ``placeholder`` is "" for a comment shown as such, else "deleted" or "removed" (the
    element keeps its place for the replies under it). ``number`` is set on top-level
    comments of an article page, ``continue_query`` where the page stops before this
    comment's replies (the query string of its focused page that shows the rest).
    ``author_kind`` is "editor" (``comments.roles``), "account" or "guest": the page
    marks accounts outside the name's text, so that no name a guest types can look like one.
    """

    pk: int
    parent_id: int | None
    tree_id: int
    lft: int
    rght: int
    level: int
    status: str
    has_replies: bool
    display_author: str
    author_kind: str
    rendered_body: SafeString | str
    created_iso: str
    created_long: str
    created_short: str
    edited_long: str
    placeholder: str
    can_edit: bool
    can_delete: bool
    urls: dict[str, str]
    upvotes: int = 0
    downvotes: int = 0
    score: int = 0
    pinned: bool = False
    can_vote: bool = False  # shown, approved and not the viewer's own
    can_pin: bool = False
    my_vote: int = 0  # the viewer's: 1, -1 or 0
    number: int | None = None
    focus: bool = False
    continue_query: str | None = None
    closers: range = range(1)


def edit_deadline(comment: Comment) -> datetime:
    return comment.created_at + timedelta(minutes=settings.COMMENTS_EDIT_WINDOW_MINUTES)


def edit_minutes_left(comment: Comment) -> int:
    """Whole minutes left to edit, rounded up (the edit page says "for 12 more minutes")."""
    seconds = (edit_deadline(comment) - timezone.now()).total_seconds()
    return max(1, math.ceil(seconds / 60))


@functools.cache
def _around_pk(name: str, script_prefix: str) -> tuple[str, str]:
    """The URL named ``name`` for a comment, split around its pk (reversed once)."""
    head, _, tail = reverse(name, args=[918273645]).partition("918273645")
    return head, tail


def comment_url(name: str, pk: int) -> str:
    """``reverse(name, args=[pk])`` by concatenation: a page draws hundreds of these."""
    head, tail = _around_pk(name, get_script_prefix())
    return f"{head}{pk}{tail}"


SHORT_MONTHS = {
    1: pgettext_lazy("short month", "Jan"),
    2: pgettext_lazy("short month", "Feb"),
    3: pgettext_lazy("short month", "Mar"),
    4: pgettext_lazy("short month", "Apr"),
    5: pgettext_lazy("short month", "May"),
    6: pgettext_lazy("short month", "Jun"),
    7: pgettext_lazy("short month", "Jul"),
    8: pgettext_lazy("short month", "Aug"),
    9: pgettext_lazy("short month", "Sep"),
    10: pgettext_lazy("short month", "Oct"),
    11: pgettext_lazy("short month", "Nov"),
    12: pgettext_lazy("short month", "Dec"),
}
LONG_DATE = pgettext_lazy(
    "a comment's time, with its zone", "%(day)d %(month)s %(year)d, %(time)s %(zone)s"
)
SHORT_DATE = pgettext_lazy("a comment's time", "%(day)d %(month)s %(year)d, %(time)s")


@functools.cache
def _date_words(language: str | None) -> tuple[dict, dict, str, str]:
    """Month names and the date patterns in the active language (looked up once each)."""
    return (
        {number: str(name) for number, name in MONTHS.items()},
        {number: str(name) for number, name in SHORT_MONTHS.items()},
        str(LONG_DATE),
        str(SHORT_DATE),
    )


def _when(moment) -> tuple[str, str, str]:
    """(ISO 8601, long, short) forms of a time in the current time zone and language."""
    local = timezone.localtime(moment)
    months, short_months, long_date, short_date = _date_words(get_language())
    parts = {"day": local.day, "year": local.year, "time": f"{local:%H:%M}"}
    return (
        local.isoformat(),
        long_date % {**parts, "month": months[local.month], "zone": local.tzname()},
        short_date % {**parts, "month": short_months[local.month]},
    )


def author_kind(comment: Comment, editors: frozenset[int]) -> str:
    """ "guest", "account" or "editor"; ``editors`` from ``roles.editor_ids``."""
    if not comment.user_id:
        return "guest"
    return "editor" if comment.user_id in editors else "account"


def node_for(
    comment: Comment, viewer: Viewer = ANONYMOUS, *, editors=frozenset(), now=None, votes=None
) -> CommentNode:
    """The node that draws ``comment`` for ``viewer``; ``editors`` are the ids of the
    editors among the page's authors (``roles.editor_ids``), ``votes`` the viewer's votes
    by comment (both read by the selectors)."""
    now = now or timezone.now()
    shown = viewer.sees(comment)
    owner = shown and viewer.owns(comment)
    created_iso, created_long, created_short = _when(comment.created_at)
    return CommentNode(
        pk=comment.pk,
        parent_id=comment.parent_id,
        tree_id=comment.tree_id,
        lft=comment.lft,
        rght=comment.rght,
        level=comment.level,
        status=comment.status,
        has_replies=comment.has_replies,
        # Stored names are normal already (comments.forms); older rows may not be.
        display_author=names.shown(comment.display_author) if shown else "",
        author_kind=author_kind(comment, editors) if shown else "",
        rendered_body=comment.rendered_body if shown else "",
        created_iso=created_iso,
        created_long=created_long,
        created_short=created_short,
        edited_long=_when(comment.edited_at)[1] if comment.edited_at else "",
        placeholder="" if shown else ("deleted" if comment.deleted_at else "removed"),
        can_edit=owner and now < edit_deadline(comment) and comment.status != Comment.Status.SPAM,
        can_delete=owner,
        urls={name: comment_url(f"comment_{name}", comment.pk) for name in URL_NAMES},
        upvotes=comment.upvotes,
        downvotes=comment.downvotes,
        score=comment.score,
        pinned=comment.pinned,
        can_vote=shown and comment.is_visible and not viewer.owns(comment),
        can_pin=viewer.editor and comment.level == 0 and comment.is_visible,
        my_vote=(votes or {}).get(comment.pk, 0),
    )


def build_nodes(
    rows: Iterable[Comment],
    viewer: Viewer = ANONYMOUS,
    *,
    editors: frozenset[int] = frozenset(),
    votes: dict[int, int] | None = None,
    first_number: int = 1,
) -> list[CommentNode]:
    """The nodes to draw, in page order.

    A comment the viewer may not see is dropped, unless a reply under it is shown: then it
    stays as a "[deleted]" or "[removed]" placeholder so the replies keep their place.
    Top-level nodes are numbered from ``first_number``; ``closers`` says how many elements
    close after each node.
    """
    rows = list(rows)
    keep: set[int] = set()
    for comment in reversed(rows):  # children come after parents in pre-order
        if comment.pk in keep or viewer.sees(comment):
            keep.add(comment.pk)
            if comment.parent_id is not None:
                keep.add(comment.parent_id)
    now = timezone.now()
    nodes = [
        node_for(c, viewer, now=now, editors=editors, votes=votes) for c in rows if c.pk in keep
    ]
    base = min((node.level for node in nodes), default=0)
    number = first_number
    for index, node in enumerate(nodes):
        if node.level == 0:
            node.number = number
            number += 1
        next_level = nodes[index + 1].level if index + 1 < len(nodes) else base
        node.closers = range(node.level - next_level + 1 if next_level <= node.level else 0)
    return nodes


def mark_cut(nodes: list[CommentNode], *, deepest: int, holder=None, query: str = "") -> None:
    """Give ``continue_query`` to nodes whose replies this page does not show.

    A comment at the depth limit with replies continues on its own focused page (query
    ""); when the page ran out of room inside a thread, the node ``holder`` (the thread's or
    the focused comment) continues with ``query`` (``selectors.continue_query``).
    """
    for node in nodes:
        if node.level == deepest and node.has_replies and not node.placeholder:
            node.continue_query = ""
        if node.pk == holder:
            node.continue_query = query
