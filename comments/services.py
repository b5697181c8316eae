"""Every write that changes a comment tree goes through this module.

Locking (PostgreSQL; see "How trees stay correct" in the README):

* A thread (one top-level comment and all its replies, one ``tree_id``) is guarded by the
  transaction-scoped advisory lock ``(THREAD_LOCK, tree_id)``. Writers of one thread queue
  up; readers and writers of other threads are never blocked.
* Allocating a new ``tree_id`` (a new top-level comment, or a reply moved out to the top)
  takes ``(NEW_TREE_LOCK, 0)``, because django-mptt computes ``max(tree_id) + 1``.
* Locks are taken in that order (new-tree first, then threads in ascending ``tree_id``),
  rows are re-read after the lock is held, and a deadlock or serialization failure is
  retried a few times before :class:`ThreadBusy` is raised (answered as a 503).

SQLite has a single writer, so the transaction alone serializes writes there.
"""

import functools
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from articles.models import Article
from comments.markup import render_comment
from comments.models import Comment, Flag

logger = logging.getLogger(__name__)

THREAD_LOCK = 0x7411
NEW_TREE_LOCK = 0x7412
RETRYABLE_PGCODES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock timeout
MAX_ATTEMPTS = 4
TREE_FIELDS = {"lft", "rght", "tree_id", "level"}


class ThreadBusy(Exception):
    """The thread could not be written after several attempts; try again shortly."""


def _retry_on_conflict[F: Callable](func: F) -> F:
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
                    raise ThreadBusy(
                        "The discussion is very busy right now. Please try again."
                    ) from exc
                logger.warning("%s: %s (attempt %d)", func.__name__, pgcode, attempt)
                time.sleep(0.02 * attempt)
        raise ThreadBusy("The discussion is very busy right now. Please try again.")

    return wrapper


def _advisory_lock(kind: int, key: int) -> None:
    """Wait for a transaction-scoped advisory lock, at most COMMENTS_LOCK_TIMEOUT_MS (then
    PostgreSQL raises lock_not_available, which the retry wrapper handles)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s, %s)",
                [f"{settings.COMMENTS_LOCK_TIMEOUT_MS}ms", kind, key],
            )


def _lock_thread_of(pk: int) -> Comment:
    """Take the lock of the thread holding comment ``pk`` and return the row re-read under it.

    A comment's ``tree_id`` changes only when it is moved, which happens under the lock of
    its old thread; so if it changed between the read and the lock, read and lock again.
    """
    while True:
        tree_id = Comment.objects.filter(pk=pk).values_list("tree_id", flat=True).first()
        if tree_id is None:
            raise Comment.DoesNotExist(pk)
        _advisory_lock(THREAD_LOCK, tree_id)
        comment = Comment.objects.select_related("article").get(pk=pk)
        if comment.tree_id == tree_id:
            return comment


def _locked(pk: int) -> Comment:
    """The comment re-read under its thread's lock; a clear error if it is gone."""
    try:
        return _lock_thread_of(pk)
    except Comment.DoesNotExist:
        raise ValidationError("That comment no longer exists.") from None


def _check_length(body: str) -> None:
    """Refuse a body over COMMENTS_MAX_LENGTH before it is rendered (whoever writes it)."""
    if len(body) > settings.COMMENTS_MAX_LENGTH:
        raise ValidationError(
            {
                "body": f"At most {settings.COMMENTS_MAX_LENGTH} characters, please "
                f"(this has {len(body)})."
            }
        )


def _changed(article_id: int) -> None:
    """Make cached pages of this article's discussion stale, in the writer's transaction
    (a bump after the commit would be lost if the process died in between). Called last:
    the article row stays locked from here to the commit, always after the thread locks."""
    Article.discussion_changed(article_id)


def check_parent(parent: Comment, article: Article) -> None:
    """Refuse a reply to a comment of another article, or to one no longer shown."""
    if parent.article_id != article.pk:
        raise ValidationError({"parent": "That comment belongs to another article."})
    if not parent.is_visible:
        raise ValidationError({"parent": "That comment can no longer be replied to."})


