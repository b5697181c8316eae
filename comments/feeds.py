"""Atom feeds of the newest comments: the whole site's (``/feeds/comments/``) and one
article's (``/articles/<slug>/feed/``), with Django's syndication framework.

A feed shows what an anonymous reader's page shows: visible comments (approved, not
deleted) on published articles, never pending, spam, removed or deleted ones; each body
cleaned again at output as pages are (``Comment.rendered_body``); the author's name, never
an address.
"""

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.utils.feedgenerator import Atom1Feed
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comments import selectors

FEED_ITEMS = 50


class _CommentsFeed(Feed):
    feed_type = Atom1Feed

    def item_title(self, item):
        excerpt = Truncator(item.body).words(12, truncate="…")
        return _("%(name)s on “%(title)s”: %(excerpt)s") % {
            "name": item.display_author,
            "title": item.article.title,
            "excerpt": excerpt,
        }

    def item_description(self, item):
        return item.rendered_body

    def item_link(self, item):
        return item.get_absolute_url()

    def item_author_name(self, item):
        return item.display_author

    def item_pubdate(self, item):
        return item.created_at

    def item_updateddate(self, item):
        return item.edited_at or item.created_at


class SiteCommentsFeed(_CommentsFeed):
    title = gettext_lazy("Threadline: the newest comments")
    subtitle = gettext_lazy("The newest comments on every article.")

    def link(self):
        return "/"

    def items(self):
        return selectors.newest_comments()[:FEED_ITEMS]


class ArticleCommentsFeed(_CommentsFeed):
    def get_object(self, request, slug):
        article = selectors.published_article(slug)
        if article is None:
            raise Http404("No such article.")
        return article

    def title(self, obj):
        return _("Comments on “%(title)s”") % {"title": obj.title}

    def subtitle(self, obj):
        return _("The newest comments on “%(title)s”.") % {"title": obj.title}

    def link(self, obj):
        return obj.get_absolute_url()

    def items(self, obj):
        return selectors.newest_comments(article=obj)[:FEED_ITEMS]
