"""The five orders of a discussion, at every level: which threads come first on a page, and
in which order the replies under each comment follow.

* ``oldest`` and ``newest``: by posting order (``tree_id`` for threads, ``lft`` for the
  replies under one comment: both grow as comments are posted);
* ``top``: by score (ups − downs); ``best``: by the lower bound of the Wilson score
  interval (80%); ``controversial``: (ups + downs) ^ (minority / majority) — ties broken by
  posting time, oldest first.

Pinned top-level comments come first in every order. A page cursor (``after``) is the
``tree_id`` of the last thread shown; the next page starts after it in the same order.
"""

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Q
from django.utils.translation import pgettext_lazy

ORDERS = ("best", "top", "newest", "oldest", "controversial")
LABELS = {
    "best": pgettext_lazy("order of responses", "Best"),
    "top": pgettext_lazy("order of responses", "Top"),
    "newest": pgettext_lazy("order of responses", "Newest first"),
    "oldest": pgettext_lazy("order of responses", "Oldest first"),
    "controversial": pgettext_lazy("order of responses", "Controversial"),
}
# The vote-derived key each order ranks by (descending), if any.
RANK_FIELD = {"top": "score", "best": "best", "controversial": "controversy"}
# What a light row of the arrangement carries.
LIGHT_FIELDS = ("pk", "parent_id", "tree_id", "lft", "level", "score", "best", "controversy")


def root_keys(order: str) -> list[tuple[str, bool]]:
    """(field, descending) pairs that order the threads of a page: pinned first."""
    if order in RANK_FIELD:
        return [("pinned", True), (RANK_FIELD[order], True), ("tree_id", False)]
    return [("pinned", True), ("tree_id", order == "newest")]


def root_order_by(order: str) -> list[str]:
    return [f"-{name}" if descending else name for name, descending in root_keys(order)]


def after_q(order: str, cursor: dict) -> Q:
    """The threads that come after ``cursor`` (a thread's key values) in ``order``:
    lexicographically past it, key by key."""
    condition = Q(pk__in=[])
    equal = Q()
    for name, descending in root_keys(order):
        past = Q(**{f"{name}__lt" if descending else f"{name}__gt": cursor[name]})
        condition |= equal & past
        equal &= Q(**{name: cursor[name]})
    return condition


def reply_key(order: str):
    """The sort key of a reply among its siblings (light rows, as dicts)."""
    if order == "newest":
        return lambda row: -row["lft"]
    if order in RANK_FIELD:
        rank = RANK_FIELD[order]
        return lambda row: (-row[rank], row["lft"])
    return lambda row: row["lft"]


def arrange(rows: Sequence[dict], order: str, tops: Sequence[int]) -> list[dict]:
    """The rows in page order: each subtree in pre-order, replies under each comment in
    ``order``. ``tops`` are the pks of the rows to start from, in their order; rows whose
    parent is not among ``rows`` are reached only from them."""
    children = defaultdict(list)
    for row in rows:
        children[row["parent_id"]].append(row)
    key = reply_key(order)
    for siblings in children.values():
        siblings.sort(key=key)
    by_pk = {row["pk"]: row for row in rows}
    ordered, stack = [], [by_pk[pk] for pk in reversed(tops) if pk in by_pk]
    while stack:
        row = stack.pop()
        ordered.append(row)
        stack.extend(reversed(children.get(row["pk"], ())))
    return ordered
