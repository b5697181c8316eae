"""Check and repair the nested-set numbers of comment threads.

A thread is one ``tree_id``: a top-level comment and every reply under it. Its parent links
are the truth; ``lft``, ``rght``, ``level`` and ``tree_id`` are derived from them, and so is
``article`` (a reply belongs to its top-level comment's article). The checker reads every row
once, ordered by ``(tree_id, lft)``, and checks each thread in a linear pass:

* exactly one top-level comment per ``tree_id``;
* a comment spans ``rght - lft - 1 = 2 × its replies at any depth``;
* a reply's interval lies strictly inside its parent's, and intervals that meet nest
  (siblings do not overlap);
* ``level`` is the parent's ``level + 1``;
* the parent is in the same thread and on the same article.

``lft < rght`` is a CheckConstraint on the table, so the database refuses rows that break
it and the checker need not look. "Level 0 exactly when there is no parent" cannot be one
(django-mptt moves a reply to the top level in two statements, and PostgreSQL cannot defer a
CHECK), so the checker looks.
"""

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, Q

from articles.models import Article
from comments.locks import lock_new_tree, lock_thread
from comments.models import Comment

FIELDS = ("pk", "tree_id", "lft", "rght", "level", "parent_id", "article_id")


@dataclass(frozen=True)
class Problem:
    """One broken invariant: which thread, which article, which comment, and what is wrong."""

    tree_id: int
    article_id: int
    comment_id: int
    message: str

    def __str__(self):
        return f"comment #{self.comment_id}: {self.message}"


@dataclass(frozen=True)
class _Row:
    pk: int
    tree_id: int
    lft: int
    rght: int
    level: int
    parent_id: int | None
    article_id: int


def find_broken_threads(queryset=None) -> list[Problem]:
    """Return every broken invariant in the threads of ``queryset`` (all comments by default).

    One query, ordered by ``(tree_id, lft)``, plus one for parents that lie outside the
    thread that names them. Problems come in thread order.
    """
    queryset = Comment.objects.all() if queryset is None else queryset
    rows = queryset.order_by("tree_id", "lft", "pk").values_list(*FIELDS)
    problems: list[Problem] = []
    strangers: list[_Row] = []
    for _tree_id, group in itertools.groupby(
        (_Row(*row) for row in rows.iterator(chunk_size=2000)), key=lambda row: row.tree_id
    ):
        problems += _check_thread(list(group), strangers)
    if strangers:
        homes = dict(
            Comment.objects.filter(pk__in={row.parent_id for row in strangers}).values_list(
                "pk", "tree_id"
            )
        )
        for row in strangers:
            home = homes.get(row.parent_id)
            where = f"thread {home}" if home is not None else "no thread that was checked"
            message = f"its parent #{row.parent_id} is in {where}, not in thread {row.tree_id}"
            problems.append(Problem(row.tree_id, row.article_id, row.pk, message))
    return sorted(problems, key=lambda problem: problem.tree_id)


def _check_thread(rows: list[_Row], strangers: list[_Row]) -> list[Problem]:
    """The problems of one thread's rows (in ``lft`` order); parents outside go to strangers."""
    by_pk = {row.pk: row for row in rows}
    replies = dict.fromkeys(by_pk, 0)
    for row in reversed(rows):
        if row.parent_id in by_pk:
            replies[row.parent_id] += replies[row.pk] + 1

    problems = []

    def report(row, message):
        problems.append(Problem(row.tree_id, row.article_id, row.pk, message))

    roots = [row for row in rows if row.parent_id is None]
    if not roots:
        report(rows[0], "the thread has no top-level comment")
    for extra in roots[1:]:
        report(extra, f"a second top-level comment in the thread (the first is #{roots[0].pk})")

    open_intervals: list[_Row] = []
    for row in rows:
        while open_intervals and open_intervals[-1].rght < row.lft:
            open_intervals.pop()
        if open_intervals and not _inside(row, open_intervals[-1]):
            other = open_intervals[-1]
            report(
                row,
                f"its interval {row.lft}..{row.rght} overlaps #{other.pk}'s "
                f"{other.lft}..{other.rght}",
            )
        open_intervals.append(row)
        if row.rght - row.lft - 1 != 2 * replies[row.pk]:
            report(
                row,
                f"its interval {row.lft}..{row.rght} leaves room for "
                f"{(row.rght - row.lft - 1) / 2:g} replies, but it has {replies[row.pk]}",
            )
        if row.parent_id is None:
            if row.level != 0:
                report(row, f"it is a top-level comment at level {row.level}, not 0")
            continue
        parent = by_pk.get(row.parent_id)
        if parent is None:
            strangers.append(row)
            continue
        if not _inside(row, parent):
            report(
                row,
                f"its interval {row.lft}..{row.rght} is not inside its parent "
                f"#{parent.pk}'s {parent.lft}..{parent.rght}",
            )
        if row.level != parent.level + 1:
            report(row, f"its level is {row.level}, its parent #{parent.pk}'s is {parent.level}")
        if row.article_id != parent.article_id:
            report(
                row,
                f"it is on article #{row.article_id}, its parent #{parent.pk} "
                f"on article #{parent.article_id}",
            )
    return problems


