"""Confirmed addresses only: nothing but one confirmation mail reaches an address until its
owner has followed the link in it.

A reader without an account who ticks "Notify me" with an address gets one confirmation
mail (a signed link that expires after ``MAIL_CONFIRM_DAYS``) once their comment is
visible, and no reply is mailed to them until they confirm; then the next one is. At most
one confirmation mail goes to an address a day, whoever asks. Sign-up requires an address
and confirms it the same way; an account can change its address, and mail keeps going to
the old one until the new one is confirmed. The link's page confirms only when its button
is pressed (a GET, as mail scanners make, confirms nothing); an altered, cut or expired link
answers 400 with a page in words. The comment form says plainly where replies would go.
"""

import re
import time
from datetime import timedelta

from django.contrib.auth.models import User
from django.core import signing
from django.utils import timezone

from comments.models import Comment
from comments.services import comment_flag
from core.models import OutboxMessage
from subscriptions import tokens
from subscriptions.models import Address, Follow
from subscriptions.services import SESSION_ADDRESS, address_vouched, confirm
from tests.support.mail import smtp_mailers, smtp_server
from tests.support.tasks import run_tasks, sent

LINK = re.compile(r"http://127\.0\.0\.1:8000(/email/confirm/[^/\s]+/)")


def post_url(article):
    return f"/articles/{article.slug}/comments/"


def confirmation_path(message) -> str:
    return LINK.search(message.body).group(1)


def guest_comment(client, article, **data):
    fields = {"body": "Tell me", "author_name": "Ann", **data}
    assert client.post(post_url(article), fields).status_code == 303
    return Comment.objects.filter(author_name=fields["author_name"]).latest("pk")


def test_a_guest_gets_one_confirmation_mail_and_no_reply_before_confirming(client, article, post):
    parent = guest_comment(client, article, author_email="Ann@Example.org", notify_replies="on")
    [confirmation] = sent(to="ann@example.org")
    assert confirmation.subject == "Confirm your email address"
    assert "asked to hear of replies" in confirmation.body
    assert "Tell me" not in confirmation.body and "Ann" not in confirmation.subject

    post("First answer", parent=parent, name="Bo")
    post("Second answer", parent=parent, name="Cy")
    assert sent(to="ann@example.org") == [confirmation]  # no reply reaches her
    assert list(OutboxMessage.objects.values_list("kind", flat=True)) == ["confirm"]

    reader = client.__class__()  # she opens the link in her mail program's browser
    assert reader.post(confirmation_path(confirmation)).status_code == 303
    assert Address.objects.confirmed().of("ann@example.org").exists()

    post("Third answer", parent=parent, name="Dee")
    replies = sent(kind="reply", to="ann@example.org")
    assert [("Third answer" in m.body, "First answer" in m.body) for m in replies] == [
        (True, False)
    ]


def test_nobody_has_replies_mailed_to_someone_elses_confirmed_address(
    client, article, post, confirmed
):
    confirmed("ann@example.org")
    mallory = client.__class__()  # a browser that never showed it reads Ann's mail
    bait = guest_comment(mallory, article, author_email="ann@example.org", notify_replies="on")
    assert not bait.notify_replies
    page = mallory.get(article.get_absolute_url()).text
    assert "Replies will not be mailed: that address was confirmed in another browser." in page
    post("Spam in a reply, for Ann's inbox", parent=bait, name="Mallory")
    assert sent(to="ann@example.org") == []

    # Ann's own browser, which opened a link from one of our mails, may ask for replies.
    session = client.session
    session[SESSION_ADDRESS] = "ann@example.org"
    session.save()
    own = guest_comment(client, article, author_email="Ann@example.org", notify_replies="on")
    assert own.notify_replies
    post("An answer", parent=own, name="Bo")
    assert [m.subject for m in sent(kind="reply", to="ann@example.org")] == [
        f"New reply to your comment on “{article.title}”"
    ]


def test_a_comment_hidden_by_reports_withdraws_its_queued_mail(client, article, post, editor):
    parent = post("Tell me", author_email="ann@example.org", notify_replies=True)
    Address.objects.create(email="ann@example.org", confirmed_at=timezone.now())
    answer = post("Rude words", parent=parent, name="Bo")
    assert OutboxMessage.objects.filter(kind="reply").count() == 1  # queued, not sent yet
    comment_flag(comment=answer, reporter="editor", reason="abuse", user=editor)
    assert Comment.objects.get(pk=answer.pk).status == "pending"  # an editor's report hides
    assert sent(kind="reply") == []
    assert OutboxMessage.objects.get(kind="reply").state == "withdrawn"


