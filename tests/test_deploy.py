"""Production settings: what a deployment gets when it sets only what it must.

Production is DEBUG unset, a long random SECRET_KEY, ALLOWED_HOSTS and a real mail backend
for the worker to send through (the deploy check refuses a development one). With only those,
``check --deploy`` finds nothing, not even a warning. Each check runs in a fresh process,
because the settings module reads the environment once, when it is imported.
"""

import json

import pytest
from django.conf import settings as conf

from tests.support.deploy import manage, production_env, run


# Variables that would change what production gets: each test starts without them.
def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_passes_behind_a_tls_terminating_proxy():
    env = production_env(SECURE_PROXY_SSL_HEADER="1")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


SETTINGS_DUMP = """
import json
import django
django.setup()
from django.conf import settings as s
names = [
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE",
    "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS",
]
values = {name: getattr(s, name, None) for name in names}
values["SECURE_CSP"] = {k: [str(v) for v in vs] for k, vs in s.SECURE_CSP.items()}
print(json.dumps(values))
"""


def production_settings(**changes):
    env = production_env(DJANGO_SETTINGS_MODULE="config.settings", **changes)
    result = run("-c", SETTINGS_DUMP, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_settings_hold_the_security_headers_and_cookie_flags():
    s = production_settings()
    assert s["DEBUG"] is False
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["SESSION_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert s["CSRF_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert s["SECURE_REFERRER_POLICY"] in {"same-origin", "strict-origin-when-cross-origin"}
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert s["SECURE_CSP"]["frame-ancestors"] == ["'none'"]


def test_ssl_redirect_can_be_left_to_a_proxy():
    """Behind a proxy that redirects and terminates TLS, the app trusts its header."""
    s = production_settings(SECURE_SSL_REDIRECT="0", SECURE_PROXY_SSL_HEADER="1")
    assert s["SECURE_SSL_REDIRECT"] is False
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("debug", [None, "0", "false"])
def test_production_without_a_secret_key_refuses_to_start(debug):
    result = manage("check", env=production_env(SECRET_KEY=None, DEBUG=debug))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize("backend", ["console", "locmem"])
def test_deploy_check_refuses_a_development_mail_backend(backend):
    env = production_env(EMAIL_BACKEND=f"django.core.mail.backends.{backend}.EmailBackend")
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "config.E001" in result.stderr and "no mail would leave" in result.stderr


def test_deploy_check_refuses_a_weak_secret_key():
    env = production_env(SECRET_KEY="short-and-guessable")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "security.W009" in result.stderr


@pytest.mark.parametrize("debug", ["1", "true"])
def test_development_starts_without_any_secret(debug):
    result = manage("check", env=production_env(SECRET_KEY=None, DEBUG=debug))
    assert result.returncode == 0, result.stderr


# The headers and cookies themselves, as the site sends them.


@pytest.mark.parametrize("path", ["/", "/articles/clash-looming/", "/admin/login/"])
def test_every_response_carries_the_security_headers(client, article, path):
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.fixture
def production_cookies(settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True


def test_every_cookie_the_site_sets_over_https_is_secure_and_samesite(
    client, article, django_user_model, production_cookies
):
    django_user_model.objects.create_user("ann", password="pw-ann-12345")
    responses = [
        client.get(f"{article.get_absolute_url()}?order=newest", secure=True),
        client.post(
            f"/articles/{article.slug}/comments/",
            {"body": "Hi", "author_name": "Ann"},
            secure=True,
        ),
        client.post(
            "/accounts/login/", {"username": "ann", "password": "pw-ann-12345"}, secure=True
        ),
    ]
    cookies = [cookie for response in responses for cookie in response.cookies.values()]
    assert {cookie.key for cookie in cookies} >= {"sessionid", "csrftoken"}
    for cookie in cookies:
        assert cookie["secure"], f"{cookie.key} is sent without Secure"
        assert cookie["samesite"] in {"Lax", "Strict"}, cookie.key
        if cookie.key != conf.CSRF_COOKIE_NAME:  # htmx takes the token from the page
            assert cookie["httponly"], f"{cookie.key} is readable by scripts"
