"""Every query that builds a page: the discussion of an article, a focused subtree, counts,
what the ETag covers, the number of a top-level comment.

Vocabulary (docs/architecture.md): a *discussion* is all comments of an article, a *thread*
one top-level comment with its replies (one ``tree_id``), a *subtree* what a focused page
shows. An article page shows the first ``COMMENTS_PAGE_THREADS`` threads, but never more
than ``COMMENTS_PAGE_MAX`` comments, and replies down to ``COMMENTS_MAX_DEPTH`` levels; a
"Continue this thread" link leads to the focused page of what is cut off.
"""

import bisect
from functools import cached_property

from django.conf import settings
from django.db.models import Count, Q

from articles.models import Article
from comments import ordering, roles
from comments.models import Comment, Vote, has_replies_q, visible_q
from comments.nodes import CommentNode, Viewer, build_nodes, mark_cut, node_for
from comments.ordering import ORDERS


def default_order() -> str:
    """COMMENTS_DEFAULT_ORDER (checked at start-up to be one of ``ORDERS``)."""
    order = settings.COMMENTS_DEFAULT_ORDER
    return order if order in ORDERS else "oldest"


def with_response_counts(articles):
    """These articles, each annotated with ``response_count`` (its visible comments)."""
    return articles.annotate(response_count=Count("comments", filter=visible_q("comments__")))


def article_list():
    """The home page: published articles, newest first, with their response counts."""
    return with_response_counts(Article.objects.published()).order_by(*Article._meta.ordering)


def response_count(article) -> int:
    return Comment.objects.filter(article=article).visible().count()


def root_filter(viewer: Viewer) -> Q:
    """Top-level comments that a page shows: visible ones, placeholders with replies, and
    the viewer's own pending ones."""
    condition = visible_q() | has_replies_q()
    if viewer.owned_ids:
        condition |= Q(pk__in=viewer.owned_ids)
    if viewer.user_id:
        condition |= Q(user_id=viewer.user_id)
    return condition


def thread_position(comment: Comment) -> int:
    """The number a top-level comment has on the article page (oldest first, from 1),
    counting it even while it is pending."""
    return (
        Comment.objects.filter(article_id=comment.article_id, level=0, tree_id__lte=comment.tree_id)
        .filter(visible_q() | Q(pk=comment.pk))
        .count()
    )


def is_thread_start(article, tree_id: int) -> bool:
    """Whether ``tree_id`` is a thread of this article: the only page cursors ("after")
    that a "Load more" link produces, and so the only ones worth a cache entry."""
    return Comment.objects.filter(article=article, level=0, tree_id=tree_id).exists()


def has_personal_view(article, viewer: Viewer) -> bool:
    """True when the page shows this viewer something others don't see (their controls,
    their pending comments, their votes, an editor's pins): such a page is rendered for
    them and never cached."""
    if viewer.owned_ids or viewer.editor:
        return True
    # Two indexed lookups (the account's comments, the viewer's votes) rather than one join
    # over the whole discussion.
    if viewer.user_id and Comment.objects.filter(article=article, user_id=viewer.user_id).exists():
        return True
    votes = viewer_votes(viewer)
    return votes is not None and votes.filter(comment__article=article).exists()


def viewer_votes(viewer: Viewer):
    """The viewer's votes: by account, or by their voter cookie; None if they can have none."""
    if viewer.user_id:
        return Vote.objects.filter(user_id=viewer.user_id)
    if viewer.vote_cookie:
        return Vote.objects.filter(user__isnull=True, cookie=viewer.vote_cookie)
    return None


def etag_parts(article, viewer: Viewer, *, order: str, minute: int) -> list:
    """What an article page depends on in the database and for this viewer: the
    discussion's version, whether it accepts comments, and who looks. A signed-in reader or
    an author may see controls that lapse with time (the edit window): for them ``minute``
    is part of it too."""
    personal = bool(viewer.user_id or viewer.owned_ids)
    return [
        article.pk,
        article.discussion_version,
        article.accepts_comments,
        minute if personal else None,
        viewer.user_id,
        sorted(viewer.owned_ids),
        order,
    ]


def editors_among(rows) -> frozenset[int]:
    """The ids of the editors among these comments' authors (one query, none without
    accounts): their comments carry the Editor badge."""
    return roles.editor_ids(row.user_id for row in rows if row.user_id)