@_retry_on_conflict
def comment_create(
    *,
    article: Article,
    body: str,
    parent_id: int | None = None,
    user=None,
    author_name: str = "",
    author_email: str = "",
    ip_address: str | None = None,
    status: str = Comment.Status.APPROVED,
    notify_replies: bool = False,
) -> Comment:
    """Post a top-level comment (no ``parent_id``) or a reply, as the last child of its parent.

    Raises ValidationError (nothing stored) when the parent is gone, hidden or belongs to
    another article, or when a field is invalid.
    """
    _check_length(body)
    with transaction.atomic():
        parent = None
        if parent_id is not None:
            try:
                parent = _lock_thread_of(parent_id)
            except Comment.DoesNotExist:
                raise ValidationError(
                    {"parent": "The comment you replied to does not exist."}
                ) from None
            check_parent(parent, article)
        else:
            _advisory_lock(NEW_TREE_LOCK, 0)
        comment = Comment(
            article=article,
            parent=parent,
            user=user if user is not None and user.is_authenticated else None,
            author_name="" if user is not None and user.is_authenticated else author_name,
            author_email="" if user is not None and user.is_authenticated else author_email,
            body=body,
            body_html=render_comment(body),
            ip_address=ip_address,
            status=status,
            notify_replies=notify_replies,
        )
        comment.full_clean(exclude=TREE_FIELDS)
        comment.save()
        _changed(article.pk)
        return comment


@_retry_on_conflict
def comment_edit(*, comment: Comment, body: str, hold: bool = False) -> Comment:
    """Replace a comment's text and mark it edited; ``hold`` sends it back to moderation."""
    _check_length(body)
    with transaction.atomic():
        fresh = _locked(comment.pk)
        fresh.body = body
        fresh.body_html = render_comment(body)
        fresh.edited_at = timezone.now()
        if hold:
            fresh.status = Comment.Status.PENDING
        fresh.full_clean(exclude=TREE_FIELDS)
        fresh.save(update_fields=["body", "body_html", "edited_at", "status"])
        _changed(fresh.article_id)
        return fresh


@_retry_on_conflict
def comment_delete_by_author(*, comment: Comment) -> Comment | None:
    """Delete at the author's request.

    A comment with replies stays as a "[deleted]" placeholder so its replies keep their
    place; one without replies is removed from the tree. Returns the placeholder, or None.
    """
    with transaction.atomic():
        fresh = _locked(comment.pk)
        if fresh.rght - fresh.lft > 1:
            fresh.deleted_at = timezone.now()
            fresh.save(update_fields=["deleted_at"])
            _changed(fresh.article_id)
            return fresh
        fresh.delete()
        _changed(fresh.article_id)
        return None


def _lock_threads_of(pks) -> list[Comment]:
    """Lock the threads holding these comments, in ascending ``tree_id`` order (so two bulk
    writers cannot deadlock), and return the rows re-read under the locks."""
    pks = set(pks)
    while True:
        tree_ids = sorted(set(Comment.objects.filter(pk__in=pks).values_list("tree_id", flat=True)))
        for tree_id in tree_ids:
            _advisory_lock(THREAD_LOCK, tree_id)
        rows = list(Comment.objects.filter(pk__in=pks).order_by("tree_id", "lft"))
        if {row.tree_id for row in rows} <= set(tree_ids):
            return rows


@_retry_on_conflict
def comments_moderate(*, pks, status: str, with_replies: bool = False) -> list[Comment]:
    """Give these comments (and, ``with_replies``, every reply under them) a new status.

    Approve, hold, mark as spam, remove, restore: replies keep their place (a removed
    comment with visible replies shows as "[removed]"). Reports on the comments count as
    reviewed. One transaction; returns the comments as they now are.
    """
    if status not in Comment.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    with transaction.atomic():
        rows = _lock_threads_of(pks)
        targets = Comment.objects.filter(pk__in=[row.pk for row in rows])
        if with_replies:
            subtree = Q(pk__in=[])
            for row in rows:
                subtree |= Q(tree_id=row.tree_id, lft__gte=row.lft, lft__lt=row.rght)
            targets = Comment.objects.filter(subtree)
        target_pks = list(targets.values_list("pk", flat=True))
        Comment.objects.filter(pk__in=target_pks).update(status=status)
        Flag.objects.filter(comment_id__in=target_pks).update(reviewed=True)
        for article_id in sorted({row.article_id for row in rows}):
            _changed(article_id)
        return list(Comment.objects.filter(pk__in=target_pks).order_by("tree_id", "lft"))


def comment_set_status(*, comment: Comment, status: str) -> Comment:
    """Approve, hold, mark as spam or remove one comment; its replies keep their place."""
    for row in comments_moderate(pks=[comment.pk], status=status):
        if row.pk == comment.pk:
            return row
    raise ValidationError("That comment no longer exists.")


