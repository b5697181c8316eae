"""Redirects stay on this site; state changes need a CSRF token and a POST.

Every ``next`` a reader can hand the site (login, signup, logout) is checked with
``url_has_allowed_host_and_scheme``: a target that a browser would take off-site, or to a
script, falls back to the home page. Every URL of the site, and the admin's writing ones,
answers a POST without a CSRF token with a 403 and changes nothing; no GET changes data.
"""

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from articles.models import Article
from comments.models import Comment
from comments.services import comment_create
from core.models import OutboxMessage

PASSWORD = "pw-ann-12345"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ann(db):
    return User.objects.create_user("ann", email="ann@example.org", password=PASSWORD)


# Open redirects. Each of these, followed by a browser from this site, leaves it or runs
# script (browsers read "\" as "/", drop tabs and newlines, and strip leading controls).
HOSTILE_NEXT = [
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    " //evil.example",
    "\t//evil.example",
    "\x08//evil.example",
    "https:evil.example",
    "http:evil.example",
    "https:/evil.example",
    "https://evil.example",
    "HTTPS://EVIL.EXAMPLE/",
    "http://evil.example/accounts/login/",
    "https://testserver@evil.example",
    "//testserver@evil.example",
    "https://evil.example\\@testserver",
    "https://testserver.evil.example",
    "ftp://evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    " javascript:alert(1)",
    "javascript://%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
]
SIGNUP = {"email": "new@example.org", "password1": "Zx9-long-pass", "password2": "Zx9-long-pass"}
ON_SITE_NEXT = ["/articles/clash-looming/", "/articles/clash-looming/?order=newest#responses"]


def assert_page_keeps_next_on_site(response):
    """The form does not carry the hostile target on, and no link on the page leaves."""
    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'name="next" value="([^"]*)"', html) in ([], [""])
    links = [unescape(href) for href in re.findall(r'(?:href|action)="([^"]*)"', html)]
    assert all(re.match(r"(/(?![/\\])|#|$)", link) for link in links), links


def location(response):
    assert response.status_code in {302, 303}, response.status_code
    return response["Location"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_ignores_an_off_site_next(client, ann, target):
    assert_page_keeps_next_on_site(client.get("/accounts/login/", {"next": target}))
    response = client.post(
        "/accounts/login/", {"username": "ann", "password": PASSWORD, "next": target}
    )
    assert location(response) == "/"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_signup_ignores_an_off_site_next(client, db, target):
    assert_page_keeps_next_on_site(client.get("/accounts/signup/", {"next": target}))
    data = {**SIGNUP, "username": "newcomer"}
    response = client.post("/accounts/signup/", {**data, "next": target})
    assert location(response) == "/"
    assert User.objects.filter(username="newcomer").exists()


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_signup_ignores_an_off_site_next_in_the_query_string(client, db, target):
    data = {**SIGNUP, "username": "newcomer"}
    response = client.post("/accounts/signup/?" + urlencode({"next": target}), data)
    assert location(response) == "/"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_logout_ignores_an_off_site_next(client, ann, target):
    client.force_login(ann)
    assert location(client.post("/accounts/logout/", {"next": target})) == "/"


@pytest.mark.parametrize("target", ON_SITE_NEXT)
def test_an_on_site_next_is_followed(client, ann, target):
    """The counterpart: the checks above refuse hostile targets, not every target."""
    response = client.post(
        "/accounts/login/", {"username": "ann", "password": PASSWORD, "next": target}
    )
    assert location(response) == target
    assert location(client.post("/accounts/logout/", {"next": target})) == target
    data = {**SIGNUP, "username": "newcomer"}
    assert location(client.post("/accounts/signup/", {**data, "next": target})) == target


def test_a_plain_http_next_is_refused_on_a_secure_request(client, ann):
    response = client.post(
        "/accounts/login/",
        {"username": "ann", "password": PASSWORD, "next": "http://testserver/articles/x/"},
        secure=True,
    )
    assert location(response) == "/"


# CSRF and safe methods.


@pytest.fixture
def world(ann):
    """An article, a comment Ann wrote (she is still in its edit window) and one by Bo."""
    article = Article.objects.create(title="Clash looming?", slug="clash-looming", body="Text.")
    mine = comment_create(article=article, body="Ann's comment.", user=ann)
    comment_create(article=article, body="Bo's reply.", author_name="Bo", parent_id=mine.pk)
    return {"article": article, "comment": mine, "user": ann}


def site_urls(world):
    """Every URL of the site outside the admin, its parameters filled from ``world``."""
    user = world["user"]
    values = {
        "slug": world["article"].slug,
        "pk": world["comment"].pk,
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
    urls = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name != "admin":
                    walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            assert isinstance(pattern, URLPattern)
            route = prefix + str(pattern.pattern)
            missing = set(pattern.pattern.converters) - set(values)
            assert not missing, f"site_urls() needs a value for {missing} in {route}"
            route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), route)
            urls.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return urls


