"""Fixed-window rate limits: the one grammar for them and the one way to count.

A limit reads "COUNT/WINDOW", the window an optional number and a unit (``s``, ``m``, ``h``,
``d``): ``5/m``, ``10/15m``, ``3/h``; ``off`` (or empty, ``0``, ``none``) switches it off.
Counts live in the "rate_limit" cache, whose errors reach the caller (config/settings.py):
each caller decides which way to fail when Redis cannot be reached. Used by the posting and
preview limits (comments) and the log-in and sign-up throttles (accounts).
"""

import re

from django.conf import settings
from django.core import checks
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

COUNTERS = "rate_limit"
_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\w*\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(value: str) -> tuple[int, int] | None:
    """``"10/15m"`` -> ``(10, 900)``; ``"5/m"`` -> ``(5, 60)``; ``"off"`` -> None.
    Raises ImproperlyConfigured for anything else."""
    text = (value or "").strip().lower()
    if text in {"", "off", "none", "0"}:
        return None
    match = _LIMIT.match(text)
    if not match or int(match[1]) < 1 or match[2] == "0":
        raise ImproperlyConfigured(
            f"{value!r} is not a limit: write COUNT/WINDOW such as '5/m', '10/15m' or '3/h' "
            "(units s, m, h, d), or 'off'."
        )
    return int(match[1]), int(match[2] or 1) * _UNITS[match[3]]


def count(key: str, *, window: int) -> int:
    """Add one to the counter ``key``, which lives until its window ends; its new value
    (atomic with Redis)."""
    counters = caches[COUNTERS]
    counters.add(key, 0, timeout=window + 1)
    try:
        return counters.incr(key)
    except ValueError:  # expired between add and incr
        counters.set(key, 1, timeout=window + 1)
        return 1


def check_rate_settings(names: list[str], check_id: str) -> list[checks.Error]:
    """System-check errors for the named settings that are not limits, so a typo stops the
    server at start-up instead of failing every request that counts."""
    errors = []
    for name in names:
        try:
            parse_rate(getattr(settings, name))
        except ImproperlyConfigured as error:
            errors.append(checks.Error(f"{name}: {error}", id=check_id))
    return errors
