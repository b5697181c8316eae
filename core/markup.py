"""Markdown to safe HTML: the one place where text from users becomes markup (both apps use it).

Markdown is parsed with markdown-it-py's ``js-default`` preset, which leaves raw HTML as
text; the result is then cleaned by nh3 against an allow-list. ``sanitize`` is the only
function in the project that marks HTML safe, and it only ever marks nh3's output.

Rendering a comment is bounded for any text up to COMMENTS_MAX_LENGTH (the worst inputs
found are in bench/redos_probes.py; ``make bench`` times them):

* tables are off for comments (nh3 would strip them anyway), so a few header cells over
  many short rows cannot expand 10,000 characters into a million empty cells;
* markdown-it-py looks for the end of every "[" by stepping over the rest of its paragraph
  token by token, so n brackets before m markup characters cost n × m steps (200 "[" then
  "*_" repeated: over a second); and for the address after every "](" by reading on to the
  next space, up to 33 such reads over each character. Both are counted while a comment
  renders: one that needs more than LINK_SCAN_STEPS label steps or LINK_ADDRESS_CHARS
  address characters, or that has more than BRACKET_LIMIT brackets, is rendered again with
  link syntax off, its brackets left as text;
* past that, the work grows with the blocks (each line can open a list item, a heading, a
  quote: 20-45 µs each) and the markup characters (5-10 µs each). A text whose estimate,
  ``markup_work``, is over MARKUP_WORK_LIMIT (2,500 one-word list items, 10,000 emphasis
  delimiters; every text of the XSS corpus and the demo thread stays under half of it) is
  shown as plain paragraphs: its characters as written, its line breaks kept.
"""

import re
import sys
import threading
from collections import OrderedDict
from contextvars import ContextVar
from html import escape, unescape
from types import SimpleNamespace

import nh3
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it import helpers as link_helpers

BRACKET_LIMIT = 200
# A step costs 0.5-3 µs. Ordinary comments need one or two a link, a few hundred at most
# (the XSS corpus and the demo thread: 240).
LINK_SCAN_STEPS = 2_000
# About 0.15 µs a character; an address is read once when its link is written out.
LINK_ADDRESS_CHARS = 20_000

# µs-like units: 20 a line, 8 a character that can start markup in markdown-it-py.
MARKUP_WORK_LIMIT = 50_000
_MARKUP_CHARACTERS = "!#$%&*+-:<=>@[\\]^_`{}~"

_markdown = MarkdownIt("js-default")


class _LinkScanTooLong(Exception):
    """This text's links cost more to find than the budget of one comment."""


class _LinkBudget:
    def __init__(self):
        self.steps = self.chars = 0


_budget: ContextVar[_LinkBudget | None] = ContextVar("link_budget", default=None)
# How far markdown-it can read an address: up to a space or control character.
_ADDRESS_RUN = re.compile(r"[^\x00-\x20\x7f]*")


def _metered_skip_token(skip_token):
    """markdown-it's ``skipToken``, one step of the search for a link label's end."""

    def skip_token_metered(state) -> None:
        budget = _budget.get()
        if budget is not None:
            budget.steps += 1
            if budget.steps > LINK_SCAN_STEPS:
                raise _LinkScanTooLong
        skip_token(state)

    return skip_token_metered


def _metered_destination(string: str, pos: int, maximum: int):
    """markdown-it's ``parseLinkDestination``, charged with the most it can read."""
    budget = _budget.get()
    if budget is not None:
        budget.chars += _ADDRESS_RUN.match(string, pos, maximum).end() - pos
        if budget.chars > LINK_ADDRESS_CHARS:
            raise _LinkScanTooLong
    return link_helpers.parseLinkDestination(string, pos, maximum)


_comment_markdown = MarkdownIt("js-default").disable("table")
_comment_markdown.inline.skipToken = _metered_skip_token(_comment_markdown.inline.skipToken)
_comment_markdown.helpers = SimpleNamespace(
    parseLinkLabel=link_helpers.parseLinkLabel,
    parseLinkDestination=_metered_destination,
    parseLinkTitle=link_helpers.parseLinkTitle,
)
_comment_markdown_no_links = MarkdownIt("js-default").disable(
    ["table", "link", "image", "reference"]
)

COMMENT_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
ARTICLE_TAGS = COMMENT_TAGS | {
    "img",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
URL_SCHEMES = {"http", "https", "mailto"}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}


def _clean(html: str, tags: set[str]) -> str:
    return nh3.clean(
        html,
        tags=tags,
        attributes={tag: attrs for tag, attrs in ATTRIBUTES.items() if tag in tags},
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )


def markup_work(source: str) -> int:
    """An estimate of what rendering ``source`` as Markdown costs (see MARKUP_WORK_LIMIT)."""
    return 20 * source.count("\n") + 8 * sum(map(source.count, _MARKUP_CHARACTERS))


def comment_html(source: str) -> tuple[str, str]:
    """A comment's HTML, not yet cleaned, and how it was read: "markdown", "no links"
    (link syntax off) or "plain" (paragraphs of text)."""
    if markup_work(source) > MARKUP_WORK_LIMIT:
        return _plain_paragraphs(source), "plain"
    if source.count("[") <= BRACKET_LIMIT:
        token = _budget.set(_LinkBudget())
        try:
            return _comment_markdown.render(source), "markdown"
        except _LinkScanTooLong:
            pass
        finally:
            _budget.reset(token)
    return _comment_markdown_no_links.render(source), "no links"


def _plain_paragraphs(source: str) -> str:
    text = source.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    paragraphs = (part.strip("\n") for part in re.split(r"\n[ \t]*\n", text))
    return "".join(
        "<p>" + escape(part, quote=False).replace("\n", "<br>\n") + "</p>\n"
        for part in paragraphs
        if part.strip()
    )


