"""Every write that changes a comment tree goes through this module.

Each function validates, takes the locks it needs from ``comments.locks`` (the thread's, and
the new-tree lock before it when a ``tree_id`` is allocated), re-reads its rows under them
and writes in one transaction, retried on conflict and answered 503 when the thread stays
busy. See docs/locking.md.

An editor's status changes go through ``comments_moderate`` alone, which also settles the
reports on the comments it changes. The two automatic holds (reports reaching the
threshold in ``comment_flag``, an edit the policy holds in ``comment_edit``) set "pending"
inside their own locked write and leave the reports open for the editor to decide on.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from articles.models import Article
from comments import live, notify, reports
from comments.bulk import NewSubtree, insert_rows, number_threads
from comments.locks import (
    lock_comment,
    lock_new_tree,
    lock_thread_of,
    lock_threads_of,
    retry_on_conflict,
)
from comments.models import Comment, Flag
from core import names
from core.markup import render_comment

TREE_FIELDS = {"lft", "rght", "tree_id", "level"}


def _check_length(body: str) -> None:
    """Refuse a body over COMMENTS_MAX_LENGTH before it is rendered (whoever writes it)."""
    if len(body) > settings.COMMENTS_MAX_LENGTH:
        message = _("At most %(limit)d characters, please (this has %(length)d).")
        limit = settings.COMMENTS_MAX_LENGTH
        raise ValidationError({"body": message % {"limit": limit, "length": len(body)}})


def _changed(article_id: int) -> None:
    """Make cached pages of this article's discussion stale, in the writer's transaction
    (a bump after the commit would be lost if the process died in between). Called last:
    the article row stays locked from here to the commit, always after the thread locks.
    Once committed, pages kept open learn of the change from the cache (``comments.live``)."""
    Article.discussion_changed(article_id)
    live.discussion_changed(article_id)


def reader_name(name: str) -> str:
    """A reader's name as stored: normalized (``core.names``), cut to the field's length
    (NFKC can lengthen it); a ValidationError when nothing of it is visible. (Readers'
    forms also refuse names that impersonate; editors and imports may keep any name.)"""
    stored = names.normalize(name)[: Comment._meta.get_field("author_name").max_length]
    if not stored:
        raise ValidationError({"author_name": _("A name needs at least one visible character.")})
    return stored


def check_move(comment: Comment, new_parent: Comment | None) -> None:
    """Refuse a move under a comment of another article, or under the comment itself or
    one of its own replies (the form checks it for the editor; the service under the lock)."""
    if new_parent is None:
        return
    if new_parent.article_id != comment.article_id:
        raise ValidationError({"parent": _("The new parent belongs to another article.")})
    if new_parent.tree_id == comment.tree_id and comment.lft <= new_parent.lft < comment.rght:
        raise ValidationError({"parent": _("A comment cannot move under itself or its own reply.")})


def check_parent(parent: Comment, article: Article) -> None:
    """Refuse a reply to a comment of another article, or to one no longer shown."""
    if parent.article_id != article.pk:
        raise ValidationError({"parent": _("That comment belongs to another article.")})
    if not parent.is_visible:
        raise ValidationError({"parent": _("That comment can no longer be replied to.")})


@retry_on_conflict
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
                parent = lock_thread_of(parent_id)
            except Comment.DoesNotExist:
                raise ValidationError(
                    {"parent": _("The comment you replied to does not exist.")}
                ) from None
            check_parent(parent, article)
        else:
            lock_new_tree()
        account = user is not None and user.is_authenticated
        author_name = "" if account else reader_name(author_name)
        comment = Comment(
            article=article,
            parent=parent,
            user=user if account else None,
            author_name=author_name,
            author_email="" if account else author_email,
            body=body,
            body_html=render_comment(body),
            ip_address=ip_address,
            status=status,
            approved_at=timezone.now() if status == Comment.Status.APPROVED else None,
            notify_replies=notify_replies,
        )
        comment.full_clean(exclude=TREE_FIELDS)
        comment.save()
        notify.comment_approved(comment)  # in the outbox if, and only if, the comment commits
        _changed(article.pk)
        return comment


@retry_on_conflict
def comment_edit(*, comment: Comment, body: str, hold: bool = False) -> Comment:
    """Replace a comment's text and mark it edited; ``hold`` sends it back to moderation."""
    _check_length(body)
    with transaction.atomic():
        fresh = lock_comment(comment.pk)
        fresh.body = body
        fresh.body_html = render_comment(body)
        fresh.edited_at = timezone.now()
        if hold:
            fresh.status = Comment.Status.PENDING
        fresh.full_clean(exclude=TREE_FIELDS)
        fresh.save(update_fields=["body", "body_html", "edited_at", "status"])
        _changed(fresh.article_id)
        return fresh