def _inside(row: _Row, outer: _Row) -> bool:
    return outer.lft < row.lft and row.rght < outer.rght


def repair_threads(tree_ids: Iterable[int]) -> list[int]:
    """Rebuild the given threads from their parent links; return the ``tree_id``s rebuilt.

    Threads that share a parent link with them (a reply whose parent sits in another thread)
    are rebuilt with them. Holding the new-tree lock and then each thread's lock, in one
    transaction, it makes every comment follow its top-level comment's ``tree_id`` and
    article, gives a second top-level comment in one ``tree_id`` (and its replies) a fresh
    ``tree_id``, turns the first comment of a parent cycle into a top-level comment of a new
    thread, and then recomputes ``lft``, ``rght`` and ``level`` with django-mptt's
    ``partial_rebuild``. Replies keep their order.
    """
    with transaction.atomic():
        # Taken first, as everywhere: it orders repairs among themselves, and fresh
        # tree_ids below come from max(tree_id) + 1 like django-mptt's.
        lock_new_tree()
        locked = _lock_linked_threads(set(tree_ids))
        rows = list(
            Comment.objects.filter(tree_id__in=locked)
            .order_by("tree_id", "lft", "pk")
            .values_list(*FIELDS)
        )
        rows = [_Row(*row) for row in rows]
        first_new = (Comment.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
        changed, next_new = _reattach(rows, first_new)
        Comment.objects.bulk_update(
            changed, ["parent", "tree_id", "article", "level", "lft", "rght"]
        )
        rebuilt = sorted(locked | set(range(first_new, next_new)))
        for tree_id in rebuilt:
            Comment._tree_manager.partial_rebuild(tree_id)
        articles = {row.article_id for row in rows} | {c.article_id for c in changed}
        for article_id in sorted(articles):  # cached pages showed the broken shape
            Article.discussion_changed(article_id)
    return rebuilt


def _lock_linked_threads(wanted: set[int]) -> set[int]:
    """Lock ``wanted`` and every thread linked to them by a parent link, and return them all.

    Ascending order within each round; a later round can add a lower ``tree_id``, which is
    safe because the writers in ``comments.services`` wait on one thread lock at a time.
    """
    locked: set[int] = set()
    while wanted - locked:
        for tree_id in sorted(wanted - locked):
            lock_thread(tree_id)
            locked.add(tree_id)
        in_locked = Comment.objects.filter(tree_id__in=locked)
        wanted |= set(
            Comment.objects.filter(
                Q(pk__in=in_locked.values("parent_id")) | Q(parent__in=in_locked)
            )
            .exclude(tree_id__in=locked)
            .values_list("tree_id", flat=True)
            .distinct()
        )
    return locked


def _reattach(rows: list[_Row], next_tree_id: int) -> tuple[list[Comment], int]:
    """Give each row its top-level comment's thread and article, splitting and cutting cycles.

    Returns the comments whose ``parent``, ``tree_id`` or ``article`` must change (with the
    ``level``, ``lft`` and ``rght`` to store meanwhile), and the next free ``tree_id``.
    """
    children = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)
    placed: dict[int, tuple[int, int, int | None]] = {}  # pk: tree_id, article_id, parent_id
    threads_seen = set()

    def place(top: _Row, tree_id: int) -> None:
        threads_seen.add(tree_id)
        stack = [top]
        while stack:
            row = stack.pop()
            if row.pk in placed:
                continue
            placed[row.pk] = (tree_id, top.article_id, None if row is top else row.parent_id)
            stack.extend(children[row.pk])

    for row in rows:
        if row.parent_id is None and row.tree_id not in threads_seen:
            place(row, row.tree_id)
    # Left over: a second top-level comment in a tree_id (with its replies) gets a tree_id
    # of its own; then each parent cycle is cut at its first row.
    for row in sorted(rows, key=lambda row: row.parent_id is not None):
        if row.pk not in placed:
            place(row, next_tree_id)
            next_tree_id += 1

    # A reply that changes thread is numbered after the thread's own rows, so the rebuild
    # puts it after the replies that were there (as a new reply would go).
    shift = max((row.rght for row in rows), default=0)
    changed = []
    for row in rows:
        tree_id, article_id, parent_id = placed[row.pk]
        if (tree_id, article_id, parent_id) != (row.tree_id, row.article_id, row.parent_id):
            moved = shift if tree_id != row.tree_id else 0
            changed.append(
                Comment(
                    pk=row.pk,
                    parent_id=parent_id,
                    tree_id=tree_id,
                    article_id=article_id,
                    level=row.level if parent_id is not None else 0,
                    lft=row.lft + moved,
                    rght=row.rght + moved,
                )
            )
    return changed, next_tree_id
