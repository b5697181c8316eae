"""Tasks that run once a day, started by the task workers themselves.

Django's Tasks API has no scheduler, and Threadline wants no cron entry beside its worker.
So each worker, when it starts and at every outbox sweep (``MAIL_SWEEP_SECONDS``), calls
``enqueue_due()``: from ``MAIL_DIGEST_HOUR`` o'clock (``TIME_ZONE``) on, each registered
task not yet enqueued today is enqueued, with the day as its argument. "Not yet today" is a
row (``core.DailyRun``, unique per task and day) inserted in the same transaction as the
task: any number of workers, on any machines, enqueue it once. A day on which no worker
runs after that hour has no run; the tasks registered here make up for it the next day
(a digest lists everything since the previous one).

Apps register their tasks when they are ready (``register``): core imports neither app.
"""

from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import DailyRun

_tasks = {}


def register(name: str, task) -> None:
    """Run ``task`` (a ``django.tasks`` task taking the day, "YYYY-MM-DD") once a day."""
    _tasks[name] = task


def due_day(now: datetime | None = None) -> date | None:
    """The day whose tasks are due at ``now``, or None before ``MAIL_DIGEST_HOUR``."""
    local = timezone.localtime(now)
    return local.date() if local.hour >= settings.MAIL_DIGEST_HOUR else None


def enqueue_due(now: datetime | None = None) -> list[str]:
    """Enqueue each registered task not yet enqueued for today; the names enqueued."""
    day = due_day(now)
    if day is None:
        return []
    enqueued = []
    for name, task in sorted(_tasks.items()):
        with transaction.atomic():
            run, created = DailyRun.objects.get_or_create(name=name, day=day)
            if created:
                run.task_id = task.enqueue(day.isoformat()).id
                run.save(update_fields=["task_id"])
                enqueued.append(name)
    return enqueued
