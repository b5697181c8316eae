"""``manage.py db_worker``: django-tasks-db's worker, plus the outbox sweep and the daily tasks.

This command takes the place of the package's own (``core`` comes before
``django_tasks_db`` in ``INSTALLED_APPS``), with the same options, so every worker,
however it is started, also recovers mail whose delivery task was lost: it runs
``core.outbox.recover()`` once before taking its first task, then every
``MAIL_SWEEP_SECONDS`` from a thread of its own. A task that re-enqueued itself would do the
same from inside the queue, but each worker start would add one more such chain, and a chain
broken by a killed worker would end the sweeping altogether; a thread lives and dies with its
worker. Workers sweeping side by side are harmless: each message is locked by one sweep.
"""

import logging
import os
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from core import daily, outbox

logger = logging.getLogger("core.outbox")


def sweep() -> None:
    """One sweep; a database that cannot be reached now is tried again at the next one."""
    try:
        outbox.recover()
        daily.enqueue_due()
    except DatabaseError:
        logger.exception("The outbox sweep could not reach the database")
    finally:
        connection.close()  # this thread's own connection, opened again next time


def sweep_forever(interval: float) -> None:
    while True:
        time.sleep(interval)
        sweep()


class Command(db_worker.Command):
    help = (
        "Run a database background worker (django-tasks-db), sweeping the mail outbox for "
        "messages whose delivery was lost every MAIL_SWEEP_SECONDS."
    )

    def handle(self, *args, **options):
        # With --reload the command runs twice: in a watching parent, which only restarts
        # the child, and in the child that works. Only the one that works sweeps.
        if not options["reload"] or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            sweep()
            threading.Thread(
                target=sweep_forever,
                args=(settings.MAIL_SWEEP_SECONDS,),
                name="outbox-sweep",
                daemon=True,
            ).start()
        super().handle(*args, **options)
