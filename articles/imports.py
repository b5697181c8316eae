"""Articles made for imported discussions (``comments.transfer`` brings the comments).

An imported discussion attaches to the article with the same original URL
(``Article.source_url``, unique when set), or gets a new one: the title (or one made from
the URL), a unique slug from the source's post name or the URL's last path segment.
"""

import re
from datetime import datetime
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.text import slugify

from articles.models import Article

UNTITLED = "Imported discussion"


def imported_article_match(*, url: str, slug: str, own: bool) -> Article | None:
    """The stored article with the original URL ``url``; for Threadline's own export of an
    article that has none (``own``), the one with the same slug and no original URL."""
    if url:
        return Article.objects.filter(source_url=url[:500]).first()
    if own and slug:
        return Article.objects.filter(slug=slug, source_url="").first()
    return None


def new_imported_article(
    *,
    url: str,
    title: str,
    slug: str,
    body: str,
    published_at: datetime | None,
    comments_open: bool,
    taken: set[str],
    byline: str = "",
    source: str = "",
    moderation: str = "",
) -> Article:
    """An unsaved article for an imported discussion; its slug is added to ``taken`` (the
    slugs this import already gave out)."""
    title = title or title_from_url(url) or UNTITLED
    if not body:
        where = f" It was first published at <{url}>." if url else ""
        body = "The discussion of this article was imported." + where
    return Article(
        title=title[:300],
        slug=unique_slug(slug or slug_from_url(url) or title, taken),
        source_url=url[:500],
        body=body,
        published_at=published_at or timezone.now(),
        comments_open=comments_open,
        byline=byline[:200],
        source=source[:200],
        moderation=moderation if moderation in Article.Moderation.values else "",
    )


def title_from_url(url: str) -> str:
    """``https://blog.example.com/2015/03/no-title-here/`` -> ``No title here
    (blog.example.com)``; the host alone when the path gives no words."""
    host = urlsplit(url).netloc
    words = slug_from_url(url).replace("-", " ").strip()
    if not words:
        return host
    words = words[:1].upper() + words[1:]
    return f"{words} ({host})" if host else words


def slug_from_url(url: str) -> str:
    last = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    return slugify(re.sub(r"\.(html?|php|aspx?)$", "", last))


def unique_slug(wish: str, taken: set[str]) -> str:
    base = slugify(wish)[:190].strip("-") or "discussion"
    slug, n = base, 1
    while slug in taken or Article.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug
