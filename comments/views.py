from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from articles.models import Article
from articles.views import render_article_page, viewer_for
from comments import ownership, services
from comments.forms import CommentForm, EditForm
from comments.markup import render_comment, sanitize
from comments.models import Comment
from comments.thread import Subtree, decorate

CLOSED_MESSAGE = "Comments are closed on this article."


def see_other(url):
    """A 303: after a successful POST the browser GETs the result."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _client_ip(request):
    return request.META.get("REMOTE_ADDR") or None


def _undecodable(request) -> bool:
    """True when a form post carries bytes that are not UTF-8 (Django would replace them)."""
    if request.content_type != "application/x-www-form-urlencoded":
        return False
    try:
        parse_qsl(request.body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return True
    return False


def _thread_position(comment) -> int:
    """The number a new top-level comment takes in the thread as the page numbers it."""
    return (
        Comment.objects.filter(article_id=comment.article_id, level=0, tree_id__lte=comment.tree_id)
        .filter(Q(status=Comment.Status.APPROVED, deleted_at__isnull=True) | Q(pk=comment.pk))
        .count()
    )


def _comment_fragment(request, comment, *, status=200):
    decorate(comment, viewer_for(request))
    if comment.level == 0:
        comment.number = _thread_position(comment)
    context = {"c": comment, "article": comment.article, "oob_form": True}
    context["form"] = CommentForm(user=request.user, article=comment.article)
    return render(request, "comments/posted.html", context, status=status)


def _form_fragment(request, form, *, article, reply_to=None, preview=None):
    response = render(
        request,
        "comments/form.html",
        {"form": form, "article": article, "reply_to": reply_to, "preview": preview},
    )
    target = f"#reply-{reply_to}" if reply_to else "#comment-form"
    return reswap(retarget(response, target), "innerHTML")


@require_POST
def comment_post(request, slug):
    """Post a comment or a reply; a 303 to it on success, the form with errors otherwise."""
    article = get_object_or_404(Article.objects.published(), slug=slug)
    if not article.comments_open:
        return HttpResponseForbidden(CLOSED_MESSAGE, content_type="text/plain")
    if not request.user.is_authenticated and not settings.COMMENTS_ALLOW_ANONYMOUS:
        return HttpResponseForbidden("Log in to comment.", content_type="text/plain")
    if _undecodable(request):
        return HttpResponseBadRequest(
            "The form arrived with text that is not valid UTF-8. Nothing was posted.",
            content_type="text/plain",
        )
    form = CommentForm(request.POST, user=request.user, article=article)
    raw_parent = request.POST.get("parent", "").strip()
    reply_to = int(raw_parent) if raw_parent.isascii() and raw_parent.isdigit() else None
    if reply_to is not None and len(raw_parent) > 18:
        reply_to = None
    preview = None
    if form.is_valid():
        if "preview" in request.POST:
            preview = sanitize(render_comment(form.cleaned_data["body"]))
        else:
            try:
                comment = services.comment_create(
                    article=article,
                    body=form.cleaned_data["body"],
                    parent_id=form.cleaned_data["parent"],
                    user=request.user,
                    author_name=form.cleaned_data.get("author_name", ""),
                    author_email=form.cleaned_data.get("author_email", ""),
                    ip_address=_client_ip(request),
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                ownership.remember(request, comment)
                if request.htmx:
                    return _comment_fragment(request, comment, status=201)
                return see_other(f"{article.get_absolute_url()}#comment-{comment.pk}")
    if request.htmx:
        return _form_fragment(request, form, article=article, reply_to=reply_to, preview=preview)
    return render_article_page(request, article, form=form, reply_to=reply_to, preview=preview)


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def reply_form(request, pk):
    """The reply form for one comment, for htmx to open inline under it."""
    comment = get_object_or_404(Comment.objects.visible().select_related("article"), pk=pk)
    if not request.htmx:
        return redirect(
            f"{comment.article.get_absolute_url()}?reply={comment.pk}#reply-{comment.pk}"
        )
    form = CommentForm(user=request.user, article=comment.article, initial={"parent": pk})
    return render(
        request,
        "comments/form.html",
        {"form": form, "article": comment.article, "reply_to": comment.pk},
    )


def comment_thread(request, pk):
    """The focused page of one comment and its replies (where "Continue this thread" goes)."""
    comment = get_object_or_404(Comment.objects.select_related("article"), pk=pk)
    viewer = viewer_for(request)
    decorate(comment, viewer)
    if comment.placeholder and comment.rght - comment.lft == 1:
        raise Http404("No comment here.")
    after = request.GET.get("after", "")
    subtree = Subtree(
        comment,
        viewer,
        after=int(after) if after.isascii() and after.isdigit() and len(after) < 10 else None,
    )
    return render(
        request,
        "comments/focused.html",
        {"article": comment.article, "focus": comment, "nodes": subtree.nodes},
    )


def comment_permalink(request, pk):
    comment = get_object_or_404(Comment.objects.select_related("article"), pk=pk)
    return redirect(f"{comment.article.get_absolute_url()}#comment-{comment.pk}")


def _own_comment(request, pk, *, for_edit):
    """The comment if this reader wrote it (and, to edit, is still in the window)."""
    comment = get_object_or_404(Comment.objects.select_related("article", "user"), pk=pk)
    decorate(comment, viewer_for(request))
    if comment.placeholder or not (comment.can_edit if for_edit else comment.can_delete):
        return None
    return comment


def comment_edit(request, pk):
    comment = _own_comment(request, pk, for_edit=True)
    if comment is None:
        return HttpResponseForbidden(
            "Only the author can edit a comment, within "
            f"{settings.COMMENTS_EDIT_WINDOW_MINUTES} minutes of posting it.",
            content_type="text/plain",
        )
    form = EditForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        try:
            comment = services.comment_edit(comment=comment, body=form.cleaned_data["body"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return see_other(f"{comment.article.get_absolute_url()}#comment-{comment.pk}")
    return render(request, "comments/edit.html", {"form": form, "comment": comment})


def comment_delete(request, pk):
    comment = _own_comment(request, pk, for_edit=False)
    if comment is None:
        return HttpResponseForbidden(
            "Only the author can delete a comment.", content_type="text/plain"
        )
    if request.method == "POST":
        services.comment_delete_by_author(comment=comment)
        ownership.forget(request, comment.pk)
        return see_other(comment.article.get_absolute_url())
    return render(request, "comments/delete.html", {"comment": comment})
