"""Which comments this browser wrote: the author's right to edit and delete.

Logged-in authors are recognised by their account. A reader without an account gets, in
their session, a signed token per comment, bound to the comment's id and expiring: the edit
window for editing, the session's lifetime for deleting. Their name and email address are
kept in the session too, so the next form they open already has them.
"""

from django.conf import settings
from django.core import signing

SESSION_KEY = "comment_tokens"
AUTHOR_KEY = "comment_author"
_signer = signing.TimestampSigner(salt="threadline.comments.author")


def remember(request, comment) -> None:
    tokens = request.session.get(SESSION_KEY, {})
    tokens[str(comment.pk)] = _signer.sign(str(comment.pk))
    request.session[SESSION_KEY] = tokens
    if not comment.user_id:
        request.session[AUTHOR_KEY] = {
            "author_name": comment.author_name,
            "author_email": comment.author_email,
        }


def author_details(request) -> dict[str, str]:
    """The name and email address this reader (without an account) last posted with, as a
    comment form's initial values; empty for accounts and for new readers."""
    if request.user.is_authenticated:
        return {}
    return dict(request.session.get(AUTHOR_KEY, {}))


def owned_ids(request, *, max_age=None) -> frozenset[int]:
    """Ids of comments whose token in this session is valid (and younger than max_age)."""
    max_age = max_age if max_age is not None else settings.SESSION_COOKIE_AGE
    owned = set()
    for pk, token in request.session.get(SESSION_KEY, {}).items():
        try:
            if _signer.unsign(token, max_age=max_age) == pk:
                owned.add(int(pk))
        except signing.BadSignature:
            continue
    return frozenset(owned)


def forget(request, comment_pk: int) -> None:
    tokens = request.session.get(SESSION_KEY, {})
    if tokens.pop(str(comment_pk), None) is not None:
        request.session[SESSION_KEY] = tokens
