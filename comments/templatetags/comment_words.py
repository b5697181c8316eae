"""The words on every comment's element, in the reader's language, for the price of a lookup.

A page draws hundreds of comments: a ``{% translate %}`` costs a few microseconds and a
``{% blocktranslate %}`` with variables several times that, each time. So the words that
every comment carries are translated once per language and process
(``{% comment_words as w %}``, then ``{{ w.reply }}``), and the few that hold a number or a
name are filters. Words only some comments carry stay ``{% translate %}`` in the template.
"""

import functools

from django import template
from django.utils.translation import get_language, gettext, ngettext, pgettext

register = template.Library()


@functools.cache
def _words(language: str | None) -> dict[str, str]:
    return {
        "collapsed": gettext("(collapsed)"),
        "deleted": gettext("[deleted]"),
        "removed": gettext("[removed]"),
        "link": gettext("Link to this comment"),
        "upvote": gettext("Upvote"),
        "downvote": gettext("Downvote"),
        "reply": gettext("Reply"),
        "report": gettext("Report"),
        "counts": gettext("%(up)s up, %(down)s down"),
        "reply_to": pgettext("the Reply link: reply to (a name)", "to %(name)s"),
    }


@register.simple_tag
def comment_words() -> dict[str, str]:
    """The words, in the active language."""
    return _words(get_language())


@register.filter
def vote_counts(node) -> str:
    """ "3 up, 1 down" for a comment's node."""
    return _words(get_language())["counts"] % {"up": node.upvotes, "down": node.downvotes}


@register.filter
def points(score: int) -> str:
    """ "point" or "points", as the score's number asks."""
    return ngettext("point", "points", score)


@register.filter
def reply_to(name: str) -> str:
    """ "to <name>", after "Reply" (the name is escaped where it is drawn)."""
    return _words(get_language())["reply_to"] % {"name": name}
