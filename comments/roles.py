"""Who is an editor: an active account that may moderate comments (``can_moderate``),
through the Editors group, its own permissions, or as a superuser. The Editors group
holds that permission and what else editors need: reports, bans, articles."""

from collections.abc import Iterable

from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q

EDITORS = "Editors"
EDITOR_PERMISSIONS = {
    "comments": [
        "can_moderate",
        "view_comment",
        "change_comment",
        "view_flag",
        "change_flag",
        "view_ban",
        "add_ban",
        "change_ban",
        "delete_ban",
    ],
    "articles": ["view_article", "add_article", "change_article"],
}


def ensure_editors_group(apps=global_apps):
    """The Editors group with its permissions, created or completed if need be.

    Runs after every migrate (a post_migrate hook, so a new or flushed database gets it)
    and from ``make_editor``.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    for app_label, codenames in EDITOR_PERMISSIONS.items():
        editors.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
    return editors


def editors():
    """Active accounts that may moderate comments: one query, as ``has_perm`` decides it."""
    moderate = Permission.objects.filter(
        content_type__app_label="comments", codename="can_moderate"
    )
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__in=moderate)
            | Q(user_permissions__in=moderate)
        )
        .distinct()
    )


def editor_ids(user_ids: Iterable[int]) -> frozenset[int]:
    """Which of these accounts are editors: one query, none for no accounts."""
    user_ids = set(user_ids)
    if not user_ids:
        return frozenset()
    return frozenset(editors().filter(pk__in=user_ids).values_list("pk", flat=True))


def is_editor(user) -> bool:
    """Whether this account is an editor (``editors()`` for one account in memory)."""
    return bool(user.is_authenticated and user.is_active and user.has_perm("comments.can_moderate"))
