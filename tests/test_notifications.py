"""Email: authors who asked hear of replies; nothing a reader types reaches a header."""

import pytest
from django.core import mail

from comments.models import Comment


def post_url(article):
    return f"/articles/{article.slug}/comments/"


def reply(client, article, parent, **data):
    return client.post(post_url(article), {"parent": parent.pk, **data})


def test_author_who_asked_is_emailed_about_a_reply(
    client, article, post, django_capture_on_commit_callbacks
):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    with django_capture_on_commit_callbacks(execute=True):
        reply(client, article, parent, body="Here you go", author_name="Bo")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.org"]
    assert "Bo replied" in message.body and "Here you go" in message.body
    assert f"http://127.0.0.1:8000/comments/{Comment.objects.get(body='Here you go').pk}/" in (
        message.body
    )
    assert article.title in message.subject


def test_no_email_without_consent_or_for_ones_own_reply(
    client, article, post, django_capture_on_commit_callbacks
):
    quiet = post("Quiet", author_email="q@example.org")
    chatty = post("Chatty", author_email="c@example.org", notify_replies=True)
    with django_capture_on_commit_callbacks(execute=True):
        reply(client, article, quiet, body="r1", author_name="Bo")
        reply(client, article, chatty, body="r2", author_name="C", author_email="C@example.org")
    assert mail.outbox == []


@pytest.mark.parametrize(
    "name",
    ["Eve\r\nBcc: victim@example.org", "Eve\nSubject: spoofed", "Eve\rX-Injected: 1"],
)
def test_cr_lf_in_a_name_never_adds_a_header_or_fails(
    client, article, post, name, django_capture_on_commit_callbacks
):
    parent = post("Hi", author_email="ann@example.org", notify_replies=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = reply(client, article, parent, body="hello", author_name=name)
    assert response.status_code == 303
    assert len(mail.outbox) == 1
    for message in mail.outbox:
        raw = message.message().as_string()
        headers = raw.split("\n\n", 1)[0]
        assert "victim@example.org" not in headers and "X-Injected" not in headers
        assert "spoofed" not in headers
        assert message.recipients() == ["ann@example.org"]


@pytest.mark.parametrize(
    "email", ["a@example.org\r\nBcc: victim@example.org", "a@example.org\nCc: x@example.org"]
)
def test_cr_lf_in_an_email_is_refused_with_a_message(client, article, email):
    response = client.post(
        post_url(article), {"body": "hi", "author_name": "A", "author_email": email}
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not Comment.objects.exists()
