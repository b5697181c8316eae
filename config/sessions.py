"""Database sessions that report an unreachable database as a server error, not a 400.

Django turns any database error while saving a session into UpdateError, which the session
middleware answers with 400 "session was deleted". When the database has gone away (the
comment may even be stored already), that tells the reader their request was bad: raise
the database error instead, so they get a 500 and retry.
"""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import InterfaceError, OperationalError


class SessionStore(DatabaseSessionStore):
    def save(self, must_create=False):
        try:
            super().save(must_create=must_create)
        except UpdateError as error:
            if isinstance(error.__context__, OperationalError | InterfaceError):
                raise error.__context__ from None
            raise
