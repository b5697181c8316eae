"""New comments for a reader who keeps an article open: a cheap conditional poll.

An article page names the discussion version it was drawn at. ``static/js/live.js`` asks
``GET /articles/<slug>/comments/new/?since=<version>`` every ``COMMENTS_LIVE_POLL_SECONDS``
while the tab is visible. While the version is unchanged the answer is a 304 read from
the cache alone: no database query, no session, no account. Otherwise the answer lists the
visible comments the page may lack, and the script asks for the ones it can place
(``?show=<pk>,...``): their elements, drawn by the discussion's own "comment" partial for
this reader, with the words for the button ("2 new comments") and the replies to the
reader's own comments marked (readers with nothing of their own share one drawing).
Nothing else here is personal: the poll reads neither session nor account.

**Which version is current.** Every write to a discussion goes through
``comments.services``, which calls ``discussion_changed`` in its transaction; after the
commit that stores the new version in the cache, and marks the one before it as gone.
A poll answers 304 only when the cache holds its version as current and not as gone, so
a late writer that stores an older version never hides a newer write (its version is
marked gone by the writer that replaced it). When the cache cannot say (empty, evicted,
Redis down) the poll reads the article row, one query, and puts what it read back. With
the local-memory cache each process has its own, which other processes' writes never
reach: there a version read from the database is trusted for one poll interval only.

**Which comments are new.** The page and the script know the comments on the page; the
server knows no history of statuses. So the script keeps a *floor*: every visible comment
at or below it is known to the page (or cannot go on it). The floor comes from the server:
the highest visible comment below the oldest held one (which an editor may approve later)
and older than ``SETTLE`` (so that a comment whose transaction has not committed yet,
with a lower pk than one that has, is never passed over). A changed poll lists the visible
comments above the client's floor (at most ``LIST_LIMIT``, the newest) and gives the new
floor; that answer is cached for the version, so after a change the first open page to ask
reads the database and the others (at the same floor, as they usually are) read the cache.
So a post and an approval both count; a comment restored from spam or removal below the
floor shows at the next reload.
"""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Min, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from articles.models import Article
from comments import selectors, votes
from comments.http import viewer_for
from comments.models import Comment, visible_q
from core import reads, release

SETTLE = timedelta(minutes=2)  # far longer than a write's transaction (its lock waits are bounded)
LIST_LIMIT = 500  # comments listed by one changed poll, the newest
SHOW_LIMIT = 100  # comments drawn by one ``?show=``
NO_PENDING = 2**62  # above every pk: the floor's bound when nothing is held
CACHE_CONTROL = "private, no-cache"


# --- the version, in the cache ------------------------------------------------------------


def version_key(slug: str) -> str:
    """The cache key of the article's current discussion version."""
    return f"live.{slug}"


def _gone_key(slug: str, version: int) -> str:
    return f"live.{slug}.gone.{version}"


def _floor_key(slug: str, version: int) -> str:
    return f"live.{slug}.floor.{version}"


def _lifetime() -> int:
    """Seconds a cached version is trusted: until the next write when the cache is shared by
    every app process (Redis), one poll interval when it is each process's own memory."""
    if settings.REDIS_URL:
        return settings.COMMENTS_CACHE_SECONDS
    return max(1, settings.COMMENTS_LIVE_POLL_SECONDS)


def _burst_lifetime() -> int:
    """Seconds the answers that every open page asks for right after a change are kept (what
    was added, the new comments' drawing): a few poll intervals."""
    return max(60, 4 * settings.COMMENTS_LIVE_POLL_SECONDS)


def discussion_changed(article_id: int) -> None:
    """Called by ``comments.services`` right after it bumps the article's discussion version,
    in the same transaction (the article row is locked until the commit): once committed,
    the new version is the cached current one and the one before it is gone."""
    slug, version = Article.objects.values_list("slug", "discussion_version").get(pk=article_id)

    def publish():
        lifetime = _lifetime()
        cache.set_many(
            {version_key(slug): version, _gone_key(slug, version - 1): True}, timeout=lifetime
        )

    transaction.on_commit(publish, robust=True)


