"""The Threadline cluster on one machine (issue #15): HAProxy in front of two gunicorn app
servers, a PostgreSQL primary with a streaming replica, Redis, a task worker and a mail sink.
``make cluster`` / ``make cluster-stop``; docs/deploy.md says what runs where in production.
"""
