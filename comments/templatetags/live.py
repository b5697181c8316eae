"""``{% live_updates article discussion_page %}``: the article page's hook for live new
comments (comments/live.py), drawn only while ``COMMENTS_LIVE_POLL_SECONDS`` is above 0."""

from django import template
from django.conf import settings

register = template.Library()


@register.inclusion_tag("comments/live.html")
def live_updates(article, discussion_page):
    return {
        "article": article,
        "order": discussion_page.order,
        "seconds": settings.COMMENTS_LIVE_POLL_SECONDS,
        "max_depth": settings.COMMENTS_MAX_DEPTH,
    }
