"""The moderation actions and columns shared by the comment list and the moderation queue.

Every action goes through ``comments.services`` and is written to the admin's LogEntry, so
it shows on the comment's history page.
"""

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from comments import services
from comments.models import Ban, Comment

BOTH = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


class ModerationMixin:
    """The moderation actions, shared by the comment list and the moderation queue."""

    def has_moderate_permission(self, request):
        return request.user.has_perm("comments.can_moderate")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("article", "user")
            .annotate(open_flags=Count("flags", filter=Q(flags__reviewed=False)))
        )

    def _moderate(self, request, queryset, status, *, with_replies=False, verb):
        changed = services.comments_moderate(
            pks=list(queryset.values_list("pk", flat=True)),
            status=status,
            with_replies=with_replies,
        )
        for comment in changed:
            self.log_change(request, comment, f"{verb} (status: {comment.status}).")
        self.message_user(
            request,
            f"{verb}: {len(changed)} comment{'s' if len(changed) != 1 else ''}.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Approve",
        description_plural="Approve selected comments",
        permissions=["moderate"],
        location=BOTH,
    )
    def approve(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.APPROVED, verb="Approved")

    @admin.action(
        description="Mark as spam",
        description_plural="Mark selected as spam",
        permissions=["moderate"],
        location=BOTH,
    )
    def mark_spam(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.SPAM, verb="Marked as spam")

    @admin.action(
        description="Remove (replies stay, under “[removed]”)",
        description_plural="Remove selected (replies stay, under “[removed]”)",
        permissions=["moderate"],
        location=BOTH,
    )
    def remove(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.REMOVED, verb="Removed")

    @admin.action(
        description="Remove with all replies",
        description_plural="Remove selected with all their replies",
        permissions=["moderate"],
        location=BOTH,
    )
    def remove_with_replies(self, request, queryset):
        self._moderate(
            request,
            queryset,
            Comment.Status.REMOVED,
            with_replies=True,
            verb="Removed with replies",
        )

    @admin.action(
        description="Restore",
        description_plural="Restore selected comments",
        permissions=["moderate"],
        location=BOTH,
    )
    def restore(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.APPROVED, verb="Restored")

    @admin.action(
        description="Ban the author (account, email and IP)",
        description_plural="Ban the authors of selected comments",
        permissions=["moderate"],
        location=BOTH,
    )
    def ban_authors(self, request, queryset):
        bans = nameless = 0
        for comment in queryset:
            if not (comment.user_id or comment.author_email or comment.ip_address):
                nameless += 1  # nothing to ban it by
                continue
            if Ban.objects.matching(
                user=comment.user, email=comment.author_email, ip_address=comment.ip_address
            ).exists():
                continue
            Ban.objects.create(
                user=comment.user,
                email=comment.author_email,
                ip_address=comment.ip_address,
                created_by=request.user,
            )
            self.log_change(request, comment, "Banned the author.")  # the comment's history
            bans += 1
        self.message_user(
            request,
            f"{bans} ban{'s' if bans != 1 else ''} made. Remove their comments from the Bans page.",
            messages.SUCCESS,
        )
        if nameless:
            self.message_user(
                request,
                f"{nameless} comment{'s' if nameless != 1 else ''} had no account, email or "
                "address to ban: remove them instead.",
                messages.WARNING,
            )

    actions = ["approve", "mark_spam", "remove", "remove_with_replies", "restore", "ban_authors"]

    @admin.display(description="comment", ordering="lft")
    def thread_excerpt(self, obj):
        return format_html(
            '<span class="tl-depth tl-depth-{}">{}{}</span>',
            min(obj.level, 8),
            "\u21b3 " if obj.level else "",
            Truncator(obj.body).chars(90),
        )

    @admin.display(description="article", ordering="article__title")
    def article_title(self, obj):
        return Truncator(obj.article.title).chars(40)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        label = "deleted by author" if obj.deleted_at else obj.get_status_display()
        return format_html('<span class="tl-badge tl-{}">{}</span>', obj.status, label)

    @admin.display(description="reports", ordering="open_flags")
    def flag_count(self, obj):
        return obj.open_flags or ""

    @admin.display(description="author")
    def author(self, obj):
        if obj.user_id:  # editors may not open accounts: link to the account's comments
            url = reverse("admin:comments_comment_changelist")
            return format_html(
                '<a href="{}?user__id__exact={}" title="Comments from this account">{}</a>',
                url,
                obj.user_id,
                obj.user.get_username(),
            )
        return format_html("{}<br><small>{}</small>", obj.author_name, obj.author_email or "—")

    @admin.display(description="IP", ordering="ip_address")
    def ip(self, obj):
        return obj.ip_address or "—"

    @admin.display(description="on the site")
    def on_site(self, obj):
        if not obj.is_visible:
            return "not shown"  # held, spam, removed or deleted: readers get a 404
        return format_html('<a href="{}">view</a>', obj.get_absolute_url())
