from django import template

from comments.models import Comment

register = template.Library()


@register.simple_tag
def moderation_queue_size() -> int:
    """How many comments wait in the moderation queue (held or reported, not reviewed)."""
    return Comment.objects.in_moderation().count()
