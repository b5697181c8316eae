"""Database sessions that report an unreachable database as a server error, not a 400.

Django turns any database error while saving a session into UpdateError, which the session
middleware answers with 400 "session was deleted". When the database has gone away (the
comment may even be stored already), that tells the reader their request was bad: raise
the database error instead, so they get a 500 and retry.

A session cookie that cannot be a key this store made is no session: the reader gets a fresh
one, and the session middleware deletes the cookie. (Django checks only a key's length, and
a NUL in the cookie reached PostgreSQL, which refused the query: a 500 on every page.)
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import InterfaceError, OperationalError

KEY_CHARS = frozenset(VALID_KEY_CHARS)  # what Django makes keys of


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and set(key) <= KEY_CHARS

    def save(self, must_create=False):
        try:
            super().save(must_create=must_create)
        except UpdateError as error:
            if isinstance(error.__context__, OperationalError | InterfaceError):
                raise error.__context__ from None
            raise
