"""Sign-up, log-in, log-out and password change, in the site's own pages."""

import re

import pytest
from django.contrib.auth.models import User


def test_sign_up_logs_the_reader_in_and_returns_to_the_article(client, article):
    response = client.post(
        f"/accounts/signup/?next={article.get_absolute_url()}",
        {
            "username": "newbie",
            "email": "newbie@example.org",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
            "next": article.get_absolute_url(),
        },
    )
    assert response.status_code == 302 and response["Location"] == article.get_absolute_url()
    page = client.get(article.get_absolute_url()).content.decode()
    assert "newbie" in page and "Log out" in page
    assert 'name="author_name"' not in page  # signed in: no name needed


def test_sign_up_errors_are_shown_beside_the_fields(client, db):
    response = client.post(
        "/accounts/signup/", {"username": "x", "password1": "a", "password2": "b"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "didn’t match" in html or "didn't match" in html
    assert not User.objects.filter(username="x").exists()


def test_log_in_log_out_and_change_password(client, db):
    User.objects.create_user("ann", password="old-pass-phrase-1")
    assert "Log in" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/login/", {"username": "ann", "password": "old-pass-phrase-1"})
    assert response.status_code == 302
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "old-pass-phrase-1",
            "new_password1": "new-pass-phrase-2",
            "new_password2": "new-pass-phrase-2",
        },
    )
    assert response.status_code == 302
    assert "Password changed" in client.get(response["Location"]).content.decode()
    assert client.post("/accounts/logout/").status_code == 302
    assert client.login(username="ann", password="new-pass-phrase-2")


def test_account_pages_use_the_site_layout(client, db):
    for url in ("/accounts/login/", "/accounts/signup/"):
        html = client.get(url).content.decode()
        assert 'class="site-header"' in html and "css/site.css" in html


@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/login/"])
def test_every_aria_describedby_points_at_an_element_on_the_page(client, db, path):
    for response in (client.get(path), client.post(path, {"username": "x"})):
        html = response.content.decode()
        described = {
            target
            for value in re.findall(r'aria-describedby="([^"]*)"', html)
            for target in value.split()
        }
        ids = set(re.findall(r'\bid="([^"]+)"', html))
        assert described <= ids, f"{path}: {sorted(described - ids)} are not on the page"
