"""Import a discussion saved as plain text: an article, then its numbered responses.

The format is what a reader gets by copying a blog post and its comments out of a
browser; ``comments/demo/raqqa-thread.txt`` is one::

    Title of the article

    By Author Name | (Source) | date

    The body, in paragraphs separated by blank lines.

    12 Responses

      1. A top-level response.
        Its next paragraph, indented deeper than the number.
        • A reply, its bullet indented deeper than the response it answers.
          The reply's next paragraph, indented deeper than its bullet.
          • A reply to the reply: nesting goes as deep as the indentation does.
      2. The next top-level response.

Features and limitations:

* The text is plain text, not Markdown: characters Markdown would act on are escaped, and
  a line break inside a paragraph stays a line break.
* The byline line is optional. Its date is not imported: the article is published now.
* A paragraph right after "Related video:" is the video's title and is shown emphasized.
* The "N Responses" line starts the discussion; its count is not checked (copied pages
  often hold fewer responses than they announce), nor are the responses' numbers.
* The format has no author names, so every response is posted as "Anonymous reader",
  approved, in the file's order.
"""

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.text import slugify

from articles.models import Article
from comments.services import comment_create
from core.markup import HARD_BREAK, markdown_escape

IMPORTED_AUTHOR = "Anonymous reader"
HEADER = re.compile(r"(?:\d+|no|one) responses?", re.IGNORECASE)
NUMBERED = re.compile(r"\d+\.(?:\s+(.*))?")
BULLET = re.compile(r"•\s*(.*)")


class TextFormatError(ValueError):
    """The text does not follow the format; the message names the line."""


@dataclass
class Response:
    """One response and its replies, in file order; ``paragraphs`` are Markdown."""

    line: int
    paragraphs: list[str] = field(default_factory=list)
    replies: list["Response"] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass
class ParsedArticle:
    """An article and its discussion as read from the text; ``paragraphs`` are Markdown."""

    title: str
    byline: str
    source: str
    paragraphs: list[str]
    responses: list[Response]

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


def walk(responses: list[Response]):
    """Yield every response in file order, parents before replies, at any depth."""
    stack = list(reversed(responses))
    while stack:
        response = stack.pop()
        yield response
        stack.extend(reversed(response.replies))


def _paragraphs(lines: list[tuple[int, str]]) -> list[list[str]]:
    """Group the non-blank lines, stripped, into paragraphs at blank lines."""
    paragraphs, current = [], []
    for _, line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(current)
            current = []
    return paragraphs + [current] if current else paragraphs


def _parse_byline(line: str) -> tuple[str, str]:
    """``By Juan Cole | (Informed Comment) | date`` -> ``("Juan Cole", "Informed Comment")``."""
    name, _, rest = line.removeprefix("By ").partition("|")
    source = rest.partition("|")[0].strip().strip("()").strip()
    return name.strip(), source


def _parse_responses(lines: list[tuple[int, str]]) -> list[Response]:
    """Build the response tree from indentation.

    A numbered line at the first response's indentation starts a top-level response. Any
    other line belongs to the nearest open response whose marker is indented less: a bullet
    opens a reply to it, other text continues it (a new paragraph after a blank line).
    """
    responses: list[Response] = []
    open_: list[tuple[int, Response]] = []  # (marker indentation, response), outermost first
    top_indent = None
    last, after_blank = None, False
    for number, line in lines:
        text = line.strip()
        if not text:
            after_blank = True
            continue
        indent = len(line) - len(line.lstrip(" "))
        numbered, bullet = NUMBERED.fullmatch(text), BULLET.fullmatch(text)
        if top_indent is None:
            if not numbered:
                raise TextFormatError(
                    f'Line {number}: expected the first response, numbered like "  1. Text", '
                    f"found {text[:40]!r}."
                )
            top_indent = indent
        if numbered and indent == top_indent:
            node = Response(line=number)
            responses.append(node)
            open_ = [(indent, node)]
            text = numbered[1] or ""
        else:
            while open_ and open_[-1][0] >= indent:
                open_.pop()
            if not open_:
                what = "this reply (•)" if bullet else "this text"
                raise TextFormatError(
                    f"Line {number}: {what} is not indented under a numbered response."
                )
            node = open_[-1][1]
            if bullet:
                node = Response(line=number)
                open_[-1][1].replies.append(node)
                open_.append((indent, node))
                text = bullet[1]
        if text and node is last and not after_blank and node.paragraphs:
            node.paragraphs[-1] += HARD_BREAK + markdown_escape(text)
        elif text:
            node.paragraphs.append(markdown_escape(text))
        last, after_blank = node, False
    for response in walk(responses):
        if not response.paragraphs:
            raise TextFormatError(f"Line {response.line}: this response has no text.")
    return responses


def parse_article(text: str) -> ParsedArticle:
    """Read the plain-text format (see the module docstring); raise TextFormatError."""
    lines = list(enumerate(text.removeprefix("\ufeff").expandtabs().splitlines(), start=1))
    split = next(
        (i for i, (_, line) in enumerate(lines) if HEADER.fullmatch(line.strip())), len(lines)
    )
    head = _paragraphs(lines[:split])
    if not head:
        raise TextFormatError("The text is empty: its first line should be the title.")
    title = " ".join(head.pop(0))
    byline = source = ""
    if head and head[0][0].startswith("By "):
        byline, source = _parse_byline(" ".join(head.pop(0)))
    if not head:
        raise TextFormatError("The article has no text: put its paragraphs after the byline.")
    paragraphs, previous = [], ""
    for lines_of_paragraph in head:
        paragraph = HARD_BREAK.join(markdown_escape(line) for line in lines_of_paragraph)
        if previous.lower() == "related video:":
            paragraph = f"*{paragraph}*"
        paragraphs.append(paragraph)
        previous = " ".join(lines_of_paragraph)
    return ParsedArticle(title, byline, source, paragraphs, _parse_responses(lines[split + 1 :]))


def import_article(*, text: str, slug: str | None = None) -> tuple[Article, bool]:
    """Create the article and its discussion from ``text``; return ``(article, created)``.

    The slug defaults to the title's, cut to 200 characters. If an article already has the
    slug, nothing is written and that article is returned with ``created`` False, so an
    import can be run again safely. Otherwise everything is written in one transaction:
    TextFormatError (a malformed text) or ValidationError (a value the models refuse,
    such as a title over 300 characters) leaves nothing stored. Every comment is posted
    through ``comment_create``, each parent before its replies, in the file's order.
    """
    parsed = parse_article(text)
    slug = slug or slugify(parsed.title)[:200].strip("-")
    if not slug:
        raise TextFormatError("The title gives no slug (no Latin letters or digits): pass one.")
    with transaction.atomic():
        existing = Article.objects.filter(slug=slug).first()
        if existing is not None:
            return existing, False
        article = Article(
            title=parsed.title,
            slug=slug,
            byline=parsed.byline,
            source=parsed.source,
            body=parsed.body,
        )
        article.full_clean()
        article.save()
        stack = [(response, None) for response in reversed(parsed.responses)]
        while stack:
            response, parent_id = stack.pop()
            comment = comment_create(
                article=article,
                body=response.body,
                parent_id=parent_id,
                author_name=IMPORTED_AUTHOR,
            )
            stack.extend((reply, comment.pk) for reply in reversed(response.replies))
    return article, True
