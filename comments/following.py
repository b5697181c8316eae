"""What a reader hears of by mail, and where they choose it.

- "Follow this discussion", under each article (``article_follow``): each new approved
  comment by mail, or a daily digest, or nothing. A plain form (a 303 back to it), which
  htmx answers in place. Offered to an account with an address, and to a reader without
  an account whose browser has shown it reads a confirmed address's mail (it followed a
  confirmation link, or opened "What you follow" from one of our mails); explained to
  everyone else.
- "What you follow" (``notifications``, an account's, at /notifications/;
  ``manage_notifications``, one address's, at /notifications/<token>/ from any of our
  mails): the comments whose replies they hear of, the discussions they follow and how,
  and for editors the reports and the moderation digest; any of it can be stopped there.
- The unsubscribe link of every notification (``unsubscribe``): a GET shows what it stops
  and a button; a POST stops it, with no session, cookie or CSRF token (RFC 8058).
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from articles.models import Article
from comments import selectors
from comments.http import int_param, see_other
from comments.models import Comment
from comments.notify import editor_addresses
from subscriptions import services as subscriptions
from subscriptions import tokens
from subscriptions.models import Follow, normalize
from subscriptions.views import bad_link

MODES = {
    "immediate": gettext_lazy("Each new comment, by email"),
    "digest": gettext_lazy("A daily digest"),
    "off": gettext_lazy("Not following"),
}
LISTED = 50  # comments listed on the page; "stop all" covers the rest


@dataclass(frozen=True)
class Reader:
    """Who chooses: an account (``user``) and the confirmed address mail goes to
    (``email``, lower case; "" when there is none: an account without one, a guest)."""

    email: str = ""
    user: object = None

    def replies(self):
        """The comments whose replies this reader hears of (theirs, "Notify me" ticked)."""
        mine = Q(pk__in=[])
        if self.user is not None:
            mine |= Q(user=self.user)
        if self.email:
            mine |= Q(user__isnull=True, author_email__iexact=self.email)
            mine |= Q(user__email__iexact=self.email)
        return Comment.objects.filter(mine, notify_replies=True)

    def follows(self):
        if not self.email:
            return Follow.objects.none()
        return Follow.objects.filter(address__email=self.email).select_related("article")

    def mode_for(self, article) -> str:
        """How this reader follows ``article``: "immediate", "digest" or "off"."""
        if not self.email:
            return "off"
        return (
            self.follows().filter(article=article).values_list("mode", flat=True).first() or "off"
        )

    @property
    def is_editor(self) -> bool:
        return bool(self.email) and self.email in editor_addresses()


def may_ask_for_replies(request, email: str) -> bool:
    """Whether a reader without an account may have replies to their comment mailed to
    ``email``: when this browser has shown it reads that address's mail (a confirmation, or
    the manage link from one of our mails), or when nobody has confirmed the address yet
    (then the one confirmation mail asks its owner). Otherwise anyone could type someone
    else's confirmed address and have the replies to their own comments mailed there."""
    email = normalize(email)
    if email == request.session.get(subscriptions.SESSION_ADDRESS, ""):
        return True
    return not subscriptions.is_confirmed(email)


def reader_for(request) -> Reader:
    if request.user.is_authenticated:
        return Reader(email=normalize(request.user.email), user=request.user)
    email = request.session.get(subscriptions.SESSION_ADDRESS, "")
    return Reader(email=email) if subscriptions.is_confirmed(email) else Reader()


@dataclass(frozen=True)
class FollowControl:
    """The "Follow this discussion" control as the article page draws it."""

    email: str
    mode: str
    account: bool
    manage_url: str = ""
    choices: tuple = ()
    status: str = ""


def follow_control(request, article, *, status: str = "") -> FollowControl:
    reader = reader_for(request)
    if reader.user is not None:
        manage_url = reverse("notifications")
    elif reader.email:
        manage_url = reverse("manage_notifications", args=[tokens.manage_token(email=reader.email)])
    else:
        manage_url = ""
    return FollowControl(
        email=reader.email,
        mode=reader.mode_for(article),
        account=reader.user is not None,
        manage_url=manage_url,
        choices=tuple(MODES.items()),
        status=status,
    )


def etag_part(request, article) -> tuple:
    """What the follow control depends on, for the article page's ETag."""
    control = follow_control(request, article)
    return (control.email, control.mode)


def stop(*, email: str, scope: str) -> None:
    """Stop the mail an unsubscribe link's ``scope`` names (subscriptions/tokens.py)."""
    if scope == "replies":
        stop_replies(Reader(email=email))
    elif scope == "digest":
        subscriptions.unfollow(email=email, mode=Follow.Mode.DIGEST)
    elif scope == "reports":
        subscriptions.editor_choices(email=email, reports=False)
    elif scope == "moderation":
        subscriptions.editor_choices(email=email, digest=False)
    else:
        subscriptions.unfollow(email=email, article_id=int(scope.removeprefix("follow:")))


def stop_replies(reader: Reader, *, pk: int | None = None) -> int:
    """Untick "Notify me" on the reader's comments (one, or all). It writes no tree field
    and nothing a page draws, so it takes no lock and leaves cached pages as they are."""
    comments = reader.replies()
    if pk is not None:
        comments = comments.filter(pk=pk)
    return comments.update(notify_replies=False)


