from django.conf import settings
from django.db import migrations
from django.utils import timezone


def accounts_addresses_confirmed(apps, schema_editor):
    """Accounts' addresses set before addresses were confirmed were set by administrators
    (sign-up asked for none): they count as confirmed, and their owners keep hearing of
    replies."""
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Address = apps.get_model("subscriptions", "Address")
    now = timezone.now()
    emails = {email.strip().lower() for email in User.objects.exclude(email="").values_list("email", flat=True)}
    Address.objects.bulk_create(
        [Address(email=email, confirmed_at=now, created_at=now) for email in sorted(emails)],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("subscriptions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(accounts_addresses_confirmed, migrations.RunPython.noop),
    ]
