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

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from articles.imports import imported_article_match, new_imported_article
from articles.models import Article
from comments.bulk import NewSubtree
from comments.exports import own_sources
from comments.formats import (
    ImportFormatError,
    SourceArticle,
    SourceComment,
    detect_format,
    read,
)
from comments.import_forest import Node, build_forest, prune_deleted, walk
from comments.locks import ThreadBusy
from comments.models import Comment
from comments.services import comments_import, reader_name
from core.markup import clean_comment, html_as_markdown, render_comment

SKIPPED = {
    "deleted": "deleted, without replies",
    "ping": "pingbacks and trackbacks",
    "no_thread": "comments whose thread is not in the file",
    "not_post": "comments on WordPress items that are neither posts nor pages",
    "unpublished": "comments on WordPress posts that are not public (draft, private, trash)",
    "duplicate": "comments given twice in the file (the first one kept)",
}
UNNAMED = "Anonymous"
SHOWN_IDS = 20
LOOKUP_CHUNK = 5000
ID_LIMIT = Comment._meta.get_field("source_id").max_length
SOURCE_LIMIT = Comment._meta.get_field("source").max_length
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
        if not self.read:
            out.append("The file holds no comments.")
        elif not self.imported and not self.dry_run:
            out.append("Nothing new: everything in the file is already here.")
        return out


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS:,} more" if len(ids) > SHOWN_IDS else "")


@dataclass
class _Run:
    """What one import keeps across the file's articles."""

    fmt: str
    report: ImportReport
    taken_slugs: set[str] = field(default_factory=set)
    seen: set[tuple[str, str]] = field(default_factory=set)  # comments met so far
    created: dict[str, str] = field(default_factory=dict)  # original URL -> slug, this run


class ImportStopped(Exception):
    """An import could not go on; the message says why and what was kept, in one line."""


def run_import(path, *, fmt="auto", dry_run=False, progress: Progress | None = None):
    """``import_file``, every way it can stop said in one line (:class:`ImportStopped`), for
    the command and the admin's page alike."""
    try:
        return import_file(path, fmt=fmt, dry_run=dry_run, progress=progress)
    except ImportFormatError as exc:
        raise ImportStopped(f"{exc} Nothing was imported.") from None
    except ThreadBusy as exc:
        raise ImportStopped(f"{exc} What was written so far stays; import again.") from None
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ImportStopped(
            f"The database refused a row ({first}). The articles finished before it stay; "
            "import again once the cause is fixed."
        ) from None


def import_file(path, *, fmt="auto", dry_run=False, progress: Progress | None = None):
    """Import the export at ``path``; return the :class:`ImportReport`.

    Raises ``comments.formats.ImportFormatError`` (one line, nothing written) when the file
    cannot be read, and ``comments.locks.ThreadBusy`` when the site stays too busy (what
    was written stays; run it again)."""
    progress = progress or (lambda stage, done, total: None)
    fmt = detect_format(path) if fmt == "auto" else fmt
    articles: dict[str, SourceArticle] = {}
    by_thread: dict[str, list[SourceComment]] = defaultdict(list)
    run = _Run(fmt, ImportReport(format=fmt, dry_run=dry_run))
    report = run.report
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
    done = 0
    for key, source in articles.items():
        comments = by_thread.pop(key, [])
        if not comments:
            continue  # nothing is created for an item without comments
        if fmt == "wxr" and source.extra.get("post_type") not in {"post", "page"}:
            report.skipped["not_post"] += [c.id for c in comments]
        elif fmt == "wxr" and source.extra.get("status") not in PUBLIC_WP_STATUSES:
            report.skipped["unpublished"] += [c.id for c in comments]
        else:
            _import_article(source, comments, run)
        done += len(comments)
        progress("write", done, report.read)
    return report


# One article ----------------------------------------------------------------------------


def _import_article(source: SourceArticle, comments: list[SourceComment], run: _Run) -> None:
    report = run.report
    roots = build_forest(_usable(comments, run), _order(run.fmt))
    roots, dropped = prune_deleted(roots)
    report.skipped["deleted"] += dropped
    if not roots:
        return
    own = _own_article(source.url)  # this site's own article, from its WXR export
    url, slug = own or (source.url, source.slug)
    with transaction.atomic():
        by_slug = run.fmt == "threadline" or own is not None
        article = imported_article_match(url=url, slug=slug, own=by_slug)
        stored = _stored(article, roots)
        threads, grafts = _new_comments(roots, stored, article.pk if article else None, report)
        if article is None and url and url in run.created:  # a dry run met this URL before
            report.articles_matched.append(run.created[url])
        elif article is None and (threads or grafts):
            article = _new_article(source, url, slug, roots, run.taken_slugs)
            report.articles_created.append(article.slug)
            run.created[url] = article.slug
        elif article is not None:
            report.articles_matched.append(article.slug)
        for subtree in _walk_subtrees(threads, grafts):
            report.placeholders += bool(subtree.values["deleted_at"])
            report.statuses[subtree.values["status"]] += not subtree.values["deleted_at"]
        if report.dry_run or not (threads or grafts):
            return
        if article.pk is None:
            article.save()
        _keep_pks(threads, grafts)
        comments_import(article=article, threads=threads, grafts=grafts)


def _own_article(url: str) -> tuple[str, str] | None:
    """An article of this site, as our own WXR export names it: no original URL, its slug."""
    prefix = f"{settings.SITE_URL}/articles/"
    if url.startswith(prefix) and (slug := url[len(prefix) :].strip("/")) and "/" not in slug:
        return "", slug
    return None


