from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """What both apps share: Markdown and sanitizing, names, client addresses, and the mail
    outbox (the only models here) with its worker command."""

    name = "core"
    verbose_name = _("Core")