def votes_of(viewer: Viewer, rows) -> dict[int, int]:
    """The viewer's votes on these comments (no query for a viewer who cannot have any)."""
    votes = viewer_votes(viewer)
    if votes is None:
        return {}
    return dict(votes.filter(comment__in=[row.pk for row in rows]).values_list("comment", "value"))


def node_of(comment: Comment, viewer: Viewer) -> CommentNode:
    """One comment's node, with its author's badge and the viewer's vote looked up."""
    editors = editors_among([comment])
    return node_for(comment, viewer, editors=editors, votes=votes_of(viewer, [comment]))


def page_nodes(rows, viewer: Viewer) -> list[CommentNode]:
    """``build_nodes`` with what it needs looked up: the editors and the viewer's votes."""
    return build_nodes(rows, viewer, editors=editors_among(rows), votes=votes_of(viewer, rows))


def newest_comments(article=None):
    """Visible comments on published articles (of one article, given one), newest first,
    with what a feed entry names: its author and article."""
    comments = Comment.objects.on_published_articles().visible()
    if article is not None:
        comments = comments.filter(article=article)
    return comments.select_related("article", "user").order_by("-created_at", "-pk")


def published_article(slug: str):
    """The published article with this slug, or None."""
    return Article.objects.published().filter(slug=slug).first()


def visible_comment(pk: int) -> Comment | None:
    """A visible comment with its article (what may be replied to or reported)."""
    comments = Comment.objects.on_published_articles().visible()
    return comments.select_related("article").filter(pk=pk).first()


def reachable_comment(pk: int, viewer: Viewer) -> tuple[Comment, CommentNode] | None:
    """The comment and its node as this viewer may see it; None for one they may not
    (pending, spam or removed without replies), so guessing ids reveals nothing."""
    comments = Comment.objects.on_published_articles().select_related("article", "user")
    comment = comments.filter(pk=pk).first()
    if comment is None:
        return None
    node = node_of(comment, viewer)
    if node.placeholder and not node.has_replies:
        return None
    return comment, node


class DiscussionPage:
    """One page of an article's discussion in one order (``comments.ordering``): which
    threads, their rows, where the next page starts. Nothing is queried until the template
    asks (so a cached fragment costs no query); the queries are the same few in every order
    and at every size."""

    def __init__(self, article, viewer: Viewer, *, order=None, after=None):
        self.article = article
        self.viewer = viewer
        self.order = order if order in ORDERS else default_order()
        self.after = after

    @cached_property
    def _roots(self):
        roots = Comment.objects.filter(article=self.article, level=0).filter(
            root_filter(self.viewer)
        )
        if self.after is not None:
            keys = [name for name, _ in ordering.root_keys(self.order)]
            cursor = (
                Comment.objects.filter(article=self.article, level=0, tree_id=self.after)
                .values(*keys)
                .first()
            )
            if cursor is not None:
                roots = roots.filter(ordering.after_q(self.order, cursor))
        limit = settings.COMMENTS_PAGE_THREADS
        roots = roots.order_by(*ordering.root_order_by(self.order))
        return list(roots.values("pk", "tree_id", "lft", "rght")[: limit + 1])

    @cached_property
    def _page(self):
        """(chosen roots, next cursor): threads until the page's comment budget is spent."""
        budget = settings.COMMENTS_PAGE_MAX
        limit = settings.COMMENTS_PAGE_THREADS
        chosen, total = [], 0
        for index, root in enumerate(self._roots):
            size = (root["rght"] - root["lft"] + 1) // 2
            if index == limit or (chosen and total + size > budget):
                return chosen, chosen[-1]["tree_id"]
            chosen.append(root)
            total += size
        return chosen, None

    @cached_property
    def nodes(self) -> list[CommentNode]:
        roots, _ = self._page
        if not roots:
            return []
        budget = settings.COMMENTS_PAGE_MAX
        deepest = settings.COMMENTS_MAX_DEPTH
        rows = Comment.objects.filter(
            article=self.article, tree_id__in=[root["tree_id"] for root in roots]
        ).filter(level__lte=deepest)
        rows, cut = arranged_rows(rows, self.order, [root["pk"] for root in roots], budget)
        nodes = page_nodes(rows, self.viewer)
        self._number(nodes, roots)
        holder, query = None, ""
        if cut is not None:  # only ever the page's one thread is cut
            holder = next(root["pk"] for root in roots if root["tree_id"] == cut.tree_id)
            query = continue_query(self.order, cut, sum(r.tree_id == cut.tree_id for r in rows))
        mark_cut(nodes, deepest=deepest, holder=holder, query=query)
        return nodes

    def _number(self, nodes, roots):
        """Number top-level comments by their place in the whole discussion, oldest = 1:
        one index-only query for the shown threads' ``tree_id`` in posting order, then a
        binary search per thread on the page."""
        if (
            self.order == "oldest"
            and self.after is None
            and not any(node.level == 0 and node.pinned for node in nodes)
        ):
            return
        shown = Comment.objects.filter(article=self.article, level=0).filter(
            root_filter(self.viewer)
        )
        tree_ids = list(shown.order_by("tree_id").values_list("tree_id", flat=True))
        for node in nodes:
            if node.level == 0:
                node.number = bisect.bisect_right(tree_ids, node.tree_id)

    @property
    def orders(self):
        """(order, label) for the page's order switch."""
        return ordering.LABELS.items()

    @cached_property
    def next_after(self):
        return self._page[1]

    @cached_property
    def response_count(self) -> int:
        return response_count(self.article)