def test_opening_the_link_shows_a_button_and_confirms_nothing(client, article):
    guest_comment(client, article, author_email="ann@example.org", notify_replies="on")
    path = confirmation_path(sent(to="ann@example.org")[0])
    for _ in range(2):  # a mail scanner, then the reader
        page = client.get(path)
        assert page.status_code == 200
        html = page.content.decode()
        assert "ann@example.org" in html and 'method="post"' in html
        assert "Confirm this address" in html
    assert not Address.objects.confirmed().exists()
    assert client.post(path).status_code == 303
    assert "is confirmed" in client.get(path).content.decode()
    assert client.post(path).status_code == 303  # twice is harmless
    assert Address.objects.confirmed().count() == 1


def test_at_most_one_confirmation_mail_per_address_per_day(
    client, article, post, django_user_model, monkeypatch
):
    for body in ("One", "Two", "Three"):
        guest_comment(
            client, article, body=body, author_email="ann@example.org", notify_replies="on"
        )
    # Someone signs up with her address the same day: no second mail.
    someone = client.__class__()
    response = someone.post(
        "/accounts/signup/",
        {
            "username": "not-ann",
            "email": "ANN@example.org",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
        },
    )
    assert response.status_code == 302
    assert "was sent today already" in someone.get("/").content.decode()
    assert len(sent(to="ann@example.org")) == 1

    tomorrow = timezone.now() + timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    guest_comment(client, article, body="Four", author_email="ann@example.org", notify_replies="on")
    assert len(sent(kind="confirm", to="ann@example.org")) == 2


def test_a_held_comment_asks_for_confirmation_only_once_approved(article, editor_client):
    article.moderation = article.Moderation.ALL
    article.save()
    client = editor_client.__class__()  # a reader without an account
    held = guest_comment(client, article, author_email="ann@example.org", notify_replies="on")
    spam = guest_comment(
        client, article, author_name="Bot", author_email="victim@example.org", notify_replies="on"
    )
    assert sent() == []  # a held comment mails nobody, not even a confirmation link
    changelist = "/admin/comments/comment/"
    editor_client.post(changelist, {"action": "mark_spam", "_selected_action": [spam.pk]})
    editor_client.post(changelist, {"action": "approve", "_selected_action": [held.pk]})
    assert [m.to for m in sent()] == [["ann@example.org"]]


def test_ticking_notify_without_an_address_is_refused_with_a_message(client, article):
    response = client.post(
        post_url(article), {"body": "Hi", "author_name": "Ann", "notify_replies": "on"}
    )
    assert response.status_code == 200
    assert "Give your email address to hear of replies." in response.content.decode()
    assert not Comment.objects.exists()


def mint_expired(monkeypatch, **claims):
    """A confirmation link signed MAIL_CONFIRM_DAYS and a minute ago."""
    from django.conf import settings

    past = time.time() - settings.MAIL_CONFIRM_DAYS * 86400 - 60
    monkeypatch.setattr(time, "time", lambda: past)
    token = tokens.confirm_token(**claims)
    monkeypatch.undo()
    return token


def test_expired_altered_and_cut_links_answer_400_in_words(client, db, monkeypatch):
    good = tokens.confirm_token(email="ann@example.org")
    expired = mint_expired(monkeypatch, email="ann@example.org")
    other_kind = tokens.manage_token(email="ann@example.org")  # signed, but not for this
    forged = signing.TimestampSigner(salt="not-ours").sign_object({"e": "ann@example.org"})
    altered = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    for token, words in [
        (expired, "This link has expired"),
        (altered, "This link does not work"),
        (good[:20], "This link does not work"),
        (other_kind, "This link does not work"),
        (forged, "This link does not work"),
        ("x", "This link does not work"),
        ("a:b:c", "This link does not work"),
    ]:
        for method in (client.get, client.post):
            response = method(f"/email/confirm/{token}/")
            assert response.status_code == 400, token
            assert words in response.content.decode()
    assert not Address.objects.exists()
    for path in ("/unsubscribe/{}/", "/notifications/{}/"):
        response = client.post(path.format(good))  # a confirmation link used as another
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()


def test_sign_up_requires_an_address_and_confirms_it(client, db):
    form = {"username": "newbie", "password1": "a-long-pass-phrase-1"}
    form["password2"] = form["password1"]
    response = client.post("/accounts/signup/", form)
    assert response.status_code == 200
    assert "Give an email address for your account." in response.content.decode()
    assert not User.objects.exists()

    page = client.get("/accounts/signup/").content.decode()
    assert "We send a link to confirm it" in page

    response = client.post("/accounts/signup/", {**form, "email": "New@Example.org"})
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.email == ""  # not until it is confirmed
    assert "We sent a link to New@Example.org" in client.get("/").content.decode()
    [message] = sent(to="new@example.org")
    assert "for the account “newbie”" in message.body
    path = confirmation_path(message)
    assert "Use <strong>new@example.org</strong> as the address of the account" in (
        client.get(path).content.decode()
    )
    user.refresh_from_db()
    assert user.email == ""
    assert client.__class__().post(path).status_code == 303  # no session needed
    user.refresh_from_db()
    assert user.email == "new@example.org"
    assert Address.objects.confirmed().of("new@example.org").exists()


