"""Read discussions exported by WordPress (WXR), Disqus and Threadline into plain records.

Each reader is a generator over a file that yields :class:`SourceArticle` and
:class:`SourceComment` records in file order (Threadline's JSON Lines are read by
``comments.formats_jsonl``); ``comments.transfer`` threads and stores them. XML is read
as a stream through defusedxml: entity declarations (the billion laughs, external
entities) are refused, and every failure is a :class:`ImportFormatError` whose one-line
message names the problem. docs/import-export.md describes the formats.

What each source calls things, and what they become here:

* WordPress: ``wp:comment_approved`` ``1`` approved, ``0`` pending, ``spam`` spam,
  ``trash``/``post-trashed`` removed; ``wp:comment_type`` ``pingback``/``trackback`` are
  skipped. Dates are ``wp:comment_date_gmt`` (``wp:comment_date`` when the GMT one is
  ``0000-00-00``). Comment meta written by our own WXR export: ``threadline_deleted``
  marks a placeholder, ``threadline_source`` and ``threadline_source_id`` say where an
  imported comment first came from.
* Disqus: ``<isSpam>`` spam, ``<isDeleted>`` a placeholder (or nothing, without replies),
  ``<isApproved>false`` pending.

A comment without an id gets one made from its thread, date, author and text
(``comments.transfer``), so a second import still recognizes it.
"""

import email.utils
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml.common import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden

FORMATS = ("wxr", "disqus", "threadline")
SNIFF_BYTES = 64 * 1024
BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
]
# Dates outside these years are damage, not history: taken as no date (and a year near
# either end of datetime's range breaks on conversion between time zones).
FIRST_YEAR, LAST_YEAR = 1900, 2200
TRUNCATED = ("no element found", "unclosed token", "unclosed CDATA section")


class ImportFormatError(ValueError):
    """The file cannot be read as the format; the message is one line naming the problem."""


@dataclass(slots=True)
class SourceArticle:
    """An article (a WordPress post or page, a Disqus thread) as the file describes it."""

    key: str  # the file's own id for it, which comments point at
    url: str = ""
    title: str = ""
    slug: str = ""  # a wish: made unique when stored
    published_at: datetime | None = None
    comments_open: bool = True
    body: str = ""  # Markdown
    html: str = ""  # the source's text as HTML, when it has one
    extra: dict = field(default_factory=dict)  # Threadline's own fields, restored as they are


@dataclass(slots=True)
class SourceComment:
    """One comment as the file describes it; ``html`` is the source's HTML (cleaned later),
    ``body`` the Markdown text when the source has one (Threadline's own export)."""

    id: str
    thread: str
    position: int
    parent: str = ""
    author_name: str = ""
    author_email: str = ""
    ip_address: str = ""
    created_at: datetime | None = None
    html: str = ""
    body: str | None = None
    status: str = "approved"
    deleted_at: datetime | None = None
    deleted: bool = False
    kind: str = "comment"  # or "pingback", "trackback"
    edited_at: datetime | None = None
    id_made_up: bool = False
    # Where the comment first came from, when the file says (Threadline's export does):
    # its identity on re-import. Otherwise the source is the file's site, the id ``id``.
    source: str = ""
    source_id: str = ""


# Sniffing -------------------------------------------------------------------------------


