"""Bring in the discussions of an export file (``comments.formats``), and say what happened.

The whole file is read first, so a damaged one (truncated, not XML, refused entities)
stops before anything is written. Then each article is written in a transaction of its
own, its new threads through ``comments_import`` (bulk nested sets under the new-tree lock).
An interrupted import is finished by running it again: every imported comment keeps its
source and its id there under a unique constraint, and what is already stored is skipped.

Nothing is lost silently: every comment of the file is imported or counted in the report
with its id (see :class:`ImportReport` for the reasons).
"""

import functools
import hashlib
import ipaddress
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from articles.imports import imported_article_match, new_imported_article
from articles.models import Article
from comments.exports import own_sources
from comments.formats import SourceArticle, SourceComment, detect_format, read
from comments.models import Comment
from comments.services import NewSubtree, comments_import, reader_name
from core.markup import clean_comment, html_as_markdown, render_comment

SKIPPED = {
    "deleted": "deleted, without replies",
    "ping": "pingbacks and trackbacks",
    "no_thread": "comments whose thread is not in the file",
    "not_post": "comments on WordPress items that are neither posts nor pages",
    "unpublished": "comments on WordPress posts that are not public (draft, private, trash)",
    "duplicate": "ids given twice in the file (the first one kept)",
}
UNNAMED = "Anonymous"
SHOWN_IDS = 20
LOOKUP_CHUNK = 5000
_BLOCK_TAG = re.compile(r"<(p|div|br|ul|ol|blockquote|pre|h[1-6]|table)\b", re.IGNORECASE)

STATUSES = frozenset(Comment.Status.values)
PUBLIC_WP_STATUSES = {"publish", "future", "inherit"}  # a page's comments show on the site
Progress = Callable[[str, int, int], None]


@dataclass
class ImportReport:
    """What an import did (or, ``dry_run``, would do)."""

    format: str
    dry_run: bool = False
    read: int = 0
    articles_created: list[str] = field(default_factory=list)
    articles_matched: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    placeholders: int = 0
    already: int = 0
    orphans: list[str] = field(default_factory=list)
    ids_made: int = 0
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def imported(self) -> int:
        return sum(self.statuses.values()) + self.placeholders

    def lines(self) -> list[str]:
        out = [
            f"Read {self.read:,} comments ({self.format}).",
            f"Articles created: {len(self.articles_created):,}; matched existing ones: "
            f"{len(self.articles_matched):,}.",
            f"Comments imported: {self.imported:,}"
            + (" (a dry run: nothing was written)" if self.dry_run else "")
            + "".join(f"; {status}: {n:,}" for status, n in sorted(self.statuses.items()))
            + (
                f"; [deleted] placeholders keeping replies: {self.placeholders:,}"
                if self.placeholders
                else ""
            )
            + ".",
        ]
        if self.already:
            out.append(f"Already imported before, left as they are: {self.already:,}.")
        if self.orphans:
            out.append(
                f"Replies whose parent is not in the file, made top-level: "
                f"{len(self.orphans):,} ({_ids(self.orphans)})."
            )
        if self.ids_made:
            out.append(f"Comments without an id, given one from their content: {self.ids_made:,}.")
        for reason, ids in self.skipped.items():
            if ids:
                out.append(f"Skipped, {SKIPPED[reason]}: {len(ids):,} ({_ids(ids)}).")
        if not self.imported and not self.dry_run:
            out.append("Nothing new: everything in the file is already here.")
        return out


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS:,} more" if len(ids) > SHOWN_IDS else "")


def import_file(path, *, fmt="auto", dry_run=False, progress: Progress | None = None):
    """Import the export at ``path``; return the :class:`ImportReport`.

    Raises ``comments.formats.ImportFormatError`` (one line, nothing written) when the file
    cannot be read, and ``comments.locks.ThreadBusy`` when the site stays too busy (what
    was written stays; run it again)."""
    progress = progress or (lambda stage, done, total: None)
    fmt = detect_format(path) if fmt == "auto" else fmt
    articles: dict[str, SourceArticle] = {}
    by_thread: dict[str, list[SourceComment]] = defaultdict(list)
    report = ImportReport(format=fmt, dry_run=dry_run)
    for record in read(path, fmt):
        if isinstance(record, SourceArticle):
            articles.setdefault(record.key, record)
        else:
            by_thread[record.thread].append(record)
            report.read += 1
            if report.read % 1000 == 0:
                progress("read", report.read, 0)
    for key in [key for key in by_thread if key not in articles]:
        report.skipped["no_thread"] += [c.id or "(no id)" for c in by_thread.pop(key)]
    done, taken_slugs = 0, set()
    for key, source in articles.items():
        comments = by_thread.pop(key, [])
        if not comments:
            continue  # nothing is created for an item without comments
        if fmt == "wxr" and source.extra.get("post_type") not in {"post", "page"}:
            report.skipped["not_post"] += [c.id for c in comments]
        elif fmt == "wxr" and source.extra.get("status") not in PUBLIC_WP_STATUSES:
            report.skipped["unpublished"] += [c.id for c in comments]
        else:
            _import_article(source, comments, fmt, report, taken_slugs)
        done += len(comments)
        progress("write", done, report.read)
    return report


