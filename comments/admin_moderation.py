"""The moderation actions and columns shared by the comment list and the moderation queue.

Every action goes through ``comments.services`` and is written to the admin's LogEntry, so
it shows on the comment's history page.
"""

from html import unescape

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from comments import services
from comments.models import Ban, Comment

BOTH = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]
APPROVED = gettext_lazy("Approved")
REMOVED = gettext_lazy("Removed")
SPAM = gettext_lazy("Marked as spam")


def log_change(modeladmin, request, obj, message, **params) -> None:
    """Note a change in ``obj``'s history in the site's language (LANGUAGE_CODE): the entry
    is stored as text, and read later by editors of any language. ``message`` is a lazy
    translation, formatted with ``params`` (lazy ones too) in that language."""
    with translation.override(settings.LANGUAGE_CODE):
        modeladmin.log_change(request, obj, str(message) % params)


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
            log_change(
                self,
                request,
                comment,
                gettext_lazy("%(verb)s (status: %(status)s)."),
                verb=verb,
                status=Comment.Status(comment.status).label,
            )
        count = len(changed)
        message = ngettext("%(verb)s: %(count)d comment.", "%(verb)s: %(count)d comments.", count)
        self.message_user(request, message % {"verb": verb, "count": count}, messages.SUCCESS)

    @admin.action(
        description=gettext_lazy("Approve"),
        description_plural=gettext_lazy("Approve selected comments"),
        permissions=["moderate"],
        location=BOTH,
    )
    def approve(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.APPROVED, verb=APPROVED)

    @admin.action(
        description=gettext_lazy("Mark as spam"),
        description_plural=gettext_lazy("Mark selected as spam"),
        permissions=["moderate"],
        location=BOTH,
    )
    def mark_spam(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.SPAM, verb=SPAM)

    @admin.action(
        description=gettext_lazy("Remove (replies stay, under “[removed]”)"),
        description_plural=gettext_lazy("Remove selected (replies stay, under “[removed]”)"),
        permissions=["moderate"],
        location=BOTH,
    )
    def remove(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.REMOVED, verb=REMOVED)

    @admin.action(
        description=gettext_lazy("Remove with all replies"),
        description_plural=gettext_lazy("Remove selected with all their replies"),
        permissions=["moderate"],
        location=BOTH,
    )
    def remove_with_replies(self, request, queryset):
        self._moderate(
            request,
            queryset,
            Comment.Status.REMOVED,
            with_replies=True,
            verb=gettext_lazy("Removed with replies"),
        )

    @admin.action(
        description=gettext_lazy("Restore"),
        description_plural=gettext_lazy("Restore selected comments"),
        permissions=["moderate"],
        location=BOTH,
    )
    def restore(self, request, queryset):
        self._moderate(request, queryset, Comment.Status.APPROVED, verb=gettext_lazy("Restored"))

    @admin.action(
        description=gettext_lazy("Ban the author (account, email and IP)"),
        description_plural=gettext_lazy("Ban the authors of selected comments"),
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
            log_change(self, request, comment, gettext_lazy("Banned the author."))
            bans += 1
        made = ngettext(
            "%(count)d ban made. Remove their comments from the Bans page.",
            "%(count)d bans made. Remove their comments from the Bans page.",
            bans,
        )
        self.message_user(request, made % {"count": bans}, messages.SUCCESS)
        if nameless:
            unbannable = ngettext(
                "%(count)d comment had no account, email or address to ban: remove it instead.",
                "%(count)d comments had no account, email or address to ban: remove them instead.",
                nameless,
            )
            self.message_user(request, unbannable % {"count": nameless}, messages.WARNING)

    actions = ["approve", "mark_spam", "remove", "remove_with_replies", "restore", "ban_authors"]

    # The columns. The comment list and the queue must fit an editor's laptop (1100-1280 px
    # with the admin's sidebars) without scrolling sideways: few columns, each carrying a
    # few short lines; everything else is on the comment's own page.

    @admin.display(description=gettext_lazy("comment"), ordering="lft")
    def thread_excerpt(self, obj):
        """The start of the text as readers read it, indented under its thread, and under it
        the article it is on."""
        return format_html(
            '<span class="tl-depth tl-depth-{}">{}{}<small class="tl-sub">{}</small></span>',
            min(obj.level, 8),
            "\u21b3 " if obj.level else "",
            Truncator(text_of(obj.body_html)).chars(90),
            Truncator(obj.article.title).chars(40),
        )

    def status_badge(self, obj):
        label = _("deleted by author") if obj.deleted_at else obj.get_status_display()
        return format_html('<span class="tl-badge tl-{}">{}</span>', obj.status, label)

    def open_reports(self, obj):
        count = obj.open_flags
        if not count:
            return ""
        reports = ngettext("%(count)d open report", "%(count)d open reports", count)
        return format_html('<span class="tl-reports">{}</span>', reports % {"count": count})

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def standing(self, obj):
        """The status, the reports not yet reviewed, and the comment on the site while
        readers can see it (held, spam, removed or deleted ones answer them 404)."""
        lines = [self.status_badge(obj), self.open_reports(obj)]
        if obj.is_visible:
            lines.append(
                format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("view on the site"))
            )
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines if line))

    def sender(self, obj) -> list:
        """Who wrote a comment: the account (a link to its comments: editors may not open
        accounts), or the name and email; then the address it came from."""
        if obj.user_id:
            url = reverse("admin:comments_comment_changelist")
            who = [
                format_html(
                    '<a href="{}?user__id__exact={}" title="{}">{}</a>',
                    url,
                    obj.user_id,
                    _("Comments from this account"),
                    obj.user.get_username(),
                )
            ]
        else:
            who = [obj.author_name, *([obj.author_email] if obj.author_email else [])]
        return [*who, *([obj.ip_address] if obj.ip_address else [])]

    @admin.display(description=gettext_lazy("author"))
    def author(self, obj):
        """Who, from which address, and when: one line each."""
        name, *details = self.sender(obj)
        return format_html(
            '<span class="tl-who">{}</span>{}',
            name,
            format_html_join(
                "", '<small class="tl-sub">{}</small>', ((d,) for d in [*details, posted(obj)])
            ),
        )


def text_of(html: str) -> str:
    """What a reader reads of a rendered comment: its text on one line, without Markdown,
    tags or entities."""
    return " ".join(unescape(strip_tags(html)).split())


def posted(obj) -> str:
    return formats.localize(timezone.localtime(obj.created_at))
