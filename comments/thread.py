"""Turn comment rows into what a page shows, in one linear pass, a page at a time.

Rows arrive in pre-order (``tree_id, lft``), so the page is that same sequence: each comment
opens an element and closes as many as the next row's depth says. No recursion, no per-node
query; the cost is O(rows shown) whatever the depth or the size of the article's discussion.

An article page shows the first ``COMMENTS_PAGE_THREADS`` top-level threads, but never more
than ``COMMENTS_PAGE_MAX`` comments, and replies down to ``COMMENTS_MAX_DEPTH`` levels; a
"Continue this thread" link leads to the focused page of what is cut off.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import F, Q
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from comments.models import Comment

ORDERS = ("oldest", "newest")


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


@functools.cache
def _around_pk(name: str, script_prefix: str) -> tuple[str, str]:
    """The URL named ``name`` for a comment, split around its pk (reversed once)."""
    head, _, tail = reverse(name, args=[918273645]).partition("918273645")
    return head, tail


def comment_url(name: str, pk: int) -> str:
    """``reverse(name, args=[pk])`` by concatenation: a page draws hundreds of these."""
    head, tail = _around_pk(name, get_script_prefix())
    return f"{head}{pk}{tail}"


def _when(moment) -> tuple[str, str, str]:
    """(ISO 8601, long, short) forms of a time in the current time zone, for <time>."""
    local = timezone.localtime(moment)
    return (
        local.isoformat(),
        f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}",
        f"{local.day} {local:%b %Y, %H:%M}",
    )


def decorate(comment: Comment, viewer: Viewer, *, now=None) -> Comment:
    """Set what the template needs to draw one comment for this viewer.

    Links and dates are computed here rather than with {% url %} and |date in the
    template: at hundreds of comments a page, that is most of the cost of drawing it.
    """
    now = now or timezone.now()
    shown = _shown_as_comment(comment, viewer)
    comment.placeholder = "" if shown else ("deleted" if comment.deleted_at else "removed")
    owner = shown and viewer.owns(comment)
    comment.can_delete = owner
    comment.can_edit = owner and now < edit_deadline(comment)
    comment.closers = range(1)
    comment.continue_after = None
    comment.number = None
    comment.focus = False
    pk = comment.pk
    comment.urls = {
        name: comment_url(f"comment_{name}", pk)
        for name in ("permalink", "reply_form", "report", "edit", "delete", "thread")
    }
    comment.created_iso, comment.created_long, comment.created_short = _when(comment.created_at)
    if comment.edited_at:
        comment.edited_long = _when(comment.edited_at)[1]
    return comment


def build_thread(
    rows: Iterable[Comment], viewer: Viewer = ANONYMOUS, *, first_number: int = 1
) -> list[Comment]:
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
    base = min((node.level for node in nodes), default=0)
    number = first_number
    for index, comment in enumerate(nodes):
        if comment.level == 0:
            comment.number = number
            number += 1
        next_level = nodes[index + 1].level if index + 1 < len(nodes) else base
        comment.closers = range(
            comment.level - next_level + 1 if next_level <= comment.level else 0
        )
    return nodes


def _mark_cut(nodes: list[Comment], *, deepest: int, truncated_at: Comment | None) -> None:
    """Give ``continue_after`` to comments whose replies this page does not show.

    A comment at the depth limit with replies continues on its own focused page; when the
    page ran out of room inside a thread, the thread's top comment continues after the last
    comment shown.
    """
    for node in nodes:
        if node.level == deepest and node.rght - node.lft > 1 and not node.placeholder:
            node.continue_after = 0
    if truncated_at is not None:
        for node in nodes:
            inside = node.tree_id == truncated_at.tree_id and node.lft <= truncated_at.lft
            if inside and node.rght > truncated_at.rght:
                node.continue_after = truncated_at.lft
                break


def _root_filter(viewer: Viewer) -> Q:
    """Top-level comments that a page shows: visible ones, placeholders with replies, and
    the viewer's own pending ones."""
    condition = Q(status=Comment.Status.APPROVED, deleted_at__isnull=True) | Q(
        rght__gt=F("lft") + 1
    )
    if viewer.owned_ids:
        condition |= Q(pk__in=viewer.owned_ids)
    if viewer.user_id:
        condition |= Q(user_id=viewer.user_id)
    return condition


