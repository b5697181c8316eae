from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    """Who Threadline may write to (confirmed addresses) and what each asked to hear of
    (followed discussions, editors' mails). Imports nothing of comments, articles or
    accounts: those apps come to it."""

    name = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import post_save

        from subscriptions import services

        def account_saved(sender, instance, update_fields=None, **kwargs):
            if update_fields is not None and "email" not in update_fields:
                return  # e.g. last_login on every log-in
            if instance.email:
                services.address_vouched(instance.email)

        # An account's address is confirmed whoever set it: Threadline's own flows write
        # ``User.email`` only once its owner followed the confirmation link, and an
        # administrator who types one in the admin vouches for it.
        post_save.connect(
            account_saved,
            sender=settings.AUTH_USER_MODEL,
            weak=False,
            dispatch_uid="subscriptions.account_saved",
        )