def _usable(comments: list[SourceComment], run: _Run) -> list[SourceComment]:
    """Drop pingbacks, trackbacks and comments met before in the file (by the file's id in
    this article, by source and id in the whole file); give id-less comments an id made
    from their content; fit ids to their columns (a longer one becomes its digest)."""
    report, seen_here, kept = run.report, set(), []
    for comment in comments:
        if comment.kind != "comment":
            report.skipped["ping"].append(comment.id or "(no id)")
            continue
        if not comment.id:
            seed = "\x1f".join(
                [comment.thread, str(comment.created_at), comment.author_name, comment.html]
            )
            comment.id = comment.source_id = _digest(seed)
            comment.id_made_up = True
            report.ids_made += 1
        comment.source = _fit(comment.source, SOURCE_LIMIT)
        comment.source_id = _fit(comment.source_id or comment.id, ID_LIMIT)
        if comment.id in seen_here or _identity(comment) in run.seen:
            report.skipped["duplicate"].append(comment.id)
            continue
        seen_here.add(comment.id)
        run.seen.add(_identity(comment))
        kept.append(comment)
    return kept


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:40]


def _fit(value: str, limit: int) -> str:
    return value if len(value) <= limit else _digest(value)


def _order(fmt: str):
    if fmt == "threadline":  # our own export is in page order already
        return lambda node: node.source.position
    return lambda node: (
        node.source.created_at is None,
        node.source.created_at or datetime.min,
        node.source.position,
    )


def _identity(comment: SourceComment) -> tuple[str, str]:
    return comment.source, comment.source_id


def _stored(article: Article | None, roots: list[Node]) -> dict[tuple[str, str], tuple]:
    """The comments of this file already stored (by source and id, on any article), as
    ``(pk, article_id)``; and this site's own comments coming back (by pk, on ``article``)."""
    wanted = defaultdict(set)
    for node in walk(roots):
        wanted[node.source.source].add(node.source.source_id)
    found = {}
    for source, ids in wanted.items():
        ids = sorted(ids)
        for start in range(0, len(ids), LOOKUP_CHUNK):
            rows = Comment.objects.filter(source=source, source_id__in=ids[start:][:LOOKUP_CHUNK])
            for sid, pk, article_id in rows.values_list("source_id", "pk", "article_id"):
                found[source, sid] = (pk, article_id)
    natives = {int(c.source_id): c for c in _own(roots)}
    if natives and article is not None:
        rows = Comment.objects.filter(article=article, source="", pk__in=natives)
        for pk in rows.values_list("pk", flat=True):
            found[_identity(natives[pk])] = (pk, article.pk)
    return found


def _own(roots: list[Node]) -> list[SourceComment]:
    """The file's comments first posted on this site (its own export coming back)."""
    own = own_sources()
    return [
        n.source for n in walk(roots) if n.source.source in own and n.source.source_id.isdigit()
    ]


def _keep_pks(threads, grafts) -> None:
    """A restore from Threadline's own export keeps each comment's pk where it is free (so
    permalinks still work), and this site's own comments become native again; where the pk
    is taken, a comment gets a new one and keeps its source and id."""
    wanted = {v["id"]: v for v in (s.values for s in _walk_subtrees(threads, grafts)) if "id" in v}
    chunks = [
        list(wanted)[start : start + LOOKUP_CHUNK] for start in range(0, len(wanted), LOOKUP_CHUNK)
    ]
    for chunk in chunks:
        for pk in Comment.objects.filter(pk__in=chunk).values_list("pk", flat=True):
            del wanted.pop(pk)["id"]
    own = own_sources()
    for pk, values in wanted.items():
        if values["source"] in own and values["source_id"] == str(pk):
            values.update(source="", source_id="")


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
        if node.orphan or (stored_parent is None and node.source.parent):
            report.orphans.append(node.source.id)
        if stored_parent is None:
            threads.append(subtree)
        else:
            grafts[stored_parent].append(subtree)
    return threads, dict(grafts)


def _subtree(node: Node, stored, report) -> NewSubtree:
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


def _row(source: SourceComment) -> dict:
    """The comment's field values for ``source``: HTML cleaned with the posted comments' allow-list,
    its text kept as the Markdown body, names normalized, an address only when valid."""
    restore = {}
    if source.body is not None:  # Threadline's own export: Markdown, and its HTML
        body = source.body
        html = clean_comment(source.html) if source.html else render_comment(body)
        restore = {"id": int(source.id)} if source.id.isdigit() and len(source.id) < 18 else {}
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
        source=source.source,
        source_id=source.source_id,
        **restore,
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


def _new_article(source: SourceArticle, url, slug, roots: list[Node], taken: set[str]) -> Article:
    dates = [root.source.created_at for root in roots if root.source.created_at]
    return new_imported_article(
        url=url,
        title=source.title,
        slug=slug,
        body=source.body or (html_as_markdown(source.html) if source.html else ""),
        published_at=source.published_at or min(dates, default=None),
        comments_open=source.comments_open,
        taken=taken,
        **{key: str(source.extra.get(key, "")) for key in ("byline", "source", "moderation")},
    )


def _address(value: str) -> str | None:
    """A valid IP address, without an IPv6 zone (``fe80::1%eth0``: no column type has one)."""
    try:
        return str(ipaddress.ip_address(value.strip().partition("%")[0]))
    except ValueError:
        return None
