"""Email: authors who asked hear of replies once the replies are approved; editors hear of
a comment's first report; nothing a reader types reaches a header.

A reply published at once notifies when it is posted; a held reply notifies when an editor
approves it, by any of the admin's ways of approving; a reply that is spam, removed or still
held notifies nobody; and a reply notifies once, however often it is approved. Messages are
queued in the outbox in the transaction of the change and sent by the task worker (run in
this process here: ``tests.support.tasks.run_tasks``). Ann's address is confirmed in every
test here (tests/test_addresses.py shows what happens before a reader confirms theirs).
"""

import pytest
from django.core import mail
from django.test import Client

from comments.models import Comment
from comments.services import comment_set_status
from core.models import OutboxMessage
from tests.support.tasks import run_tasks

CHANGELIST = "/admin/comments/comment/"
QUEUE = "/admin/comments/queuedcomment/"


@pytest.fixture(autouse=True)
def _ann_confirmed(confirmed):
    confirmed("ann@example.org")


def post_url(article):
    return f"/articles/{article.slug}/comments/"


def reply(client, article, parent, **data):
    return client.post(post_url(article), {"parent": parent.pk, **data})


def sent_to(address):
    """The messages the worker has sent to ``address``, after running the queue."""
    run_tasks()
    return [message for message in mail.outbox if address in message.to]


def test_author_who_asked_is_emailed_about_a_reply(client, article, post):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    reply(client, article, parent, body="Here you go", author_name="Bo")
    assert mail.outbox == []  # queued by the request, sent by the worker
    [message] = sent_to("ann@example.org")
    assert message.to == ["ann@example.org"]
    assert "Bo replied" in message.body and "Here you go" in message.body
    assert f"http://127.0.0.1:8000/comments/{Comment.objects.get(body='Here you go').pk}/" in (
        message.body
    )
    assert article.title in message.subject


def test_no_email_without_consent_or_for_ones_own_reply(client, article, post, confirmed):
    confirmed("q@example.org", "c@example.org")
    quiet = post("Quiet", author_email="q@example.org")
    chatty = post("Chatty", author_email="c@example.org", notify_replies=True)
    reply(client, article, quiet, body="r1", author_name="Bo")
    reply(client, article, chatty, body="r2", author_name="C", author_email="C@example.org")
    assert run_tasks() == 0
    assert mail.outbox == [] and not OutboxMessage.objects.exists()


def test_a_held_reply_notifies_only_once_an_editor_approves_it(
    client, article, post, editor_client
):
    article.moderation = article.Moderation.ALL
    article.save()
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    assert reply(client, article, parent, body="Held answer", author_name="Bo").status_code == 303
    held = Comment.objects.get(body="Held answer")
    assert held.status == Comment.Status.PENDING
    assert sent_to("ann@example.org") == []

    editor_client.post(QUEUE + f"{held.pk}/approve/")
    [message] = sent_to("ann@example.org")
    assert "Held answer" in message.body


def _approve_on_the_changelist(client, comment):
    client.post(CHANGELIST, {"action": "approve", "_selected_action": [comment.pk]})


def _restore_on_the_changelist(client, comment):
    client.post(CHANGELIST, {"action": "restore", "_selected_action": [comment.pk]})


def _approve_with_the_change_form_action(client, comment):
    client.post(
        f"{CHANGELIST}{comment.pk}/change/",
        {"CHANGE_FORM-action": "approve", "_selected_action": [comment.pk]},
    )


def _approve_in_the_queue(client, comment):
    client.post(f"{QUEUE}{comment.pk}/approve/")


def _approve_by_editing_the_status(client, comment):
    comment.refresh_from_db()
    client.post(
        f"{CHANGELIST}{comment.pk}/change/",
        {
            "author_name": comment.author_name,
            "author_email": comment.author_email,
            "status": "approved",
            "body": comment.body,
            "parent": comment.parent_id,
        },
    )


APPROVALS = [
    _approve_on_the_changelist,
    _restore_on_the_changelist,
    _approve_with_the_change_form_action,
    _approve_in_the_queue,
    _approve_by_editing_the_status,
]


