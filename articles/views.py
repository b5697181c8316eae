import hashlib
import time

from django.conf import settings
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.utils.cache import get_conditional_response

from articles.models import Article
from comments import ownership
from comments.forms import CommentForm
from comments.models import Comment
from comments.thread import ORDERS, ArticleThreads, Viewer

ORDER_COOKIE = "thread_order"


def viewer_for(request) -> Viewer:
    return Viewer(
        user_id=request.user.pk if request.user.is_authenticated else None,
        owned_ids=ownership.owned_ids(request),
    )


def article_list(request):
    articles = Article.objects.published().with_response_counts().order_by(*Article._meta.ordering)
    return render(request, "articles/article_list.html", {"articles": articles})


def int_param(value):
    """A positive integer from a query or form value, else None (never an error)."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


def _order(request):
    order = request.GET.get("order") or request.COOKIES.get(ORDER_COOKIE)
    return order if order in ORDERS else "oldest"


def _is_personal(article, viewer: Viewer) -> bool:
    """True when the page shows this viewer something others don't see (their controls,
    their pending comments): such a page is rendered for them and never cached."""
    if viewer.owned_ids:
        return True
    return (
        bool(viewer.user_id)
        and Comment.objects.filter(article=article, user_id=viewer.user_id).exists()
    )


def render_article_page(request, article, *, form=None, reply_to=None, preview=None, status=200):
    """The article, a page of its discussion and the comment form.

    ``form`` is a bound form to show again (with its errors or preview); it goes under the
    comment it replies to when ``reply_to`` is on the page, else at the foot of the thread.
    The discussion fragment is cached per article version for viewers with nothing personal
    on the page; its cost in queries does not depend on the size of the discussion.
    """
    viewer = viewer_for(request)
    threads = ArticleThreads(
        article, viewer, order=_order(request), after=int_param(request.GET.get("after"))
    )
    if reply_to is not None and not any(
        n.pk == reply_to and not n.placeholder for n in threads.nodes
    ):
        reply_to = None  # nothing to reply to on the page: the form and its errors go last
    blank = CommentForm(user=request.user, article=article)
    bound = form is not None
    context = {
        "article": article,
        "threads": threads,
        "form": form if bound and reply_to is None else blank,
        "reply_to": reply_to,
        "reply_form": form if bound and reply_to is not None else None,
        "preview": preview,
        "cache_seconds": settings.COMMENTS_CACHE_SECONDS,
        "cache_version": (
            None
            if bound or reply_to is not None or _is_personal(article, viewer)
            else article.thread_version
        ),
    }
    if reply_to is not None and context["reply_form"] is None:
        context["reply_form"] = CommentForm(
            user=request.user, article=article, initial={"parent": reply_to}, reply_to=reply_to
        )
    if request.htmx and threads.after is not None:
        return render(request, "comments/thread.html#page_cached", context)
    response = render(request, "articles/article_detail.html", context, status=status)
    if "order" in request.GET:
        response.set_cookie(
            ORDER_COOKIE,
            threads.order,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure(),
        )
    return response


def _csrf_secret(request) -> str:
    """The CSRF secret behind this reader's tokens: the page's forms embed a token for it."""
    get_token(request)
    return request.META.get("CSRF_COOKIE", "")


def _etag(request, article) -> str:
    """Changes when the discussion, the article, the viewer or the page asked for does.

    A signed-in reader or an author may see controls that lapse with time (the edit
    window): for them the tag also changes every minute.
    """
    viewer = viewer_for(request)
    parts = [
        article.pk,
        article.thread_version,
        article.accepts_comments,
        int(time.time() // 60) if viewer.user_id or viewer.owned_ids else None,
        viewer.user_id,
        sorted(viewer.owned_ids),
        _order(request),
        request.GET.urlencode(),
        _csrf_secret(request),
        request.htmx.target if request.htmx else "",
    ]
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def article_detail(request, slug):
    article = get_object_or_404(Article.objects.published(), slug=slug)
    etag = _etag(request, article)
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    response = render_article_page(request, article, reply_to=int_param(request.GET.get("reply")))
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response
