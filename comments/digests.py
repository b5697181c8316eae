"""The daily mails: each reader's digest of the discussions they follow that way, and the
editors' summary of the moderation queue (``COMMENTS_MODERATOR_DIGEST``).

Both are tasks the workers enqueue once a day, with the day as their argument
(``core.daily``; registered in comments/apps.py). Each message's idempotency key names
the address and the day (``digest:<address>:<day>``, ``moderation:<day>:<address>``), so
a task run twice for one day, or by two workers at once, sends each address one mail.

A digest lists the comments approved in each followed discussion since that follow's
previous digest (``Follow.digested_through``) that are still visible, but for the reader's
own. Each address is written in a transaction of its own, its row locked (``SKIP LOCKED``:
a second worker passes over an address the first is writing), and its follows move on to
the time of the run only if its message was queued; when the day's message went out
earlier, what came since waits for the next day's. Nothing is lost to a day without a run.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from comments.models import Comment
from comments.notify import queue_notification, to_editors
from subscriptions.models import Address, Follow

ITEMS = 30  # comments listed per discussion or per part of the queue; a count for the rest
EXCERPT = 200  # characters of each comment in a digest


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


@task
def send_digests(day: str) -> int:
    """The digest of ``day`` ("YYYY-MM-DD") for every confirmed address that follows a
    discussion by digest and has news. Returns how many were queued."""
    now = timezone.now()
    addresses = (
        Address.objects.confirmed()
        .filter(follows__mode=Follow.Mode.DIGEST)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(digest_for(pk, day=day, now=now) for pk in list(addresses))


def digest_for(address_pk: int, *, day: str, now) -> int:
    """Queue one address's digest of ``day``, listing what was approved up to ``now``."""
    with transaction.atomic():
        address = (
            Address.objects.confirmed()
            .select_for_update(skip_locked=True)
            .filter(pk=address_pk)
            .first()
        )
        if address is None:
            return 0  # another worker holds it, or it is gone
        follows = list(
            address.follows.filter(mode=Follow.Mode.DIGEST)
            .select_related("article")
            .order_by("article__title", "pk")
        )
        own = Q(user__email__iexact=address.email) | Q(
            user__isnull=True, author_email__iexact=address.email
        )
        with translation.override(settings.LANGUAGE_CODE):
            sections = [
                section
                for follow in follows
                if (section := _section(follow, own=own, now=now)) is not None
            ]
            queued = bool(sections) and _queue_digest(address.email, day, sections)
        if queued or not sections:  # (never back: another worker may have run later)
            Follow.objects.filter(pk__in=[f.pk for f in follows], digested_through__lt=now).update(
                digested_through=now
            )
        return int(queued)


def _section(follow, *, own: Q, now) -> dict | None:
    news = (
        Comment.objects.visible()
        .on_published_articles()
        .filter(
            article_id=follow.article_id,
            approved_at__gt=follow.digested_through,
            approved_at__lte=now,
        )
        .exclude(own)
        .select_related("user")
        .order_by("approved_at", "pk")
    )
    items = list(news[: ITEMS + 1])
    if not items:
        return None
    total = len(items) if len(items) <= ITEMS else news.count()
    article = follow.article
    url = settings.SITE_URL + article.get_absolute_url()
    rest = total - min(total, ITEMS)
    return {
        "article": article,
        "url": url,
        "total": total,
        "items": [
            {
                "author": comment.display_author,
                "excerpt": excerpt(comment.body),
                "url": settings.SITE_URL + comment.get_absolute_url(),
            }
            for comment in items[:ITEMS]
        ],
        "more": (
            ngettext("And %(count)d more.", "And %(count)d more.", rest) % {"count": rest}
            if rest
            else ""
        ),
    }


def _queue_digest(email: str, day: str, sections: list[dict]) -> bool:
    total = sum(section["total"] for section in sections)
    subject = ngettext(
        "%(count)d new comment in the discussions you follow",
        "%(count)d new comments in the discussions you follow",
        total,
    ) % {"count": total}
    intro = gettext("New comments since your last digest:")
    paragraphs = [intro]
    for section in sections:
        lines = [f"“{section['article'].title}” — {section['url']}"]
        lines += [
            f"- {item['author']}: {item['excerpt']}\n  {item['url']}" for item in section["items"]
        ]
        if section["more"]:
            lines.append(section["more"])
        paragraphs.append("\n".join(lines))
    return queue_notification(
        key=f"digest:{email}:{day}",
        kind="digest",
        recipient=email,
        scope="digest",
        subject=subject,
        paragraphs=paragraphs,
        why=gettext("You get this because you follow these discussions by daily digest."),
        template="digest",
        context={"intro": intro, "sections": sections},
    )


@task
def send_moderator_digest(day: str) -> int:
    """With ``COMMENTS_MODERATOR_DIGEST`` on and comments waiting for review, the summary
    of ``day`` to each editor and moderation address that has not asked to stop it.
    Returns how many were queued."""
    if not settings.COMMENTS_MODERATOR_DIGEST:
        return 0
    held = Comment.objects.filter(status=Comment.Status.PENDING)
    reported = Comment.objects.filter(
        status=Comment.Status.APPROVED, flags__reviewed=False
    ).distinct()
    with translation.override(settings.LANGUAGE_CODE):
        sections = [
            section
            for section in (
                _queue_part(held, gettext("Held for review")),
                _queue_part(reported, gettext("Reported, still shown")),
            )
            if section is not None
        ]
        if not sections:
            return 0
        total = sum(section["total"] for section in sections)
        subject = ngettext(
            "%(count)d comment waits for review",
            "%(count)d comments wait for review",
            total,
        ) % {"count": total}
        queue_url = settings.SITE_URL + reverse("admin:comments_queuedcomment_changelist")
        intro = gettext("The moderation queue today:")
        paragraphs = [intro]
        for section in sections:
            lines = [f"{section['heading']} ({section['total']})"]
            lines += [f"- {item['label']}: {item['url']}" for item in section["items"]]
            if section["more"]:
                lines.append(section["more"])
            paragraphs.append("\n".join(lines))
        paragraphs.append(gettext("Open the moderation queue: %(url)s") % {"url": queue_url})
        return to_editors(
            key=f"moderation:{day}",
            kind="moderation",
            scope="moderation",
            choice="moderation_digest",
            subject=subject,
            paragraphs=paragraphs,
            why=gettext("You get this as an editor: the daily moderation digest."),
            template="moderation",
            context={"intro": intro, "sections": sections, "queue_url": queue_url},
        )


def _queue_part(comments, heading: str) -> dict | None:
    rows = list(comments.select_related("article").order_by("created_at", "pk")[: ITEMS + 1])
    if not rows:
        return None
    total = len(rows) if len(rows) <= ITEMS else comments.count()
    rest = total - min(total, ITEMS)
    return {
        "heading": heading,
        "total": total,
        "items": [
            {
                "label": gettext("Comment #%(number)s on “%(title)s”")
                % {"number": comment.pk, "title": comment.article.title},
                "url": settings.SITE_URL
                + reverse("admin:comments_comment_change", args=[comment.pk]),
            }
            for comment in rows[:ITEMS]
        ],
        "more": (
            ngettext("And %(count)d more.", "And %(count)d more.", rest) % {"count": rest}
            if rest
            else ""
        ),
    }
