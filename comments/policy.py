"""The posting policy: may this text be stored, with which status, and if not, why.

One place decides, for every way a comment's text arrives (the post form, the edit form,
and later imports or an API): the spam and flood defences in a fixed order, each with the
HTTP status its refusal is answered with, then whether the comment is held for an editor
(the article's or the site's moderation setting, or a blocked word). The checks themselves
live in ``comments.defences``; none of them stores anything.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from articles.models import Article
from comments import defences
from comments.models import Comment


@dataclass(frozen=True)
class Verdict:
    """What the policy says of one submission.

    ``refusal`` is the message for the reader ("" when the text may be stored), ``status``
    the HTTP status to answer a refusal with, ``field`` the form field the message belongs
    to (None: the whole form), ``hold`` whether to store it as pending.
    """

    refusal: str = ""  # or a lazy translation
    status: int = 200
    field: str | None = None
    hold: bool = False

    @property
    def refused(self) -> bool:
        return bool(self.refusal)

    @property
    def comment_status(self) -> str:
        return Comment.Status.PENDING if self.hold else Comment.Status.APPROVED


_RATE_LIMITED = Verdict(
    gettext_lazy("You are posting too often. Wait a minute, then post again."), 429
)


def holds(article: Article, user) -> bool:
    """Whether the article's moderation (or the site's, COMMENTS_MODERATION) holds a
    comment by ``user`` for an editor's approval."""
    policy = article.moderation or settings.COMMENTS_MODERATION
    if policy == Article.Moderation.ALL:
        return True
    return policy == Article.Moderation.ANONYMOUS and not (user and user.is_authenticated)


def _banned(user, email, ip_address) -> Verdict | None:
    ban = defences.ban_for(user=user, email=email, ip_address=ip_address)
    if ban is None:
        return None
    why = ban.reason or _("An editor has stopped this account or address from posting.")
    if ban.until:
        until = date_format(ban.until, "j F Y")
        return Verdict(
            _("You cannot post here until %(date)s. %(why)s") % {"date": until, "why": why}, 403
        )
    return Verdict(_("You cannot post here. %(why)s") % {"why": why}, 403)


def _too_many_links(body) -> Verdict | None:
    if not defences.too_many_links(body):
        return None
    limit = settings.COMMENTS_MAX_LINKS
    message = _("Too many links: at most %(limit)d in one comment.") % {"limit": limit}
    return Verdict(message, 400, "body")


def _held(article, user, body) -> Verdict:
    return Verdict(hold=holds(article, user) or defences.has_blocked_words(body))


def judge_post(
    *,
    article: Article,
    user,
    body: str,
    author_email: str = "",
    ip_address: str | None = None,
    honeypot: str = "",
    shown_at: str = "",
) -> Verdict:
    """A new comment or reply: honeypot, minimum delay, rate limit, ban, links, duplicate
    (in that order: the cheap checks first, and the rate limit counts only posts that a
    person could have sent), then hold or publish."""
    if honeypot:
        return Verdict(
            _("Your comment looks automated and was not posted. Leave the last field empty."), 400
        )
    if defences.too_fast(shown_at):
        return Verdict(
            _("That was quick! Take a moment to read your comment, then post it again."), 400
        )
    if defences.over_rate_limit(ip_address=ip_address, user=user):
        return _RATE_LIMITED
    refusal = _banned(user, author_email, ip_address) or _too_many_links(body)
    if refusal:
        return refusal
    if defences.is_duplicate(
        body=body, user=user, author_email=author_email, ip_address=ip_address
    ):
        return Verdict(_("You already posted this comment."), 400)
    return _held(article, user, body)


def judge_edit(*, comment: Comment, user, body: str, ip_address: str | None = None) -> Verdict:
    """An author's edit: the rate limit (an edit counts as a post: each one redraws the
    discussion), ban and links as for a post, then held wherever a new comment would be
    held (the article's moderation, a blocked word), so an edit cannot publish text that
    no editor has seen. Honeypot, delay and duplicate checks belong to the post form."""
    if defences.over_rate_limit(ip_address=ip_address, user=user):
        return _RATE_LIMITED
    refusal = _banned(user, comment.author_email, ip_address) or _too_many_links(body)
    if refusal:
        return refusal
    return _held(comment.article, user, body)