@retry_on_conflict
def comment_delete_by_author(*, comment: Comment) -> Comment | None:
    """Delete at the author's request.

    A comment with replies stays as a "[deleted]" placeholder so its replies keep their
    place; one without replies is removed from the tree. Returns the placeholder, or None.
    """
    with transaction.atomic():
        fresh = lock_comment(comment.pk)
        notify.withdraw([fresh.pk])
        if fresh.has_replies:
            fresh.deleted_at = timezone.now()
            fresh.save(update_fields=["deleted_at"])
            _changed(fresh.article_id)
            return fresh
        fresh.delete()
        _changed(fresh.article_id)
        return None


@retry_on_conflict
def comments_moderate(*, pks, status: str, with_replies: bool = False) -> list[Comment]:
    """Give these comments (and, ``with_replies``, every reply under them) a new status.

    Approve, hold, mark as spam, remove, restore: replies keep their place (a removed
    comment with visible replies shows as "[removed]"). Reports on the comments count as
    reviewed. A comment that becomes approved here is news (``notify.comment_approved``:
    its parent's author, the discussion's followers; once per comment, however often it is
    approved). One transaction; returns the comments as they now are.
    """
    if status not in Comment.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    with transaction.atomic():
        rows = lock_threads_of(pks)
        targets = Comment.objects.filter(pk__in=[row.pk for row in rows])
        if with_replies:
            subtree = Q(pk__in=[])
            for row in rows:
                subtree |= Q(tree_id=row.tree_id, lft__gte=row.lft, lft__lt=row.rght)
            targets = Comment.objects.filter(subtree)
        before = dict(targets.values_list("pk", "status"))
        target_pks = list(before)
        Comment.objects.filter(pk__in=target_pks).update(status=status)
        Flag.objects.filter(comment_id__in=target_pks).update(reviewed=True)
        if status == Comment.Status.APPROVED:
            approved = [pk for pk, was in before.items() if was != status]
            Comment.objects.filter(pk__in=approved, approved_at__isnull=True).update(
                approved_at=timezone.now()
            )
            news = Comment.objects.filter(pk__in=approved).order_by("tree_id", "lft")
            for comment in news.select_related("article", "user", "parent__user"):
                notify.comment_approved(comment)
        else:
            notify.withdraw(target_pks)
        for article_id in sorted({row.article_id for row in rows}):
            _changed(article_id)
        return list(Comment.objects.filter(pk__in=target_pks).order_by("tree_id", "lft"))


def comment_set_status(*, comment: Comment, status: str) -> Comment:
    """Approve, hold, mark as spam or remove one comment; its replies keep their place."""
    for row in comments_moderate(pks=[comment.pk], status=status):
        if row.pk == comment.pk:
            return row
    raise ValidationError(_("That comment no longer exists."))


