"""Throttles for logging in and signing up, counted in Django's cache.

- **Log-in**: failed attempts are counted per account (the normalized username) and per
  client address in a fixed window (``ACCOUNTS_LOGIN_FAILURE_LIMIT``, e.g. ``10/15m``). Once
  either count reaches the limit, every further attempt on that account or from that address
  is refused, the right password included, until the window ends, and the password is not
  checked at all (so refusals cost no hashing). An attempt is counted *before* its password
  is checked and given back if it succeeds, so concurrent guesses cannot overrun the limit.
  A success clears its account's count but never its address's: an attacker cannot clear
  their address by logging into an account of their own.
- **Sign-up**: accounts created per client address in a fixed window
  (``ACCOUNTS_SIGNUP_LIMIT``, e.g. ``3/h``).

Limits read "COUNT/WINDOW" with the window as an optional number and a unit (``s``, ``m``,
``h``, ``d``): ``10/15m``, ``5/m``, ``3/h``; ``off`` switches a throttle off. The counts live
in the "rate_limit" cache: with ``REDIS_URL`` set every app server shares them; with the
local-memory cache each process counts on its own. When Redis cannot be reached the
throttles let everything through and log a warning: a cache outage must not lock everyone
out of their accounts.
"""

import hashlib
import logging
import math
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from redis import RedisError

from core import rates
from core.client import client_ip

logger = logging.getLogger(__name__)


# The clock the windows are counted on; tests set it to pass time without sleeping.
clock = time.time


def check_settings(app_configs=None, **kwargs):
    return rates.check_rate_settings(
        ["ACCOUNTS_LOGIN_FAILURE_LIMIT", "ACCOUNTS_SIGNUP_LIMIT"], "accounts.E001"
    )


@dataclass
class LoginAttempt:
    """One log-in attempt's place in the failure counts.

    ``refusal`` is the message to show when the attempt may not go ahead."""

    account_key: str | None = None
    address_key: str | None = None
    refusal: str | None = None

    def succeeded(self) -> None:
        """The password was right: clear the account's count and give back the address's."""
        try:
            if self.account_key:
                caches[rates.COUNTERS].delete(self.account_key)
            if self.address_key:
                caches[rates.COUNTERS].decr(self.address_key)
        except ValueError:  # the window ended meanwhile: nothing left to give back
            pass
        except RedisError:  # Redis down, hanging or full: fail open
            logger.warning("Log-in throttle: the cache is unreachable", exc_info=True)


def begin_login(request, username: str) -> LoginAttempt:
    """Count an attempt to log in as ``username`` as failed, before its password is checked,
    and say whether it may go ahead. Call ``succeeded()`` on the result when it does."""
    limit = rates.parse_rate(settings.ACCOUNTS_LOGIN_FAILURE_LIMIT)
    if limit is None:
        return LoginAttempt()
    count, window = limit
    now = clock()
    slot = int(now // window)
    account = hashlib.sha256(_normalize(username).encode()).hexdigest()[:32]
    attempt = LoginAttempt(account_key=f"login-failures:account:{account}:{window}:{slot}")
    ip = client_ip(request) if request is not None else None
    if ip:
        attempt.address_key = f"login-failures:ip:{ip}:{window}:{slot}"
    keys = [key for key in (attempt.account_key, attempt.address_key) if key]
    try:
        # A refused attempt is not counted (a locked-out owner retrying must not lock their
        # address too); one that goes ahead is counted first, so racing guesses see it.
        over = [key for key, n in caches[rates.COUNTERS].get_many(keys).items() if n >= count]
        if not over:
            over = [key for key in keys if rates.count(key, window=window) > count]
    except RedisError:  # Redis down, hanging or full: fail open
        logger.warning("Log-in throttle: the cache is unreachable; not throttling", exc_info=True)
        return LoginAttempt()
    if over:
        attempt.refusal = _("Too many failed log-in attempts. Try again in %(time)s.") % {
            "time": _minutes_left(now, window)
        }
    return attempt


def signup_refusal(request) -> str | None:
    """Count one account about to be created from this request's address; the message to
    show when that is over ``ACCOUNTS_SIGNUP_LIMIT``, else None."""
    limit = rates.parse_rate(settings.ACCOUNTS_SIGNUP_LIMIT)
    ip = client_ip(request)
    if limit is None or not ip:
        return None
    count, window = limit
    now = clock()
    try:
        created = rates.count(f"signups:ip:{ip}:{window}:{int(now // window)}", window=window)
    except RedisError:  # Redis down, hanging or full: fail open
        logger.warning("Sign-up throttle: the cache is unreachable; not throttling", exc_info=True)
        return None
    if created <= count:
        return None
    return _("Too many accounts have been created from your address. Try again in %(time)s.") % {
        "time": _minutes_left(now, window)
    }


def _normalize(username: str) -> str:
    """One count per account however its name is spelled: Unicode-normalized, case-folded."""
    return unicodedata.normalize("NFKC", username).strip().casefold()


def _minutes_left(now: float, window: int) -> str:
    minutes = max(1, math.ceil((window - now % window) / 60))
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
