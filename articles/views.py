from django.shortcuts import get_object_or_404, render

from articles.models import Article
from comments import ownership
from comments.forms import CommentForm
from comments.models import Comment
from comments.thread import Viewer, build_thread, count_responses


def viewer_for(request) -> Viewer:
    return Viewer(
        user_id=request.user.pk if request.user.is_authenticated else None,
        owned_ids=ownership.owned_ids(request),
    )


def article_list(request):
    articles = Article.objects.published().with_response_counts().order_by(*Article._meta.ordering)
    return render(request, "articles/article_list.html", {"articles": articles})


def render_article_page(request, article, *, form=None, reply_to=None, preview=None, status=200):
    """The article, its discussion and the comment form: a constant number of queries.

    ``form`` is a bound form to show again (with its errors or preview); it goes under the
    comment it replies to when ``reply_to`` is set, else at the foot of the thread.
    """
    nodes = build_thread(Comment.objects.for_thread(article), viewer_for(request))
    if reply_to is not None and not any(n.pk == reply_to and not n.placeholder for n in nodes):
        reply_to = None  # nothing to reply to on the page: the form and its errors go last
    blank = CommentForm(user=request.user, article=article)
    context = {
        "article": article,
        "nodes": nodes,
        "response_count": count_responses(nodes),
        "form": form if form is not None and reply_to is None else blank,
        "reply_to": reply_to,
        "reply_form": form if reply_to is not None and form is not None else None,
        "preview": preview,
    }
    if reply_to is not None and context["reply_form"] is None:
        context["reply_form"] = CommentForm(
            user=request.user, article=article, initial={"parent": reply_to}
        )
    return render(request, "articles/article_detail.html", context, status=status)


def article_detail(request, slug):
    article = get_object_or_404(Article.objects.published(), slug=slug)
    reply_to = request.GET.get("reply", "")
    reply_to = (
        int(reply_to) if reply_to.isascii() and reply_to.isdigit() and len(reply_to) < 19 else None
    )
    return render_article_page(request, article, reply_to=reply_to)
