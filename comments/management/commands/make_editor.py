from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from comments.roles import ensure_editors_group


class Command(BaseCommand):
    help = "Make an existing user an editor: staff status and the Editors group (moderation)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}. Create one first.") from None
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(ensure_editors_group())
        self.stdout.write(f"{username} is now an editor: they can log in at /admin/.")