# One article ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    source: SourceComment
    children: list["_Node"] = field(default_factory=list)
    orphan: bool = False


def _import_article(source, comments, fmt, report, taken_slugs) -> None:
    comments = _usable(comments, report)
    roots = _thread(comments, fmt)
    roots = _prune_deleted(roots, report)
    if not roots:
        return
    with transaction.atomic():
        article = imported_article_match(url=source.url, slug=source.slug, own=fmt == "threadline")
        stored = _stored(article, roots)
        threads, grafts = _new_comments(roots, stored, article.pk if article else None, report)
        if not threads and not grafts:
            if article:
                report.articles_matched.append(article.slug)
            return
        if article is None:
            article = _new_article(source, roots, taken_slugs)
            report.articles_created.append(article.slug)
        else:
            report.articles_matched.append(article.slug)
        for subtree in [*threads, *(s for subtrees in grafts.values() for s in subtrees)]:
            _count(subtree, report)
        if report.dry_run:
            return
        if article.pk is None:
            article.save()
        comments_import(article=article, threads=threads, grafts=grafts)


def _usable(comments: list[SourceComment], report) -> list[SourceComment]:
    """Drop pingbacks, trackbacks and repeated ids; give id-less comments one."""
    seen, kept = set(), []
    for comment in comments:
        if comment.kind != "comment":
            report.skipped["ping"].append(comment.id or "(no id)")
            continue
        if not comment.id:
            seed = "\x1f".join(
                [comment.thread, str(comment.created_at), comment.author_name, comment.html]
            )
            digest = hashlib.sha256(seed.encode()).hexdigest()[:40]
            comment.id = comment.source_id = f"sha256:{digest}"
            comment.id_made_up = True
            report.ids_made += 1
        if comment.id in seen:
            report.skipped["duplicate"].append(comment.id)
            continue
        seen.add(comment.id)
        kept.append(comment)
    return kept


def _order(fmt: str):
    if fmt == "threadline":  # our own export is in page order already
        return lambda node: node.source.position
    return lambda node: (
        node.source.created_at is None,
        node.source.created_at or datetime.min,
        node.source.position,
    )


def _thread(comments, fmt) -> list[_Node]:
    """Link replies to parents whatever the file's order; a reply whose parent is missing
    (or that sits in a loop of parents) becomes top-level and is counted as an orphan."""
    nodes = {c.id: _Node(c) for c in comments}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.source.parent) if node.source.parent else None
        if parent is None or parent is node:
            roots.append(node)
            node.orphan = bool(node.source.parent)
        else:
            parent.children.append(node)
    reached = _reach(roots)
    key = _order(fmt)
    for node in sorted(nodes.values(), key=key):  # loops: the earliest of each goes on top
        if id(node) in reached:
            continue
        parent = nodes[node.source.parent]
        parent.children.remove(node)
        roots.append(node)
        node.orphan = True
        reached |= _reach([node])
    for node in nodes.values():
        node.children.sort(key=key)
    return sorted(roots, key=key)


def _reach(roots) -> set[int]:
    seen, stack = set(), list(roots)
    while stack:
        node = stack.pop()
        seen.add(id(node))
        stack.extend(node.children)
    return seen


def _prune_deleted(roots: list[_Node], report) -> list[_Node]:
    """A deleted comment stays (as a placeholder) only while it keeps a reply."""
    order, stack = [], list(roots)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    for node in reversed(order):  # replies before their parents
        for child in node.children:
            if child.source.deleted and not child.children:
                report.skipped["deleted"].append(child.source.id)
        node.children = [c for c in node.children if not (c.source.deleted and not c.children)]
    kept = []
    for root in roots:
        if root.source.deleted and not root.children:
            report.skipped["deleted"].append(root.source.id)
        else:
            kept.append(root)
    return kept


def _identity(comment: SourceComment) -> tuple[str, str]:
    return comment.source, comment.source_id


