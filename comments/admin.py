"""Moderation in the Django admin.

Comments are listed in thread order, indented by depth under their article. Every change
to a comment goes through comments.services, and every moderation action is written to
the admin's LogEntry, so it shows on the comment's history page.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from articles.admin import ArticleAdmin
from articles.models import Article
from comments import selectors, services
from comments.admin_import import import_view
from comments.admin_moderation import (
    APPROVED,
    REMOVED,
    SPAM,
    ModerationMixin,
    log_change,
    posted,
)
from comments.admin_votes import VotesMixin, discount_their_votes
from comments.models import Ban, Comment, Flag, QueuedComment
from core.admin import ReadOnlyAdmin
from core.markup import sanitize

# decision -> (status, what is done, the button's label)
ONE_CLICK = {
    "approve": (Comment.Status.APPROVED, APPROVED, _("Approve")),
    "remove": (Comment.Status.REMOVED, REMOVED, _("Remove")),
    "spam": (Comment.Status.SPAM, SPAM, _("Spam")),
}
QUEUE_EXCERPT = 600  # characters of a held comment's text shown in the queue


class CommentAdminForm(forms.ModelForm):
    """Checks a move and a guest's name before they reach the services, so the editor
    sees why one is refused."""

    body = forms.CharField(
        widget=forms.Textarea, max_length=settings.COMMENTS_MAX_LENGTH, help_text=_("Markdown.")
    )

    class Meta:
        model = Comment
        fields = ["parent", "author_name", "author_email", "status", "body"]

    def clean_author_name(self):
        name = self.cleaned_data.get("author_name", "")
        if self.instance.user_id:
            return name
        try:
            return services.reader_name(name)
        except forms.ValidationError as error:
            raise forms.ValidationError(error.message_dict["author_name"]) from None

    def clean_parent(self):
        parent, comment = self.cleaned_data.get("parent"), self.instance
        if parent is None or parent.pk == comment.parent_id:
            return parent
        try:
            services.check_move(comment, parent)
        except forms.ValidationError as error:
            raise forms.ValidationError(error.message_dict["parent"]) from None
        return parent


class FlaggedFilter(admin.SimpleListFilter):
    title = _("reports")
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("open", _("reported, not yet reviewed")), ("any", _("reported at any time"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(flags__reviewed=False).distinct()
        if self.value() == "any":
            return queryset.filter(flags__isnull=False).distinct()
        return queryset


@admin.register(Comment)
class CommentAdmin(ModerationMixin, VotesMixin, admin.ModelAdmin):
    form = CommentAdminForm
    list_display = ["thread_excerpt", "standing", "score_summary", "author"]
    list_display_links = ["thread_excerpt"]
    list_filter = ["status", FlaggedFilter, "article", "created_at"]
    search_fields = ["body", "author_name", "author_email", "user__username", "ip_address"]
    list_per_page = 100
    ordering = ["-article__published_at", "article", "tree_id", "lft"]
    fields = [
        "article",
        "parent",
        "user",
        "author_name",
        "author_email",
        "ip_address",
        "status",
        "score_summary",
        "body",
        "created_at",
        "edited_at",
        "deleted_at",
        "source",
        "source_id",
    ]
    readonly_fields = [
        "article",
        "user",
        "ip_address",
        "score_summary",
        "created_at",
        "edited_at",
        "deleted_at",
        "source",
        "source_id",
    ]
    raw_id_fields = ["parent"]
    actions = [*ModerationMixin.actions, "pin", "unpin"]

    class Media:
        css = {"all": ["css/admin.css"]}

    def has_add_permission(self, request):
        return False  # comments come from readers, through the site's form

    def lookup_allowed(self, lookup, value, request):
        # The author column links to one account's comments.
        return lookup == "user__id__exact" or super().lookup_allowed(lookup, value, request)

    def save_model(self, request, obj, form, change):
        """Save through the services: a new parent moves the comment with its replies."""
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        if "parent" in changes:
            parent = changes.pop("parent")
            services.comment_move(comment=obj, new_parent_id=parent.pk if parent else None)
        if "status" in changes:  # a moderation decision: reports count as reviewed
            services.comments_moderate(pks=[obj.pk], status=changes.pop("status"))
        if changes:
            services.comment_update(comment=obj, **changes)

    def get_urls(self):
        def importing(request):
            return import_view(request, self.admin_site)

        importing.takes_uploads = True
        view = self.admin_site.admin_view(importing)
        return [path("import/", view, name="comments_comment_import"), *super().get_urls()]

    def delete_model(self, request, obj):
        services.comment_purge(comment=obj)

    def delete_queryset(self, request, queryset):
        for comment in queryset.order_by("tree_id", "lft"):
            services.comment_purge(comment=comment)


@admin.register(QueuedComment)
class ModerationQueueAdmin(ModerationMixin, ReadOnlyAdmin):
    """Held and reported comments, oldest first; one click approves, removes or marks spam."""

    list_display = ["full_text", "decide"]
    list_display_links = None
    list_filter = ["status", "article"]
    search_fields = ["body", "author_name", "author_email", "ip_address"]
    ordering = ["created_at"]

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_queryset(self, request):
        queued = Comment.objects.in_moderation().values("pk")
        return super().get_queryset(request).filter(pk__in=queued)

    def has_view_permission(self, request, obj=None):
        return self.has_moderate_permission(request)

    @admin.display(description=_("comment"))
    def full_text(self, obj):
        """The text as readers would see it (rendered and cleaned, never the Markdown), cut
        after QUEUE_EXCERPT characters; under it why it waits, who wrote it, where and when,
        and a link to the whole comment."""
        text = sanitize(Truncator(obj.rendered_body).chars(QUEUE_EXCERPT, html=True), cache=False)
        url = reverse("admin:comments_comment_change", args=[obj.pk])
        lines = [
            format_html("{} {}", self.status_badge(obj), self.open_reports(obj)),
            format_html_join(", ", "{}", ((part,) for part in self.sender(obj))),
            format_html("{} · {}", Truncator(obj.article.title).chars(60), posted(obj)),
            format_html('<a href="{}">{}</a>', url, _("Open the whole comment")),
        ]
        return format_html(
            '<div class="tl-full-text">{}</div>{}',
            text,
            format_html_join("", '<div class="tl-sub">{}</div>', ((line,) for line in lines)),
        )

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": _("Moderation queue"), **(extra_context or {})}
        )

    @admin.display(description=_("decide"))
    def decide(self, obj):
        return format_html_join(
            "",
            '<button type="submit" class="button tl-decide" formmethod="post" '
            'formaction="{}">{}</button>',
            (
                (reverse("admin:comments_queue_decide", args=[obj.pk, name]), label)
                for name, (_status, _done, label) in ONE_CLICK.items()
            ),
        )

    def get_urls(self):
        decide = self.admin_site.admin_view(require_POST(self.decide_view))
        return [
            path("<int:pk>/<str:decision>/", decide, name="comments_queue_decide"),
            *super().get_urls(),
        ]

    def decide_view(self, request, pk, decision):
        if decision not in ONE_CLICK or not self.has_moderate_permission(request):
            raise PermissionDenied
        comment = get_object_or_404(Comment, pk=pk)
        status, verb, _label = ONE_CLICK[decision]
        self._moderate(request, Comment.objects.filter(pk=comment.pk), status, verb=verb)
        return redirect("admin:comments_queuedcomment_changelist")


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "comment_link",
        "reason",
        "text",
        "reporter",
        "weight",
        "ip_address",
        "reviewed",
    ]
    list_filter = ["reviewed", "reason", "created_at"]
    search_fields = ["text", "reporter", "ip_address"]
    readonly_fields = [
        "comment",
        "reporter",
        "user",
        "reason",
        "text",
        "weight",
        "ip_address",
        "created_at",
    ]
    list_select_related = ["comment"]

    @admin.display(description=_("comment"))
    def comment_link(self, obj):
        url = reverse("admin:comments_comment_change", args=[obj.comment_id])
        return format_html(
            '<a href="{}">#{}: {}</a>', url, obj.comment_id, Truncator(obj.comment.body).chars(60)
        )

    def has_add_permission(self, request):
        return False


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "user",
        "email",
        "ip_address",
        "until",
        "reason",
        "created_by",
        "created_at",
    ]
    list_filter = ["until", "created_at"]
    search_fields = ["email", "ip_address", "user__username", "reason"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_by", "created_at"]
    actions = ["remove_their_comments", discount_their_votes]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_moderate_permission(self, request):
        return request.user.has_perm("comments.can_moderate")

    @admin.action(
        description=_("Remove all comments of the selected banned posters"),
        permissions=["moderate"],
    )
    def remove_their_comments(self, request, queryset):
        pks = set()
        for ban in queryset:
            pks.update(ban.comments().values_list("pk", flat=True))
        changed = services.comments_moderate(pks=pks, status=Comment.Status.REMOVED)
        for comment in changed:
            log_change(self, request, comment, _("Removed: the author is banned."))
        count = len(changed)
        removed = ngettext("Removed %(count)d comment.", "Removed %(count)d comments.", count)
        self.message_user(request, removed % {"count": count}, messages.SUCCESS)


admin.site.unregister(Article)


@admin.register(Article)
class ArticleWithResponsesAdmin(ArticleAdmin):
    """The articles app's admin, plus the discussion's size (which only comments knows)."""

    list_display = [*ArticleAdmin.list_display, "responses"]

    def get_queryset(self, request):
        return selectors.with_response_counts(super().get_queryset(request))

    @admin.display(description=_("responses"), ordering="response_count")
    def responses(self, obj):
        return obj.response_count
