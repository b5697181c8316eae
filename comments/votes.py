"""Votes: the one door for writing them, the order keys they give a comment, and how
cached pages learn of them.

A vote changes one comment's counts (``upvotes``, ``downvotes``) and order keys (``score``,
``best``, ``controversy``) in the vote's own transaction. It locks that comment's row
(``SELECT … FOR NO KEY UPDATE``), which serializes the votes on one comment, and never its
thread's advisory lock: a vote does not queue behind the replies being written to the thread
(docs/locking.md). Votes on one comment add up exactly, because each vote changes the counts
by its difference under that row lock; ``votes_recount`` recomputes them from the rows.

Cached pages are not emptied by votes. A vote notes its *refresh slot* (the time divided
by ``COMMENTS_SCORE_REFRESH_SECONDS``) on the article after its commit, at most once a slot,
and skipping the row if a writer holds it; ``scores_key`` turns that stamp into the part of
a page's cache key and ETag that follows scores, so under a stream of votes a cached page is
drawn again at most a few times a slot, and a slot after the last vote every page shows it.
The voter sees their own vote at once: their page is their own (``selectors``).
"""

import datetime
import math
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from articles.models import Article
from comments.models import Ban, Comment, Vote

Z = 1.281551565545  # 80% confidence, as Reddit's "best"

NOT_VOTABLE = _("This comment cannot be voted on.")
CLOSED = _("Voting is closed on this article.")
OWN = _("You cannot vote on your own comment.")
BANNED = _("You cannot vote while you are banned from commenting.")
BAD_VALUE = _("A vote is 1 (up), -1 (down) or 0 (withdraw).")
LOG_IN = _("Log in to vote.")


def wilson_lower_bound(ups: int, downs: int) -> float:
    """The lower bound of the Wilson score interval for the share of up votes (0 if none)."""
    n = ups + downs
    if n == 0:
        return 0.0
    p = ups / n
    z2 = Z * Z
    return (p + z2 / (2 * n) - Z * math.sqrt((p * (1 - p) + z2 / (4 * n)) / n)) / (1 + z2 / n)


def controversy(ups: int, downs: int) -> float:
    """(ups + downs) ^ (minority / majority); 0 unless both sides voted."""
    if ups <= 0 or downs <= 0:
        return 0.0
    return float((ups + downs) ** (min(ups, downs) / max(ups, downs)))


def order_keys(ups: int, downs: int) -> dict:
    """Every vote-derived field of a comment, from its counts."""
    return {
        "upvotes": ups,
        "downvotes": downs,
        "score": ups - downs,
        "best": wilson_lower_bound(ups, downs),
        "controversy": controversy(ups, downs),
    }


@dataclass(frozen=True)
class Voter:
    """Who votes: an account, or (with COMMENTS_ANONYMOUS_VOTES) a signed cookie and a
    keyed hash of the address. ``owned_ids`` are the comments a reader without an account
    wrote in this browser; ``ip_address`` is only for the ban check."""

    user: object = None
    cookie: str = ""
    address: str = ""
    ip_address: str | None = None
    owned_ids: frozenset[int] = field(default_factory=frozenset)

    def owns(self, comment: Comment) -> bool:
        if self.user is not None:
            return comment.user_id == self.user.pk
        return comment.pk in self.owned_ids


def _banned(voter: Voter) -> bool:
    """Whether a ban in force names this voter: asked only when some ban is in force (most
    of the time none is, and the vote's first statement says so)."""
    return Ban.objects.matching(user=voter.user, ip_address=voter.ip_address).exists()


