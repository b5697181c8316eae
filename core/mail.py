"""Mail that never holds up a request: a mail backend that hands messages to a sender thread.

``BackgroundEmailBackend`` is the ``default`` mailer whenever mail leaves the machine (see
``MAILERS`` in config/settings.py). Its ``send_messages()`` only puts the messages on a queue
and returns; one daemon thread per process takes them off and sends each through the
``outgoing`` mailer (the SMTP backend, every wait bounded by ``EMAIL_TIMEOUT``). So a request
never opens a connection to a mail server, never looks up a host name for one, and never
waits on one, whatever the server does; every mail the app sends goes this way (comment
notifications, password resets).

Limitations, until mail goes through the job queue: the queue lives in the process's memory,
so mail still queued when the process exits is lost; when ``QUEUE_SIZE`` messages are
waiting (a mail server down for long), further ones are dropped, each with a logged error; a
message that fails is logged and not retried.
"""

import copy
import logging
import os
import queue
import threading
import time

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000

_lock = threading.Lock()
_queue: queue.Queue | None = None


class BackgroundEmailBackend(BaseEmailBackend):
    """Queue messages for the sender thread, which sends them through ``mailer``."""

    def __init__(self, *, mailer: str = "outgoing", **kwargs):
        super().__init__(**kwargs)
        self.mailer = mailer

    def send_messages(self, email_messages) -> int:
        """Queue the messages; the number queued (those that found the queue full are not)."""
        return sum(enqueue(message, mailer=self.mailer) for message in email_messages)


def enqueue(message: mail.EmailMessage, *, mailer: str = "outgoing") -> bool:
    """Hand one message to this process's sender thread without ever waiting; False (and
    an error logged) if the queue is full."""
    try:
        _sender_queue().put_nowait((copy.deepcopy(message), mailer))
    except queue.Full:
        logger.error("Mail queue full: dropped %r to %d recipients", *_described(message))
        return False
    return True


def drain(timeout: float) -> bool:
    """Wait until every message queued so far in this process has been sent (or has failed);
    False if some are still waiting after ``timeout`` seconds."""
    pending = _queue
    if pending is None:
        return True
    deadline = time.monotonic() + timeout
    with pending.all_tasks_done:
        while pending.unfinished_tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            pending.all_tasks_done.wait(remaining)
    return True


def _sender_queue() -> queue.Queue:
    """This process's queue, with its sender thread started on first use."""
    global _queue
    with _lock:
        if _queue is None:
            _queue = queue.Queue(maxsize=QUEUE_SIZE)
            threading.Thread(target=_send_forever, args=(_queue,), name="mail", daemon=True).start()
        return _queue


def _forget_queue() -> None:
    """In a forked child (a gunicorn worker), the parent's sender thread does not exist."""
    global _lock, _queue
    _lock, _queue = threading.Lock(), None


os.register_at_fork(after_in_child=_forget_queue)


def _send_forever(pending: queue.Queue) -> None:
    while True:
        message, mailer = pending.get()
        try:
            mail.mailers[mailer].send_messages([message])
        except Exception:
            # Whatever went wrong (a server that hangs, refuses or is not there, a bad
            # address, a broken setting), the sender goes on with the next message.
            logger.exception("Could not send %r to %d recipients", *_described(message))
        finally:
            pending.task_done()


def _described(message) -> tuple[str, int]:
    return message.subject, len(message.recipients())
