import contextlib
import ipaddress
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.crypto import salted_hmac
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from articles.models import Article
from articles.views import int_param, render_article_page, viewer_for
from comments import defences, notify, ownership, services
from comments.forms import CommentForm, EditForm, FlagForm
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
    """The poster's address: REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT proxies, the
    address the outermost of them saw (the last ones in X-Forwarded-For are the proxies')."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies and len(forwarded) >= proxies:
        candidate = forwarded[-proxies]
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def _reader_key(request) -> str:
    """Who reports: an account, or for readers without one their address (hashed, so the
    admin never shows it) — one report per person, not per browser session."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return (
        "ip:"
        + salted_hmac(
            "threadline.flag", _client_ip(request) or "unknown", algorithm="sha256"
        ).hexdigest()[:20]
    )


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


def _form_fragment(request, form, *, article, reply_to=None, preview=None, status=200):
    response = render(
        request,
        "comments/form.html",
        {"form": form, "article": article, "reply_to": reply_to, "preview": preview},
        status=status,
    )
    target = f"#reply-{reply_to}" if reply_to else "#comment-form"
    return reswap(retarget(response, target), "innerHTML")


@require_POST
def comment_post(request, slug):
    """Post a comment or a reply; a 303 to it on success, the form with errors otherwise."""
    article = get_object_or_404(Article.objects.published(), slug=slug)
    if not article.accepts_comments:
        return HttpResponseForbidden(CLOSED_MESSAGE, content_type="text/plain")
    if not request.user.is_authenticated and not settings.COMMENTS_ALLOW_ANONYMOUS:
        return HttpResponseForbidden("Log in to comment.", content_type="text/plain")
    if _undecodable(request):
        return HttpResponseBadRequest(
            "The form arrived with text that is not valid UTF-8. Nothing was posted.",
            content_type="text/plain",
        )
    reply_to = int_param(request.POST.get("parent", "").strip())
    form = CommentForm(request.POST, user=request.user, article=article, reply_to=reply_to)
    preview, status = None, 200
    if form.is_valid():
        if "preview" in request.POST:
            preview = sanitize(render_comment(form.cleaned_data["body"]))
        else:
            refusal, status = _refusal(request, form)
            if refusal:
                form.add_error(None, refusal)
            else:
                comment = _create(request, article, form)
                if comment is not None:
                    ownership.remember(request, comment)
                    transaction.on_commit(lambda: notify.reply_posted(comment))
                    if request.htmx:
                        return _comment_fragment(request, comment, status=201)
                    return see_other(f"{article.get_absolute_url()}#comment-{comment.pk}")
    if request.htmx:
        return _form_fragment(
            request, form, article=article, reply_to=reply_to, preview=preview, status=status
        )
    return render_article_page(
        request, article, form=form, reply_to=reply_to, preview=preview, status=status
    )


def _refusal(request, form) -> tuple[str, int]:
    """The spam and flood defences, in order: (message for the reader, HTTP status), or
    ("", 200) when the post may go ahead."""
    data, user, ip = form.cleaned_data, request.user, _client_ip(request)
    if data.get("website"):
        return "Your comment looks automated and was not posted. Leave the last field empty.", 400
    if defences.too_fast(data.get("shown_at", "")):
        return "That was quick! Take a moment to read your comment, then post it again.", 400
    if defences.over_rate_limit(ip_address=ip, user=user):
        return "You are posting too often. Wait a minute, then post again.", 429
    ban = defences.ban_for(user=user, email=data.get("author_email", ""), ip_address=ip)
    if ban is not None:
        until = f" until {ban.until:%d %B %Y}" if ban.until else ""
        return f"You cannot post here{until}. {ban.reason}".strip(), 403
    if defences.too_many_links(data["body"]):
        return f"Too many links: at most {settings.COMMENTS_MAX_LINKS} in one comment.", 400
    if defences.is_duplicate(
        body=data["body"], user=user, author_email=data.get("author_email", ""), ip_address=ip
    ):
        return "You already posted this comment.", 400
    return "", 200


