"""Spam and flood defences: each refuses with a message, keeps the text, stores nothing."""

import time

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from comments import defences
from comments.models import Comment
from core import rates


def post_url(article):
    return f"/articles/{article.slug}/comments/"


def shown_seconds_ago(seconds):
    """A form token as if the form had been shown ``seconds`` ago."""
    real = time.time
    try:
        time.time = lambda: real() - seconds
        return defences.form_token()
    finally:
        time.time = real


def assert_refused(response, message, text, status=400):
    html = response.content.decode()
    assert response.status_code == status
    assert message in html
    assert text in html
    assert not Comment.objects.exists()


def test_honeypot_filled_is_refused(client, article):
    response = client.post(
        post_url(article), {"body": "buy pills", "author_name": "Bot", "website": "http://x"}
    )
    assert_refused(response, "looks automated", "buy pills")


def test_form_sent_too_soon_is_refused_and_accepted_later(client, article, settings):
    settings.COMMENTS_MIN_SUBMIT_SECONDS = 3
    data = {"body": "Quick thought", "author_name": "Ann"}
    fast = client.post(post_url(article), {**data, "shown_at": shown_seconds_ago(1)})
    assert_refused(fast, "That was quick!", "Quick thought")
    forged = client.post(post_url(article), {**data, "shown_at": "12345"})
    assert_refused(forged, "That was quick!", "Quick thought")
    ok = client.post(post_url(article), {**data, "shown_at": shown_seconds_ago(5)})
    assert ok.status_code == 303


def test_minimum_delay_zero_turns_it_off(client, article, settings):
    settings.COMMENTS_MIN_SUBMIT_SECONDS = 0
    assert client.post(post_url(article), {"body": "hi", "author_name": "A"}).status_code == 303


def test_rate_limit_per_ip_answers_429_with_a_message(client, article, settings):
    settings.COMMENTS_RATE_LIMIT = "3/m"
    for i in range(3):
        assert (
            client.post(post_url(article), {"body": f"n{i}", "author_name": "A"}).status_code == 303
        )
    response = client.post(post_url(article), {"body": "one more", "author_name": "A"})
    html = response.content.decode()
    assert response.status_code == 429
    assert "You are posting too often." in html and "one more" in html
    assert Comment.objects.count() == 3


def test_rate_limit_per_user_holds_across_addresses(client, article, settings, django_user_model):
    settings.COMMENTS_RATE_LIMIT = "2/h"
    user = django_user_model.objects.create_user("u", password="pw-u-123456")
    client.force_login(user)
    for i, ip in enumerate(["192.0.2.1", "192.0.2.2"]):
        client.post(post_url(article), {"body": f"b{i}"}, REMOTE_ADDR=ip)
    response = client.post(post_url(article), {"body": "b3"}, REMOTE_ADDR="192.0.2.3")
    assert response.status_code == 429
    assert Comment.objects.count() == 2


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("5/m", (5, 60)),
        ("10/h", (10, 3600)),
        ("1/s", (1, 1)),
        ("off", None),
        ("", None),
    ],
)
def test_rate_setting_is_parsed(rate, parsed):
    assert rates.parse_rate(rate) == parsed


@pytest.mark.parametrize("setting", ["COMMENTS_RATE_LIMIT", "COMMENTS_PREVIEW_RATE_LIMIT"])
@pytest.mark.parametrize("value", ["10/15x", "five a minute", "5/0m"])
def test_a_malformed_rate_stops_the_server_at_start_up(settings, setting, value):
    """Not a 500 on every post: ``manage.py check`` (run by runserver and migrate) fails."""
    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError, match=setting):
        call_command("check")


def test_rate_limit_off(client, article, settings):
    settings.COMMENTS_RATE_LIMIT = "off"
    for i in range(10):
        client.post(post_url(article), {"body": f"m{i}", "author_name": "A"})
    assert Comment.objects.count() == 10


def test_too_many_links_are_refused(client, article, settings):
    settings.COMMENTS_MAX_LINKS = 2
    body = "see https://a.example https://b.example https://c.example"
    response = client.post(post_url(article), {"body": body, "author_name": "A"})
    assert_refused(response, "Too many links: at most 2", "https://c.example")


def test_duplicate_of_the_posters_previous_comment_is_refused(client, article, settings):
    settings.COMMENTS_REFUSE_DUPLICATES = True
    data = {"body": "Same again", "author_name": "A", "author_email": "a@example.org"}
    assert client.post(post_url(article), data).status_code == 303
    response = client.post(post_url(article), data)
    assert response.status_code == 400
    assert "You already posted this comment." in response.content.decode()
    assert Comment.objects.count() == 1


def test_blocked_words_hold_the_comment_for_moderation(client, article, settings):
    settings.COMMENTS_BLOCKED_WORDS = ["casino"]
    client.post(post_url(article), {"body": "Best Casino here", "author_name": "A"})
    client.post(post_url(article), {"body": "Casinos are a word apart", "author_name": "B"})
    statuses = dict(Comment.objects.values_list("body", "status"))
    assert statuses == {"Best Casino here": "pending", "Casinos are a word apart": "approved"}


def test_a_markdown_link_counts_once(client, article, settings):
    settings.COMMENTS_MAX_LINKS = 2
    body = "[one](https://www.a.example) and [two](https://www.b.example)"
    assert defences.link_count(body) == 2
    assert client.post(post_url(article), {"body": body, "author_name": "A"}).status_code == 303


def test_editing_in_links_or_blocked_words_is_caught(client, article, settings):
    settings.COMMENTS_MAX_LINKS = 1
    settings.COMMENTS_BLOCKED_WORDS = ["casino"]
    client.post(post_url(article), {"body": "hello", "author_name": "A"})
    comment = Comment.objects.get()
    many = "https://a.example https://b.example"
    response = client.post(f"/comments/{comment.pk}/edit/", {"body": many})
    assert "Too many links" in response.content.decode()
    client.post(f"/comments/{comment.pk}/edit/", {"body": "visit the casino"})
    comment.refresh_from_db()
    assert comment.body == "visit the casino" and comment.status == "pending"


def test_behind_a_proxy_the_posters_address_comes_from_x_forwarded_for(client, article, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.post(
        post_url(article),
        {"body": "hi", "author_name": "A"},
        HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9",
        REMOTE_ADDR="10.0.0.2",
    )
    assert Comment.objects.get().ip_address == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 0
    client.post(
        post_url(article),
        {"body": "again", "author_name": "A"},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
        REMOTE_ADDR="10.0.0.2",
    )
    assert Comment.objects.get(body="again").ip_address == "10.0.0.2"
