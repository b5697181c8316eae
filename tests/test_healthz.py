"""``GET /healthz`` tells a load balancer whether this app server can serve.

It answers 200 with what each service answered (JSON) while the primary database answers,
and 503 when it does not; a replica or a cache that is down is reported, never a 503 (pages
come without them). It needs no session or cookie, and sets none. And a page whose replica
is unreachable is drawn from the primary, with no error (core/reads.py).

The unreachable cases run in a fresh process (settings are read once, at start) whose
databases point at a port nothing listens on.
"""

import json

import pytest

from tests.support.deploy import production_env, run
from tests.support.servers import database_url, free_port

pytestmark = pytest.mark.postgres

ASK = """
import json, django
django.setup()
from django.test import Client
answers = []
for path in {paths!r}:
    r = Client().get(path, HTTP_HOST="example.org", secure=True)
    body = r.content.decode()[:20000]
    answers.append([path, r.status_code, body, sorted(r.cookies), r["Content-Type"]])
print(json.dumps(answers))
"""


def ask(*paths, **env):
    """[(path, status, body, cookies set, content type)] from a fresh process (DEBUG on, so
    that pages need no collected static files)."""
    settings = production_env(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", **env)
    result = run("-c", ASK.format(paths=list(paths)), env=settings)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def nowhere() -> str:
    return f"postgres://postgres@127.0.0.1:{free_port()}/threadline"


def test_healthz_answers_200_with_each_service_and_sets_no_cookie(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"database": "ok", "replica": "absent", "cache": "local"}
    assert response.cookies == {}
    assert "no-store" in response["Cache-Control"]


def test_healthz_refuses_a_post(client):
    assert client.post("/healthz").status_code == 405


def test_healthz_answers_503_when_the_database_is_unreachable():
    [(_, status, body, cookies, kind)] = ask(
        "/healthz", DATABASE_URL=nowhere(), DATABASE_CONNECT_TIMEOUT="2"
    )
    assert status == 503
    assert kind == "application/json"
    assert json.loads(body)["database"] == "unreachable"
    assert cookies == []


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_replica_is_reported_and_pages_come_from_the_primary(article, post):
    post("Read from the primary while the replica is away.")
    answers = ask(
        "/healthz",
        article.get_absolute_url(),
        DATABASE_URL=database_url(),
        DATABASE_REPLICA_URL=nowhere(),
        DATABASE_CONNECT_TIMEOUT="2",
    )
    (_, health_status, health, health_cookies, _), (_, page_status, page, cookies, _) = answers
    assert health_status == 200
    assert json.loads(health) == {"database": "ok", "replica": "unreachable", "cache": "local"}
    assert health_cookies == []
    assert page_status == 200
    assert "Read from the primary while the replica is away." in page
    # Drawn from the primary: the reader's later pages must not be older than this one.
    assert "threadline_seen" in cookies
