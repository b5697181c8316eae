"""The pages that show discussions: the article list, the article page with its discussion,
a focused subtree, permalinks and the inline reply form. Reads come from
``comments.selectors``; nothing here writes."""

import hashlib
import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseForbidden
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from comments import following, ownership, selectors, votes
from comments.forms import CommentForm
from comments.http import ORDER_COOKIE, VOTED, int_param, order_of, viewer_for
from core import release

CLOSED_MESSAGE = _("Comments are closed on this article.")


def article_list(request):
    return render(request, "articles/article_list.html", {"articles": selectors.article_list()})


def render_article_page(request, article, *, form=None, reply_to=None, preview=None, status=200):
    """The article, a page of its discussion and the comment form.

    ``form`` is a bound form to show again (with its errors or preview); it goes under the
    comment it replies to when ``reply_to`` is on the page, else at the foot of the
    discussion. The discussion fragment is cached per article version and language for
    viewers with nothing personal on the page; its cost in queries does not depend on its
    size.
    """
    viewer = viewer_for(request)
    after = int_param(request.GET.get("after"))
    page = selectors.DiscussionPage(article, viewer, order=order_of(request), after=after)
    if reply_to is not None and not any(n.pk == reply_to and not n.placeholder for n in page.nodes):
        reply_to = None  # nothing to reply to on the page: the form and its errors go last
    blank = CommentForm(
        user=request.user, article=article, initial=ownership.author_details(request)
    )
    bound = form is not None
    cacheable = not (
        bound
        or reply_to is not None
        or selectors.has_personal_view(article, viewer)
        # Only cursors a "Load more" link makes: any other number would be a new entry.
        or (after is not None and not selectors.is_thread_start(article, after))
    )
    context = {
        "article": article,
        "discussion_page": page,
        "form": form if bound and reply_to is None else blank,
        "reply_to": reply_to,
        "reply_form": form if bound and reply_to is not None else None,
        "preview": preview,
        "cache_seconds": (
            settings.COMMENTS_CACHE_SECONDS
            if after is None
            else settings.COMMENTS_PAGE_CACHE_SECONDS
        ),
        "cache_version": (
            f"{release.stamp()}.{article.discussion_version}.{votes.scores_key(article)}"
            if cacheable
            else None
        ),
        "follow": following.follow_control(request, article),
        "language": get_language(),  # part of the cached fragments' keys
    }
    if reply_to is not None and context["reply_form"] is None:
        context["reply_form"] = CommentForm(
            user=request.user,
            article=article,
            initial={**ownership.author_details(request), "parent": reply_to},
            reply_to=reply_to,
        )
    if request.htmx and page.after is not None:
        return render(request, "comments/discussion.html#page_cached", context)
    response = render(request, "articles/article_detail.html", context, status=status)
    if "order" in request.GET:
        response.set_cookie(
            ORDER_COOKIE,
            page.order,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure(),
        )
    return response


def _etag(request, article) -> str:
    """Changes when the discussion, the article, the viewer, the language or the page asked
    for does (the CSRF secret too: the page's forms embed a token for it)."""
    get_token(request)
    parts = selectors.etag_parts(
        article, viewer_for(request), order=order_of(request), minute=int(time.time() // 60)
    )
    parts += [
        votes.scores_key(article),
        request.session.get(VOTED),
        following.etag_part(request, article),  # the follow control, the form's mail hint
        request.GET.urlencode(),
        request.META.get("CSRF_COOKIE", ""),
        request.htmx.target if request.htmx else "",
        get_language(),
        release.stamp(),  # pages drawn by other code
    ]
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def article_detail(request, slug):
    article = selectors.published_article(slug)
    if article is None:
        raise Http404("No article here.")
    # A page that carries a one-off message ("Thank you for the report") is drawn afresh
    # and gets no ETag: a 304 would show the reader their cached copy, without it.
    message_waiting = len(messages.get_messages(request)) > 0
    etag = None if message_waiting else _etag(request, article)
    not_modified = etag and get_conditional_response(request, etag=etag)
    if not_modified:
        return not_modified
    response = render_article_page(request, article, reply_to=int_param(request.GET.get("reply")))
    if etag:
        response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


def reachable_or_404(request, pk):
    """(comment, node) as this reader may see it; a 404 for one they may not."""
    found = selectors.reachable_comment(pk, viewer_for(request))
    if found is None:
        raise Http404("No comment here.")
    return found


def comment_subtree(request, pk):
    """The focused page of one comment and its replies (where "Continue this thread" goes)."""
    comment, node = reachable_or_404(request, pk)
    subtree = selectors.Subtree(
        comment,
        viewer_for(request),
        order=order_of(request),
        after=int_param(request.GET.get("after")),
        start=int_param(request.GET.get("start")),
    )
    return render(
        request,
        "comments/focused.html",
        {"article": comment.article, "focus": node, "nodes": subtree.nodes},
    )


def comment_permalink(request, pk):
    """To the comment on its article's first page in the reader's order when it is there,
    else to its focused page (a later page, or deeper than the page goes)."""
    comment, _ = reachable_or_404(request, pk)
    first_page = selectors.DiscussionPage(
        comment.article, viewer_for(request), order=order_of(request)
    )
    if any(node.pk == comment.pk for node in first_page.nodes):
        return redirect(f"{comment.article.get_absolute_url()}#comment-{comment.pk}")
    return redirect(f"{reverse('comment_thread', args=[comment.pk])}#comment-{comment.pk}")


def reply_form(request, pk):
    """The reply form for one comment, for htmx to open inline under it."""
    comment = selectors.visible_comment(pk)
    if comment is None:
        raise Http404("No comment here.")
    if not comment.article.accepts_comments:
        return HttpResponseForbidden(str(CLOSED_MESSAGE), content_type="text/plain")
    if not request.htmx:
        return redirect(
            f"{comment.article.get_absolute_url()}?reply={comment.pk}#reply-{comment.pk}"
        )
    form = CommentForm(
        user=request.user,
        article=comment.article,
        initial={**ownership.author_details(request), "parent": pk},
        reply_to=pk,
    )
    return render(
        request,
        "comments/form.html",
        {"form": form, "article": comment.article, "reply_to": comment.pk},
    )
