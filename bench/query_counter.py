"""gunicorn settings for ``bench/live.py`` (``--config python:bench.query_counter``).

Each worker notes every SQL statement it sends: one line (the worker's pid and the start of
the statement) appended to the file named by ``BENCH_QUERIES_FILE``, opened for appending
so that the workers' lines never overwrite each other. Nothing else of the command of
``make serve`` changes.
"""

import os


def post_worker_init(worker):
    path = os.environ.get("BENCH_QUERIES_FILE")
    if not path:
        return
    from django.db import connection

    notes = os.open(path, os.O_WRONLY | os.O_APPEND)

    def noted(execute, sql, params, many, context):
        os.write(notes, f"{os.getpid()} {' '.join(sql.split())[:60]}\n".encode())
        return execute(sql, params, many, context)

    # A sync worker serves one request at a time in one thread: this is its connection.
    connection.execute_wrappers.append(noted)
