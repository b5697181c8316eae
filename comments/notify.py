"""Email to editors. Subjects carry nothing a reader typed, so no header can be injected."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse


def editor_addresses() -> list[str]:
    """COMMENTS_MODERATOR_EMAILS, plus every active editor and superuser with an email."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    editors = users.filter(groups__name="Editors") | users.filter(is_superuser=True)
    addresses = set(settings.COMMENTS_MODERATOR_EMAILS)
    addresses.update(editors.values_list("email", flat=True))
    return sorted(addresses)


def first_report(comment) -> int:
    """Tell editors that a comment was reported for the first time."""
    recipients = editor_addresses()
    if not recipients:
        return 0
    admin_url = reverse("admin:comments_comment_change", args=[comment.pk])
    body = (
        f"A reader reported comment #{comment.pk} on “{comment.article.title}”.\n\n"
        f"{comment.body}\n\n"
        f"Review it: {admin_url}\n"
    )
    return send_mail(
        f"Comment #{comment.pk} was reported",
        body,
        settings.DEFAULT_FROM_EMAIL,
        recipients,
        fail_silently=True,
    )
