"""Threadline's own export, JSON Lines (docs/import-export.md): read into the records of
``comments.formats``, every value checked for its kind, text made storable.

A header line, then one JSON object per line (each article before its comments), then an
end record that counts them: a file cut short at a line break is refused, not imported in
part.
"""

import json
import re
from collections.abc import Iterator

from comments.formats import ImportFormatError, SourceArticle, SourceComment, iso_date

THREADLINE_VERSION = 1
# No text column holds NUL, and PostgreSQL refuses lone surrogates (JSON can carry both).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def read_threadline(path) -> Iterator[SourceArticle | SourceComment]:
    """Threadline's own export (docs/import-export.md): a header line, then one JSON object
    per line, each article before its comments."""
    with open(path, "rb") as handle:
        position = 0
        end = None
        for number, line in _lines(handle):
            if not line.strip():
                continue
            if end is not None:
                raise ImportFormatError(f"Line {number}: more records after the end record.")
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                cut = "" if line.endswith("\n") else " (the file looks truncated)"
                raise ImportFormatError(f"Line {number}: not JSON{cut}: {exc.msg}.") from None
            except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
                raise ImportFormatError(
                    f"Line {number}: not JSON that can be read: {exc}."
                ) from None
            if not isinstance(record, dict):
                raise ImportFormatError(f"Line {number}: expected a JSON object.")
            if number == 1 or position == 0 and record.get("format"):
                _check_header(record, number)
                position = 1
                continue
            kind = record.get("type")
            if kind == "end":
                end = record
                continue
            try:
                if kind == "article":
                    yield _article_record(record)
                elif kind == "comment":
                    position += 1
                    yield _comment_record(record, position)
                else:
                    raise ImportFormatError(
                        f'Line {number}: unknown record type {kind!r} (expected "article" '
                        'or "comment").'
                    )
            except KeyError as exc:
                raise ImportFormatError(f"Line {number}: a {kind} without {exc}.") from None
            except ValueError as exc:
                if isinstance(exc, ImportFormatError):
                    raise
                raise ImportFormatError(f"Line {number}: {exc}.") from None
        if end is None:
            raise ImportFormatError(
                'The file stops without its end record ({"type": "end", ...}): it looks truncated.'
            )
        if end.get("comments") != position - 1:
            raise ImportFormatError(
                f"The end record counts {end.get('comments')!r} comments, the file holds "
                f"{position - 1}: it is damaged or truncated."
            )


def _lines(handle):
    """Numbered lines as text; one that is not UTF-8 is an ImportFormatError naming it."""
    for number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise ImportFormatError(
                f"Line {number}: not UTF-8; Threadline's exports are UTF-8."
            ) from None
        yield number, line


def _check_header(record: dict, number: int) -> None:
    if record.get("format") != "threadline":
        raise ImportFormatError(
            f'Line {number}: not a Threadline export (the first line should be {{"format": '
            '"threadline", ...}).'
        )
    if record.get("version") != THREADLINE_VERSION:
        raise ImportFormatError(
            f"Line {number}: version {record.get('version')!r} of the format; this "
            f"Threadline reads version {THREADLINE_VERSION}."
        )


def _text_of(record: dict, key: str, *, required: bool = False) -> str:
    """A record's value as text (a number is taken as its digits), without NUL characters,
    which no text column can hold; ``required``: a KeyError when it is missing."""
    value = record[key] if required else record.get(key)
    if value is None or isinstance(value, bool):
        if required:
            raise KeyError(key)
        return ""
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be text, not {type(value).__name__}")
    return UNSTORABLE.sub("\ufffd", value)


def _article_record(record: dict) -> SourceArticle:
    return SourceArticle(
        key=_text_of(record, "id", required=True),
        url=_text_of(record, "source_url"),
        title=_text_of(record, "title", required=True),
        slug=_text_of(record, "slug"),
        published_at=iso_date(_text_of(record, "published_at")),
        comments_open=record.get("comments_open", True) is not False,
        body=_text_of(record, "body"),
        extra={key: _text_of(record, key) for key in ("byline", "source", "moderation")},
    )


def _comment_record(record: dict, position: int) -> SourceComment:
    deleted_at = iso_date(_text_of(record, "deleted_at"))
    return SourceComment(
        id=_text_of(record, "id", required=True),
        thread=_text_of(record, "article", required=True),
        source=_text_of(record, "source", required=True),
        source_id=_text_of(record, "source_id", required=True),
        position=position,
        parent=_text_of(record, "parent"),
        author_name=_text_of(record, "author_name"),
        author_email=_text_of(record, "author_email"),
        ip_address=_text_of(record, "ip_address"),
        created_at=iso_date(_text_of(record, "created_at")),
        edited_at=iso_date(_text_of(record, "edited_at")),
        html=_text_of(record, "body_html"),
        body=_text_of(record, "body", required=True),
        status=_text_of(record, "status") or "approved",
        deleted_at=deleted_at,
        deleted=deleted_at is not None,
    )
