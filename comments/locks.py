"""The locks that keep comment trees correct under concurrent writers (docs/locking.md).

A thread (one top-level comment and all its replies, one ``tree_id``) is guarded by the
transaction-scoped advisory lock ``(THREAD_LOCK, tree_id)``; allocating a new ``tree_id``
takes ``(NEW_TREE_LOCK, 0)``, because django-mptt computes ``max(tree_id) + 1``. Locks are
taken in that order (new-tree first, then threads in ascending ``tree_id``), rows are
re-read after the lock is held, and a deadlock, serialization failure or lock timeout is
retried a few times before :class:`ThreadBusy` is raised (answered as a 503).

Used by ``comments.services`` (every tree write) and ``comments.integrity`` (the repair).
SQLite has a single writer, so there the transaction alone serializes writes.
"""

import functools
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.utils.translation import gettext_lazy as _

from comments.models import Comment

logger = logging.getLogger(__name__)

THREAD_LOCK = 0x7411
NEW_TREE_LOCK = 0x7412
RETRYABLE_PGCODES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock timeout
MAX_ATTEMPTS = 4
BUSY_MESSAGE = _("The discussion is very busy right now. Please try again.")


class ThreadBusy(Exception):
    """The thread could not be written after several attempts; try again shortly."""


def retry_on_conflict[F: Callable](func: F) -> F:
    """Run ``func`` again (a few times, with a short back-off) when PostgreSQL reports a
    deadlock, a serialization failure or a lock timeout; then raise ThreadBusy."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except DatabaseError as exc:
                pgcode = getattr(getattr(exc, "__cause__", None), "pgcode", None)
                if pgcode not in RETRYABLE_PGCODES:
                    raise
                if connection.in_atomic_block:
                    # Inside a caller's transaction (the admin's views): it is aborted, so
                    # retrying here cannot work. Answer "busy" rather than fail.
                    raise ThreadBusy(BUSY_MESSAGE) from exc
                logger.warning("%s: %s (attempt %d)", func.__name__, pgcode, attempt)
                time.sleep(0.02 * attempt)
        raise ThreadBusy(BUSY_MESSAGE)

    return wrapper


def advisory_lock(kind: int, key: int) -> None:
    """Wait for a transaction-scoped advisory lock, at most COMMENTS_LOCK_TIMEOUT_MS (then
    PostgreSQL raises lock_not_available, which ``retry_on_conflict`` handles)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s, %s)",
                [f"{settings.COMMENTS_LOCK_TIMEOUT_MS}ms", kind, key],
            )


def lock_new_tree() -> None:
    """Take the lock for allocating a ``tree_id`` (always before any thread lock)."""
    advisory_lock(NEW_TREE_LOCK, 0)


def lock_thread(tree_id: int) -> None:
    advisory_lock(THREAD_LOCK, tree_id)


def lock_thread_of(pk: int) -> Comment:
    """Take the lock of the thread holding comment ``pk`` and return the row re-read under it.

    A comment's ``tree_id`` changes only when it is moved, which happens under the lock of
    its old thread; so if it changed between the read and the lock, read and lock again.
    Raises Comment.DoesNotExist when the comment is gone.
    """
    while True:
        tree_id = Comment.objects.filter(pk=pk).values_list("tree_id", flat=True).first()
        if tree_id is None:
            raise Comment.DoesNotExist(pk)
        lock_thread(tree_id)
        comment = Comment.objects.select_related("article").get(pk=pk)
        if comment.tree_id == tree_id:
            return comment


def lock_comment(pk: int) -> Comment:
    """The comment re-read under its thread's lock; a ValidationError if it is gone."""
    try:
        return lock_thread_of(pk)
    except Comment.DoesNotExist:
        raise ValidationError("That comment no longer exists.") from None


def lock_threads_of(pks) -> list[Comment]:
    """Lock the threads holding these comments, in ascending ``tree_id`` order (so two bulk
    writers cannot deadlock), and return the rows re-read under the locks."""
    pks = set(pks)
    while True:
        tree_ids = sorted(set(Comment.objects.filter(pk__in=pks).values_list("tree_id", flat=True)))
        for tree_id in tree_ids:
            lock_thread(tree_id)
        rows = list(Comment.objects.filter(pk__in=pks).order_by("tree_id", "lft"))
        if {row.tree_id for row in rows} <= set(tree_ids):
            return rows
