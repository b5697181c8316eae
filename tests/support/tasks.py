"""The task queue, worked in the test's own process and transaction.

``run_tasks()`` takes every task that is ready, one at a time, as ``manage.py db_worker``
does (claimed under ``SELECT ... FOR UPDATE SKIP LOCKED``, run, marked finished) and returns
how many it ran. A task that raised fails the test with its traceback: ``deliver`` records
a failure to send on the message itself, so an exception there is a bug. Tasks scheduled for
later (retries) are not ready and are left alone.

Limitations: one task at a time in this thread; a real worker in a subprocess is
``tests.support.mail.worker_process``.
"""

from django.core import mail
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from core.models import OutboxMessage


def run_tasks(*, limit: int = 1000) -> int:
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    )
    ran = 0
    while ran < limit:
        with exclusive_transaction():
            ready = DBTaskResult.objects.ready().filter(backend_name="default")
            task = ready.get_locked()
            if task is None:
                break
            task.claim(worker.worker_id)
        worker.run_task(task)
        ran += 1
        task.refresh_from_db()
        assert task.status != "FAILED", task.traceback
    return ran


def queued_tasks() -> int:
    """Tasks waiting to run, now or later."""
    return DBTaskResult.objects.filter(status="READY").count()


def sent(kind=None, to=None) -> list:
    """The messages the worker has sent (after running the queue), of ``kind`` (the outbox's:
    "reply", "follow", "digest", ...) and to ``to``, when given."""
    run_tasks()
    kinds = dict(OutboxMessage.objects.values_list("message_id", "kind"))
    return [
        message
        for message in mail.outbox
        if (kind is None or kinds[message.extra_headers["Message-ID"]] == kind)
        and (to is None or to in message.to)
    ]
