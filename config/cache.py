"""Redis as the cache, where an outage costs little and breaks nothing.

The cache is an optimisation: with Redis stopped, hanging or full, pages render uncached and
posts go through (settings.py: the "default" cache ignores Redis errors; the "rate_limit"
cache raises them, for the rate limit to fail in the direction its setting names).

What an outage costs is bounded twice over. Each connect and each command waits at most
REDIS_SOCKET_TIMEOUT. And after a connection error or a timeout, this process leaves that
Redis alone for REDIS_RETRY_SECONDS: its commands fail at once instead of each waiting for the
timeout, so a Redis that accepts connections and never answers costs one timeout per process
per interval, not one per cache call. The first command after the pause tries Redis again,
so the app recovers by itself once Redis is back.
"""

import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Redis server (its connection pool: one per URL and process) -> when to try it again.
_paused_until: dict[int, float] = {}


class PausingRedis(redis.Redis):
    """A Redis client that stops sending commands for REDIS_RETRY_SECONDS after its server
    could not be reached or did not answer in time (django-redis REDIS_CLIENT_CLASS)."""

    def execute_command(self, *args, **options):
        server = id(self.connection_pool)
        paused_until = _paused_until.get(server)
        if paused_until is not None and time.monotonic() < paused_until:
            raise redis.ConnectionError("Redis failed a moment ago; not tried again yet")
        try:
            result = super().execute_command(*args, **options)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            _paused_until[server] = time.monotonic() + settings.REDIS_RETRY_SECONDS
            logger.warning(
                "Redis at %s failed (%s): working without it, trying again in %s s",
                self._address(),
                error,
                settings.REDIS_RETRY_SECONDS,
            )
            raise
        if _paused_until.pop(server, None) is not None:
            logger.warning("Redis at %s answers again", self._address())
        return result

    def _address(self) -> str:
        kwargs = self.connection_pool.connection_kwargs
        return kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
