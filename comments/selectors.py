"""Every query that builds a page: the discussion of an article, a focused subtree, counts,
what the ETag covers, the number of a top-level comment.

Vocabulary (docs/architecture.md): a *discussion* is all comments of an article, a *thread*
one top-level comment with its replies (one ``tree_id``), a *subtree* what a focused page
shows. An article page shows the first ``COMMENTS_PAGE_THREADS`` threads, but never more
than ``COMMENTS_PAGE_MAX`` comments, and replies down to ``COMMENTS_MAX_DEPTH`` levels; a
"Continue this thread" link leads to the focused page of what is cut off.
"""

from functools import cached_property

from django.conf import settings
from django.db.models import Count, Q

from articles.models import Article
from comments import roles
from comments.models import Comment, has_replies_q, visible_q
from comments.nodes import CommentNode, Viewer, build_nodes, mark_cut, node_for

ORDERS = ("oldest", "newest")
DEFAULT_ORDER = "oldest"


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
    their pending comments): such a page is rendered for them and never cached."""
    if viewer.owned_ids:
        return True
    return (
        bool(viewer.user_id)
        and Comment.objects.filter(article=article, user_id=viewer.user_id).exists()
    )


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


def node_of(comment: Comment, viewer: Viewer) -> CommentNode:
    """One comment's node, with its author's badge looked up."""
    return node_for(comment, viewer, editors=editors_among([comment]))


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
    """One page of an article's discussion: which threads, their rows, where the next
    page starts. Nothing is queried until the template asks (so a cached fragment costs
    no query)."""

    def __init__(self, article, viewer: Viewer, *, order=DEFAULT_ORDER, after=None):
        self.article = article
        self.viewer = viewer
        self.order = order if order in ORDERS else DEFAULT_ORDER
        self.after = after

    @cached_property
    def _roots(self):
        roots = Comment.objects.filter(article=self.article, level=0).filter(
            root_filter(self.viewer)
        )
        if self.after is not None and self.order == "oldest":
            roots = roots.filter(tree_id__gt=self.after)
        elif self.after is not None:
            roots = roots.filter(tree_id__lt=self.after)
        ordering = "tree_id" if self.order == "oldest" else "-tree_id"
        limit = settings.COMMENTS_PAGE_THREADS
        return list(roots.order_by(ordering).values("tree_id", "lft", "rght")[: limit + 1])

    @cached_property
    def _page(self):
        """(chosen tree_ids, next cursor): threads until the page's comment budget is spent."""
        budget = settings.COMMENTS_PAGE_MAX
        limit = settings.COMMENTS_PAGE_THREADS
        chosen, total = [], 0
        for index, root in enumerate(self._roots):
            size = (root["rght"] - root["lft"] + 1) // 2
            if index == limit or (chosen and total + size > budget):
                return chosen, chosen[-1]
            chosen.append(root["tree_id"])
            total += size
        return chosen, None

    @cached_property
    def nodes(self) -> list[CommentNode]:
        tree_ids, _ = self._page
        if not tree_ids:
            return []
        budget = settings.COMMENTS_PAGE_MAX
        deepest = settings.COMMENTS_MAX_DEPTH
        rows = list(
            Comment.objects.for_discussion(self.article).filter(
                tree_id__in=tree_ids, level__lte=deepest
            )[: budget + 1]
        )
        truncated_at = rows[budget - 1] if len(rows) > budget else None
        rows = rows[:budget]
        if self.order == "newest":
            position = {tree_id: i for i, tree_id in enumerate(tree_ids)}
            rows.sort(key=lambda row: (position[row.tree_id], row.lft))
        nodes = build_nodes(rows, self.viewer, editors=editors_among(rows))
        self._number(nodes, tree_ids)
        mark_cut(nodes, deepest=deepest, truncated_at=truncated_at)
        return nodes

    def _number(self, nodes, tree_ids):
        """Number top-level comments by their place in the whole discussion, oldest = 1."""
        if self.order == "oldest" and self.after is None:
            return
        first = min(tree_ids)
        before = (
            Comment.objects.filter(article=self.article, level=0, tree_id__lt=first)
            .filter(root_filter(self.viewer))
            .count()
        )
        tops = sorted((n for n in nodes if n.level == 0), key=lambda n: n.tree_id)
        for offset, node in enumerate(tops, start=before + 1):
            node.number = offset

    @cached_property
    def next_after(self):
        return self._page[1]

    @cached_property
    def response_count(self) -> int:
        return response_count(self.article)


class Subtree:
    """The focused page of one comment, which is also its permalink's context view.

    Up to two comments above it come first, for context; then it and its replies,
    ``COMMENTS_MAX_DEPTH`` levels down and at most ``COMMENTS_PAGE_MAX`` rows, optionally
    continuing after the row with ``lft == after`` (then the comments above that row come
    first instead)."""

    CONTEXT_LEVELS = 2

    def __init__(self, root: Comment, viewer: Viewer, *, after=None):
        self.root = root
        self.article = root.article
        self.viewer = viewer
        self.after = after

    @cached_property
    def nodes(self) -> list[CommentNode]:
        root, budget = self.root, settings.COMMENTS_PAGE_MAX
        deepest = root.level + settings.COMMENTS_MAX_DEPTH
        rows = Comment.objects.filter(
            tree_id=root.tree_id, lft__gte=root.lft, lft__lt=root.rght, level__lte=deepest
        ).select_related("user")
        if self.after is not None:
            rows = rows.filter(lft__gt=self.after)
        rows = list(rows.order_by("lft")[: budget + 1])
        truncated_at = rows[budget - 1] if len(rows) > budget else None
        rows = rows[:budget]
        if rows:
            first = rows[0]
            context = Comment.objects.filter(
                tree_id=root.tree_id,
                lft__lt=first.lft,
                rght__gt=first.rght,
                level__gte=max(0, root.level - self.CONTEXT_LEVELS),
            ).select_related("user")
            rows = [*context.order_by("lft"), *rows]
        nodes = build_nodes(rows, self.viewer, editors=editors_among(rows))
        for node in nodes:
            node.number = None
            node.focus = node.pk == root.pk
        mark_cut(nodes, deepest=deepest, truncated_at=truncated_at)
        return nodes
