"""The "Editors" group: moderate comments, manage reports and bans, edit articles."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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


def create_editors(apps, schema_editor):
    # Permissions are normally created after migrations run; this one needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name="Editors")
    for app_label, codenames in EDITOR_PERMISSIONS.items():
        editors.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


def remove_editors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Editors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("articles", "0002_article_moderation"),
        ("comments", "0002_moderation"),
    ]

    operations = [migrations.RunPython(create_editors, remove_editors)]
