"""Following a discussion: each new approved comment by mail, or a daily digest.

A reader with an account and an address, or a reader without one whose browser has shown
it reads a confirmed address's mail, follows an article with the control under it (a plain
form; htmx answers in place). Immediate followers are mailed each comment once it is
approved, never their own, and never a second mail for a comment whose reply notification
they get; held, spam and removed comments reach nobody. The daily digest lists what was
approved since the previous one; a worker enqueues it once a day (``core.daily``), and run
twice for one day, or by two workers at once, it sends each reader one mail. Editors' daily
summary of the moderation queue goes out only with ``COMMENTS_MODERATOR_DIGEST`` on and a
queue that is not empty.
"""

import threading
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from comments import digests
from comments.models import Comment, Flag
from comments.services import comment_set_status
from core import daily
from core.models import DailyRun, OutboxMessage
from subscriptions.models import Follow
from subscriptions.services import SESSION_ADDRESS
from tests.support.mail import smtp_server, smtp_settings, wait_until, worker_process
from tests.support.tasks import sent

DAY = "2031-05-04"


def follow_url(article):
    return f"/articles/{article.slug}/follow/"


@pytest.fixture
def ann(client, db):
    """A signed-in account with an address."""
    user = User.objects.create_user("ann", "ann@example.org", "pw-ann-12345")
    client.force_login(user)
    return user


def test_an_account_follows_and_hears_of_each_approved_comment_but_its_own(
    client, article, post, ann
):
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Follow this discussion" in page and 'value="immediate"' in page
    response = client.post(follow_url(article), {"mode": "immediate"})
    assert response.status_code == 303 and response["Location"].endswith("#follow")
    page = client.get(article.get_absolute_url()).content.decode()
    assert "each new comment comes by email" in page
    assert 'value="immediate" id="follow-immediate" checked' in page

    post("From Bo", name="Bo")
    post("My own", user=ann)
    held = post("Held", name="Cy", status="pending")
    spam = post("Spam", name="Dee", status="spam")
    shown = post("Shown then removed", name="Eve")
    [first, removed_one] = sent(kind="follow", to="ann@example.org")
    assert "From Bo" in first.body and first.subject == f"New comment on “{article.title}”"
    assert first.extra_headers["In-Reply-To"] == f"<article-{article.pk}@127.0.0.1>"
    assert "Shown then removed" in removed_one.body

    comment_set_status(comment=shown, status="removed")
    comment_set_status(comment=spam, status="removed")
    assert len(sent(kind="follow")) == 2  # nothing for spam, removed or still held
    comment_set_status(comment=held, status="approved")
    comment_set_status(comment=shown, status="approved")  # restored: told once already
    assert [("Held" in m.body) for m in sent(kind="follow")] == [False, False, True]


def test_a_follower_who_is_also_replied_to_gets_one_mail(client, article, post, ann):
    client.post(follow_url(article), {"mode": "immediate"})
    mine = post("Mine", user=ann, notify_replies=True)
    post("An answer", parent=mine, name="Bo")
    [message] = sent(to="ann@example.org")
    assert OutboxMessage.objects.get().kind == "reply" and "An answer" in message.body


def test_without_a_confirmed_address_the_control_explains_and_refuses(client, article):
    page = client.get(article.get_absolute_url()).content.decode()
    assert "To follow this discussion by email, post a comment" in page
    assert 'name="mode"' not in page
    response = client.post(follow_url(article), {"mode": "immediate"})
    assert response.status_code == 403
    assert "Confirm an email address first" in response.content.decode()

    session = client.session
    session[SESSION_ADDRESS] = "nobody@example.org"  # never confirmed: of no use
    session.save()
    assert (
        "To follow this discussion by email"
        in client.get(article.get_absolute_url()).content.decode()
    )
    assert client.post(follow_url(article), {"mode": "immediate"}).status_code == 403
    client.force_login(User.objects.create_user("cy", password="pw-cy-12345"))
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'on <a href="/accounts/email/">your account page</a> to follow' in page
    assert client.post(follow_url(article), {"mode": "digest"}).status_code == 403
    assert not Follow.objects.exists()


