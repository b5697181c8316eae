"""A deployment that takes its proxy's address for every reader's is told so.

With ``TRUSTED_PROXY_COUNT=0`` behind a reverse proxy, every reader has the proxy's address,
and rate limits, throttles, reports and bans treat them all as one.

* ``manage.py check --deploy`` warns (config.W001) when the latest comments, 20 at least,
  all came from private addresses; it is silent when one of them came from a public
  address, when there are fewer, and when ``TRUSTED_PROXY_COUNT`` is set.
* At run time, the first request from a private address carrying ``X-Forwarded-For`` while
  ``TRUSTED_PROXY_COUNT`` is 0 logs a warning, once per process; a request from a public
  address, or without the header, or with the setting, logs nothing.
"""

import logging

import pytest
from django.test import Client

from config.checks import ENOUGH_POSTS, check_readers_are_told_apart
from tests.support.deploy import manage, production_env
from tests.support.servers import database_url

PROXY = "10.0.0.2"
PUBLIC = "198.51.100.7"


# As in tests/test_deploy.py: production is these and nothing else that changes security.
def deploy_check(**changes):
    """``check --deploy --fail-level WARNING`` with production settings, on the test database."""
    env = production_env(DATABASE_URL=database_url(), **changes)
    return manage("check", "--deploy", "--fail-level", "WARNING", env=env)


def posts_from(post, *addresses):
    for i, address in enumerate(addresses):
        post(f"Comment {i}", ip_address=address)


@pytest.mark.postgres
def test_deploy_check_warns_when_every_recent_post_came_from_a_proxy(transactional_db, post):
    posts_from(post, *[PROXY] * ENOUGH_POSTS)

    result = deploy_check()

    assert result.returncode != 0
    assert "config.W001" in result.stderr
    assert "The latest 20 comments all came from private addresses (10.0.0.2)" in result.stderr
    assert "Set TRUSTED_PROXY_COUNT" in result.stderr


@pytest.mark.postgres
def test_deploy_check_is_satisfied_once_the_proxy_is_trusted(transactional_db, post):
    posts_from(post, *[PROXY] * ENOUGH_POSTS)

    result = deploy_check(TRUSTED_PROXY_COUNT="1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_warns_for_any_mix_of_private_addresses(post):
    posts_from(post, *["10.1.2.3", "172.20.0.9", "192.168.1.1", "127.0.0.1", "fd00::1"] * 4)
    assert [w.id for w in check_readers_are_told_apart(databases=["default"])] == ["config.W001"]


def test_one_public_address_among_the_latest_posts_silences_the_check(post):
    posts_from(post, *[PROXY] * (ENOUGH_POSTS - 1), PUBLIC)
    assert check_readers_are_told_apart(databases=["default"]) == []


def test_too_few_posts_say_nothing(post):
    posts_from(post, *[PROXY] * (ENOUGH_POSTS - 1), None)
    assert check_readers_are_told_apart(databases=["default"]) == []


@pytest.fixture
def proxy_warnings(caplog):
    caplog.set_level(logging.WARNING, logger="config.proxy")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "config.proxy"]


def test_a_request_through_an_untrusted_proxy_logs_a_warning_once(
    article, proxy_warnings, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    client = Client()  # one client: one middleware chain, as in one server process
    for _ in range(3):
        client.get(article.get_absolute_url(), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=PUBLIC)

    [warning] = proxy_warnings()
    assert f"through a proxy at {PROXY}" in warning
    assert "TRUSTED_PROXY_COUNT is 0" in warning


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted"),
    [(PUBLIC, PUBLIC, 0), (PROXY, None, 0), (PROXY, PUBLIC, 1)],
    ids=["public-connection", "no-forwarded-header", "proxy-trusted"],
)
def test_requests_not_through_an_untrusted_proxy_log_nothing(
    article, proxy_warnings, settings, remote, forwarded, trusted
):
    settings.TRUSTED_PROXY_COUNT = trusted
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    response = Client().get(article.get_absolute_url(), REMOTE_ADDR=remote, **headers)
    assert response.status_code == 200
    assert proxy_warnings() == []
