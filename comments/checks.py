"""System checks for the comments' settings: a typo stops the server at start-up."""

from django.conf import settings
from django.core import checks

from comments.ordering import ORDERS
from core import rates


def check_rate_settings(app_configs=None, **kwargs):
    return rates.check_rate_settings(
        ["COMMENTS_RATE_LIMIT", "COMMENTS_PREVIEW_RATE_LIMIT", "COMMENTS_VOTE_RATE_LIMIT"],
        "comments.E001",
    )


def check_default_order(app_configs=None, **kwargs):
    if settings.COMMENTS_DEFAULT_ORDER in ORDERS:
        return []
    return [
        checks.Error(
            f"COMMENTS_DEFAULT_ORDER: {settings.COMMENTS_DEFAULT_ORDER!r} is not an order; "
            f"use one of {', '.join(ORDERS)}.",
            id="comments.E002",
        )
    ]