def test_bad_follow_input_is_a_400_in_words(client, article, ann):
    for data in ({}, {"mode": "weekly"}, {"mode": ["immediate", "x"]}):
        response = client.post(follow_url(article), data)
        if response.status_code != 303:
            assert response.status_code == 400
            assert "Choose how to follow" in response.content.decode()
    assert client.post("/articles/no-such/follow/", {"mode": "digest"}).status_code == 404
    assert client.get(follow_url(article)).status_code == 405


def test_a_guest_follows_after_confirming_in_this_browser(client, article, post, confirmed):
    post("Tell me", author_email="ann@example.org", notify_replies=True, name="Ann")
    [confirmation] = sent(kind="confirm")
    link = confirmation.body.split("http://127.0.0.1:8000", 1)[1].split()[0]
    assert client.post(link).status_code == 303
    page = client.get(article.get_absolute_url()).content.decode()
    assert "New comments, sent to ann@example.org" in page
    assert (
        client.post(follow_url(article), {"mode": "digest"}, HTTP_HX_REQUEST="true").status_code
        == 200
    )
    assert Follow.objects.get().mode == "digest"


def test_htmx_gets_the_control_back_in_place(client, article, ann):
    response = client.post(follow_url(article), {"mode": "digest"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("<section")
    assert 'value="digest" id="follow-digest" checked' in html
    assert "daily digest" in html and 'role="status"' in html


def test_the_digest_lists_what_was_approved_since_the_last_one_once_a_day(
    client, article, other_article, post, ann
):
    old = post("Before following", name="Old")
    Comment.objects.filter(pk=old.pk).update(approved_at=timezone.now() - timedelta(days=2))
    client.post(follow_url(article), {"mode": "digest"})
    client.post(follow_url(other_article), {"mode": "digest"})
    post("Bo says", name="Bo")
    post("Cy says", name="Cy", on=other_article)
    post("Ann herself", user=ann)
    post("Held", name="Held", status="pending")
    gone = post("Removed later", name="Gone")
    comment_set_status(comment=gone, status="removed")

    assert digests.send_digests.call(DAY) == 1
    assert digests.send_digests.call(DAY) == 0  # the same day again: nothing more
    [digest] = sent(kind="digest", to="ann@example.org")
    assert digest.subject == "2 new comments in the discussions you follow"
    assert "Bo says" in digest.body and "Cy says" in digest.body
    for absent in ("Before following", "Ann herself", "Held", "Removed later"):
        assert absent not in digest.body
    assert not sent(kind="follow")

    post("Next day", name="Dee")
    assert digests.send_digests.call("2031-05-05") == 1
    later = sent(kind="digest")[1]
    assert "Next day" in later.body and "Bo says" not in later.body
    assert later.subject == "1 new comment in the discussions you follow"


def test_no_digest_without_news(client, article, post, ann):
    client.post(follow_url(article), {"mode": "digest"})
    post("Only mine", user=ann)
    assert digests.send_digests.call(DAY) == 0
    assert not OutboxMessage.objects.exists()


def test_changing_to_the_digest_does_not_list_what_was_mailed_already(client, article, post, ann):
    client.post(follow_url(article), {"mode": "immediate"})
    post("Mailed at once", name="Bo")
    client.post(follow_url(article), {"mode": "digest"})
    assert digests.send_digests.call(DAY) == 0
    assert [m.subject for m in sent()] == [f"New comment on “{article.title}”"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_digest_at_once_send_one_per_reader(client, article, post):
    users = [
        User.objects.create_user(name, f"{name}@example.org", f"pw-{name}-123")
        for name in ("ann", "bo", "cy")
    ]
    for user in users:
        client.force_login(user)
        client.post(follow_url(article), {"mode": "digest"})
    for number in range(3):
        post(f"News {number}", name="Dee")
    start, results = threading.Barrier(2), []

    def work():
        try:
            start.wait(timeout=10)
            results.append(digests.send_digests.call(DAY))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(results) == 3
    assert sorted(OutboxMessage.objects.values_list("recipient", flat=True)) == [
        "ann@example.org",
        "bo@example.org",
        "cy@example.org",
    ]


def at(hour: int) -> datetime:
    return timezone.make_aware(datetime(2031, 5, 4, hour, 30))


def test_workers_enqueue_the_daily_tasks_once_a_day_from_the_digest_hour(settings, db):
    settings.MAIL_DIGEST_HOUR = 7
    assert daily.enqueue_due(at(6)) == []
    assert daily.enqueue_due(at(7)) == ["comments.digests", "comments.moderator_digest"]
    assert daily.enqueue_due(at(23)) == []
    assert DBTaskResult.objects.count() == 2
    assert set(DailyRun.objects.values_list("day", flat=True)) == {at(7).date()}
    assert [result.args_kwargs["args"] for result in DBTaskResult.objects.all()] == [[DAY], [DAY]]
    assert daily.enqueue_due(at(7) + timedelta(days=1)) != []


@pytest.mark.django_db(transaction=True)
def test_two_workers_finding_the_day_due_enqueue_it_once(settings):
    settings.MAIL_DIGEST_HOUR = 0
    start, found = threading.Barrier(4), []

    def sweep():
        try:
            start.wait(timeout=10)
            found.extend(daily.enqueue_due(at(9)))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(found) == ["comments.digests", "comments.moderator_digest"]
    assert DBTaskResult.objects.count() == 2


def test_the_enqueued_digest_runs_as_a_task(client, article, post, ann, settings):
    client.post(follow_url(article), {"mode": "digest"})
    post("Queued news", name="Bo")
    settings.MAIL_DIGEST_HOUR = 0
    daily.enqueue_due()
    [digest] = sent(kind="digest")
    assert "Queued news" in digest.body


def test_the_moderator_digest_is_off_by_default_and_silent_on_an_empty_queue(
    article, post, editor, settings
):
    settings.COMMENTS_MODERATOR_EMAILS = ["desk@example.org"]
    post("Held", name="Bo", status="pending")
    assert digests.send_moderator_digest.call(DAY) == 0
    settings.COMMENTS_MODERATOR_DIGEST = True
    Comment.objects.update(status="approved")
    assert digests.send_moderator_digest.call(DAY) == 0
    assert not OutboxMessage.objects.exists()


def test_the_moderator_digest_sums_up_the_queue_for_each_editor_once_a_day(
    client, article, post, editor, settings
):
    settings.COMMENTS_MODERATOR_DIGEST = True
    settings.COMMENTS_MODERATOR_EMAILS = ["Desk@example.org"]
    held = post("Held <b>words</b>", name="Bo", status="pending")
    reported = post("Reported", name="Cy")
    Flag.objects.create(comment=reported, reporter="ip:x", reason="spam")
    assert digests.send_moderator_digest.call(DAY) == 2
    assert digests.send_moderator_digest.call(DAY) == 0
    messages = sent(kind="moderation")
    assert sorted(m.to[0] for m in messages) == ["desk@example.org", "edna@example.org"]
    message = messages[0]
    assert message.subject == "2 comments wait for review"
    assert f"Comment #{held.pk} on “{article.title}”" in message.body
    assert f"/admin/comments/comment/{reported.pk}/change/" in message.body
    assert "/admin/comments/queuedcomment/" in message.body
    assert "words" not in message.subject

    client.force_login(editor)
    client.post("/notifications/", {"action": "editor", "reports": "on"})  # digest unticked
    assert digests.send_moderator_digest.call("2031-05-05") == 1
    assert sent(kind="moderation")[-1].to == ["desk@example.org"]


def test_the_worker_sweep_enqueues_the_day_and_a_real_worker_sends_the_digest(
    transactional_db, client, article, post, settings
):
    from core.management.commands.db_worker import sweep

    user = User.objects.create_user("ann", "ann@example.org", "pw-ann-12345")
    client.force_login(user)
    client.post(follow_url(article), {"mode": "digest"})
    post("Worth a digest", name="Bo")
    settings.MAIL_DIGEST_HOUR = 23
    if timezone.localtime().hour < 23:
        sweep()  # before the hour: nothing is due
        assert not DailyRun.objects.exists()
    with (
        smtp_server() as mailbox,
        worker_process(MAIL_DIGEST_HOUR="0", **smtp_settings(mailbox.port)),
    ):
        assert wait_until(lambda: OutboxMessage.objects.filter(state="sent").exists())
    assert DailyRun.objects.count() == 2
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.org"]
    assert "Worth a digest" in message.get_body(preferencelist=("plain",)).get_content()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