@_retry_on_conflict
def comment_flag(
    *, comment: Comment, reporter: str, reason: str, text: str = "", user=None, ip_address=None
) -> tuple[Flag, bool]:
    """Record a reader's report; returns the report and whether it is the comment's first.

    At ``COMMENTS_FLAG_THRESHOLD`` distinct reports an approved comment is held (status
    pending) until an editor reviews it. A second report by the same reader is refused.
    """
    with transaction.atomic():
        fresh = _locked(comment.pk)
        if not fresh.is_visible:
            raise ValidationError("This comment is no longer shown.")
        if Flag.objects.filter(comment=fresh, reporter=reporter).exists():
            raise ValidationError("You have already reported this comment. Thank you.")
        flag = Flag(
            comment=fresh,
            reporter=reporter,
            reason=reason,
            text=text,
            user=user if user is not None and user.is_authenticated else None,
            ip_address=ip_address,
        )
        flag.full_clean()
        flag.save()
        count = Flag.objects.filter(comment=fresh, reviewed=False).count()
        if count >= settings.COMMENTS_FLAG_THRESHOLD:
            fresh.status = Comment.Status.PENDING
            fresh.save(update_fields=["status"])
            _changed(fresh.article_id)
        return flag, Flag.objects.filter(comment=fresh).count() == 1


@_retry_on_conflict
def comment_update(*, comment: Comment, **changes) -> Comment:
    """An editor changes a comment's text, author fields or status (never its place).

    ``changes`` may hold body, author_name, author_email and status; others are refused.
    """
    allowed = {"body", "author_name", "author_email", "status"}
    if "body" in changes:
        _check_length(changes["body"])
    if unknown := set(changes) - allowed:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        fresh = _locked(comment.pk)
        body_changed = "body" in changes and changes["body"] != fresh.body
        for field, value in changes.items():
            setattr(fresh, field, value)
        if body_changed:
            fresh.body_html = render_comment(fresh.body)
            fresh.edited_at = timezone.now()
        fresh.full_clean(exclude=TREE_FIELDS)
        fresh.save(update_fields=[*changes, "body_html", "edited_at"])
        _changed(fresh.article_id)
        return fresh


@_retry_on_conflict
def comment_delete(*, comment: Comment) -> int:
    """Delete a comment and all its replies for good; returns how many rows went."""
    with transaction.atomic():
        try:
            fresh = _lock_thread_of(comment.pk)
        except Comment.DoesNotExist:
            return 0  # already gone with an ancestor deleted in the same request
        count = fresh.get_descendant_count() + 1
        fresh.delete()
        _changed(fresh.article_id)
        return count


@_retry_on_conflict
def comment_move(*, comment: Comment, new_parent_id: int | None) -> Comment:
    """Move a comment and its replies under another comment of the same article (as its
    last reply), or, with no new parent, out to the top level as a thread of its own."""
    with transaction.atomic():
        if new_parent_id is None:
            _advisory_lock(NEW_TREE_LOCK, 0)
        wanted = [comment.pk] if new_parent_id is None else [comment.pk, new_parent_id]
        rows = {row.pk: row for row in _lock_threads_of(wanted)}
        if comment.pk not in rows:
            raise ValidationError("That comment no longer exists.")
        fresh, target = rows[comment.pk], rows.get(new_parent_id)
        if new_parent_id is not None:
            if target is None:
                raise ValidationError({"parent": "The new parent does not exist."})
            if target.article_id != fresh.article_id:
                raise ValidationError({"parent": "The new parent belongs to another article."})
            if target.tree_id == fresh.tree_id and fresh.lft <= target.lft < fresh.rght:
                raise ValidationError({"parent": "A comment cannot move under its own reply."})
        if fresh.parent_id == new_parent_id:
            return fresh
        Comment._tree_manager.move_node(fresh, target, "last-child")
        _changed(fresh.article_id)
        return fresh


def comments_keep_author_name(*, user) -> int:
    """Before an account is deleted: its comments stay, signed with its name.

    Only ``author_name`` changes (no tree field), so no thread lock is needed; the
    comment's ``user`` then becomes NULL by the foreign key's SET_NULL.
    """
    count = Comment.objects.filter(user=user).update(author_name=user.get_username()[:100])
    for article_id in sorted(
        set(Comment.objects.filter(user=user).values_list("article_id", flat=True))
    ):
        _changed(article_id)
    return count
