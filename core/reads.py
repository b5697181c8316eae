"""Page reads from a PostgreSQL streaming replica; every write, and every read a write
depends on, from the primary; and each reader sees their own writes and never goes back.

With ``DATABASE_REPLICA_URL`` unset there is no "replica" database and nothing here acts:
every query goes to the primary, as on one machine.

**Which database a request reads.** :class:`ReadRoutingMiddleware` decides once, when the
request arrives, and :class:`ReplicaRouter` applies it to every read of that request:

- a GET or HEAD reads from the replica, unless one of the rules below sends it to the
  primary; anything else (a post, an edit, a vote, a moderation action) reads and writes
  the primary only;
- a read inside a transaction always goes to the primary (the locked services read what
  they then change);
- a process that serves no requests (the task worker, management commands) uses the primary.

**Read-your-writes, and never back in time.** A replica shows the primary as it was a moment
ago. After a request that may have written, and after any page drawn from the primary while
a replica is configured, the answer carries a signed cookie (``SEEN_COOKIE``) holding the
primary's WAL position at that moment. That reader's next pages read from the replica only
once it has replayed at least that far (one ``SELECT`` on the replica for each of their
requests); until then they read from the primary. So a poster sees their comment at once,
others see it when the replica has it, and nobody who was shown a newer page is later shown
an older one (while replay is paused, say). The cookie goes once the replica has caught up.

**A replica that is down, hanging or gone.** Each connection attempt waits at most
``DATABASE_CONNECT_TIMEOUT``. A request whose replica query fails is drawn again from the
primary (a GET has nothing to undo), and the process leaves the replica alone for
``DATABASE_REPLICA_RETRY_SECONDS``: pages come from the primary, with no error, until it
answers again.

**Cached pages.** A cached page is keyed by the discussion version read, in the same
request, from the database that draws it (``comments.pages``). A lagging replica reads an
older version, so it never fills the entry of a newer one.
"""

import logging
import time
from contextvars import ContextVar

from django.conf import settings
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
SEEN_COOKIE = "threadline_seen"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SEEN_MAX_AGE = 3600  # seconds; a replica further behind than this is not one to read from

# Where this request's plain reads go: REPLICA or None (the primary). Set per request.
_reading_from: ContextVar[str | None] = ContextVar("threadline_reading_from", default=None)
# When this process may try the replica again after it failed (time.monotonic()).
_replica_paused_until = 0.0

# Where the server is in its WAL: the replay position on a standby, the write position on a
# primary (a "replica" that is not one, as in tests that mirror the primary, is never behind).
POSITION_SQL = (
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END) - '0/0'::pg_lsn"
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def from_replica() -> bool:
    """Whether a plain read here would be answered by the replica (so a value read now may
    be behind the primary's: nothing read here may be published as current)."""
    return _router_choice() == REPLICA


def _router_choice() -> str:
    alias = _reading_from.get()
    if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return alias


class ReplicaRouter:
    """``DATABASE_ROUTERS``: plain reads where the request's middleware said, the rest to
    the primary. Migrations run on the primary only (the replica replays them)."""

    def db_for_read(self, model, **hints):
        return _router_choice()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def wal_position(alias: str) -> int:
    """The server's WAL position in bytes (see POSITION_SQL)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(POSITION_SQL)
        return int(cursor.fetchone()[0])


def _replica_position() -> int | None:
    """The replica's replay position, or None when it did not answer."""
    try:
        return wal_position(REPLICA)
    except DatabaseError as error:
        _replica_failed(error)
        return None


def _replica_failed(error: Exception) -> None:
    global _replica_paused_until
    _replica_paused_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
    connections[REPLICA].close()
    logger.warning(
        "The read replica failed (%s): reading from the primary, trying it again in %s s",
        str(error).strip(),
        settings.DATABASE_REPLICA_RETRY_SECONDS,
    )


def _seen(request) -> int:
    """The WAL position this reader has been shown, from their signed cookie (0 if none)."""
    value = request.COOKIES.get(SEEN_COOKIE)
    if not value:
        return 0
    try:
        return int(signing.loads(value, salt=SEEN_COOKIE, max_age=SEEN_MAX_AGE))
    except (signing.BadSignature, TypeError, ValueError):
        return 0


class ReadRoutingMiddleware:
    """Chooses the database of the request's reads (see the module's docstring) and keeps
    the reader's cookie up to date. Before the session middleware: the session is read
    where this says, and a session saved by this request is seen by the next one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured() or request.path == "/healthz":
            return self.get_response(request)
        seen = _seen(request)
        # A reader who was shown nothing newer than the replica may have needs no question
        # asked first: should the replica fail, process_exception draws the page again.
        usable = request.method in SAFE_METHODS and time.monotonic() >= _replica_paused_until
        caught_up = usable and (not seen or (_replica_position() or -1) >= seen)
        replica = REPLICA if caught_up else None
        request.read_replica = replica  # process_exception retries without it
        token = _reading_from.set(replica)
        try:
            response = self.get_response(request)
        finally:
            _reading_from.reset(token)
        if getattr(request, "read_replica", None) == REPLICA:
            if seen:
                response.delete_cookie(SEEN_COOKIE)  # the replica has what they saw
        else:
            # Drawn from (or written to) the primary: later pages must not be older.
            self._remember_position(request, response)
        return response

    def process_exception(self, request, exception):
        """A page whose replica failed mid-request is drawn again from the primary."""
        if getattr(request, "read_replica", None) != REPLICA:
            return None
        if not isinstance(exception, DatabaseError) or not _failed_on_replica():
            return None
        _replica_failed(exception)
        request.read_replica = None
        token = _reading_from.set(None)
        try:
            match = request.resolver_match
            return match.func(request, *match.args, **match.kwargs)
        finally:
            _reading_from.reset(token)

    @staticmethod
    def _remember_position(request, response) -> None:
        try:
            position = wal_position(DEFAULT_DB_ALIAS)
        except DatabaseError:
            return  # the primary is gone too: the page says so already
        response.set_cookie(
            SEEN_COOKIE,
            signing.dumps(position, salt=SEEN_COOKIE),
            max_age=SEEN_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )


def _failed_on_replica() -> bool:
    """Whether the replica's connection is the one that broke (its last query failed, or it
    could not connect)."""
    connection = connections[REPLICA]
    return connection.connection is None or connection.errors_occurred