def test_a_confirmation_link_for_an_account_that_is_gone_says_so(client, db):
    user = User.objects.create_user("gone", password="pw-gone-12345")
    token = tokens.confirm_token(email="gone@example.org", user_id=user.pk)
    user.delete()
    response = client.post(f"/email/confirm/{token}/")
    assert response.status_code == 400
    assert "no longer exists" in response.content.decode()
    assert not Address.objects.exists()


def test_an_account_changes_its_address_and_the_old_one_serves_until_the_new_is_confirmed(
    client, article, post, other_article
):
    user = User.objects.create_user("ann", "old@example.org", "pw-ann-12345")
    client.force_login(user)
    mine = post("Mine", user=user, notify_replies=True)
    assert client.post(f"/articles/{article.slug}/follow/", {"mode": "digest"}).status_code == 303
    client.post(f"/articles/{other_article.slug}/follow/", {"mode": "immediate"})

    page = client.get("/accounts/email/").content.decode()
    assert "old@example.org" in page and "New email address" in page
    response = client.post("/accounts/email/", {"email": "OLD@example.org"})
    assert "already your account" in response.content.decode()
    response = client.post("/accounts/email/", {"email": "new@example.org"})
    assert response.status_code == 303
    [message] = sent(kind="confirm", to="new@example.org")

    post("Before", parent=mine, name="Bo")
    assert [m.to for m in sent(kind="reply")] == [["old@example.org"]]

    assert client.post(confirmation_path(message)).status_code == 303
    user.refresh_from_db()
    assert user.email == "new@example.org"
    assert set(Follow.objects.values_list("address__email", "mode")) == {
        ("new@example.org", "digest"),
        ("new@example.org", "immediate"),
    }
    post("After", parent=mine, name="Cy")
    post("Elsewhere", on=other_article, name="Dee")
    assert [m.to for m in sent(kind="reply") if "After" in m.body] == [["new@example.org"]]
    assert [m.to for m in sent(kind="follow")] == [["new@example.org"]]


def test_after_a_change_of_address_the_old_one_follows_nothing(article, other_article):
    user = User.objects.create_user("ann", "old@example.org", "pw-ann-12345")
    old, new = address_vouched("old@example.org"), address_vouched("new@example.org")
    Follow.objects.create(address=old, article=article, mode=Follow.Mode.DIGEST)
    Follow.objects.create(address=old, article=other_article, mode=Follow.Mode.DIGEST)
    Follow.objects.create(address=new, article=article, mode=Follow.Mode.IMMEDIATE)
    confirm(email="new@example.org", user=user)
    assert set(Follow.objects.values_list("address__email", "article_id", "mode")) == {
        ("new@example.org", article.pk, "immediate"),  # the new address's own choice stands
        ("new@example.org", other_article.pk, "digest"),
    }


def test_an_address_an_administrator_gave_an_account_is_confirmed(client, article, post):
    user = User.objects.create_user("ann", "ann@example.org", "pw-ann-12345")
    parent = post("Mine", user=user, notify_replies=True)
    post("An answer", parent=parent, name="Bo")
    assert [m.to for m in sent()] == [["ann@example.org"]]


def test_the_comment_form_says_where_replies_go_and_that_we_wait_for_confirmation(client, article):
    guest = client.get(article.get_absolute_url()).content.decode()
    assert "only write once you confirm your address" in guest

    without = User.objects.create_user("cy", password="pw-cy-12345")
    client.force_login(without)
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Add and confirm an email address on your account page to hear of replies" in page
    assert 'href="/accounts/email/">Your email address</a>' in page

    client.force_login(User.objects.create_user("di", "di@example.org", "pw-di-12345"))
    page = client.get(article.get_absolute_url()).content.decode()
    assert "By email, to your account&#x27;s address." in page


def test_the_confirmation_mail_is_text_and_html_to_a_real_server(client, article, settings):
    with smtp_server() as mailbox:
        settings.MAILERS = smtp_mailers(mailbox.port)
        guest_comment(client, article, author_email="ann@example.org", notify_replies="on")
        run_tasks()
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.org"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    path = LINK.search(text).group(1)
    assert f'href="http://127.0.0.1:8000{path}"' in html
    assert message["Message-ID"] and message["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" not in message  # asked for, once: not a notification