def _answer_key(slug: str, version: int, after: int) -> str:
    return f"live.{slug}.answer.{version}.{after}"


def _cached(slug: str, since: int) -> tuple[int | None, int | None]:
    """(the version the cache holds as current, None when it cannot say; the floor it holds
    for ``since``). A version marked gone is never taken for current."""
    keys = [version_key(slug), _gone_key(slug, since), _floor_key(slug, since)]
    found = cache.get_many(keys)
    current = found.get(keys[0])
    if current == since and keys[1] in found:
        current = None  # a late writer stored it: the cache cannot say
    return current, found.get(keys[2])


def _cached_answer(slug: str, version: int, after: int) -> str | None:
    """The changed poll's answer for pages at floor ``after`` that another page got from the
    database, while ``version`` is still current: after a new comment every open page asks
    the same, and only the first costs queries."""
    keys = [_answer_key(slug, version, after), _gone_key(slug, version)]
    found = cache.get_many(keys)
    return None if keys[1] in found else found.get(keys[0])


def _article_state(slug: str) -> tuple[int, int, int] | None:
    """(pk, discussion version, floor) of the published article with this slug, read in one
    statement so that the floor belongs to that version; None when there is none."""
    comments = Comment.objects.order_by().values("article")
    held = comments.filter(article=OuterRef(OuterRef("pk")), status=Comment.Status.PENDING)
    settled = comments.filter(
        visible_q(),
        article=OuterRef("pk"),
        created_at__lt=timezone.now() - SETTLE,
        pk__lt=Coalesce(Subquery(held.annotate(low=Min("pk")).values("low")), Value(NO_PENDING)),
    )
    floor = Coalesce(Subquery(settled.annotate(high=Max("pk")).values("high")), Value(0))
    row = (
        Article.objects.published()
        .filter(slug=slug)
        .annotate(floor=floor)
        .values_list("pk", "discussion_version", "floor")
        .first()
    )
    # A version read from a lagging replica may be older than the one the cache holds as
    # current (the writers publish theirs): it is used for this answer, never published.
    if row is not None and not reads.from_replica():
        pk, version, floor = row
        lifetime = _lifetime()
        cache.set_many(
            {version_key(slug): version, _floor_key(slug, version): floor}, timeout=lifetime
        )
    return row


def _listed(article_id: int, after: int) -> list[list]:
    """[pk, parent pk] of the visible comments above ``after``, oldest first (the newest
    ``LIST_LIMIT`` of them)."""
    rows = (
        Comment.objects.filter(visible_q(), article_id=article_id, pk__gt=after)
        .order_by("-pk")
        .values_list("pk", "parent_id")[:LIST_LIMIT]
    )
    return [list(row) for row in reversed(rows)]


# --- the views ------------------------------------------------------------------------------


