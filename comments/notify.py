"""Email from Threadline: who is told of what, and the messages.

- A comment that becomes visible (``comment_approved``: posted approved, or approved by an
  editor) is news for three kinds of reader: its own author, who asked to hear of replies
  and has not confirmed their address yet (one confirmation mail, nothing else:
  ``subscriptions.services.request_confirmation``); the author of the comment it answers,
  if they asked to hear of replies; and the discussion's followers who chose to hear of
  each comment. Nobody hears of their own comment, and a reader who is both the parent's
  author and a follower gets the reply, not a second mail. Held, spam and removed
  comments are news to nobody.
- A comment's first report: editors and ``COMMENTS_MODERATOR_EMAILS`` (``first_report``).
- The daily digests are in ``comments.digests``.

Only confirmed addresses are written to (``subscriptions``): an account's address, or one
its owner confirmed through the link mailed to it.

``comments.services`` calls these inside the transaction that makes the news, and each
message is queued in the mail outbox (``core.outbox``) in that same transaction: it is sent,
later and by a worker, if and only if the change commits. Each message has an idempotency
key (``reply:<comment>:<address>``, ``follow:<comment>:<address>``,
``report:<comment>:<address>``), so a comment approved twice, or restored after a removal,
is news once.

Messages are plain text (written here) with an HTML alternative (templates/comments/mail/),
in the site's language (``LANGUAGE_CODE``: whoever causes a notification is not its
recipient). The HTML shows reader text escaped, and comment bodies cleaned by the sanitizer
as pages show them. No header carries text a reader typed: subjects name the comment's
number or the article's title (an editor's), addresses have passed EmailField validation,
and the threading headers are made of numbers. Every reply to one comment names that
comment in ``In-Reply-To`` and ``References``, and every comment a follower hears of names
its article, so mail clients thread them. Every notification carries a signed link that
stops that kind of mail, also as the ``List-Unsubscribe`` header with
``List-Unsubscribe-Post`` (RFC 8058 one-click: comments/following.py answers it), and a
link to the page of everything the address hears of.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from comments import roles
from core import outbox
from subscriptions import services as subscriptions
from subscriptions import tokens
from subscriptions.models import Follow, normalize


def editor_addresses() -> list[str]:
    """COMMENTS_MODERATOR_EMAILS, plus every editor (``roles.editors``) with an address
    (an account's address is a confirmed one), in lower case."""
    addresses = {normalize(address) for address in settings.COMMENTS_MODERATOR_EMAILS}
    editors = roles.editors().exclude(email="").values_list("email", flat=True)
    addresses.update(normalize(address) for address in editors)
    return sorted(addresses)


def author_address(comment) -> str:
    """The address of the comment's author (an account's, or the one given with it), in
    lower case; "" when there is none."""
    return normalize(comment.user.email if comment.user_id else comment.author_email)


def links(email: str, scope: str) -> tuple[str, str]:
    """(the link that stops ``scope`` mail to ``email``, the link to its page)."""
    unsubscribe = reverse("unsubscribe", args=[tokens.unsubscribe_token(email=email, scope=scope)])
    manage = reverse("manage_notifications", args=[tokens.manage_token(email=email)])
    return settings.SITE_URL + unsubscribe, settings.SITE_URL + manage


def queue_notification(
    *,
    key: str,
    kind: str,
    recipient: str,
    scope: str,
    subject: str,
    paragraphs: list[str],
    why: str,
    template: str,
    context: dict,
    headers: dict[str, str] | None = None,
) -> bool:
    """Queue one notification to ``recipient``: the text (``paragraphs``, then a footer
    saying ``why`` it was sent, with the unsubscribe and manage links), the HTML from
    ``templates/comments/mail/<template>.html``, the unsubscribe headers. Call it under the
    site's language. Returns whether it was queued (not before, under this key)."""
    recipient = normalize(recipient)
    unsubscribe_url, manage_url = links(recipient, scope)
    footer = [
        why,
        gettext("Stop these emails: %(url)s") % {"url": unsubscribe_url},
        gettext("Everything we send you: %(url)s") % {"url": manage_url},
    ]
    html = render_to_string(
        f"comments/mail/{template}.html",
        {
            **context,
            "subject": subject,
            "language": translation.get_language(),
            "why": why,
            "unsubscribe_url": unsubscribe_url,
            "manage_url": manage_url,
        },
    )
    message = outbox.queue(
        key=key,
        kind=kind,
        recipient=recipient,
        subject=subject,
        text="\n\n".join([*paragraphs, "-- ", *footer]) + "\n",
        html=html,
        headers={
            **(headers or {}),
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    return message is not None


def to_editors(*, key: str, scope: str, choice: str, **message) -> int:
    """Queue ``message`` to each editor (``editor_addresses``) who has not turned off
    ``choice`` (an ``Address`` field: "reports", "moderation_digest"), keyed
    ``<key>:<address>``, its unsubscribe link stopping ``scope``; how many were queued."""
    queued = 0
    for address in editor_addresses():
        if not subscriptions.muted(address, choice):
            queued += queue_notification(
                key=f"{key}:{address}", recipient=address, scope=scope, **message
            )
    return queued


def withdraw(pks) -> int:
    """Withdraw the reply and follow notifications of these comments not sent yet (they were
    removed, marked spam, held again or deleted: no longer news). Once withdrawn, a message
    is not queued again under its key, so approving the comment again tells nobody."""
    return outbox.withdraw([f"{kind}:{pk}:" for pk in pks for kind in ("reply", "follow")])


def first_report(comment) -> int:
    """Queue a message to each editor: a comment was reported for the first time. Returns
    how many were queued (none for an editor told of this comment before, or who asked to
    hear of reports no more)."""
    url = settings.SITE_URL + reverse("admin:comments_comment_change", args=[comment.pk])
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Comment #%(number)s was reported") % {"number": comment.pk}
        paragraphs = [
            gettext("A reader reported comment #%(number)s on “%(title)s”.")
            % {"number": comment.pk, "title": comment.article.title},
            comment.body,
            gettext("Review it: %(url)s") % {"url": url},
        ]
        return to_editors(
            key=f"report:{comment.pk}",
            kind="report",
            scope="reports",
            choice="reports",
            subject=subject,
            paragraphs=paragraphs,
            why=gettext("You get this as an editor: a comment's first report."),
            template="report",
            context={"comment": comment, "article": comment.article, "url": url},
        )


def comment_approved(comment) -> int:
    """``comment`` has just become visible: ask its author to confirm their address if
    they want replies and have not, and queue the notifications it is news for (module
    docstring). Returns how many notifications were queued."""
    if not comment.is_visible:
        return 0
    own = author_address(comment)
    if (
        own
        and comment.notify_replies
        and not comment.user_id
        and not subscriptions.is_confirmed(own)
    ):
        subscriptions.request_confirmation(email=own)
    told = {own} - {""}  # nobody hears of their own comment
    with translation.override(settings.LANGUAGE_CODE):
        return _reply(comment, told) + _followers(comment, told)


def _reply(reply, told: set[str]) -> int:
    """The author of the comment ``reply`` answers, if they asked and their address is
    confirmed (then added to ``told``, even when the message went out before)."""
    parent = reply.parent
    if parent is None or not parent.notify_replies:
        return 0
    address = author_address(parent)
    if not address or address in told or not subscriptions.is_confirmed(address):
        return 0
    told.add(address)
    article = reply.article
    url = settings.SITE_URL + reply.get_absolute_url()
    thread = outbox.thread_id(f"comment-{parent.pk}")
    return int(
        queue_notification(
            key=f"reply:{reply.pk}:{address}",
            kind="reply",
            recipient=address,
            scope="replies",
            subject=gettext("New reply to your comment on “%(title)s”") % {"title": article.title},
            paragraphs=[
                gettext("%(author)s replied to your comment on “%(title)s”:")
                % {"author": reply.display_author, "title": article.title},
                reply.body,
                gettext("Read it in the discussion: %(url)s") % {"url": url},
            ],
            why=gettext("You get this because you asked to hear of replies to your comment."),
            template="reply",
            context={"reply": reply, "article": article, "url": url},
            headers={"In-Reply-To": thread, "References": thread},
        )
    )


def _followers(comment, told: set[str]) -> int:
    """Each confirmed address that follows the discussion comment by comment, but for
    those in ``told``."""
    followers = (
        Follow.objects.filter(
            article_id=comment.article_id,
            mode=Follow.Mode.IMMEDIATE,
            address__confirmed_at__isnull=False,
        )
        .exclude(address__email__in=told)
        .values_list("address__email", flat=True)
    )
    article = comment.article
    url = settings.SITE_URL + comment.get_absolute_url()
    thread = outbox.thread_id(f"article-{article.pk}")
    subject = gettext("New comment on “%(title)s”") % {"title": article.title}
    paragraphs = [
        gettext("%(author)s wrote in the discussion of “%(title)s”:")
        % {"author": comment.display_author, "title": article.title},
        comment.body,
        gettext("Read it in the discussion: %(url)s") % {"url": url},
    ]
    queued = 0
    for address in followers.order_by("address__email"):
        queued += queue_notification(
            key=f"follow:{comment.pk}:{address}",
            kind="follow",
            recipient=address,
            scope=f"follow:{article.pk}",
            subject=subject,
            paragraphs=paragraphs,
            why=gettext("You get this because you follow this discussion."),
            template="follow",
            context={"comment": comment, "article": article, "url": url},
            headers={"In-Reply-To": thread, "References": thread},
        )
    return queued
