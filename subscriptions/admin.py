"""Addresses and follows in the admin, for superusers: who may be written to, and what
each follows. Editors are given no permission here (the rows are readers' addresses)."""

from django.contrib import admin

from subscriptions.models import Address, Follow


class FollowInline(admin.TabularInline):
    model = Follow
    extra = 0
    raw_id_fields = ["article"]
    fields = ["article", "mode", "created_at", "digested_through"]
    readonly_fields = ["created_at", "digested_through"]


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["email", "confirmed_at", "reports", "moderation_digest", "created_at"]
    list_filter = ["reports", "moderation_digest", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email"]
    readonly_fields = ["created_at"]
    inlines = [FollowInline]
