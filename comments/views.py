"""The forms that change a discussion: post or reply, edit, delete, report.

Each view reads the form, asks ``comments.policy`` whether the text may be stored, calls a
``comments.services`` function for the write, and answers: a 303 to the result, the htmx
fragment, or the form again with the reason, never a 500.
"""

import contextlib

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from comments import defences, following, ownership, policy, selectors, services
from comments.forms import CommentForm, EditForm, FlagForm
from comments.http import int_param, order_of, reader_key, see_other, viewer_for
from comments.nodes import edit_minutes_left
from comments.pages import CLOSED_MESSAGE, reachable_or_404, render_article_page
from core.client import client_ip
from core.markup import render_comment, sanitize


def _comment_fragment(request, comment, *, status=200):
    node = selectors.node_of(comment, viewer_for(request))
    if comment.level == 0:
        node.number = selectors.thread_position(comment)
    context = {
        "c": node,
        "article": comment.article,
        "oob_form": True,
        "form": CommentForm(
            user=request.user,
            article=comment.article,
            initial=ownership.author_details(request),
        ),
        "order": order_of(request),
        "response_count": selectors.response_count(comment.article),
    }
    return render(request, "comments/posted.html", context, status=status)


def _form_fragment(request, form, *, article, reply_to=None, preview=None, status=200):
    response = render(
        request,
        "comments/form.html",
        {
            "form": form,
            "article": article,
            "reply_to": reply_to,
            "preview": preview,
            "order": order_of(request),
        },
        status=status,
    )
    target = f"#reply-{reply_to}" if reply_to else "#comment-form"
    return reswap(retarget(response, target), "innerHTML")


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _refuse(form, verdict: policy.Verdict) -> int:
    """Put the policy's reason on the form; return the status to answer with."""
    form.add_error(verdict.field if verdict.field in form.fields else None, verdict.refusal)
    return verdict.status


@require_POST
def comment_post(request, slug):
    """Post a comment or a reply; a 303 to it on success, the form with errors otherwise."""
    article = selectors.published_article(slug)
    if article is None:
        raise Http404("No article here.")
    if not article.accepts_comments:
        return HttpResponseForbidden(str(CLOSED_MESSAGE), content_type="text/plain")
    if not request.user.is_authenticated and not settings.COMMENTS_ALLOW_ANONYMOUS:
        return HttpResponseForbidden(_("Log in to comment."), content_type="text/plain")
    reply_to = int_param(request.POST.get("parent", "").strip())
    form = CommentForm(request.POST, user=request.user, article=article, reply_to=reply_to)
    preview, status = None, 200
    if form.is_valid() and "preview" in request.POST:
        if defences.over_preview_limit(ip_address=client_ip(request), user=request.user):
            form.add_error(None, defences.PREVIEW_LIMIT_MESSAGE)
            status = 429
        else:
            preview = sanitize(render_comment(form.cleaned_data["body"]), cache=False)
    elif form.is_valid():
        comment, status = _post(request, article, form)
        if comment is not None:
            ownership.remember(request, comment)
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


def _post(request, article, form):
    """(the stored comment, 201) or (None, status) with the reason on the form."""
    data, ip = form.cleaned_data, client_ip(request)
    verdict = policy.judge_post(
        article=article,
        user=request.user,
        body=data["body"],
        author_email=data.get("author_email", ""),
        ip_address=ip,
        honeypot=data.get("website", ""),
        shown_at=data.get("shown_at", ""),
    )
    if verdict.refused:
        return None, _refuse(form, verdict)
    notify_replies = data.get("notify_replies", False)
    email = data.get("author_email", "")
    guest_asks = notify_replies and not request.user.is_authenticated and email
    if guest_asks and not following.may_ask_for_replies(request, email):
        notify_replies = False
        messages.info(
            request,
            _(
                "Replies will not be mailed: that address was confirmed in another browser. "
                "Open “Everything we send you” from one of our mails in this browser first."
            ),
        )
    try:
        comment = services.comment_create(
            article=article,
            body=data["body"],
            parent_id=data["parent"],
            user=request.user,
            author_name=data.get("author_name", ""),
            author_email=data.get("author_email", ""),
            ip_address=ip,
            status=verdict.comment_status,
            notify_replies=notify_replies,
        )
    except ValidationError as error:
        _add_errors(form, error)
        return None, 200
    return comment, 201


def comment_report(request, pk):
    """A reader reports a comment (once per reader); editors hear of the first report (the
    service queues their mail)."""
    comment = selectors.visible_comment(pk)
    if comment is None:
        raise Http404("No comment here.")
    form = FlagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_flag(
                comment=comment,
                reporter=reader_key(request),
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
                user=request.user,
                ip_address=client_ip(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Thank you for the report. An editor will look at it."))
            return see_other(f"{comment.article.get_absolute_url()}#comment-{comment.pk}")
    return render(request, "comments/report.html", {"form": form, "comment": comment})


def _own_comment(request, pk, *, for_edit):
    """The comment if this reader wrote it (and, to edit, is still in the window); None if
    not (a 403); a 404 if they may not even see it."""
    comment, node = reachable_or_404(request, pk)
    if node.placeholder or not (node.can_edit if for_edit else node.can_delete):
        return None
    return comment


def comment_edit(request, pk):
    comment = _own_comment(request, pk, for_edit=True)
    if comment is None:
        minutes = settings.COMMENTS_EDIT_WINDOW_MINUTES
        message = ngettext(
            "Only the author can edit a comment, within %(minutes)d minute of posting it.",
            "Only the author can edit a comment, within %(minutes)d minutes of posting it.",
            minutes,
        )
        return HttpResponseForbidden(message % {"minutes": minutes}, content_type="text/plain")
    form = EditForm(request.POST or None, initial={"body": comment.body})
    status = 200
    if request.method == "POST" and form.is_valid():
        body = form.cleaned_data["body"]
        verdict = policy.judge_edit(
            comment=comment, user=request.user, body=body, ip_address=client_ip(request)
        )
        if verdict.refused:
            status = _refuse(form, verdict)
        else:
            try:
                comment = services.comment_edit(comment=comment, body=body, hold=verdict.hold)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Your comment was edited."))
                return see_other(f"{comment.article.get_absolute_url()}#comment-{comment.pk}")
    context = {
        "form": form,
        "comment": comment,
        "minutes_left": edit_minutes_left(comment),
    }
    return render(request, "comments/edit.html", context, status=status)


def comment_delete(request, pk):
    """The author deletes their comment (``services.comment_delete_by_author``)."""
    comment = _own_comment(request, pk, for_edit=False)
    if comment is None:
        return HttpResponseForbidden(
            _("Only the author can delete a comment."), content_type="text/plain"
        )
    if request.method == "POST":
        placeholder = None
        with contextlib.suppress(ValidationError):  # already gone: nothing left to delete
            placeholder = services.comment_delete_by_author(comment=comment)
        ownership.forget(request, comment.pk)
        messages.success(
            request,
            _("Your comment was deleted; its replies keep their place.")
            if placeholder
            else _("Your comment was deleted."),
        )
        # Back where it was: its placeholder, else what it answered, else the discussion.
        spot = comment.pk if placeholder else comment.parent_id
        anchor = f"#comment-{spot}" if spot else "#responses"
        return see_other(comment.article.get_absolute_url() + anchor)
    return render(request, "comments/delete.html", {"comment": comment})
