"""Mail is well formed, as a real SMTP server (aiosmtpd) receives it.

A reply notification is plain text with an HTML alternative; the HTML shows the reader's
name escaped and the reply's body cleaned by the sanitizer, as the page does. Its
``Message-ID`` is made from its idempotency key and the site's domain (so every attempt
sends the same one), and ``In-Reply-To`` and ``References`` name the comment replied to, so
mail clients thread every reply to one comment together. No header carries a reader's name
or text. Mail sent through Django's API (a password reset) goes through the outbox too.
Proved both with the queue run in this process and end to end, with ``manage.py db_worker``
in a subprocess sending to the server.
"""

import pytest
from django.urls import reverse

from comments.models import Comment
from core import outbox
from core.models import OutboxMessage
from tests.support.mail import (
    smtp_mailers,
    smtp_server,
    smtp_settings,
    wait_until,
    worker_process,
)
from tests.support.tasks import run_tasks

SITE = "https://comments.example.org"
NAME = "Eve <b>Evil</b> & Co"
BODY = "**Bold** move.\n\n<script>alert('body')</script> [a link](https://example.org/x)"


@pytest.fixture(autouse=True)
def _ann_confirmed(confirmed):
    confirmed("ann@example.org")


@pytest.fixture
def mailbox(settings):
    """The SMTP server; this process's worker sends to it."""
    settings.SITE_URL = SITE
    with smtp_server() as mailbox:
        settings.MAILERS = smtp_mailers(mailbox.port)
        yield mailbox


def parts(message):
    """(plain text, HTML) of a received message."""
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return tuple(part.get_content().replace("\r\n", "\n") for part in (text, html))


def headers_of(message) -> str:
    return "\n".join(f"{name}: {value}" for name, value in message.items())


def test_a_reply_notification_is_text_with_an_escaped_html_alternative(mailbox, article, post):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    reply = post(BODY, parent=parent, name=NAME)
    run_tasks()
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.org"]
    text, html = parts(message)

    assert f"{NAME} replied to your comment" in text and BODY in text
    assert f"{SITE}/comments/{reply.pk}/" in text
    assert "Eve &lt;b&gt;Evil&lt;/b&gt; &amp; Co replied" in html
    assert "<b>Evil</b>" not in html and "<script>" not in html
    assert "<strong>Bold</strong>" in html
    assert 'href="https://example.org/x"' in html and 'rel="nofollow ugc noopener"' in html
    assert f'href="{SITE}/comments/{reply.pk}/"' in html


def test_headers_thread_replies_to_one_comment_and_carry_no_reader_text(mailbox, article, post):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    other = post("Me too", author_email="ann@example.org", notify_replies=True)
    first = post(BODY, parent=parent, name=NAME)
    second = post("Another view", parent=parent, name="Bo")
    elsewhere = post("Elsewhere", parent=other, name="Cy")
    run_tasks()
    received = {message["Message-ID"]: message for _, message in mailbox.messages}
    assert len(received) == 3

    ids = {
        reply.pk: outbox.message_id(f"reply:{reply.pk}:ann@example.org")
        for reply in (first, second, elsewhere)
    }
    assert set(received) == set(ids.values())
    assert all(id.endswith("@comments.example.org>") for id in ids.values())
    for reply in (first, second):
        message = received[ids[reply.pk]]
        assert message["In-Reply-To"] == f"<comment-{parent.pk}@comments.example.org>"
        assert message["References"] == message["In-Reply-To"]
    elsewhere_thread = received[ids[elsewhere.pk]]["In-Reply-To"]
    assert elsewhere_thread == f"<comment-{other.pk}@comments.example.org>"

    for message in received.values():
        assert message["Subject"] == f"New reply to your comment on “{article.title}”"
        assert message["Date"] and message["Auto-Submitted"] == "auto-generated"
        headers = headers_of(message)
        for reader_text in ("Eve", "Evil", "Bold", "script", "Another view", "Bo", "Cy"):
            assert reader_text not in headers


def test_the_stored_message_is_what_the_server_receives(mailbox, article, post):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    reply = post("Here you go", parent=parent, name="Bo")
    run_tasks()
    [(_, message)] = mailbox.messages
    stored = OutboxMessage.objects.get()
    assert stored.key == f"reply:{reply.pk}:ann@example.org"
    assert message["Message-ID"] == stored.message_id == outbox.message_id(stored.key)
    assert message["Subject"] == stored.subject and message["From"] == stored.from_email
    assert parts(message) == (stored.text, stored.html)
    assert (stored.state, stored.attempts) == ("sent", 1) and stored.sent_at


def test_a_password_reset_goes_through_the_outbox(mailbox, client, django_user_model):
    django_user_model.objects.create_user("cy", "cy@example.org", "pw-cy-12345")
    response = client.post(reverse("password_reset"), {"email": "cy@example.org"})
    assert response.status_code == 302
    assert mailbox.messages == []
    stored = OutboxMessage.objects.get(kind="mail", recipient="cy@example.org")
    run_tasks()
    [(recipients, message)] = mailbox.messages
    assert recipients == ["cy@example.org"]
    assert message["Message-ID"] == stored.message_id
    assert "/accounts/reset/" in message.get_body(preferencelist=("plain",)).get_content()


def test_the_worker_process_sends_a_reply_to_the_smtp_server(
    transactional_db, client, article, post, settings
):
    settings.SITE_URL = SITE  # the request renders the message; the worker only sends it
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    response = client.post(
        reverse("comment_post", args=[article.slug]),
        {"body": BODY, "parent": parent.pk, "author_name": NAME},
    )
    assert response.status_code == 303
    reply = Comment.objects.get(parent=parent)
    with smtp_server() as mailbox, worker_process(**smtp_settings(mailbox.port)):
        assert wait_until(lambda: OutboxMessage.objects.filter(state="sent").exists())
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.org"]
    assert message["Message-ID"] == outbox.message_id(f"reply:{reply.pk}:ann@example.org")
    assert message["In-Reply-To"] == f"<comment-{parent.pk}@comments.example.org>"
    text, html = parts(message)
    assert BODY in text and "<strong>Bold</strong>" in html and "<script>" not in html
    assert OutboxMessage.objects.get().state == "sent"
