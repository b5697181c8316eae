from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import Truncator

from comments import services
from comments.models import Comment


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """Comments listed in thread order, each indented by its depth under its article.

    Every write goes through comments.services: the admin never saves a tree row itself.
    """

    list_display = ["thread_excerpt", "article", "author", "status", "created_at"]
    list_display_links = ["thread_excerpt"]
    list_filter = ["status", "article", "created_at"]
    search_fields = ["body", "author_name", "author_email", "user__username", "ip_address"]
    list_select_related = ["article", "user"]
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
        "body",
        "created_at",
        "edited_at",
        "deleted_at",
    ]
    readonly_fields = [
        "article",
        "parent",
        "user",
        "ip_address",
        "created_at",
        "edited_at",
        "deleted_at",
    ]
    actions = None

    @admin.display(description="comment", ordering="lft")
    def thread_excerpt(self, obj):
        indent = "\u2003" * obj.level + ("\u21b3 " if obj.level else "")
        return format_html("{}{}", indent, Truncator(obj.body).chars(90))

    @admin.display(description="author", ordering="author_name")
    def author(self, obj):
        if obj.user_id:
            return obj.user.get_username()
        return format_html("{} ({})", obj.author_name, obj.author_email or "no email")

    def has_add_permission(self, request):
        return False  # comments come from readers, through the site's form

    def save_model(self, request, obj, form, change):
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        if changes:
            services.comment_update(comment=obj, **changes)

    def delete_model(self, request, obj):
        services.comment_delete(comment=obj)

    def delete_queryset(self, request, queryset):
        for comment in queryset.order_by("tree_id", "lft"):
            services.comment_delete(comment=comment)
