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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from comments import services, votes
from comments.admin_moderation import BOTH, log_change
from comments.roles import is_editor

VOTERS_SHOWN = 200
NO_ACCOUNT = gettext_lazy("reader without an account")
PINNED = gettext_lazy("Pinned.")
UNPINNED = gettext_lazy("Unpinned.")


class VotesMixin:
    """For the comment list and change page: the score column, the Pin and Unpin actions,
    and the votes of a comment for editors."""

    @admin.display(description=gettext_lazy("score"), ordering="score")
    def score_summary(self, obj):
        """``+5 (7↑ 2↓)``, and "pinned" under it for a pinned comment."""
        pinned = format_html('<br><span class="tl-badge tl-pinned">{}</span>', _("pinned"))
        counts = _("%(up)d up, %(down)d down") % {"up": obj.upvotes, "down": obj.downvotes}
        return format_html(
            '{} <small class="tl-counts" title="{}">({}↑ {}↓)</small>{}',
            f"{obj.score:+d}" if obj.score else "0",
            counts,
            obj.upvotes,
            obj.downvotes,
            pinned if obj.pinned else "",
        )

    @admin.display(description=gettext_lazy("who voted"))
    def voters(self, obj):
        """The latest votes, newest first: voter, up or down, when, and whether counted."""
        latest = list(
            obj.votes.select_related("user").order_by("-created_at", "-pk")[: VOTERS_SHOWN + 1]
        )
        if not latest:
            return _("No votes yet.")
        more = ""
        if len(latest) > VOTERS_SHOWN:
            latest = latest[:VOTERS_SHOWN]
            latest_of = _("The latest %(shown)d of %(total)d votes.") % {
                "shown": VOTERS_SHOWN,
                "total": obj.votes.count(),
            }
            more = format_html("<p>{}</p>", latest_of)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    vote.user.get_username() if vote.user_id else NO_ACCOUNT,
                    vote.get_value_display(),
                    formats.localize(timezone.localtime(vote.created_at)),
                    _("yes") if vote.counted else _("no (discounted)"),
                )
                for vote in latest
            ),
        )
        return format_html(
            '<table class="tl-votes"><thead><tr><th scope="col">{}</th>'
            '<th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th>'
            "</tr></thead><tbody>{}</tbody></table>{}",
            _("voter"),
            _("vote"),
            _("when"),
            _("counted"),
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
            log_change(self, request, comment, PINNED if pinned else UNPINNED)
            changed += 1
        if pinned:
            summary = ngettext("Pinned: %(count)d comment.", "Pinned: %(count)d comments.", changed)
            again = ngettext(
                "%(count)d was pinned already.", "%(count)d were pinned already.", already
            )
        else:
            summary = ngettext(
                "Unpinned: %(count)d comment.", "Unpinned: %(count)d comments.", changed
            )
            again = ngettext(
                "%(count)d was unpinned already.", "%(count)d were unpinned already.", already
            )
        summary %= {"count": changed}
        if already:
            summary += " " + again % {"count": already}
        self.message_user(request, summary, messages.SUCCESS)
        if replies:
            skipped = ngettext(
                "Skipped %(count)d reply: only a top-level comment can be pinned or unpinned.",
                "Skipped %(count)d replies: only a top-level comment can be pinned or unpinned.",
                replies,
            )
            self.message_user(request, skipped % {"count": replies}, messages.WARNING)
        if refused:
            not_done = _("Not pinned: %(list)s") if pinned else _("Not unpinned: %(list)s")
            self.message_user(request, not_done % {"list": "; ".join(refused)}, messages.WARNING)

    @admin.action(
        description=gettext_lazy("Pin (first in every order; top-level only)"),
        description_plural=gettext_lazy("Pin selected (first in every order; top-level only)"),
        permissions=["moderate"],
        location=BOTH,
    )
    def pin(self, request, queryset):
        self._pin(request, queryset, pinned=True)

    @admin.action(
        description=gettext_lazy("Unpin"),
        description_plural=gettext_lazy("Unpin selected comments"),
        permissions=["moderate"],
        location=BOTH,
    )
    def unpin(self, request, queryset):
        self._pin(request, queryset, pinned=False)


@admin.action(
    description=gettext_lazy("Discount the votes of these banned accounts"),
    permissions=["moderate"],
)
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
            log_change(
                modeladmin, request, ban, gettext_lazy("Discounted the votes of this account.")
            )
        of_votes = ngettext("%(count)d vote", "%(count)d votes", discounted)
        of_accounts = ngettext("%(count)d account", "%(count)d accounts", len(users))
        modeladmin.message_user(
            request,
            _("Discounted %(votes)s of %(accounts)s.")
            % {
                "votes": of_votes % {"count": discounted},
                "accounts": of_accounts % {"count": len(users)},
            },
            messages.SUCCESS,
        )
    nameless = len(bans) - len(named)
    if nameless:
        no_account = ngettext(
            "%(count)d selected ban names no account: only an account's votes can be discounted.",
            "%(count)d selected bans name no account: only an account's votes can be discounted.",
            nameless,
        )
        modeladmin.message_user(request, no_account % {"count": nameless}, messages.WARNING)
