"""Behind a reverse proxy: is the app telling its readers apart?

With ``TRUSTED_PROXY_COUNT=0`` (the default) a reader's address is the connection's. Behind
a proxy that is the proxy's address, the same for every reader, so rate limits, log-in
throttles, reports and bans treat all readers as one. Two alarms say so: the deploy check
in config/checks.py, from the addresses stored with the latest comments, and
``UntrustedProxyWarningMiddleware`` here, which logs a warning the first time a process is
asked for a page through a proxy at a private address.
"""

import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)

# Where proxies live: private, shared (carrier-grade NAT), loopback and link-local networks.
PRIVATE_NETWORKS = [
    ipaddress.ip_network(network)
    for network in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
]


def is_private_address(address: str) -> bool:
    """Whether ``address`` is one no reader on the internet connects from."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in PRIVATE_NETWORKS)


class UntrustedProxyWarningMiddleware:
    """Log a warning, once per process, when a request comes from a private address with an
    ``X-Forwarded-For`` header while ``TRUSTED_PROXY_COUNT`` is 0: a proxy forwarded it,
    and the app is taking the proxy's address for the reader's. Requests are not changed."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.warned = False

    def __call__(self, request):
        if not self.warned and not settings.TRUSTED_PROXY_COUNT:
            remote = request.META.get("REMOTE_ADDR", "")
            if request.META.get("HTTP_X_FORWARDED_FOR") and is_private_address(remote):
                self.warned = True
                logger.warning(
                    "Requests come through a proxy at %s (they carry X-Forwarded-For) but "
                    "TRUSTED_PROXY_COUNT is 0: every reader gets the proxy's address, and "
                    "rate limits, log-in throttles, reports and bans treat them all as one. "
                    "Set TRUSTED_PROXY_COUNT to the number of proxies in front of the app.",
                    remote,
                )
        return self.get_response(request)