# A vote runs a hundred times a second on a busy article, and the ORM's building of each
# query cost more CPU than the rest of the vote (``make bench``, "Votes and cached pages"):
# the statements of the vote itself are written out here, once. The rules stay in Python
# (``Comment.is_visible``, ``Article.is_published``, ``Article.accepts_comments``).
# The first statement reads what the rules need of the comment (locked) and its article,
# and whether any ban is in force at all (``BanQuerySet.active``, the same rule in SQL).
# The voter's own votes are read by the next statement: only a statement that starts once
# the lock is held sees what the vote before it committed.
_LOCK = (
    "SELECT c.status, c.deleted_at, c.user_id, c.upvotes, c.downvotes, c.article_id, "
    "a.comments_open, a.published_at, a.votes_stamp, "
    "EXISTS (SELECT 1 FROM comments_ban b WHERE b.until IS NULL OR b.until > %s) "
    "FROM comments_comment c JOIN articles_article a ON a.id = c.article_id WHERE c.id = %s"
)
_LOCK_ROW = {  # SQLite has one writer at a time: there the transaction is the lock
    "postgresql": " FOR NO KEY UPDATE OF c",
    "sqlite": "",
}
_MINE_BY_ACCOUNT = (
    "SELECT id, value, counted FROM comments_vote WHERE comment_id = %s AND user_id = %s"
)
_MINE_BY_BROWSER = (
    "SELECT id, value, counted FROM comments_vote WHERE comment_id = %s AND user_id IS NULL "
    "AND (cookie = %s OR address = %s) ORDER BY id"
)
_INSERT = (
    "INSERT INTO comments_vote (comment_id, user_id, cookie, address, value, counted, "
    "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_CHANGE = "UPDATE comments_vote SET value = %s, counted = %s WHERE id = %s"
_DELETE = "DELETE FROM comments_vote WHERE id = %s"
_COUNTS = (  # the columns in the order of ``order_keys``
    "UPDATE comments_comment SET upvotes = %s, downvotes = %s, score = %s, best = %s, "
    "controversy = %s WHERE id = %s"
)


def _now():
    """The time now as this database's raw statements take it (the ORM's conversion)."""
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _aware(moment):
    """A datetime from a raw query as the ORM would give it (SQLite gives naive UTC)."""
    if moment is not None and settings.USE_TZ and timezone.is_naive(moment):
        return timezone.make_aware(moment, datetime.UTC)
    return moment


def _locked(cursor, comment_pk: int):
    """(comment, whether any ban is in force): the comment's row locked as a vote locks it,
    with what the rules read of it and of its article (an unsaved Article carrying those
    fields); (None, False) if it is gone."""
    cursor.execute(_LOCK + _LOCK_ROW[connection.vendor], [_now(), comment_pk])
    row = cursor.fetchone()
    if row is None:
        return None, False
    status, deleted_at, user_id, ups, downs, article_id, open_, published_at, stamp_, bans = row
    article = Article(
        pk=article_id,
        comments_open=bool(open_),
        published_at=_aware(published_at),
        votes_stamp=stamp_,
    )
    comment = Comment(
        pk=comment_pk,
        status=status,
        deleted_at=_aware(deleted_at),
        user_id=user_id,
        upvotes=ups,
        downvotes=downs,
        article_id=article_id,
    )
    comment.article = article
    return comment, bool(bans)


def _mine(cursor, comment_pk: int, voter: Voter) -> list[tuple[int, int, bool]]:
    """(id, value, counted) of this voter's votes on the comment: by account, or by cookie
    or address without one (two rows at most: a cookie's and an address's)."""
    if voter.user is not None:
        cursor.execute(_MINE_BY_ACCOUNT, [comment_pk, voter.user.pk])
    else:
        cursor.execute(_MINE_BY_BROWSER, [comment_pk, voter.cookie, voter.address])
    return [(pk, old, bool(kept)) for pk, old, kept in cursor.fetchall()]


def comment_vote(*, comment_pk: int, voter: Voter, value: int) -> tuple[Comment, int]:
    """Cast (1 or -1), change or withdraw (0) ``voter``'s vote on a comment; returns the
    comment (its state, its counts and its article's publication fields) and the voter's
    vote now. A ValidationError with the reader's message when the vote is not allowed:
    the comment is not visible, the article does not take comments, it is the voter's own,
    or the voter is banned."""
    if value not in (1, -1, 0):
        raise ValidationError(BAD_VALUE)
    if voter.user is None and not (voter.cookie and voter.address):
        raise ValidationError(LOG_IN)
    with transaction.atomic(), connection.cursor() as cursor:
        comment, bans_in_force = _locked(cursor, comment_pk)
        if bans_in_force and _banned(voter):
            raise ValidationError(BANNED)
        if comment is None or not comment.is_visible or not comment.article.is_published:
            raise ValidationError(NOT_VOTABLE)
        if not comment.article.accepts_comments:
            raise ValidationError(CLOSED)
        if voter.owns(comment):
            raise ValidationError(OWN)
        mine = _mine(cursor, comment_pk, voter)
        counted = [old for _, old, kept in mine if kept]
        before = sum(counted)
        ups = comment.upvotes - counted.count(1) + (value == 1)
        downs = comment.downvotes - counted.count(-1) + (value == -1)
        for pk, _, _ in mine[1:]:  # a cookie's vote and an address's: they become one
            cursor.execute(_DELETE, [pk])
        if mine and value == 0:
            cursor.execute(_DELETE, [mine[0][0]])
        elif mine:
            cursor.execute(_CHANGE, [value, True, mine[0][0]])
        elif value:
            user_id = voter.user.pk if voter.user is not None else None
            cookie, address = ("", "") if user_id else (voter.cookie, voter.address)
            cursor.execute(_INSERT, [comment_pk, user_id, cookie, address, value, True, _now()])
        if value != before or len(mine) > 1:
            keys = order_keys(ups, downs)
            cursor.execute(_COUNTS, [*keys.values(), comment_pk])
            for name, key in keys.items():
                setattr(comment, name, key)
            if comment.article.votes_stamp < current_slot():
                article_id = comment.article_id
                transaction.on_commit(lambda: stamp(article_id))
    return comment, value


def tallies(pks) -> dict[int, tuple[int, int]]:
    """(ups, downs) of the counted votes on these comments, from the vote rows."""
    rows = (
        Vote.objects.filter(comment_id__in=pks, counted=True)
        .values("comment_id")
        .annotate(ups=Count("pk", filter=Q(value=1)), downs=Count("pk", filter=Q(value=-1)))
    )
    return {row["comment_id"]: (row["ups"], row["downs"]) for row in rows}


def miscounted(queryset=None) -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
    """Comments whose counts or order keys disagree with their vote rows, as
    (pk, (stored ups, downs), (counted ups, downs)); one query (one snapshot), no writes."""
    counted = Q(votes__counted=True)
    comments = (queryset if queryset is not None else Comment.objects.all()).annotate(
        true_ups=Count("votes", filter=counted & Q(votes__value=1)),
        true_downs=Count("votes", filter=counted & Q(votes__value=-1)),
    )
    rows = comments.filter(
        Q(upvotes__gt=0) | Q(downvotes__gt=0) | Q(true_ups__gt=0) | Q(true_downs__gt=0)
    ).values_list("pk", "upvotes", "downvotes", "best", "controversy", "true_ups", "true_downs")
    wrong = []
    for pk, ups, downs, best, contro, true_ups, true_downs in rows.order_by("pk"):
        keys = order_keys(true_ups, true_downs)
        stale = not (
            math.isclose(best, keys["best"], abs_tol=1e-9)
            and math.isclose(contro, keys["controversy"], abs_tol=1e-9)
        )
        if (ups, downs) != (true_ups, true_downs) or stale:
            wrong.append((pk, (ups, downs), (true_ups, true_downs)))
    return wrong


def votes_recount(*, pks) -> int:
    """Set these comments' counts and order keys from their counted vote rows (each row
    locked as a vote would); returns how many changed."""
    changed = 0
    with transaction.atomic():
        locked = Comment.objects.select_for_update(no_key=True).filter(pk__in=list(pks))
        rows = list(locked.order_by("pk").values_list("pk", "upvotes", "downvotes", "article_id"))
        counted = tallies([row[0] for row in rows])
        articles = set()
        for pk, ups, downs, article_id in rows:
            keys = order_keys(*counted.get(pk, (0, 0)))
            Comment.objects.filter(pk=pk).update(**keys)
            if (ups, downs) != (keys["upvotes"], keys["downvotes"]):
                changed += 1
                articles.add(article_id)
        for article_id in articles:
            transaction.on_commit(lambda article_id=article_id: stamp(article_id))
    return changed


def votes_discount(*, users) -> int:
    """An editor discounts every vote of these (banned) accounts: the rows stay, marked
    not counted, and the comments they were on are recounted. Returns how many votes."""
    with transaction.atomic():
        votes = Vote.objects.filter(user__in=users, counted=True)
        pks = set(votes.values_list("comment_id", flat=True))
        discounted = votes.update(counted=False)
        votes_recount(pks=pks)
    return discounted


def refresh_seconds() -> int:
    return max(1, settings.COMMENTS_SCORE_REFRESH_SECONDS)


def current_slot() -> int:
    return int(time.time() // refresh_seconds())


def stamp(article_id: int) -> None:
    """Note on the article that its scores changed in this refresh slot; at most one write
    a slot (a vote that read the slot already stamped skips it), and none while a writer
    holds the article's row (its own change refreshes the pages anyway), so a vote never
    waits for it."""
    slot = current_slot()
    if connection.vendor != "postgresql":
        Article.objects.filter(pk=article_id, votes_stamp__lt=slot).update(votes_stamp=slot)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE articles_article SET votes_stamp = %s WHERE id = ("
            "SELECT id FROM articles_article WHERE id = %s AND votes_stamp < %s "
            "FOR NO KEY UPDATE SKIP LOCKED)",
            [slot, article_id, slot],
        )


def scores_key(article) -> str:
    """The part of a page's cache key and ETag that follows its scores.

    While votes arrive in the current slot it changes as the slot does; one second after
    the slot of the latest vote has ended it settles on that slot for good, so the pages
    drawn from then on hold every vote, and a quiet article keeps its pages."""
    latest = article.votes_stamp
    if not latest:
        return "0"
    seconds = refresh_seconds()
    now = time.time()
    if now - 1 >= (latest + 1) * seconds:
        return str(latest)
    # The slot alone, not the stamp with it: under a stream of votes the stamp moves on
    # a moment after the slot turns, and a key that changed twice would draw each page twice.
    return f"~{int(now // seconds)}"
