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

import math
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q

from articles.models import Article
from comments.models import Ban, Comment, Vote

Z = 1.281551565545  # 80% confidence, as Reddit's "best"

NOT_VOTABLE = "This comment cannot be voted on."
CLOSED = "Voting is closed on this article."
OWN = "You cannot vote on your own comment."
BANNED = "You cannot vote while you are banned from commenting."
BAD_VALUE = "A vote is 1 (up), -1 (down) or 0 (withdraw)."


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

    def votes_q(self) -> Q:
        """This voter's votes: by account, or by cookie or address without one."""
        if self.user is not None:
            return Q(user=self.user)
        return Q(user__isnull=True) & (Q(cookie=self.cookie) | Q(address=self.address))

    def owns(self, comment: Comment) -> bool:
        if self.user is not None:
            return comment.user_id == self.user.pk
        return comment.pk in self.owned_ids


def _banned(voter: Voter) -> bool:
    return Ban.objects.matching(user=voter.user, ip_address=voter.ip_address).exists()


# What a vote reads of the comment it locks and of its article (the rules and the counts).
LOCKED_FIELDS = (
    "status",
    "deleted_at",
    "user_id",
    "upvotes",
    "downvotes",
    "article__comments_open",
    "article__published_at",
    "article__votes_stamp",
)


def comment_vote(*, comment_pk: int, voter: Voter, value: int) -> tuple[Comment, int]:
    """Cast (1 or -1), change or withdraw (0) ``voter``'s vote on a comment; returns the
    comment (only ``LOCKED_FIELDS`` and the new counts loaded) and the voter's vote now. A ValidationError with the
    reader's message when the vote is not allowed: the comment is not visible, the
    article does not take comments, it is the voter's own, or the voter is banned."""
    if value not in (1, -1, 0):
        raise ValidationError(BAD_VALUE)
    if voter.user is None and not (voter.cookie and voter.address):
        raise ValidationError("Log in to vote.")
    if _banned(voter):
        raise ValidationError(BANNED)
    with transaction.atomic():
        comment = (
            Comment.objects.on_published_articles()
            .select_for_update(no_key=True, of=("self",))
            .select_related("article")
            .only(*LOCKED_FIELDS)
            .filter(pk=comment_pk)
            .first()
        )
        if comment is None or not comment.is_visible:
            raise ValidationError(NOT_VOTABLE)
        if not comment.article.accepts_comments:
            raise ValidationError(CLOSED)
        if voter.owns(comment):
            raise ValidationError(OWN)
        mine = list(
            Vote.objects.filter(comment=comment)
            .filter(voter.votes_q())
            .values_list("pk", "value", "counted")
        )
        counted = [old for _, old, kept in mine if kept]
        before = sum(counted)
        ups = comment.upvotes - counted.count(1) + (value == 1)
        downs = comment.downvotes - counted.count(-1) + (value == -1)
        if len(mine) > 1:  # a cookie's vote and an address's: they become one
            Vote.objects.filter(pk__in=[pk for pk, _, _ in mine[1:]]).delete()
        if mine and value == 0:
            Vote.objects.filter(pk=mine[0][0]).delete()
        elif mine:
            Vote.objects.filter(pk=mine[0][0]).update(value=value, counted=True)
        elif value:
            Vote.objects.create(
                comment=comment,
                user=voter.user,
                cookie="" if voter.user else voter.cookie,
                address="" if voter.user else voter.address,
                value=value,
            )
        if value != before or len(mine) > 1:
            keys = order_keys(ups, downs)
            Comment.objects.filter(pk=comment.pk).update(**keys)
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