def _create(request, article, form):
    """Store the comment, held for moderation when the article's policy or a blocked word
    says so; None (with the errors on the form) when the service refuses it."""
    data = form.cleaned_data
    held = article.holds(request.user) or defences.has_blocked_words(data["body"])
    try:
        return services.comment_create(
            article=article,
            body=data["body"],
            parent_id=data["parent"],
            user=request.user,
            author_name=data.get("author_name", ""),
            author_email=data.get("author_email", ""),
            ip_address=_client_ip(request),
            status=Comment.Status.PENDING if held else Comment.Status.APPROVED,
            notify_replies=data.get("notify_replies", False),
        )
    except ValidationError as error:
        _add_errors(form, error)
        return None


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def reply_form(request, pk):
    """The reply form for one comment, for htmx to open inline under it."""
    comment = get_object_or_404(Comment.objects.visible().select_related("article"), pk=pk)
    if not comment.article.accepts_comments:
        return HttpResponseForbidden(CLOSED_MESSAGE, content_type="text/plain")
    if not request.htmx:
        return redirect(
            f"{comment.article.get_absolute_url()}?reply={comment.pk}#reply-{comment.pk}"
        )
    form = CommentForm(
        user=request.user, article=comment.article, initial={"parent": pk}, reply_to=pk
    )
    return render(
        request,
        "comments/form.html",
        {"form": form, "article": comment.article, "reply_to": comment.pk},
    )


def _reachable(request, pk) -> Comment:
    """The comment as this reader may see it: 404 for one they may not (pending, spam or
    removed without replies), so guessing ids reveals nothing."""
    comment = get_object_or_404(Comment.objects.select_related("article", "user"), pk=pk)
    decorate(comment, viewer_for(request))
    if comment.placeholder and comment.rght - comment.lft == 1:
        raise Http404("No comment here.")
    return comment


def comment_thread(request, pk):
    """The focused page of one comment and its replies (where "Continue this thread" goes)."""
    comment = _reachable(request, pk)
    subtree = Subtree(comment, viewer_for(request), after=int_param(request.GET.get("after")))
    return render(
        request,
        "comments/focused.html",
        {"article": comment.article, "focus": comment, "nodes": subtree.nodes},
    )


def comment_report(request, pk):
    """A reader reports a comment (once per reader); editors hear of the first report."""
    comment = get_object_or_404(Comment.objects.visible().select_related("article"), pk=pk)
    form = FlagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reporter = _reader_key(request)
        try:
            _, first = services.comment_flag(
                comment=comment,
                reporter=reporter,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
                user=request.user,
                ip_address=_client_ip(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if first:
                transaction.on_commit(lambda: notify.first_report(comment))
            messages.success(request, "Thank you for the report. An editor will look at it.")
            return see_other(f"{comment.article.get_absolute_url()}#comment-{comment.pk}")
    return render(request, "comments/report.html", {"form": form, "comment": comment})


def comment_permalink(request, pk):
    comment = _reachable(request, pk)
    return redirect(f"{comment.article.get_absolute_url()}#comment-{comment.pk}")


def _own_comment(request, pk, *, for_edit):
    """The comment if this reader wrote it (and, to edit, is still in the window); None if
    not (a 403); a 404 if they may not even see it."""
    comment = _reachable(request, pk)
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
        body = form.cleaned_data["body"]
        ban = defences.ban_for(
            user=request.user, email=comment.author_email, ip_address=_client_ip(request)
        )
        if ban is not None:
            form.add_error(None, "You cannot post here. " + ban.reason)
        elif defences.too_many_links(body):
            form.add_error(
                "body", f"Too many links: at most {settings.COMMENTS_MAX_LINKS} in one comment."
            )
        else:
            try:
                comment = services.comment_edit(
                    comment=comment, body=body, hold=defences.has_blocked_words(body)
                )
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
        with contextlib.suppress(ValidationError):  # already gone: nothing left to delete
            services.comment_delete_by_author(comment=comment)
        ownership.forget(request, comment.pk)
        return see_other(comment.article.get_absolute_url())
    return render(request, "comments/delete.html", {"comment": comment})
