"""A write locks one thread, not the table; a thread locked too long answers 503, not 500."""

import psycopg2
import pytest
from django.db import connection

from comments.locks import THREAD_LOCK
from comments.models import Comment

pytestmark = pytest.mark.postgres


@pytest.fixture
def other_connection():
    """A second session, as another app server's transaction would be."""
    params = connection.get_connection_params()
    conn = psycopg2.connect(**params)
    conn.autocommit = False
    yield conn
    conn.rollback()
    conn.close()


def hold_thread_lock(conn, tree_id):
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [THREAD_LOCK, tree_id])


def post_reply(client, article, parent, body):
    return client.post(
        f"/articles/{article.slug}/comments/",
        {"body": body, "author_name": "R", "parent": parent.pk},
    )


def test_a_busy_thread_does_not_block_other_threads_or_readers(
    client, article, post, other_connection, transactional_db, settings
):
    settings.COMMENTS_LOCK_TIMEOUT_MS = 200
    busy, quiet = post("busy thread"), post("quiet thread")
    hold_thread_lock(other_connection, busy.tree_id)
    assert post_reply(client, article, quiet, "fine").status_code == 303
    assert client.get(article.get_absolute_url()).status_code == 200
    assert Comment.objects.filter(parent=quiet).count() == 1


def test_a_thread_locked_too_long_answers_503_and_stores_nothing(
    client, article, post, other_connection, transactional_db, settings
):
    settings.COMMENTS_LOCK_TIMEOUT_MS = 100
    busy = post("busy thread")
    hold_thread_lock(other_connection, busy.tree_id)
    response = post_reply(client, article, busy, "waits")
    assert response.status_code == 503
    assert "very busy" in response.content.decode()
    assert response["Retry-After"]
    assert not Comment.objects.filter(body="waits").exists()
    other_connection.rollback()  # the other writer finishes: the same post now lands
    assert post_reply(client, article, busy, "waits").status_code == 303
