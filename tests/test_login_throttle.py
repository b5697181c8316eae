"""Log-in and sign-up throttles: guessing passwords and mass sign-up are cut off.

Failed log-ins are counted per account and per client address in a window. After the limit,
both the site's log-in form and the admin's answer 429 with "Too many failed log-in
attempts. Try again in N minutes." to every attempt — the right password included — without
running the password hasher, until the window passes. A success clears its account's count
but not its address's; readers who log in normally are never held up. Sign-up is limited
per address the same way. With the cache unreachable both throttles let everything through
and log a warning, never a 500.

Time passes by setting the throttle's clock, not by sleeping.
"""

import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import Client, override_settings

from accounts import throttle
from core import rates

PASSWORD = "pw-ann-12345"
LIMIT = 5
REFUSED = "Too many failed log-in attempts. Try again in "
INVALID = "correct username and password"  # both forms' wording for a wrong password
SITE_LOGIN, ADMIN_LOGIN = "/accounts/login/", "/admin/login/"
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


class CountingHasher(MD5PasswordHasher):
    """MD5 for speed, counting every password it hashes or checks."""

    calls = 0

    def encode(self, password, salt):  # checking a password encodes it too
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def small_limits(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["tests.test_login_throttle.CountingHasher"]
    settings.ACCOUNTS_LOGIN_FAILURE_LIMIT = f"{LIMIT}/15m"
    settings.ACCOUNTS_SIGNUP_LIMIT = "2/h"
    CountingHasher.calls = 0


class Clock:
    """The throttle's clock, at the start of a window, moved on by hand."""

    def __init__(self):
        self.now = 1_800_000_000.0  # a multiple of 15 minutes and of an hour

    def __call__(self):
        return self.now

    def advance(self, *, minutes):
        self.now += minutes * 60


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(throttle, "clock", clock)
    return clock


@pytest.fixture
def ann(db):
    return User.objects.create_user("ann", password=PASSWORD)


@pytest.fixture
def staff(db):
    return User.objects.create_superuser("root", password=PASSWORD)


def log_in(client, url, username, password, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def assert_refused(response):
    assert response.status_code == 429
    assert REFUSED in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def assert_logged_in(response, user):
    assert response.status_code == 302
    assert response.client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(("url", "user"), [(SITE_LOGIN, "ann"), (ADMIN_LOGIN, "staff")])
def test_fifty_wrong_passwords_are_refused_after_the_limit_then_the_right_one_too(
    client, clock, url, user, request
):
    user = request.getfixturevalue(user)
    CountingHasher.calls = 0
    answers = [log_in(client, url, user.username, f"guess-{i}") for i in range(50)]

    assert [a.status_code for a in answers] == [200] * LIMIT + [429] * (50 - LIMIT)
    assert all(INVALID in a.content.decode() for a in answers[:LIMIT])
    for answer in answers[LIMIT:]:
        assert_refused(answer)
        assert f"{REFUSED}15 minutes." in answer.content.decode()
    assert CountingHasher.calls == LIMIT  # the refused 45 never reached the hasher

    clock.advance(minutes=14)
    refused = log_in(client, url, user.username, PASSWORD)
    assert_refused(refused)
    assert f"{REFUSED}1 minute." in refused.content.decode()

    clock.advance(minutes=1)
    assert_logged_in(log_in(client, url, user.username, PASSWORD), user)


def test_site_and_admin_log_in_share_the_count(client, clock, staff):
    for i in range(LIMIT):
        assert log_in(client, SITE_LOGIN, "root", f"guess-{i}").status_code == 200
    assert_refused(log_in(client, ADMIN_LOGIN, "root", PASSWORD))
    assert_refused(log_in(client, SITE_LOGIN, "root", PASSWORD))


def test_the_admin_page_shows_the_refusal_in_its_own_form(client, clock, staff):
    for i in range(LIMIT):
        log_in(client, ADMIN_LOGIN, "root", f"guess-{i}")
    html = log_in(client, ADMIN_LOGIN, "root", PASSWORD).content.decode()
    assert re.search(rf'<p class="errornote">\s*{re.escape(REFUSED)}15 minutes.\s*</p>', html)
    assert 'name="username"' in html and 'value="root"' in html


def test_one_address_guessing_many_accounts_is_refused_on_every_account(client, clock, ann):
    for i in range(LIMIT):
        assert log_in(client, SITE_LOGIN, f"user{i}", "guess").status_code == 200
    assert_refused(log_in(client, SITE_LOGIN, "someone-else", "guess"))
    assert_refused(log_in(client, SITE_LOGIN, "ann", PASSWORD))

    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    assert_logged_in(log_in(elsewhere, SITE_LOGIN, "ann", PASSWORD), ann)


def test_many_addresses_guessing_one_account_lock_it_however_it_is_spelled(client, clock, ann):
    for i, spelling in zip(range(LIMIT), ["ann", "ANN", "Ann", "ａｎｎ", "ann"], strict=True):
        bot = Client(REMOTE_ADDR=f"203.0.113.{i + 1}")
        assert log_in(bot, SITE_LOGIN, spelling, "guess").status_code == 200
    assert_refused(log_in(Client(REMOTE_ADDR="198.51.100.9"), SITE_LOGIN, "ann", PASSWORD))

    neighbour = User.objects.create_user("bea", password=PASSWORD)
    assert_logged_in(log_in(client, SITE_LOGIN, "bea", PASSWORD), neighbour)


def test_logging_into_ones_own_account_does_not_reset_the_address_count(client, clock, ann):
    for i in range(LIMIT - 1):
        assert log_in(client, SITE_LOGIN, f"victim{i}", "guess").status_code == 200
    for _ in range(3):  # the attacker's own account, any number of times
        assert_logged_in(log_in(Client(), SITE_LOGIN, "ann", PASSWORD), ann)
    assert log_in(client, SITE_LOGIN, "victim", "guess").status_code == 200
    assert_refused(log_in(client, SITE_LOGIN, "victim", "guess"))


def test_a_reader_who_mistypes_now_and_then_is_never_held_up(clock, ann):
    # Phone, laptop, office...: a few typos and then the right password, again and again.
    for place in range(4):
        reader = Client(REMOTE_ADDR=f"198.51.100.{place + 1}")
        for _typo in range(LIMIT - 1):
            assert log_in(reader, SITE_LOGIN, "ann", "pw-ann-1234").status_code == 200
        assert_logged_in(log_in(reader, SITE_LOGIN, "ann", PASSWORD), ann)
    # Each success cleared the account's count; more typos in a row than the limit do not.
    reader = Client(REMOTE_ADDR="198.51.100.99")
    for _typo in range(LIMIT):
        assert log_in(reader, SITE_LOGIN, "ann", "pw-ann-1234").status_code == 200
    assert_refused(log_in(reader, SITE_LOGIN, "ann", PASSWORD))


def test_the_address_behind_the_proxy_is_what_counts(client, clock, settings, ann):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    attacker = {**proxy, "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.7"}
    for i in range(LIMIT):
        assert log_in(client, SITE_LOGIN, f"user{i}", "guess", **attacker).status_code == 200
    assert_refused(log_in(client, SITE_LOGIN, "user", "guess", **attacker))
    # A forged first entry changes nothing: the proxy's own entry is the address.
    forged = {**proxy, "HTTP_X_FORWARDED_FOR": "9.9.9.9, 203.0.113.7"}
    assert_refused(log_in(client, SITE_LOGIN, "user", "guess", **forged))

    reader = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.20"}
    assert_logged_in(log_in(Client(), SITE_LOGIN, "ann", PASSWORD, **reader), ann)


@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_cannot_overrun_the_limit(settings, clock):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]

    def guess(i):
        try:
            return log_in(Client(), SITE_LOGIN, f"user{i}", "guess").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert sorted(statuses) == [200] * LIMIT + [429] * (20 - LIMIT)


def sign_up(client, username, **extra):
    data = {"username": username, "password1": "Zx9-long-pass", "password2": "Zx9-long-pass"}
    data["email"] = f"{username}@example.org"
    return client.post("/accounts/signup/", data, **extra)


def test_sign_up_is_limited_per_address(client, clock, db):
    assert sign_up(client, "first").status_code == 302
    assert sign_up(Client(), "second").status_code == 302

    refused = sign_up(Client(), "third")
    html = refused.content.decode()
    assert refused.status_code == 429
    assert "Too many accounts have been created from your address. Try again in 60 minutes." in (
        html
    )
    assert 'value="third"' in html  # the form is kept
    assert not User.objects.filter(username="third").exists()

    assert sign_up(Client(REMOTE_ADDR="198.51.100.9"), "fourth").status_code == 302
    clock.advance(minutes=60)
    assert sign_up(Client(), "fifth").status_code == 302


def test_sign_up_with_errors_is_not_counted(client, clock, db):
    for _ in range(5):
        assert sign_up(client, "x y").status_code == 200  # an invalid username
    assert sign_up(client, "first").status_code == 302
    assert sign_up(Client(), "second").status_code == 302
    assert sign_up(Client(), "third").status_code == 429


def test_off_switches_both_throttles_off(client, clock, settings, ann):
    settings.ACCOUNTS_LOGIN_FAILURE_LIMIT = "off"
    settings.ACCOUNTS_SIGNUP_LIMIT = "off"
    for i in range(LIMIT + 3):
        assert log_in(client, SITE_LOGIN, "ann", f"guess-{i}").status_code == 200
    assert_logged_in(log_in(client, SITE_LOGIN, "ann", PASSWORD), ann)
    for i in range(4):
        assert sign_up(Client(), f"new{i}").status_code == 302


@pytest.mark.parametrize("value", ["ten per minute", "10/15x", "0/m", "10/0m"])
def test_a_malformed_limit_stops_the_server_at_start_up(settings, value):
    settings.ACCOUNTS_LOGIN_FAILURE_LIMIT = value
    with pytest.raises(SystemCheckError, match="ACCOUNTS_LOGIN_FAILURE_LIMIT"):
        call_command("check")


def test_limits_read_count_slash_window():
    assert rates.parse_rate("10/15m") == (10, 900)
    assert rates.parse_rate("5/m") == (5, 60)
    assert rates.parse_rate("3/h") == (3, 3600)
    assert rates.parse_rate("100/2d") == (100, 172800)
    assert rates.parse_rate("off") is None


def test_with_the_cache_down_log_in_and_sign_up_go_through_with_a_warning(client, caplog, ann):
    nowhere = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
    unreachable = {  # as in production: the page cache ignores errors, the counters don't
        "default": {**nowhere, "OPTIONS": {**nowhere["OPTIONS"], "IGNORE_EXCEPTIONS": True}},
        "rate_limit": nowhere,
    }
    with override_settings(CACHES=unreachable), caplog.at_level(logging.WARNING):
        for i in range(LIMIT + 2):
            assert log_in(client, SITE_LOGIN, "ann", f"guess-{i}").status_code == 200
        assert_logged_in(log_in(client, SITE_LOGIN, "ann", PASSWORD), ann)
        for i in range(3):
            assert sign_up(Client(), f"new{i}").status_code == 302
    warnings = [r.getMessage() for r in caplog.records if r.name == "accounts.throttle"]
    assert len(warnings) == LIMIT + 2 + 1 + 3
    assert all("the cache is unreachable" in warning for warning in warnings)


@pytest.fixture
def redis_cache(settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("THREADLINE_REQUIRE_ALL"):
            pytest.fail(f"Redis is needed at {REDIS_URL}")
        pytest.skip(f"needs Redis at {REDIS_URL}")
    backend = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}
    settings.CACHES = {"default": backend, "rate_limit": backend}
    cache.clear()
    yield
    cache.clear()


def test_the_counts_hold_in_redis(client, clock, redis_cache, ann, staff):
    for i in range(LIMIT - 1):
        assert log_in(client, SITE_LOGIN, "ann", f"guess-{i}").status_code == 200
    assert_logged_in(log_in(Client(), SITE_LOGIN, "ann", PASSWORD), ann)
    assert log_in(client, SITE_LOGIN, "bea", "guess").status_code == 200
    assert_refused(log_in(client, SITE_LOGIN, "bea", "guess"))  # the address: 5 failures

    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    for i in range(LIMIT):
        assert log_in(elsewhere, ADMIN_LOGIN, "root", f"guess-{i}").status_code == 200
    assert_refused(log_in(elsewhere, ADMIN_LOGIN, "root", PASSWORD))
    assert_refused(log_in(Client(REMOTE_ADDR="198.51.100.10"), SITE_LOGIN, "root", PASSWORD))
    clock.advance(minutes=15)
    assert_logged_in(log_in(elsewhere, ADMIN_LOGIN, "root", PASSWORD), staff)
