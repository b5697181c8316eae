"""The outbox in the admin, read-only: what was sent, what waits and why (for superusers;
editors are given no permission on it, since it holds readers' addresses); and when each
daily task (the digests) was enqueued."""

from django.contrib import admin

from core.models import DailyRun, OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """A list to look at: nothing is added, changed or deleted through it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "recipient", "state", "attempts", "next_attempt_at"]
    list_filter = ["state", "kind", "created_at"]
    search_fields = ["key", "recipient", "message_id"]
    date_hierarchy = "created_at"


@admin.register(DailyRun)
class DailyRunAdmin(ReadOnlyAdmin):
    list_display = ["day", "name", "enqueued_at", "task_id"]
    list_filter = ["name"]
    date_hierarchy = "day"
