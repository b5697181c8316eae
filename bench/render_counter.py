"""gunicorn settings for ``bench/votes.py`` (``--config python:bench.render_counter``).

Each worker notes every discussion fragment it draws: a ``{% cache %}`` block that missed
stores what it drew, so each store of a ``discussion`` fragment appends a line (the time,
the worker's pid, the key) to the file named by ``BENCH_RENDERS_FILE``, opened for
appending so that the workers' lines never overwrite each other. Nothing else of the
command of ``make serve`` changes.
"""

import os
import time

FRAGMENTS = ("template.cache.discussion.", "template.cache.discussion-page.")


def post_worker_init(worker):
    path = os.environ.get("BENCH_RENDERS_FILE")
    if not path:
        return
    from django.core.cache.backends.locmem import LocMemCache

    notes = os.open(path, os.O_WRONLY | os.O_APPEND)
    store = LocMemCache.set

    def noted_set(self, key, *args, **kwargs):
        if key.startswith(FRAGMENTS):
            os.write(notes, f"{time.time():.3f} {os.getpid()} {key}\n".encode())
        return store(self, key, *args, **kwargs)

    LocMemCache.set = noted_set
