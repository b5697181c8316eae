"""Votes and pins from the page: a form POST (303 back to the comment) without
JavaScript, the comment's controls redrawn in place with htmx. The rules are
``comments.votes`` (votes) and ``services.comment_pin`` (pins); refusals are said in words:
a message on the page, or a plain-text 4xx that the page's script shows."""

import dataclasses
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from comments import defences, roles, selectors, services, votes
from comments.http import VOTED, VOTER_COOKIE, VOTER_SALT, see_other, viewer_for, voter_cookie
from comments.models import Comment
from core.client import client_ip

VALUES = {"1": 1, "-1": -1, "0": 0}


def _back(request, comment: Comment) -> str:
    """Where a vote without JavaScript returns: the page it came from, at the comment."""
    page = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(page, {request.get_host()}, request.is_secure()):
        page = comment.article.get_absolute_url()
    return f"{page.partition('#')[0]}#comment-{comment.pk}"


def _refused(request, comment: Comment, message, status: int):
    message = str(message)  # a lazy translation, in the reader's language
    if request.htmx:
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return see_other(_back(request, comment))


def _voter(request) -> tuple[votes.Voter | None, str]:
    """The voter, and a new cookie token to set (for a reader without an account)."""
    ip_address = client_ip(request)
    if request.user.is_authenticated:
        return votes.Voter(user=request.user, ip_address=ip_address), ""
    if not settings.COMMENTS_ANONYMOUS_VOTES:
        return None, ""
    token = voter_cookie(request)
    new = "" if token else secrets.token_urlsafe(18)
    address = salted_hmac("threadline.vote", ip_address or "unknown", algorithm="sha256")
    voter = votes.Voter(
        cookie=token or new,
        address=address.hexdigest()[:40],
        ip_address=ip_address,
        owned_ids=viewer_for(request).owned_ids,
    )
    return voter, new


def _controls(request, comment: Comment, *, vote_cookie: str = ""):
    """The comment's vote (and pin) controls as this reader now sees them, for htmx."""
    viewer = viewer_for(request)
    if vote_cookie:
        viewer = dataclasses.replace(viewer, vote_cookie=vote_cookie)
    node = selectors.node_of(comment, viewer)
    context = {"c": node, "article": comment.article, "accepting": True}
    return render(request, "comments/discussion.html#controls", context)


@require_POST
def comment_vote(request, pk):
    """A reader votes on a comment: ``value`` 1 (up), -1 (down) or 0 (withdraw)."""
    comment = (
        Comment.objects.on_published_articles().select_related("article").filter(pk=pk).first()
    )
    if comment is None:
        raise Http404("No comment here.")
    value = VALUES.get(request.POST.get("value", ""))
    if value is None:
        return _refused(request, comment, votes.BAD_VALUE, 400)
    voter, new_token = _voter(request)
    if voter is None:
        if request.htmx:
            return _refused(request, comment, votes.LOG_IN, 403)
        return redirect_to_login(_back(request, comment))
    if defences.over_vote_limit(ip_address=client_ip(request), user=request.user):
        return _refused(request, comment, defences.VOTE_LIMIT_MESSAGE, 429)
    try:
        votes.comment_vote(comment_pk=pk, voter=voter, value=value)
    except ValidationError as error:
        return _refused(request, comment, " ".join(error.messages), 403)
    request.session[VOTED] = time.time_ns()
    if request.htmx:
        cookie = voter.cookie if voter.user is None else ""
        comment = Comment.objects.select_related("article", "user").get(pk=pk)  # new counts
        response = _controls(request, comment, vote_cookie=cookie)
    else:
        response = see_other(_back(request, comment))
    if new_token:
        response.set_signed_cookie(
            VOTER_COOKIE,
            new_token,
            salt=VOTER_SALT,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


@require_POST
def comment_pin(request, pk):
    """An editor pins (``pinned`` = 1) or unpins (0) a top-level comment."""
    if not roles.is_editor(request.user):
        return HttpResponseForbidden(_("Only editors can pin comments."), content_type="text/plain")
    comment = (
        Comment.objects.on_published_articles().select_related("article").filter(pk=pk).first()
    )
    if comment is None:
        raise Http404("No comment here.")
    try:
        comment = services.comment_pin(comment=comment, pinned=request.POST.get("pinned") == "1")
    except ValidationError as error:
        return _refused(request, comment, " ".join(error.messages), 400)
    if request.htmx:
        return _controls(request, comment)
    messages.success(request, _("Pinned.") if comment.pinned else _("Unpinned."))
    return see_other(_back(request, comment))
