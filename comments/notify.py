"""Email from Threadline: editors hear of a comment's first report, and authors who asked
hear of each reply to their comment once that reply is approved.

``comments.services`` calls these inside the transaction that makes the news (a reply
posted approved or approved by an editor, a first report), and each message is queued in
the mail outbox (``core.outbox``) in that same transaction: it is sent, later and by a
worker, if and only if the change commits, and no request waits on a mail server. Each
message has an idempotency key, so a reply approved twice, or restored after a removal,
notifies once. Held, spam and removed replies notify nobody.

Messages are plain text (written here) with an HTML alternative (templates/comments/mail/),
in the site's language (``LANGUAGE_CODE``: whoever causes a notification is not its
recipient). The HTML shows reader text escaped, and comment bodies cleaned by the sanitizer
as pages show them. No header carries text a reader typed: subjects name the comment's number or
the article's title (an editor's), addresses have passed EmailField validation, and the
threading headers are made of numbers. Every reply to one comment names that comment in
``In-Reply-To`` and ``References``, so mail clients show those replies as one thread.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from comments import roles
from core import outbox


def editor_addresses() -> list[str]:
    """COMMENTS_MODERATOR_EMAILS, plus every editor (``roles.editors``) with an email."""
    addresses = set(settings.COMMENTS_MODERATOR_EMAILS)
    addresses.update(roles.editors().exclude(email="").values_list("email", flat=True))
    return sorted(addresses)


def _html(template: str, subject: str, context: dict) -> str:
    """The HTML part, from ``templates/comments/mail/<template>.html`` (autoescaped)."""
    context = {**context, "subject": subject, "language": translation.get_language()}
    return render_to_string(f"comments/mail/{template}.html", context)


def _text(*paragraphs: str) -> str:
    """The plain-text part, put together here: plain text needs no escaping, which a
    template would apply."""
    return "\n\n".join(paragraphs) + "\n"


def first_report(comment) -> int:
    """Queue a message to each editor: a comment was reported for the first time. Returns
    how many were queued (none for an editor told of this comment before)."""
    url = settings.SITE_URL + reverse("admin:comments_comment_change", args=[comment.pk])
    queued = 0
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Comment #%(number)s was reported") % {"number": comment.pk}
        text = _text(
            gettext("A reader reported comment #%(number)s on “%(title)s”.")
            % {"number": comment.pk, "title": comment.article.title},
            comment.body,
            gettext("Review it: %(url)s") % {"url": url},
        )
        html = _html(
            "report", subject, {"comment": comment, "article": comment.article, "url": url}
        )
        for address in editor_addresses():
            queued += (
                outbox.queue(
                    key=f"report:{comment.pk}:{address.lower()}",
                    kind="report",
                    recipient=address,
                    subject=subject,
                    text=text,
                    html=html,
                    headers={"Auto-Submitted": "auto-generated"},
                )
                is not None
            )
    return queued


def reply_approved(reply) -> int:
    """Queue the message telling the author of the comment ``reply`` answers, if they asked
    to hear of replies, the reply is visible, and it is not their own. Returns 1 if it was
    queued, 0 if not (or if it was queued before)."""
    parent = reply.parent
    if parent is None or not parent.notify_replies or not reply.is_visible:
        return 0
    address = parent.user.email if parent.user_id else parent.author_email
    own = (parent.user_id and parent.user_id == reply.user_id) or (
        not parent.user_id and address and address.lower() == reply.author_email.lower()
    )
    if not address or own:
        return 0
    article = reply.article
    url = settings.SITE_URL + reply.get_absolute_url()
    thread = outbox.thread_id(f"comment-{parent.pk}")
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("New reply to your comment on “%(title)s”") % {"title": article.title}
        text = _text(
            gettext("%(author)s replied to your comment on “%(title)s”:")
            % {"author": reply.display_author, "title": article.title},
            reply.body,
            gettext("Read it in the discussion: %(url)s") % {"url": url},
        )
        html = _html("reply", subject, {"reply": reply, "article": article, "url": url})
    message = outbox.queue(
        key=f"reply:{reply.pk}:{address.lower()}",
        kind="reply",
        recipient=address,
        subject=subject,
        text=text,
        html=html,
        headers={"In-Reply-To": thread, "References": thread, "Auto-Submitted": "auto-generated"},
    )
    return int(message is not None)