@retry_on_conflict
def comment_flag(
    *, comment: Comment, reporter: str, reason: str, text: str = "", user=None, ip_address=None
) -> tuple[Flag, bool]:
    """Record a reader's report; returns the report and whether it is the comment's first,
    of which editors are told by mail (queued in this transaction).

    Each report weighs what ``comments.reports`` says its reporter's standing is worth; when
    the open reports of an approved comment weigh ``COMMENTS_FLAG_THRESHOLD`` it is held
    (status pending) until an editor reviews it. An editor's report hides it at once; new
    accounts and readers without one never do, however many. Every report is recorded and
    puts the comment in the moderation queue. A second report by the same reader is refused.
    """
    account = user if user is not None and user.is_authenticated else None
    # Weighed before the lock: it reads only the reporter's account and comments.
    weight = reports.report_weight(account)
    with transaction.atomic():
        fresh = lock_comment(comment.pk)
        if not fresh.is_visible:
            raise ValidationError(_("This comment is no longer shown."))
        if Flag.objects.filter(comment=fresh, reporter=reporter).exists():
            raise ValidationError(_("You have already reported this comment. Thank you."))
        flag = Flag(
            comment=fresh,
            reporter=reporter,
            reason=reason,
            text=text,
            user=account,
            ip_address=ip_address,
            weight=weight,
        )
        flag.full_clean()
        flag.save()
        open_weight, count = reports.tally(fresh.pk)
        if count == 1:
            notify.first_report(fresh)
        if reports.hides(open_weight):
            fresh.status = Comment.Status.PENDING
            fresh.save(update_fields=["status"])
            notify.withdraw([fresh.pk])
            _changed(fresh.article_id)
        return flag, count == 1


@retry_on_conflict
def comment_update(*, comment: Comment, **changes) -> Comment:
    """An editor changes a comment's text or author fields (never its place, nor its
    status: that is ``comments_moderate``, which also settles reports).

    ``changes`` may hold body, author_name and author_email; others are refused.
    """
    allowed = {"body", "author_name", "author_email"}
    if "body" in changes:
        _check_length(changes["body"])
    if unknown := set(changes) - allowed:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        fresh = lock_comment(comment.pk)
        body_changed = "body" in changes and changes["body"] != fresh.body
        if "author_name" in changes:
            changes["author_name"] = reader_name(changes["author_name"])
        for field, value in changes.items():
            setattr(fresh, field, value)
        if body_changed:
            fresh.body_html = render_comment(fresh.body)
            fresh.edited_at = timezone.now()
        fresh.full_clean(exclude=TREE_FIELDS)
        fresh.save(update_fields=[*changes, "body_html", "edited_at"])
        _changed(fresh.article_id)
        return fresh


@retry_on_conflict
def comment_purge(*, comment: Comment) -> int:
    """Delete a comment and all its replies for good; returns how many rows went."""
    with transaction.atomic():
        try:
            fresh = lock_thread_of(comment.pk)
        except Comment.DoesNotExist:
            return 0  # already gone with an ancestor deleted in the same request
        count = fresh.get_descendant_count() + 1
        notify.withdraw(fresh.get_descendants(include_self=True).values_list("pk", flat=True))
        fresh.delete()
        _changed(fresh.article_id)
        return count


@retry_on_conflict
def comment_move(*, comment: Comment, new_parent_id: int | None) -> Comment:
    """Move a comment and its replies under another comment of the same article (as its
    last reply), or, with no new parent, out to the top level as a thread of its own."""
    with transaction.atomic():
        if new_parent_id is None:
            lock_new_tree()
        wanted = [comment.pk] if new_parent_id is None else [comment.pk, new_parent_id]
        rows = {row.pk: row for row in lock_threads_of(wanted)}
        if comment.pk not in rows:
            raise ValidationError(_("That comment no longer exists."))
        fresh, target = rows[comment.pk], rows.get(new_parent_id)
        if new_parent_id is not None and target is None:
            raise ValidationError({"parent": _("The new parent does not exist.")})
        check_move(fresh, target)
        if fresh.parent_id == new_parent_id:
            return fresh
        if target is not None and fresh.pinned:  # only a top-level comment can stay pinned
            fresh.pinned = False
            fresh.save(update_fields=["pinned"])
        Comment._tree_manager.move_node(fresh, target, "last-child")
        _changed(fresh.article_id)
        return fresh