def _stored(article: Article | None, roots: list[_Node]) -> dict[tuple[str, str], tuple]:
    """The comments of this file already stored (by source and id, on any article), as
    ``(pk, article_id)``."""
    wanted = defaultdict(set)
    for node in _walk(roots):
        wanted[node.source.source].add(node.source.source_id)
    found = {}
    for source, ids in wanted.items():
        ids = sorted(ids)
        for start in range(0, len(ids), LOOKUP_CHUNK):
            rows = Comment.objects.filter(source=source, source_id__in=ids[start:][:LOOKUP_CHUNK])
            for sid, pk, article_id in rows.values_list("source_id", "pk", "article_id"):
                found[source, sid] = (pk, article_id)
    own = own_sources()
    natives = [n.source for n in _walk(roots) if n.source.source in own]
    if natives and article is not None:  # our own export imported back: these are the rows
        pks = {int(c.source_id) for c in natives if c.source_id.isdigit()}
        rows = Comment.objects.filter(article=article, source="", pk__in=pks)
        mine = set(rows.values_list("pk", flat=True))
        found |= {
            _identity(c): (int(c.source_id), article.pk)
            for c in natives
            if c.source_id.isdigit() and int(c.source_id) in mine
        }
    return found


def _walk(roots):
    stack = list(roots)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def _new_comments(roots, stored, article_pk, report):
    """Split the file's forest into new threads and new replies under stored comments
    (of this article: a reply to a comment stored on another one starts a thread)."""
    threads: list[NewSubtree] = []
    grafts: dict[int, list[NewSubtree]] = defaultdict(list)
    stack = [(root, None) for root in reversed(roots)]
    while stack:
        node, stored_parent = stack.pop()
        found = stored.get(_identity(node.source))
        if found is not None:
            report.already += 1
            pk = found[0] if found[1] == article_pk else None
            stack.extend((child, pk) for child in reversed(node.children))
            continue
        subtree = _subtree(node, stored, report)
        if node.orphan:
            report.orphans.append(node.source.id)
        if stored_parent is None:
            threads.append(subtree)
        else:
            grafts[stored_parent].append(subtree)
    return threads, dict(grafts)


def _subtree(node: _Node, stored, report) -> NewSubtree:
    """The new comments from ``node`` down (a stored one below a new one cannot be: its
    parent would be stored too; it is counted and left where it is)."""
    top = NewSubtree(_row(node.source))
    stack = [(node, top)]
    while stack:
        current, subtree = stack.pop()
        for child in current.children:
            if _identity(child.source) in stored:
                report.already += 1
                continue
            child_subtree = NewSubtree(_row(child.source))
            subtree.replies.append(child_subtree)
            stack.append((child, child_subtree))
    return top


def _walk_subtrees(threads, grafts):
    stack = [*threads, *(s for subtrees in grafts.values() for s in subtrees)]
    while stack:
        subtree = stack.pop()
        yield subtree
        stack.extend(subtree.replies)


def _count(subtree: NewSubtree, report) -> None:
    for each in _walk_subtrees([subtree], {}):
        if each.values["deleted_at"]:
            report.placeholders += 1
        else:
            report.statuses[each.values["status"]] += 1


def _row(source: SourceComment) -> dict:
    """The comment's field values for ``source``: HTML cleaned with the posted comments' allow-list,
    its text kept as the Markdown body, names normalized, an address only when valid."""
    if source.body is not None:  # Threadline's own export: Markdown, and its HTML
        body = source.body
        html = clean_comment(source.html) if source.html else render_comment(body)
    else:
        html = clean_comment(_paragraphs(source.html))
        body = html_as_markdown(html)
    status = source.status if source.status in STATUSES else "pending"
    created = source.created_at or timezone.now()
    return dict(
        author_name=_name(source.author_name),
        author_email=source.author_email[:254],
        ip_address=_address(source.ip_address),
        body=body,
        body_html=html,
        created_at=created,
        edited_at=source.edited_at,
        deleted_at=(source.deleted_at or created) if source.deleted else None,
        status=status,
        source=source.source[:255],
        source_id=source.source_id[:100],
    )


@functools.lru_cache(maxsize=1 << 16)
def _name(name: str) -> str:
    """A name as stored (``reader_name``), "Anonymous" when nothing of it is visible; the
    same names come back in every discussion, so each is worked out once."""
    try:
        return reader_name(name)
    except ValidationError:
        return UNNAMED


def _paragraphs(html: str) -> str:
    """WordPress keeps comments as text with blank lines between paragraphs, and adds the
    ``<p>`` when it shows them; do the same where the text has no block markup."""
    if _BLOCK_TAG.search(html):
        return html
    parts = [p.strip() for p in re.split(r"\n\s*\n", html.replace("\r\n", "\n")) if p.strip()]
    return "".join("<p>" + p.replace("\n", "<br>\n") + "</p>\n" for p in parts)


def _new_article(source: SourceArticle, roots: list[_Node], taken: set[str]) -> Article:
    dates = [root.source.created_at for root in roots if root.source.created_at]
    return new_imported_article(
        url=source.url,
        title=source.title,
        slug=source.slug,
        body=source.body or (html_as_markdown(source.html) if source.html else ""),
        published_at=source.published_at or min(dates, default=None),
        comments_open=source.comments_open,
        taken=taken,
        **{key: str(source.extra.get(key, "")) for key in ("byline", "source", "moderation")},
    )


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None