class ArticleThreads:
    """One page of an article's discussion: which threads, their rows, where the next
    page starts. Nothing is queried until the template asks (so a cached fragment costs
    no query)."""

    def __init__(self, article, viewer: Viewer, *, order="oldest", after=None):
        self.article = article
        self.viewer = viewer
        self.order = order if order in ORDERS else "oldest"
        self.after = after

    @cached_property
    def _roots(self):
        roots = Comment.objects.filter(article=self.article, level=0).filter(
            _root_filter(self.viewer)
        )
        if self.after is not None and self.order == "oldest":
            roots = roots.filter(tree_id__gt=self.after)
        elif self.after is not None:
            roots = roots.filter(tree_id__lt=self.after)
        ordering = "tree_id" if self.order == "oldest" else "-tree_id"
        limit = settings.COMMENTS_PAGE_THREADS
        return list(roots.order_by(ordering).values("tree_id", "lft", "rght")[: limit + 1])

    @cached_property
    def _page(self):
        """(chosen tree_ids, next cursor): threads until the page's comment budget is spent."""
        budget = settings.COMMENTS_PAGE_MAX
        limit = settings.COMMENTS_PAGE_THREADS
        chosen, total = [], 0
        for index, root in enumerate(self._roots):
            size = (root["rght"] - root["lft"] + 1) // 2
            if index == limit or (chosen and total + size > budget):
                return chosen, chosen[-1]
            chosen.append(root["tree_id"])
            total += size
        return chosen, None

    @cached_property
    def nodes(self) -> list[Comment]:
        tree_ids, _ = self._page
        if not tree_ids:
            return []
        budget = settings.COMMENTS_PAGE_MAX
        deepest = settings.COMMENTS_MAX_DEPTH
        rows = list(
            Comment.objects.for_thread(self.article).filter(
                tree_id__in=tree_ids, level__lte=deepest
            )[: budget + 1]
        )
        truncated_at = rows[budget - 1] if len(rows) > budget else None
        rows = rows[:budget]
        if self.order == "newest":
            position = {tree_id: i for i, tree_id in enumerate(tree_ids)}
            rows.sort(key=lambda row: (position[row.tree_id], row.lft))
        nodes = build_thread(rows, self.viewer, first_number=1)
        self._number(nodes, tree_ids)
        _mark_cut(nodes, deepest=deepest, truncated_at=truncated_at)
        return nodes

    def _number(self, nodes, tree_ids):
        """Number top-level comments by their place in the whole discussion, oldest = 1."""
        if self.order == "oldest" and self.after is None:
            return
        first = min(tree_ids)
        before = (
            Comment.objects.filter(article=self.article, level=0, tree_id__lt=first)
            .filter(_root_filter(self.viewer))
            .count()
        )
        tops = sorted((n for n in nodes if n.level == 0), key=lambda n: n.tree_id)
        for offset, node in enumerate(tops, start=before + 1):
            node.number = offset

    @cached_property
    def next_after(self):
        return self._page[1]

    @cached_property
    def response_count(self) -> int:
        return Comment.objects.filter(article=self.article).visible().count()


class Subtree:
    """The focused page of one comment, which is also its permalink's context view.

    Up to two comments above it come first, for context; then it and its replies,
    ``COMMENTS_MAX_DEPTH`` levels down and at most ``COMMENTS_PAGE_MAX`` rows, optionally
    continuing after the row with ``lft == after`` (then the comments above that row come
    first instead)."""

    CONTEXT_LEVELS = 2

    def __init__(self, root: Comment, viewer: Viewer, *, after=None):
        self.root = root
        self.article = root.article
        self.viewer = viewer
        self.after = after

    @cached_property
    def nodes(self) -> list[Comment]:
        root, budget = self.root, settings.COMMENTS_PAGE_MAX
        deepest = root.level + settings.COMMENTS_MAX_DEPTH
        rows = Comment.objects.filter(
            tree_id=root.tree_id, lft__gte=root.lft, lft__lt=root.rght, level__lte=deepest
        ).select_related("user")
        if self.after is not None:
            rows = rows.filter(lft__gt=self.after)
        rows = list(rows.order_by("lft")[: budget + 1])
        truncated_at = rows[budget - 1] if len(rows) > budget else None
        rows = rows[:budget]
        if rows:
            first = rows[0]
            context = Comment.objects.filter(
                tree_id=root.tree_id,
                lft__lt=first.lft,
                rght__gt=first.rght,
                level__gte=max(0, root.level - self.CONTEXT_LEVELS),
            ).select_related("user")
            rows = [*context.order_by("lft"), *rows]
        nodes = build_thread(rows, self.viewer, first_number=1)
        for node in nodes:
            node.number = None
            node.focus = node.pk == root.pk
        _mark_cut(nodes, deepest=deepest, truncated_at=truncated_at)
        return nodes