@retry_on_conflict
def comment_pin(*, comment: Comment, pinned: bool) -> Comment:
    """An editor pins a top-level comment (first in every order, marked "Pinned") or
    unpins it. Under the thread's lock, so a move cannot make a pinned comment a reply."""
    with transaction.atomic():
        fresh = lock_comment(comment.pk)
        if pinned and fresh.level != 0:
            raise ValidationError(_("Only a top-level comment can be pinned."))
        if pinned and not fresh.is_visible:
            raise ValidationError(_("Only a comment readers can see can be pinned."))
        if fresh.pinned != pinned:
            fresh.pinned = pinned
            fresh.save(update_fields=["pinned"])
            _changed(fresh.article_id)
        return fresh


def comments_keep_author_name(*, user) -> int:
    """Before an account is deleted: its comments stay, signed with its name.

    Only ``author_name`` changes (no tree field), so no thread lock is needed; the
    comment's ``user`` then becomes NULL by the foreign key's SET_NULL.
    """
    count = Comment.objects.filter(user=user).update(author_name=user.get_username()[:100])
    comments_author_changed(user=user)
    return count


def comments_author_changed(*, user) -> None:
    """An account's name or role changed (an editor's badge comes or goes): the cached
    pages of every discussion it wrote in are stale."""
    article_ids = Comment.objects.filter(user=user).values_list("article_id", flat=True)
    for article_id in sorted(set(article_ids)):
        _changed(article_id)


@retry_on_conflict
def comments_import(
    *, article: Article, threads: list[NewSubtree], grafts: dict[int, list[NewSubtree]]
) -> int:
    """Store imported comments, already validated and cleaned; return how many.

    ``threads`` become new top-level threads: their nested-set numbers are computed in
    memory under the new-tree lock (which allocating ``tree_id`` needs; docs/locking.md)
    and the rows written level by level in bulk inserts, parents before replies.
    ``grafts`` are new replies to comments already stored (a later export of the same
    site): each goes in among its parent's replies by its date, under that thread's lock,
    taken in ascending ``tree_id`` order after the new-tree lock. A value ``id`` restores
    a comment under that pk (the caller checked that it is free). One transaction.
    """
    with transaction.atomic():
        count = 0
        if threads:
            lock_new_tree()
            first = (Comment.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
            for level in number_threads(threads, first):
                for node, parent in level:
                    node.values["parent_id"] = parent.pk if parent else None
                    node.values["article_id"] = article.pk
                insert_rows([node for node, _ in level])
                count += len(level)
        if grafts:
            lock_threads_of(grafts)
            for parent_pk, subtrees in grafts.items():
                stack = [(node, parent_pk) for node in reversed(subtrees)]
                while stack:
                    node, under = stack.pop()
                    row = Comment(**node.values, article_id=article.pk)
                    _insert_by_date(row, Comment.objects.get(pk=under))
                    node.pk = row.pk
                    count += 1
                    stack.extend((reply, row.pk) for reply in reversed(node.replies))
        if count:
            # Imported comments were approved at the source, not here: dated so, no digest
            # lists them as new.
            Comment.objects.filter(
                article=article, status=Comment.Status.APPROVED, approved_at__isnull=True
            ).update(approved_at=F("created_at"))
            _changed(article.pk)
        return count


def _insert_by_date(row: Comment, parent: Comment) -> None:
    """Save ``row`` as a reply to ``parent``, before the first reply posted after it."""
    later = parent.get_children().filter(created_at__gt=row.created_at).order_by("lft").first()
    if later is None:
        row.parent = parent
        row.save()
    else:
        row.insert_at(later, position="left", save=True)
