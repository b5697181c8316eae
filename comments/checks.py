"""System checks for the comments' settings: a typo stops the server at start-up."""

from core import rates


def check_rate_settings(app_configs=None, **kwargs):
    return rates.check_rate_settings(
        ["COMMENTS_RATE_LIMIT", "COMMENTS_PREVIEW_RATE_LIMIT"], "comments.E001"
    )