def arranged_rows(rows, order: str, tops, budget: int) -> tuple[list[Comment], Comment | None]:
    """The first ``budget`` rows of these (a page's threads, or a subtree) in page order,
    fetched in two queries whatever the order: light rows to arrange, then the rows shown.
    Also the last row shown when more were left out (else None)."""
    if order == "oldest":  # page order is tree order: the database can stop early
        light = list(rows.order_by("tree_id", "lft").values(*ordering.LIGHT_FIELDS)[: budget + 1])
    else:
        light = list(rows.values(*ordering.LIGHT_FIELDS))
    light = ordering.arrange(light, order, tops)
    shown = light[:budget]
    full = Comment.objects.select_related("user").in_bulk([row["pk"] for row in shown])
    rows = [full[row["pk"]] for row in shown if row["pk"] in full]
    cut = rows[-1] if len(light) > budget and rows else None
    return rows, cut


class Subtree:
    """The focused page of one comment, which is also its permalink's context view.

    Up to two comments above it come first, for context; then it and its replies in the
    reader's order, ``COMMENTS_MAX_DEPTH`` levels down and at most ``COMMENTS_PAGE_MAX``
    rows, optionally continuing after the first ``start`` rows (then the comments above
    the first row shown come first instead). In the oldest order ``after`` (an ``lft``)
    says the same: continue after the row with ``lft == after``."""

    CONTEXT_LEVELS = 2

    def __init__(self, root: Comment, viewer: Viewer, *, order=None, after=None, start=None):
        self.root = root
        self.article = root.article
        self.viewer = viewer
        self.order = order if order in ORDERS else default_order()
        self.after = after
        self.start = start or 0

    @cached_property
    def nodes(self) -> list[CommentNode]:
        root, budget = self.root, settings.COMMENTS_PAGE_MAX
        deepest = root.level + settings.COMMENTS_MAX_DEPTH
        rows = Comment.objects.filter(
            tree_id=root.tree_id, lft__gte=root.lft, lft__lt=root.rght, level__lte=deepest
        )
        if self.after is not None and self.order == "oldest":
            # A run of pre-order after an lft: not one subtree, so not arranged.
            rows = list(rows.filter(lft__gt=self.after).select_related("user")[: budget + 1])
            cut = rows[budget - 1] if len(rows) > budget else None
            rows = rows[:budget]
        else:
            rows, cut = arranged_rows(rows, self.order, [root.pk], budget + self.start)
            rows = rows[self.start :]
        shown = len(rows)
        if rows:
            first = rows[0]
            context = Comment.objects.filter(
                tree_id=root.tree_id,
                lft__lt=first.lft,
                rght__gt=first.rght,
                level__gte=max(0, root.level - self.CONTEXT_LEVELS),
            ).select_related("user")
            rows = [*context.order_by("lft"), *rows]
        nodes = page_nodes(rows, self.viewer)
        for node in nodes:
            node.number = None
            node.focus = node.pk == root.pk
        query = cut and continue_query(self.order, cut, self.start + shown)
        mark_cut(nodes, deepest=deepest, holder=root.pk if cut else None, query=query)
        return nodes


def continue_query(order: str, cut: Comment, shown: int) -> str:
    """The query of the link that continues a thread cut short after row ``cut``, the
    ``shown``-th row of its subtree in page order."""
    if order == "oldest":
        return f"?after={cut.lft}"
    return f"?order={order}&start={shown}"