def render_comment(source: str) -> str:
    """Render a reader's Markdown to cleaned HTML for storage beside the source."""
    rendered, _ = comment_html(source)
    return _clean(rendered, COMMENT_TAGS)


_OLD_EMPHASIS = re.compile(r"<(/?)([bi])(?=[\s/>])", re.IGNORECASE)


def clean_comment(html: str) -> str:
    """HTML from elsewhere (an imported comment) cleaned for storage with the allow-list of
    posted comments; ``<b>`` and ``<i>``, common there, become ``<strong>`` and ``<em>``."""
    html = _OLD_EMPHASIS.sub(lambda m: f"<{m[1]}{'strong' if m[2] in 'bB' else 'em'}", html)
    return _clean(html, COMMENT_TAGS)


def clean_article(html: str) -> str:
    return _clean(html, ARTICLE_TAGS)


def render_article(source: str) -> str:
    """Render an editor's Markdown; images and tables are allowed, nothing else more."""
    return _clean(_markdown.render(source), ARTICLE_TAGS)


def sanitize(html: str, *, article: bool = False, cache: bool = True) -> SafeString:
    """Clean HTML again at output and mark the result safe.

    Stored HTML was cleaned when written; cleaning it again costs microseconds and means a
    row altered in the database still cannot inject markup. Stored HTML is drawn again and
    again, so nh3's answer is kept (``cache``); HTML that is shown once, such as a preview,
    passes ``cache=False`` so that it cannot crowd out the stored bodies.
    """
    if not cache:
        return mark_safe(_clean(html, ARTICLE_TAGS if article else COMMENT_TAGS))  # noqa: S308
    return mark_safe(_clean_cached(html, article))  # noqa: S308


class _CleanCache:
    """nh3's answers by stored HTML, least recently used out first, at most
    MARKUP_CACHE_BYTES in all (Python's size of each key and answer; 0 keeps nothing)."""

    def __init__(self):
        self._entries = OrderedDict()  # (html, article) -> (clean html, bytes)
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key, clean: str) -> None:
        limit = settings.MARKUP_CACHE_BYTES
        html = key[0]
        if clean == html:
            clean = html  # nh3 usually gives stored HTML back unchanged: keep one copy
        size = sys.getsizeof(html) + (0 if clean is html else sys.getsizeof(clean))
        if size > limit:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (clean, size)
            self._bytes += size
            while self._bytes > limit:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "entries": len(self._entries),
                "bytes": self._bytes,
                "hits": self.hits,
                "misses": self.misses,
            }


_cache = _CleanCache()


def _clean_cached(html: str, article: bool) -> str:
    """nh3's answer for exactly this stored HTML, computed once while it stays cached."""
    key = (html, article)
    clean = _cache.get(key)
    if clean is None:
        clean = _clean(html, ARTICLE_TAGS if article else COMMENT_TAGS)
        _cache.put(key, clean)
    return clean


def cache_stats() -> dict[str, int]:
    """Entries, bytes, hits and misses of this process's cache of cleaned stored HTML."""
    return _cache.stats()


def cache_clear() -> None:
    _cache.clear()


# Plain text as Markdown, and HTML as plain text -------------------------------------------

# Plain text that Markdown would read as markup: emphasis, code, links, autolinks,
# strikethrough, entities; and at the start of a line, headings, quotes, lists, rules.
_MARKUP_INLINE = re.compile(r"([\\`*_\[\]<~]|&(?=#?\w+;))")
_MARKUP_LINE_START = re.compile(r"^(?:\d+(?=[.)])|(?=[#>+=-]))")
HARD_BREAK = "\\\n"
_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5"}
_BLOCKS |= {"h6", "table", "tr", "hr", "section", "article", "figure", "dl", "dt", "dd"}


def markdown_escape(line: str) -> str:
    """One line of plain text as Markdown that shows exactly that text."""
    return _MARKUP_LINE_START.sub(r"\g<0>\\", _MARKUP_INLINE.sub(r"\\\1", line), count=1)


def plain_markdown(paragraphs) -> str:
    """Paragraphs (each a list of lines) of plain text as Markdown: a blank line between
    paragraphs, a hard line break between the lines of one."""
    return "\n\n".join(HARD_BREAK.join(map(markdown_escape, lines)) for lines in paragraphs)


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
_HREF = re.compile(r'\shref="([^"]*)"')


def html_as_markdown(html: str) -> str:
    """What a reader sees of cleaned ``html`` (nh3's output: quoted attributes, no comments),
    as Markdown that shows it as plain text: paragraphs and line breaks kept, a link's
    address after its text. For imported comments, whose source is HTML: this is the text
    an editor then edits."""
    paragraphs: list[list[str]] = []
    lines: list[str] = []
    line: list[str] = []
    links: list[tuple[str, int]] = []

    def end_line():
        text = " ".join("".join(line).split())
        if text:
            lines.append(text)
        line.clear()

    def end_paragraph():
        end_line()
        if lines:
            paragraphs.append(lines[:])
        lines.clear()

    position = 0
    for tag in _TAG.finditer(html):
        line.append(unescape(html[position : tag.start()]))
        position = tag.end()
        closing, name = tag[1], tag[2].lower()
        if name == "br":
            end_line()
        elif name in _BLOCKS:
            end_paragraph()
        elif name == "a" and not closing:
            href = _HREF.search(tag[3])
            links.append((unescape(href[1]).strip() if href else "", len(line)))
        elif name == "a" and links:
            href, start = links.pop()
            label = "".join(line[start:]).strip()
            if href and href not in {label, f"mailto:{label}"}:
                line.append(f" ({href})")
    line.append(unescape(html[position:]))
    end_paragraph()
    return plain_markdown(paragraphs)