def detect_format(path) -> str:
    """``wxr``, ``disqus`` or ``threadline``, decided by the content, never the file name."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    for bom, codec in BOMS:
        if head.startswith(bom):
            head = head.decode(codec, errors="ignore").encode()
            break
    text = head.lstrip()
    if not text:
        raise ImportFormatError("The file is empty.")
    if text[:1] == b"{":
        return "threadline"
    if text[:1] != b"<":
        raise ImportFormatError(
            "Not an export: the file is neither XML (WordPress, Disqus) nor Threadline's "
            "JSON Lines."
        )
    for event, item in _xml_events(path, ("start-ns", "start")):
        if event == "start":
            name, namespace = _name(item.tag), _namespace(item.tag)
            if name == "disqus":
                return "disqus"
            if name == "rss":
                return "wxr"
            raise ImportFormatError(
                f"An XML file, but not an export: its root element is <{name}>"
                f"{' in ' + namespace if namespace else ''}, not <rss> (WordPress) or "
                "<disqus> (Disqus)."
            )
    raise ImportFormatError("An XML file without any element.")  # pragma: no cover


def read(path, fmt: str = "auto") -> Iterator[SourceArticle | SourceComment]:
    """The records of the export at ``path``, in file order."""
    if fmt == "auto":
        fmt = detect_format(path)
    from comments.formats_jsonl import read_threadline  # it imports the records from here

    readers = {"wxr": read_wxr, "disqus": read_disqus, "threadline": read_threadline}
    if fmt not in readers:
        raise ImportFormatError(f"Unknown format {fmt!r}: use auto, {', '.join(FORMATS)}.")
    return readers[fmt](path)


# XML ------------------------------------------------------------------------------------


@functools.cache
def _name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _xml_events(path, events=("start", "end")):
    """defusedxml's streaming parser, its failures turned into one-line ImportFormatErrors."""
    try:
        yield from SafeET.iterparse(
            str(path), events=events, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except EntitiesForbidden as exc:
        where = f" (it points at {exc.sysid})" if exc.sysid else ""
        raise ImportFormatError(
            f"Refused: the file declares the XML entity {exc.name!r}{where}. Entity "
            "declarations can expand without bound or read other files; exports never "
            "need them."
        ) from None
    except ExternalReferenceForbidden as exc:
        raise ImportFormatError(
            f"Refused: the file refers to an external resource ({exc.sysid}); exports never do."
        ) from None
    except DefusedXmlException as exc:
        raise ImportFormatError(f"Refused: {exc}.") from None
    except ParseError as exc:
        hint = (
            " The file ends before its elements do: it looks truncated."
            if str(exc).startswith(TRUNCATED) and _at_end(path, exc.position[0])
            else ""
        )
        raise ImportFormatError(f"Not well-formed XML: {exc}.{hint}") from None
    except ValueError as exc:  # expat: "multi-byte encodings are not supported"
        raise ImportFormatError(
            f"The file's encoding cannot be read ({exc}): save it as UTF-8."
        ) from None


def _at_end(path, line: int) -> bool:
    """Whether a parse error's line is the file's last one (a file cut short)."""
    with open(path, "rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return line >= lines


def _text(elem, name: str, default: str = "") -> str:
    """The text of ``elem``'s first child called ``name`` (any namespace), stripped."""
    for child in elem:
        if _name(child.tag) == name:
            return (child.text or "").strip()
    return default


def _fields(elem) -> dict[str, str]:
    """The stripped text of each of ``elem``'s children, by local name (the first of each)."""
    fields = {}
    for child in elem:
        fields.setdefault(_name(child.tag), (child.text or "").strip())
    return fields


def _child(elem, name: str):
    for child in elem:
        if _name(child.tag) == name:
            return child
    return None


def _attr_id(elem) -> str:
    """The ``dsq:id`` attribute (Disqus's internals namespace, whatever its version)."""
    if elem is None:
        return ""
    for key, value in elem.attrib.items():
        if _name(key) == "id":
            return value.strip()
    return ""


def _sane(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if FIRST_YEAR <= value.year <= LAST_YEAR else None


def _wp_date(value: str) -> datetime | None:
    """``2010-03-04 05:06:07`` (WordPress stores no zone in it; GMT fields are UTC), or its
    "no date", ``0000-00-00 00:00:00``."""
    return None if value.startswith("0000") else iso_date(value)


def iso_date(value: str) -> datetime | None:
    """An ISO 8601 date (UTC when it names no zone), or None when it is none or absurd."""
    if not value:
        return None
    try:
        return _sane(datetime.fromisoformat(value))
    except ValueError:
        return None


def _rfc2822_date(value: str) -> datetime | None:
    try:
        return _sane(email.utils.parsedate_to_datetime(value)) if value else None
    except (TypeError, ValueError):
        return None


def _true(value: str) -> bool:
    return value.strip().lower() in {"true", "1", "yes"}


WP_STATUS = {"1": "approved", "0": "pending", "spam": "spam", "trash": "removed"}
WP_STATUS["post-trashed"] = "removed"
WP_KINDS = {"pingback": "pingback", "trackback": "trackback", "pings": "pingback"}


def read_wxr(path) -> Iterator[SourceArticle | SourceComment]:
    """WordPress eXtended RSS 1.0, 1.1 or 1.2 (``http://`` or ``https://`` namespaces).

    Items are read one at a time and emptied once read. Every item is yielded, with its
    comments after it; ``extra["post_type"]`` tells posts and pages from the rest."""
    position = items = 0
    site = ""
    for _, elem in _xml_events(path, ("end",)):
        name = _name(elem.tag)
        if name == "base_site_url" and "wordpress.org/export" in _namespace(elem.tag):
            site = (elem.text or "").strip()
        if name != "item":
            continue
        item = _fields(elem)
        url = item.get("link") or item.get("guid", "")
        items += 1
        key = item.get("post_id") or url or f"item-{items}"
        yield SourceArticle(
            key=key,
            url=url,
            title=item.get("title", ""),
            slug=item.get("post_name", ""),
            published_at=_wp_date(item.get("post_date_gmt", ""))
            or _rfc2822_date(item.get("pubDate", ""))
            or _wp_date(item.get("post_date", "")),
            comments_open=item.get("comment_status", "open") != "closed",
            html=item.get("encoded", ""),
            extra={
                "post_type": item.get("post_type") or "post",
                "status": item.get("status") or "publish",
                "site": site,
            },
        )
        source = f"wordpress:{site}" if site else "wordpress"
        for comment in elem:
            if _name(comment.tag) != "comment":
                continue
            position += 1
            fields = _fields(comment)
            meta = {
                _text(m, "meta_key"): _text(m, "meta_value")
                for m in comment
                if _name(m.tag) == "commentmeta"
            }
            deleted_at = iso_date(meta.get("threadline_deleted", ""))
            parent = fields.get("comment_parent", "")
            comment_id = fields.get("comment_id", "")
            yield SourceComment(
                id=comment_id,
                source=meta.get("threadline_source") or source,
                source_id=meta.get("threadline_source_id") or comment_id,
                thread=key,
                position=position,
                parent="" if parent in {"", "0"} else parent,
                author_name=fields.get("comment_author", ""),
                author_email=fields.get("comment_author_email", ""),
                ip_address=fields.get("comment_author_IP", ""),
                created_at=_wp_date(fields.get("comment_date_gmt", ""))
                or _wp_date(fields.get("comment_date", "")),
                html=fields.get("comment_content", ""),
                status=WP_STATUS.get(fields.get("comment_approved") or "1", "pending"),
                deleted_at=deleted_at,
                deleted=deleted_at is not None,
                kind=WP_KINDS.get(fields.get("comment_type", ""), "comment"),
            )
        elem.clear()


def read_disqus(path) -> Iterator[SourceArticle | SourceComment]:
    """Disqus's XML export: ``<thread dsq:id>`` elements, then ``<post dsq:id>`` ones that
    name their thread (and parent) by ``dsq:id``, in any order."""
    depth = position = threads = 0
    root = None
    for event, elem in _xml_events(path):
        if event == "start":
            depth += 1
            root = root if root is not None else elem
            continue
        depth -= 1
        if depth != 1:
            continue
        name = _name(elem.tag)
        if name == "thread":
            author = _child(elem, "author")
            threads += 1
            yield SourceArticle(
                key=_attr_id(elem) or f"(thread {threads} has no dsq:id)",
                url=_text(elem, "link"),
                title=_text(elem, "title"),
                published_at=iso_date(_text(elem, "createdAt")),
                comments_open=not _true(_text(elem, "isClosed")),
                html=_text(elem, "message"),
                extra={
                    "identifier": _text(elem, "id"),
                    "forum": _text(elem, "forum"),
                    "author": _text(author, "name") if author is not None else "",
                },
            )
        elif name == "post":
            position += 1
            author = _child(elem, "author")
            author = author if author is not None else elem.makeelement("author", {})
            thread = _attr_id(_child(elem, "thread"))
            comment = SourceComment(
                id=_attr_id(elem),
                thread=thread,
                position=position,
                parent=_attr_id(_child(elem, "parent")),
                author_name=_text(author, "name") or _text(author, "username"),
                author_email=_text(author, "email"),
                ip_address=_text(elem, "ipAddress"),
                created_at=iso_date(_text(elem, "createdAt")),
                html=_text(elem, "message"),
                status="spam"
                if _true(_text(elem, "isSpam"))
                else "pending"
                if _text(elem, "isApproved", "true").lower() == "false"
                else "approved",
                deleted=_true(_text(elem, "isDeleted")),
            )
            comment.source, comment.source_id = "disqus", comment.id
            yield comment
        if root is not None:
            elem.clear()
            root.remove(elem)
