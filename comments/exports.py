"""Write discussions out: Threadline's JSON Lines (everything needed to restore them) and
WordPress's WXR 1.2 (what WordPress's own importer reads). docs/import-export.md.

Both stream: one article's comments at a time, read in page order in chunks, so an
export of any size runs in little memory.
"""

import json
import re
from datetime import UTC
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone

from articles.models import Article
from comments.formats_jsonl import THREADLINE_VERSION
from comments.models import Comment

CHUNK = 2000
WP_APPROVED = {"approved": "1", "pending": "0", "spam": "spam", "removed": "trash"}


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _rows(article: Article):
    return Comment.objects.for_discussion(article).iterator(chunk_size=CHUNK)


def own_sources() -> tuple[str, str]:
    """The source names this site's exports give comments first posted here (JSON Lines,
    WXR): an import of them back into this site recognizes its own rows by them."""
    return f"threadline:{settings.SITE_URL}", f"wordpress:{settings.SITE_URL}"


def export_threadline(out, articles) -> int:
    """Write ``articles`` and all their comments (every status, placeholders too) as JSON
    Lines to the text stream ``out``; return the number of comments."""
    header = {
        "format": "threadline",
        "version": THREADLINE_VERSION,
        "site": settings.SITE_URL,
        "exported_at": timezone.now().isoformat(),
    }
    out.write(json.dumps(header) + "\n")
    count = articles_count = 0
    for article in articles:
        articles_count += 1
        record = {
            "type": "article",
            "id": article.pk,
            "slug": article.slug,
            "title": article.title,
            "byline": article.byline,
            "source": article.source,
            "source_url": article.source_url,
            "body": article.body,
            "published_at": _when(article.published_at),
            "comments_open": article.comments_open,
            "moderation": article.moderation,
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        for comment in _rows(article):
            record = {
                "type": "comment",
                "article": article.pk,
                "id": comment.pk,
                "parent": comment.parent_id,
                "source": comment.source or own_sources()[0],
                "source_id": comment.source_id or str(comment.pk),
                "author_name": comment.display_author,
                "account": comment.user.get_username() if comment.user_id else None,
                "author_email": comment.user.email if comment.user_id else comment.author_email,
                "ip_address": comment.ip_address,
                "created_at": _when(comment.created_at),
                "edited_at": _when(comment.edited_at),
                "deleted_at": _when(comment.deleted_at),
                "status": comment.status,
                "body": comment.body,
                "body_html": comment.body_html,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    out.write(json.dumps({"type": "end", "articles": articles_count, "comments": count}) + "\n")
    return count


# Characters XML 1.0 cannot carry at all (a posted comment may hold a form feed).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _cdata(text: str) -> str:
    return "<![CDATA[" + _xml_text(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _wp_date(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _rfc2822(value) -> str:
    return value.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _element(name: str, text) -> str:
    return f"<{name}>{escape(_xml_text(str(text)))}</{name}>"


def _meta(key: str, value: str) -> str:
    return (
        f"<wp:commentmeta><wp:meta_key>{key}</wp:meta_key>"
        f"<wp:meta_value>{_cdata(value)}</wp:meta_value></wp:commentmeta>\n"
    )


def export_wxr(out, articles) -> int:
    """Write ``articles`` as a WXR 1.2 file: an item per article (a post), its comments
    with their ids, parents, approval, dates and authors. A placeholder keeps its place as
    a comment with the meta ``threadline_deleted`` (WordPress keeps it as comment meta); an
    imported comment carries where it first came from (``threadline_source``,
    ``threadline_source_id``), so a later import recognizes it."""
    site = settings.SITE_URL
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n'
        f"{_element('title', 'Threadline')}\n{_element('link', site)}\n"
        "<description>Discussions exported from Threadline</description>\n"
        f"<wp:wxr_version>1.2</wp:wxr_version>\n"
        f"{_element('wp:base_site_url', site)}\n{_element('wp:base_blog_url', site)}\n"
    )
    count = 0
    for article in articles:
        link = article.source_url or site + article.get_absolute_url()
        out.write(
            "<item>\n"
            f"{_element('title', article.title)}\n{_element('link', link)}\n"
            f"{_element('pubDate', _rfc2822(article.published_at))}\n"
            f'<guid isPermaLink="false">{escape(link)}</guid>\n'
            f"<content:encoded>{_cdata(article.body_html)}</content:encoded>\n"
            f"<excerpt:encoded>{_cdata('')}</excerpt:encoded>\n"
            f"{_element('wp:post_id', article.pk)}\n"
            f"{_element('wp:post_date', _wp_date(article.published_at))}\n"
            f"{_element('wp:post_date_gmt', _wp_date(article.published_at))}\n"
            f"{_element('wp:comment_status', 'open' if article.comments_open else 'closed')}\n"
            "<wp:ping_status>closed</wp:ping_status>\n"
            f"{_element('wp:post_name', article.slug)}\n"
            "<wp:status>publish</wp:status>\n<wp:post_parent>0</wp:post_parent>\n"
            "<wp:menu_order>0</wp:menu_order>\n<wp:post_type>post</wp:post_type>\n"
            "<wp:post_password></wp:post_password>\n<wp:is_sticky>0</wp:is_sticky>\n"
        )
        for comment in _rows(article):
            email = comment.user.email if comment.user_id else comment.author_email
            meta = ""
            if comment.deleted_at:
                meta += _meta("threadline_deleted", comment.deleted_at.isoformat())
            if comment.source:  # imported: where it first came from, for later imports
                meta += _meta("threadline_source", comment.source)
                meta += _meta("threadline_source_id", comment.source_id)
            out.write(
                f"<wp:comment>\n{_element('wp:comment_id', comment.pk)}\n"
                f"<wp:comment_author>{_cdata(comment.display_author)}</wp:comment_author>\n"
                f"{_element('wp:comment_author_email', email)}\n"
                "<wp:comment_author_url></wp:comment_author_url>\n"
                f"{_element('wp:comment_author_IP', comment.ip_address or '')}\n"
                f"{_element('wp:comment_date', _wp_date(comment.created_at))}\n"
                f"{_element('wp:comment_date_gmt', _wp_date(comment.created_at))}\n"
                f"<wp:comment_content>{_cdata(comment.body_html)}</wp:comment_content>\n"
                f"{_element('wp:comment_approved', WP_APPROVED[comment.status])}\n"
                "<wp:comment_type>comment</wp:comment_type>\n"
                f"{_element('wp:comment_parent', comment.parent_id or 0)}\n"
                f"<wp:comment_user_id>0</wp:comment_user_id>\n{meta}</wp:comment>\n"
            )
            count += 1
        out.write("</item>\n")
    out.write("</channel>\n</rss>\n")
    return count


def articles_to_export(slug: str | None = None):
    """Every article (published or not), or the one with ``slug`` (Article.DoesNotExist)."""
    if slug:
        return [Article.objects.get(slug=slug)]
    return Article.objects.order_by("pk").iterator(chunk_size=100)