def _number(request, name: str):
    """The non-negative whole number in the query's ``name``: None when it is absent, a
    ValueError when it is something else."""
    value = request.GET.get(name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise ValueError(name)
    return int(value)


def _bad(message: str) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _private(response, version=None):
    response["Cache-Control"] = CACHE_CONTROL
    if version is not None:
        response["ETag"] = f'"{version}"'
    return response


def comments_new(request, slug):
    """What is new in the discussion since the page's version (``since``): a 304, or JSON
    ``{"version", "after", "comments": [[pk, parent], ...]}``; with ``show``, the elements
    of those comments (``new_comments``).

    ``after`` is the client's floor; without it (the page's first call), ``top``, the
    highest comment id on the page, and the answer gives the floor even when nothing
    changed (the one case where an unchanged version answers 200).
    """
    if "show" in request.GET:
        return new_comments(request, slug)
    try:
        since, after, top = (_number(request, name) for name in ("since", "after", "top"))
    except ValueError as error:
        return _bad(_("“%(name)s” must be a whole number.") % {"name": error.args[0]})
    if since is None:
        return _bad(_("“since” is required: the discussion version the page was drawn at."))
    current, floor = _cached(slug, since)
    if current == since:
        if after is not None:
            return _private(HttpResponse(status=304), since)
        if floor is not None:  # a first call, answered from the cache
            return _answer(since, floor, [])
    elif current is not None and current > since and after is not None:
        body = _cached_answer(slug, current, after)
        if body is not None:
            return _answer_body(current, body)
    state = _article_state(slug)
    if state is None:
        raise Http404("No article here.")
    pk, version, floor = state
    if version == since:
        if after is not None:
            return _private(HttpResponse(status=304), version)
        return _answer(version, floor, [])
    if after is None:  # a first call from a page already behind: trust only what it shows
        return _answer(version, floor, _listed(pk, min(floor, top or 0)))
    response = _answer(version, floor, _listed(pk, after))
    cache.set(_answer_key(slug, version, after), response.content.decode(), _burst_lifetime())
    return response


def _answer(version: int, floor: int, comments: list) -> HttpResponse:
    body = json.dumps({"version": version, "after": floor, "comments": comments})
    return _answer_body(version, body)


def _answer_body(version: int, body: str) -> HttpResponse:
    return _private(HttpResponse(body, content_type="application/json"), version)


def new_comments(request, slug):
    """The elements of the visible comments ``show`` names (comma-separated pks) as this
    reader sees them, in page order (parents before their replies), each in a <template>
    that says its parent and whether it replies to one of the reader's own comments; with
    the button's words and the discussion's new count of responses.

    A reader with nothing of their own here (no account, no comments of theirs, no votes)
    gets the drawing every such reader gets, cached for the discussion's version, scores
    and language: after a new comment every open page asks for it."""
    raw = request.GET.get("show", "")
    parts = raw.split(",") if raw else []
    ids = all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts)
    if not parts or len(parts) > SHOW_LIMIT or not ids:
        message = _("“show” must list comment ids, separated by commas (at most %(limit)d).")
        return _bad(message % {"limit": SHOW_LIMIT})
    article = selectors.published_article(slug)
    if article is None:
        raise Http404("No article here.")
    viewer = viewer_for(request)
    pks = sorted({int(p) for p in parts})
    key = None
    if not (viewer.user_id or viewer.owned_ids or viewer.editor or viewer.vote_cookie):
        drawn = ".".join(
            map(str, [release.stamp(), article.discussion_version, votes.scores_key(article)])
        )
        drawn += f".{get_language()}.{pks}"
        key = f"live.{slug}.show.{hashlib.sha256(drawn.encode()).hexdigest()[:24]}"
        html = cache.get(key)
        if html is not None:
            return _private(HttpResponse(html))
    html = _drawn(request, article, viewer, pks)
    if key is not None:
        cache.set(key, html, _burst_lifetime())
    return _private(HttpResponse(html))


def _drawn(request, article, viewer, pks) -> str:
    rows = list(
        Comment.objects.filter(visible_q(), article=article, pk__in=pks)
        .select_related("user")
        .order_by("tree_id", "lft")
    )
    nodes = selectors.page_nodes(rows, viewer)
    for node, row in zip(nodes, rows, strict=True):
        node.number = selectors.thread_position(row) if row.level == 0 else None
    replies = set()
    if viewer.user_id or viewer.owned_ids:
        parents = Comment.objects.filter(pk__in={r.parent_id for r in rows if r.parent_id})
        yours = {p.pk for p in parents.only("pk", "user_id") if viewer.owns(p)}
        replies = {row.pk for row in rows if row.parent_id in yours}
    count = len(nodes)
    context = {
        "article": article,
        "nodes": nodes,
        "replies_to_you": replies,
        "label": ngettext("%(count)d new comment", "%(count)d new comments", count)
        % {"count": count},
        "replies_label": (
            ngettext("%(count)d reply to you", "%(count)d replies to you", len(replies))
            % {"count": len(replies)}
            if replies
            else ""
        ),
        "response_count": selectors.response_count(article),
    }
    return render_to_string("comments/live_new.html", context, request)