# What a forged form might carry: every field of every form on the site.
FORGED = {
    "body": "Changed by a forged request.",
    "author_name": "Mallory",
    "author_email": "mallory@evil.example",
    "status": "removed",
    "username": "ann",
    "password": PASSWORD,
    "password1": "Zx9-forged-pass",
    "password2": "Zx9-forged-pass",
    "old_password": PASSWORD,
    "new_password1": "Zx9-forged-pass",
    "new_password2": "Zx9-forged-pass",
    "email": "ann@example.org",
    "post": "yes",
}


def snapshot(*, sessions=True):
    """Everything a request could change: rows, sessions, mail queued."""
    models = (Article, Comment, User, OutboxMessage)
    state = [list(model.objects.order_by("pk").values()) for model in models]
    if sessions:
        state.append(sorted(Session.objects.values_list("session_key", "session_data")))
    return state


def csrf_client(user):
    """A browser with a CSRF cookie (from a page it loaded) that forgets to send the token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/accounts/login/")
    assert client.cookies["csrftoken"].value
    return client


def test_the_url_walk_finds_the_writing_urls(world):
    urls = site_urls(world)
    pk, slug = world["comment"].pk, world["article"].slug
    for url in [
        f"/articles/{slug}/comments/",
        f"/comments/{pk}/edit/",
        f"/comments/{pk}/delete/",
        "/accounts/logout/",
        "/accounts/signup/",
        "/accounts/login/",
        "/accounts/password_change/",
        "/accounts/password_reset/",
    ]:
        assert url in urls


# Exempt on purpose: RFC 8058 one-click unsubscribe is a POST from the mail provider's
# servers, with no cookie or token; its signed link is what authorizes it, and can only stop
# mail (comments/following.py). A forged POST there with a link that is not ours is a 400.
CSRF_EXEMPT = {"unsubscribe"}


def test_every_site_url_refuses_a_post_without_a_csrf_token(world):
    client = csrf_client(world["user"])
    before = snapshot()
    wrong, exempt = {}, {}
    for url in site_urls(world):
        response = client.post(url, FORGED)
        if url.split("/")[1] in CSRF_EXEMPT:
            exempt[url.split("/")[1]] = response.status_code
        elif response.status_code != 403 or b"CSRF" not in response.content:
            wrong[url] = response.status_code
    assert wrong == {}
    assert exempt == {"unsubscribe": 400}
    assert snapshot() == before


def _logged_in(client):
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(
    ("url", "changed"),
    [
        ("/articles/{slug}/comments/", lambda w, c: Comment.objects.count() == 3),
        ("/comments/{pk}/edit/", lambda w, c: Comment.objects.get(pk=w["comment"].pk).edited_at),
        ("/comments/{pk}/delete/", lambda w, c: Comment.objects.get(pk=w["comment"].pk).deleted_at),
        ("/accounts/logout/", lambda w, c: not _logged_in(c)),
        ("/accounts/signup/", lambda w, c: User.objects.filter(username="newcomer").exists()),
        ("/accounts/login/", lambda w, c: _logged_in(c)),
        ("/accounts/password_reset/", lambda w, c: OutboxMessage.objects.count() == 1),
    ],
)
def test_the_same_post_with_the_token_goes_through(world, url, changed):
    """The counterpart: the forged form is refused for its missing token, not its data."""
    client = csrf_client(world["user"])
    if url.startswith(("/accounts/signup/", "/accounts/login/", "/accounts/password_reset/")):
        client.logout()
        client.get("/accounts/login/")
    data = {**FORGED, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    if "signup" in url:
        data["username"] = "newcomer"
    response = client.post(url.format(slug=world["article"].slug, pk=world["comment"].pk), data)
    assert response.status_code in {200, 302, 303}
    assert changed(world, client)


def admin_urls(world):
    comment, article = world["comment"], world["article"]
    return [
        f"/admin/comments/comment/{comment.pk}/change/",
        f"/admin/comments/comment/{comment.pk}/delete/",
        "/admin/articles/article/add/",
        f"/admin/articles/article/{article.pk}/change/",
        f"/admin/articles/article/{article.pk}/delete/",
        f"/admin/auth/user/{world['user'].pk}/delete/",
        "/admin/password_change/",
        "/admin/logout/",
        "/admin/login/",
    ]


def test_the_admin_refuses_a_post_without_a_csrf_token(world, admin_user):
    client = csrf_client(admin_user)
    before = snapshot()
    wrong = {}
    for url in admin_urls(world):
        response = client.post(url, {**FORGED, "title": "Forged", "slug": "forged"})
        if response.status_code != 403 or b"CSRF" not in response.content:
            wrong[url] = response.status_code
    assert wrong == {}
    assert snapshot() == before


@pytest.mark.parametrize("who", ["author", "anonymous", "superuser"])
def test_no_get_changes_data(world, admin_user, who):
    """GET every URL, the admin's writing ones included: the data stays as it was.

    (Sessions may change: the password-reset link moves its token into the session.)
    """
    client = Client()
    if who == "author":
        client.force_login(world["user"])
    elif who == "superuser":
        client.force_login(admin_user)
    before = snapshot(sessions=False)
    for url in site_urls(world) + admin_urls(world):
        assert client.get(url).status_code < 500, url
    assert snapshot(sessions=False) == before
