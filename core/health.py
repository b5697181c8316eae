"""``GET /healthz``: whether this app server can serve, for load balancers and monitoring.

It answers 200 while the primary database answers, 503 when it does not (an app server
without its database can serve nothing; the load balancer should send readers elsewhere).
The body says, as JSON, what each service it uses answered:

- ``database``: "ok" or "unreachable" (the primary; connecting waits at most
  ``DATABASE_CONNECT_TIMEOUT``);
- ``replica``: "absent" without ``DATABASE_REPLICA_URL``, else "ok" or "unreachable", with
  ``replica_lag_seconds`` (time since the last transaction it replayed, when it is behind)
  and ``replica_lag_bytes`` (WAL the primary has that the replica has not replayed). A
  replica that is down costs pages nothing (they come from the primary), so it never turns
  this to 503;
- ``cache``: "ok", "unreachable" (pages are drawn without it) or "local" (per process,
  without ``REDIS_URL``).

It reads no session and sets no cookie, so it is cheap to ask every second.
"""

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core import reads

LAG_SQL = "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"


def _database() -> dict:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"database": "ok"}
    except DatabaseError:
        connections[DEFAULT_DB_ALIAS].close()
        return {"database": "unreachable"}


def _replica(primary_ok: bool) -> dict:
    if not reads.replica_configured():
        return {"replica": "absent"}
    try:
        replayed = reads.wal_position(reads.REPLICA)
        with connections[reads.REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            since_replayed = cursor.fetchone()[0]
    except DatabaseError:
        connections[reads.REPLICA].close()
        return {"replica": "unreachable"}
    found = {"replica": "ok"}
    if primary_ok:
        behind = max(0, reads.wal_position(DEFAULT_DB_ALIAS) - replayed)
        # Time since the last transaction it replayed: its lag while it is behind.
        lag = float(since_replayed or 0) if behind else 0.0
        found |= {"replica_lag_bytes": behind, "replica_lag_seconds": round(lag, 3)}
    return found


def _cache() -> dict:
    if not settings.REDIS_URL:
        return {"cache": "local"}
    try:
        caches["rate_limit"].get("healthz")  # this cache raises Redis's errors
        return {"cache": "ok"}
    except Exception:  # noqa: BLE001 (any Redis or connection error means "unreachable")
        return {"cache": "unreachable"}


@never_cache
@require_safe
def healthz(request):
    found = _database()
    primary_ok = found["database"] == "ok"
    found |= _replica(primary_ok) | _cache()
    return JsonResponse(found, status=200 if primary_ok else 503)