@pytest.mark.parametrize("approve", APPROVALS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("held_as", ["pending", "spam", "removed"])
def test_every_way_of_approving_a_reply_notifies_exactly_once(
    article, post, editor_client, approve, held_as
):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    answer = post("An answer", parent=parent, name="Bo", status=held_as)
    assert sent_to("ann@example.org") == []  # held, spam or removed: nobody hears of it

    approve(editor_client, answer)
    assert Comment.objects.get(pk=answer.pk).status == Comment.Status.APPROVED
    assert len(sent_to("ann@example.org")) == 1

    for status in ["removed", "approved", "spam", "approved", "approved"]:
        comment_set_status(comment=answer, status=status)
    approve(editor_client, answer)
    assert len(sent_to("ann@example.org")) == 1
    assert OutboxMessage.objects.filter(kind="reply").count() == 1


def test_a_reply_marked_spam_or_removed_while_held_never_notifies(article, post, editor_client):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    spam = post("Buy now", parent=parent, name="Bot", status="pending")
    rude = post("Rude", parent=parent, name="Troll", status="pending")
    editor_client.post(CHANGELIST, {"action": "mark_spam", "_selected_action": [spam.pk]})
    editor_client.post(CHANGELIST, {"action": "remove", "_selected_action": [rude.pk]})
    assert {c.status for c in Comment.objects.filter(parent=parent)} == {"spam", "removed"}
    assert sent_to("ann@example.org") == []
    assert not OutboxMessage.objects.exists()


def test_a_reply_its_author_deleted_while_held_is_not_announced_on_approval(
    client, article, post, editor_client
):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    answer = post("Second thoughts", parent=parent, name="Bo", status="pending")
    Comment.objects.filter(pk=answer.pk).update(deleted_at=answer.created_at)
    _approve_on_the_changelist(editor_client, answer)
    assert sent_to("ann@example.org") == []


@pytest.mark.parametrize("undo", ["remove", "mark_spam", "remove_with_replies", "delete"])
def test_a_reply_taken_back_before_the_worker_sends_it_is_never_mailed(
    article, post, editor_client, undo
):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    bo = Client()
    reply(bo, article, parent, body="Rude words", author_name="Bo")
    answer = Comment.objects.get(body="Rude words")
    [queued] = OutboxMessage.objects.filter(kind="reply")  # queued, the worker not run yet
    if undo == "delete":
        bo.post(f"/comments/{answer.pk}/delete/")  # Bo, in the browser that posted it
        assert not Comment.objects.filter(pk=answer.pk).exists()
    else:
        editor_client.post(CHANGELIST, {"action": undo, "_selected_action": [answer.pk]})
        assert Comment.objects.get(pk=answer.pk).status != "approved"
    assert sent_to("ann@example.org") == []
    queued.refresh_from_db()
    assert queued.state == "withdrawn"
    if undo != "delete":  # approved again: still news once at most, and already withdrawn
        _approve_on_the_changelist(editor_client, answer)
        assert sent_to("ann@example.org") == []


def test_editors_hear_of_a_comments_first_report_once(client, post, editor, settings):
    settings.COMMENTS_MODERATOR_EMAILS = ["desk@example.org"]
    comment = post("Spammy")
    assert client.post(f"/comments/{comment.pk}/report/", {"reason": "spam"}).status_code == 303
    other = client.__class__(REMOTE_ADDR="192.0.2.99")
    assert other.post(f"/comments/{comment.pk}/report/", {"reason": "abuse"}).status_code == 303
    run_tasks()
    assert sorted(message.to[0] for message in mail.outbox) == [
        "desk@example.org",
        "edna@example.org",
    ]
    [message, _] = mail.outbox
    assert f"Comment #{comment.pk} was reported" == message.subject
    assert "Spammy" in message.body and "Spammy" not in message.subject


@pytest.mark.parametrize(
    "name",
    ["Eve\r\nBcc: victim@example.org", "Eve\nSubject: spoofed", "Eve\rX-Injected: 1"],
)
def test_cr_lf_in_a_name_never_adds_a_header_or_fails(client, article, post, name):
    parent = post("Hi", author_email="ann@example.org", notify_replies=True)
    response = reply(client, article, parent, body="hello", author_name=name)
    assert response.status_code == 303
    assert len(sent_to("ann@example.org")) == 1
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
