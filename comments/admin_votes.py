"""Votes in the admin: a comment's counts in the list (sortable by score), pinning, who
voted (editors only), and discounting the votes of banned accounts.

Nothing here writes a comment or a vote itself: a pin goes through
``services.comment_pin`` and a discount through ``votes.votes_discount``, and each is
written to the admin's LogEntry. Who voted is shown read-only, the latest
``VOTERS_SHOWN`` votes, so a comment with thousands of votes still opens quickly.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from comments import services, votes
from comments.admin_moderation import BOTH
from comments.roles import is_editor

VOTERS_SHOWN = 200
NO_ACCOUNT = "reader without an account"


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


class VotesMixin:
    """For the comment list and change page: the score column, the Pin and Unpin actions,
    and the votes of a comment for editors."""

    @admin.display(description="score", ordering="score")
    def score_summary(self, obj):
        """``+5 (7↑ 2↓)``, and "pinned" under it for a pinned comment."""
        pinned = format_html('<br><span class="tl-badge tl-pinned">{}</span>', "pinned")
        return format_html(
            '{} <small class="tl-counts" title="{} up, {} down">({}↑ {}↓)</small>{}',
            f"{obj.score:+d}" if obj.score else "0",
            obj.upvotes,
            obj.downvotes,
            obj.upvotes,
            obj.downvotes,
            pinned if obj.pinned else "",
        )

    @admin.display(description="who voted")
    def voters(self, obj):
        """The latest votes, newest first: voter, up or down, when, and whether counted."""
        latest = list(
            obj.votes.select_related("user").order_by("-created_at", "-pk")[: VOTERS_SHOWN + 1]
        )
        if not latest:
            return "No votes yet."
        more = ""
        if len(latest) > VOTERS_SHOWN:
            latest = latest[:VOTERS_SHOWN]
            more = format_html("<p>The latest {} of {} votes.</p>", VOTERS_SHOWN, obj.votes.count())
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    vote.user.get_username() if vote.user_id else NO_ACCOUNT,
                    vote.get_value_display(),
                    formats.localize(timezone.localtime(vote.created_at)),
                    "yes" if vote.counted else "no (discounted)",
                )
                for vote in latest
            ),
        )
        return format_html(
            '<table class="tl-votes"><thead><tr><th scope="col">voter</th>'
            '<th scope="col">vote</th><th scope="col">when</th><th scope="col">counted</th>'
            "</tr></thead><tbody>{}</tbody></table>{}",
            rows,
            more,
        )

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and is_editor(request.user):
            return [*fields, "voters"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and is_editor(request.user):
            return [*readonly, "voters"]
        return readonly

    def _pin(self, request, queryset, *, pinned):
        verb = "Pinned" if pinned else "Unpinned"
        changed = already = replies = 0
        refused = []
        # One thread lock at a time, in ascending tree_id order (docs/locking.md).
        for comment in queryset.order_by("tree_id", "lft"):
            if comment.level:
                replies += 1
                continue
            if comment.pinned == pinned:
                already += 1
                continue
            try:
                services.comment_pin(comment=comment, pinned=pinned)
            except ValidationError as error:  # moved under another comment, or deleted
                refused.append(f"#{comment.pk}: {' '.join(error.messages)}")
                continue
            self.log_change(request, comment, f"{verb}.")
            changed += 1
        summary = f"{verb}: {plural(changed, 'comment', 'comments')}."
        if already:
            summary += f" {plural(already, 'was', 'were')} {verb.lower()} already."
        self.message_user(request, summary, messages.SUCCESS)
        if replies:
            self.message_user(
                request,
                f"Skipped {plural(replies, 'reply', 'replies')}: only a top-level comment "
                "can be pinned or unpinned.",
                messages.WARNING,
            )
        if refused:
            self.message_user(
                request, f"Not {verb.lower()}: {'; '.join(refused)}", messages.WARNING
            )

    @admin.action(
        description="Pin (first in every order; top-level only)",
        description_plural="Pin selected (first in every order; top-level only)",
        permissions=["moderate"],
        location=BOTH,
    )
    def pin(self, request, queryset):
        self._pin(request, queryset, pinned=True)

    @admin.action(
        description="Unpin",
        description_plural="Unpin selected comments",
        permissions=["moderate"],
        location=BOTH,
    )
    def unpin(self, request, queryset):
        self._pin(request, queryset, pinned=False)


@admin.action(description="Discount the votes of these banned accounts", permissions=["moderate"])
def discount_their_votes(modeladmin, request, queryset):
    """Every vote of the accounts the selected bans name stops counting (the rows stay),
    and the comments they were on are recounted. A ban of an email or an address alone
    names no votes: votes without an account are kept by cookie and a keyed hash."""
    bans = list(queryset)
    named = [ban for ban in bans if ban.user_id]
    if named:
        users = sorted({ban.user_id for ban in named})
        discounted = votes.votes_discount(users=users)
        for ban in named:
            modeladmin.log_change(request, ban, "Discounted the votes of this account.")
        modeladmin.message_user(
            request,
            f"Discounted {plural(discounted, 'vote', 'votes')} of "
            f"{plural(len(users), 'account', 'accounts')}.",
            messages.SUCCESS,
        )
    nameless = len(bans) - len(named)
    if nameless:
        modeladmin.message_user(
            request,
            f"{plural(nameless, 'selected ban names', 'selected bans name')} no account: "
            "only an account's votes can be discounted.",
            messages.WARNING,
        )
