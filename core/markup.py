"""Markdown to safe HTML: the one place where text from users becomes markup (both apps use it).

Markdown is parsed with markdown-it-py's ``js-default`` preset, which leaves raw HTML as
text; the result is then cleaned by nh3 against an allow-list. ``sanitize`` is the only
function in the project that marks HTML safe, and it only ever marks nh3's output.
"""

import functools

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_markdown = MarkdownIt("js-default")
# markdown-it-py tries each "[" as the start of a link and nests into the next ones (about
# 100 steps a bracket: 0.4 s for 10,000 "["). A comment allows COMMENTS_MAX_LINKS links, so
# one with more than BRACKET_LIMIT brackets is not a list of links: render it without.
_markdown_no_links = MarkdownIt("js-default").disable(["link", "image", "reference"])
BRACKET_LIMIT = 200

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


def render_comment(source: str) -> str:
    """Render a reader's Markdown to cleaned HTML for storage beside the source."""
    parser = _markdown if source.count("[") <= BRACKET_LIMIT else _markdown_no_links
    return _clean(parser.render(source), COMMENT_TAGS)


def render_article(source: str) -> str:
    """Render an editor's Markdown; images and tables are allowed, nothing else more."""
    return _clean(_markdown.render(source), ARTICLE_TAGS)


def sanitize(html: str, *, article: bool = False) -> SafeString:
    """Clean stored HTML again at output and mark the result safe.

    Stored HTML was cleaned when written; cleaning it again costs microseconds and means a
    row altered in the database still cannot inject markup.
    """
    return mark_safe(_clean_cached(html, article))  # noqa: S308


@functools.lru_cache(maxsize=10_000)
def _clean_cached(html: str, article: bool) -> str:
    """nh3's answer for exactly this stored HTML, computed once per distinct body."""
    return _clean(html, ARTICLE_TAGS if article else COMMENT_TAGS)
