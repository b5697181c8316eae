"""The Editors group: moderate comments, handle reports and bans, edit articles."""

from django.apps import apps as global_apps

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

    Runs from the data migration, after every migrate (so a flushed database gets it back)
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
