"""Every notification can be stopped in one click, and a reader sees what they follow.

Each kind of notification (a reply, a followed discussion's comment, the daily digest, a
report, the moderation digest) carries a signed unsubscribe link in its text and HTML and
as ``List-Unsubscribe``, with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058), as a real SMTP server receives it. A POST of ``List-Unsubscribe=One-Click`` to
that URL, with no cookie, session or CSRF token (as a mail provider sends it), stops that
kind of mail to that address; a GET only shows what the button would stop. "What you
follow" (an account's page, or an address's from the link in any mail) lists the comments
whose replies are mailed, the discussions followed and how, and editors' choices, and stops
any of it; bad input there is a 400 in words.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from comments import digests
from comments.models import Comment, Flag
from core.models import OutboxMessage
from subscriptions import tokens
from subscriptions.models import Address, Follow
from tests.support.mail import smtp_mailers, smtp_server
from tests.support.tasks import run_tasks, sent

SITE = "https://comments.example.org"
DAY = "2031-05-04"


def one_click(url, client=None):
    """What a mail provider does: a bare POST of the RFC 8058 body, nothing else."""
    client = client or Client(enforce_csrf_checks=True)
    return client.post(
        urlsplit(url).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )


def unsubscribe_url(message) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">")
    return header[1:-1]


@pytest.fixture
def every_kind(article, post, editor, settings, confirmed):
    """One notification of each kind, queued: ann hears of replies, bo follows at once, cy
    by digest, editors of reports and of the queue."""
    settings.SITE_URL = SITE
    settings.COMMENTS_MODERATOR_DIGEST = True
    confirmed("ann@example.org", "bo@example.org", "cy@example.org")
    Follow.objects.create(address=Address.objects.get(email="bo@example.org"), article=article)
    Follow.objects.create(
        address=Address.objects.get(email="cy@example.org"), article=article, mode="digest"
    )
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True, name="Ann")
    answer = post("An answer", parent=parent, name="Eve <b>Evil</b>")
    Flag.objects.create(comment=answer, reporter="ip:x", reason="spam")
    from comments import notify

    notify.first_report(answer)
    post("Held", name="Held", status="pending")
    digests.send_digests.call(DAY)
    digests.send_moderator_digest.call(DAY)
    return parent


def test_every_notification_kind_carries_one_click_unsubscribe_as_the_server_gets_it(
    every_kind, settings
):
    with smtp_server() as mailbox:
        settings.MAILERS = smtp_mailers(mailbox.port)
        run_tasks()
    kinds = dict(OutboxMessage.objects.values_list("message_id", "kind"))
    received = {kinds[message["Message-ID"]]: message for _, message in mailbox.messages}
    assert set(received) == {"reply", "follow", "digest", "report", "moderation"}
    for kind, message in received.items():
        link = message["List-Unsubscribe"]
        assert re.fullmatch(rf"<{SITE}/unsubscribe/[^/\s<>]+/>", link), kind
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert link[1:-1] in text and f'href="{link[1:-1]}"' in html, kind
        assert f"{SITE}/notifications/" in text and "Stop these emails" in html
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        assert "Eve" not in headers and "Evil" not in headers


def test_a_one_click_post_without_cookies_stops_reply_mails(article, post, confirmed):
    confirmed("ann@example.org")
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True, name="Ann")
    other = post("Me too", author_email="ANN@example.org", notify_replies=True, name="Ann")
    post("First", parent=parent, name="Bo")
    [message] = sent("reply")
    response = one_click(unsubscribe_url(message))
    assert response.status_code == 200
    assert "no more emails about replies to your comments" in response.content.decode()
    assert "sessionid" not in response.cookies  # no session was needed, nor made
    assert not Comment.objects.filter(notify_replies=True).exists()
    post("Second", parent=parent, name="Cy")
    post("Third", parent=other, name="Dee")
    assert len(sent("reply")) == 1


def test_one_click_stops_each_kind_it_names(every_kind):
    messages = {kind: sent(kind)[0] for kind in ("follow", "digest", "report", "moderation")}
    for kind, message in messages.items():
        assert one_click(unsubscribe_url(message)).status_code == 200, kind
    assert not Follow.objects.exists()
    assert list(
        Address.objects.filter(reports=False, moderation_digest=False).values_list(
            "email", flat=True
        )
    ) == ["edna@example.org"]
    assert Comment.objects.filter(notify_replies=True).exists()  # replies were not named


def test_the_unsubscribe_page_asks_first_and_a_get_stops_nothing(article, post, confirmed, client):
    confirmed("ann@example.org")
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True, name="Ann")
    post("First", parent=parent, name="Bo")
    url = urlsplit(unsubscribe_url(sent("reply")[0])).path
    for _ in range(2):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "Stop emails about replies to your comments to ann@example.org?" in html
        assert 'name="List-Unsubscribe" value="One-Click"' in html
    assert Comment.objects.filter(notify_replies=True).count() == 1
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not Comment.objects.filter(notify_replies=True).exists()


def test_a_bad_unsubscribe_link_is_a_400_and_stops_nothing(db, client, confirmed):
    confirmed("ann@example.org")
    good = tokens.unsubscribe_token(email="ann@example.org", scope="replies")
    for token in (good[:-2], good + "x", tokens.manage_token(email="ann@example.org"), "-"):
        response = one_click(f"/unsubscribe/{token}/")
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
    assert client.put(f"/unsubscribe/{good}/").status_code == 405


def test_an_account_sees_what_it_follows_and_stops_any_of_it(
    client, article, other_article, post, editor
):
    client.force_login(editor)
    mine = post("Mine", user=editor, notify_replies=True)
    also = post("Also mine", user=editor, notify_replies=True)
    client.post(f"/articles/{article.slug}/follow/", {"mode": "immediate"})
    client.post(f"/articles/{other_article.slug}/follow/", {"mode": "digest"})
    page = client.get("/notifications/").content.decode()
    assert "Emails go to <strong>edna@example.org</strong>" in page
    assert f"Comment #{mine.pk} on “{article.title}”" in page
    assert "You asked to hear of replies to 2 comments" in page
    assert article.title in page and other_article.title in page
    assert "An email when a comment is first reported" in page

    response = client.post("/notifications/", {"action": "stop_replies", "comment": mine.pk})
    assert response.status_code == 303
    assert list(Comment.objects.filter(notify_replies=True)) == [also]
    client.post(
        "/notifications/", {"action": "follow", "article": other_article.pk, "mode": "immediate"}
    )
    client.post("/notifications/", {"action": "follow", "article": article.pk, "mode": "off"})
    assert list(Follow.objects.values_list("article", "mode")) == [(other_article.pk, "immediate")]
    client.post("/notifications/", {"action": "editor"})  # both unticked
    assert Address.objects.filter(reports=False, moderation_digest=False).count() == 1
    client.post("/notifications/", {"action": "stop_replies"})
    assert not Comment.objects.filter(notify_replies=True).exists()
    assert (
        "None of your comments asks for replies." in client.get("/notifications/").content.decode()
    )


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"action": "explode"},
        {"action": "stop_replies", "comment": "x1"},
        {"action": "follow", "article": "abc", "mode": "digest"},
        {"action": "follow", "article": "999999", "mode": "digest"},
        {"action": "follow", "article": "1", "mode": "hourly"},
    ],
)
def test_bad_input_on_the_notifications_page_is_a_400_in_words(client, article, data, editor):
    client.force_login(editor)
    response = client.post("/notifications/", data)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().strip()
    assert not Follow.objects.exists()


def test_the_notifications_page_needs_an_account_or_a_signed_link(client, db):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/notifications/not-a-token/").status_code == 400


def test_a_guest_manages_an_address_from_the_link_in_a_mail(client, article, post, confirmed):
    confirmed("ann@example.org")
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True, name="Ann")
    post("First", parent=parent, name="Bo")
    [message] = sent("reply")
    manage = re.search(r"http://127\.0\.0\.1:8000(/notifications/\S+/)", message.body).group(1)
    page = client.get(manage).content.decode()
    assert "Emails go to <strong>ann@example.org</strong>" in page
    assert f"Comment #{parent.pk}" in page
    assert "As an editor" not in page
    # This browser may now follow discussions with that address.
    assert "New comments, sent to ann@example.org" in (
        client.get(article.get_absolute_url()).content.decode()
    )
    client.post(f"/articles/{article.slug}/follow/", {"mode": "digest"})
    assert article.title in client.get(manage).content.decode()
    assert client.post(manage, {"action": "stop_replies"}).status_code == 303
    assert not Comment.objects.filter(notify_replies=True).exists()


def test_an_account_without_an_address_is_told_how_to_add_one(client, db):
    client.force_login(User.objects.create_user("cy", password="pw-cy-12345"))
    page = client.get("/notifications/").content.decode()
    assert "no confirmed email address" in page and 'href="/accounts/email/"' in page