def _describe(scope: str) -> str:
    if scope == "replies":
        return gettext("emails about replies to your comments")
    if scope == "digest":
        return gettext("the daily digest of the discussions you follow")
    if scope == "reports":
        return gettext("emails about reported comments")
    if scope == "moderation":
        return gettext("the daily moderation digest")
    article = Article.objects.filter(pk=int(scope.removeprefix("follow:"))).first()
    if article is None:
        return gettext("emails about a discussion that is gone")
    return gettext("emails about each new comment on “%(title)s”") % {"title": article.title}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """RFC 8058: a mail provider's "Unsubscribe" button POSTs ``List-Unsubscribe=One-Click``
    to this URL from its own servers, with no cookie, session or CSRF token; so the view is
    exempt from CSRF. The signed token is what authorizes: it names one address and one
    kind of mail, and it can only stop mail, so a forged POST could at worst stop what its
    holder (who has the mail) could stop anyway. A GET (a person, or a scanner fetching
    links) only shows what the button would stop."""
    try:
        email, scope = tokens.read_unsubscribe_token(token)
    except tokens.BadLink:
        return bad_link(request)
    done = request.method == "POST"
    if done:
        stop(email=email, scope=scope)
    context = {
        "done": done,
        "email": email,
        "what": _describe(scope),
        "manage_url": reverse("manage_notifications", args=[tokens.manage_token(email=email)]),
    }
    return render(request, "comments/unsubscribe.html", context)


@require_POST
def article_follow(request, slug):
    """Follow the article's discussion ("immediate" or "digest"), or stop ("off")."""
    article = selectors.published_article(slug)
    if article is None:
        raise Http404("No article here.")
    reader = reader_for(request)
    if not reader.email:
        return HttpResponseForbidden(
            gettext("Confirm an email address first: we only write to confirmed addresses."),
            content_type="text/plain; charset=utf-8",
        )
    mode = request.POST.get("mode", "")
    if mode not in MODES:
        return HttpResponseBadRequest(
            gettext("Choose how to follow the discussion: %(modes)s.")
            % {"modes": ", ".join(MODES)},
            content_type="text/plain; charset=utf-8",
        )
    status = _set_follow(reader, article.pk, mode)
    if request.htmx:
        control = follow_control(request, article, status=status)
        return render(request, "comments/follow.html", {"article": article, "follow": control})
    messages.success(request, status)
    return see_other(f"{article.get_absolute_url()}#follow")


def _set_follow(reader: Reader, article_id: int, mode: str) -> str:
    if reader.user is not None:
        subscriptions.address_vouched(reader.email)  # an account's address is confirmed
    if mode == "off":
        subscriptions.unfollow(email=reader.email, article_id=article_id)
        return gettext("You no longer follow this discussion.")
    subscriptions.follow(email=reader.email, article_id=article_id, mode=mode)
    if mode == "digest":
        return gettext("You follow this discussion: its new comments come in a daily digest.")
    return gettext("You follow this discussion: each new comment comes by email.")


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request):
    """What an account hears of."""
    reader = Reader(email=normalize(request.user.email), user=request.user)
    return _notifications_page(request, reader)


@require_http_methods(["GET", "POST"])
def manage_notifications(request, token):
    """What one address hears of, from the link in any of our mails."""
    try:
        email = tokens.read_manage_token(token)
    except tokens.BadLink:
        return bad_link(request)
    if not request.user.is_authenticated and subscriptions.is_confirmed(email):
        # This browser reads the address's mail: it may follow discussions with it.
        request.session[subscriptions.SESSION_ADDRESS] = email
    return _notifications_page(request, Reader(email=email))


def _notifications_page(request, reader: Reader):
    if request.method == "POST":
        try:
            done = _act(reader, request.POST)
        except ValidationError as error:
            return HttpResponseBadRequest(
                " ".join(error.messages), content_type="text/plain; charset=utf-8"
            )
        messages.success(request, done)
        return see_other(request.path)
    replies = reader.replies().select_related("article").order_by("-created_at")
    context = {
        "reader": reader,
        "replies": replies[:LISTED],
        "reply_count": replies.count(),
        "follows": reader.follows().order_by("article__title"),
        "modes": tuple(MODES.items()),
        "editor": reader.is_editor,
        "moderator_digest_on": settings.COMMENTS_MODERATOR_DIGEST,
        "editor_choices": subscriptions.editor_settings(reader.email) if reader.is_editor else None,
    }
    return render(request, "comments/notifications.html", context)


def _act(reader: Reader, data) -> str:
    """Do what one form of the page asked; the message to show. ValidationError: bad input."""
    action = data.get("action")
    if action == "stop_replies":
        pk = int_param(data.get("comment"))
        if data.get("comment") and pk is None:
            raise ValidationError(gettext("That is not one of your comments."))
        if not stop_replies(reader, pk=pk):
            return gettext("Nothing to stop: no emails come about those replies.")
        if pk is not None:
            return gettext("Done: no more emails about replies to that comment.")
        return gettext("Done: no more emails about replies to your comments.")
    if action == "follow":
        article_id, mode = int_param(data.get("article")), data.get("mode")
        if not reader.email:
            raise ValidationError(gettext("Add and confirm an email address first."))
        if article_id is None or mode not in MODES:
            raise ValidationError(gettext("Choose a discussion and how to follow it."))
        if mode != "off" and not Article.objects.published().filter(pk=article_id).exists():
            raise ValidationError(gettext("There is no such discussion to follow."))
        return _set_follow(reader, article_id, mode)
    if action == "editor" and reader.is_editor:
        subscriptions.editor_choices(
            email=reader.email,
            reports="reports" in data,
            digest="moderation_digest" in data,
        )
        return gettext("Your choices as an editor are saved.")
    raise ValidationError(gettext("That is not something this page can do."))
