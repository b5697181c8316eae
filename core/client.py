"""Who is on the other end of a request: the one place that reads the client's address.

Rate limits, log-in and sign-up throttles, bans and reports all key on it, so every app
reads it here.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT proxies, the
    address the outermost of them saw (the last entries of X-Forwarded-For are appended by
    the proxies; anything before them the client may have forged). A forwarded value that
    is not an IP address is ignored."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies and len(forwarded) >= proxies:
        try:
            return str(ipaddress.ip_address(forwarded[-proxies]))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None
