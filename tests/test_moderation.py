"""Editors moderate in the admin: roles, policy, actions, queue, reports, bans, closing."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client
from django.utils import timezone

from comments.models import Ban, Comment, Flag
from comments.services import comment_set_status
from tests.support.tasks import run_tasks

CHANGELIST = "/admin/comments/comment/"
QUEUE = "/admin/comments/queuedcomment/"


def run_action(client, action, comments, url=CHANGELIST):
    return client.post(
        url, {"action": action, "_selected_action": [c.pk for c in comments]}, follow=True
    )


def post_url(article):
    return f"/articles/{article.slug}/comments/"


def test_editors_group_holds_the_moderation_permissions(editor):
    group = Group.objects.get(name="Editors")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"can_moderate", "change_comment", "view_comment", "change_article"} <= codenames
    assert editor.has_perm("comments.can_moderate")
    assert not editor.has_perm("auth.change_user")


def test_editor_sees_only_what_they_need_in_the_admin(editor_client, post):
    post("something")
    index = editor_client.get("/admin/").content.decode()
    assert "Moderation queue: 0 comments waiting" in index
    assert "/admin/comments/comment/" in index and "/admin/articles/article/" in index
    assert "/admin/auth/user/" not in index
    assert editor_client.get("/admin/auth/user/").status_code == 403


def test_changelist_indents_replies_and_shows_status_author_and_ip(editor_client, post):
    top = post("Top comment", name="Ann", author_email="ann@example.org", ip_address="192.0.2.7")
    post("A reply", parent=top, name="Bo")
    html = editor_client.get(CHANGELIST).content.decode()
    assert '<span class="tl-depth tl-depth-1">\u21b3 A reply' in html
    assert "ann@example.org" in html and "192.0.2.7" in html
    assert 'class="tl-badge tl-approved"' in html


@pytest.mark.parametrize("term", ["Top comment", "Ann", "ann@example.org", "192.0.2.7"])
def test_changelist_search_finds_text_name_email_and_ip(editor_client, post, term):
    post("Top comment", name="Ann", author_email="ann@example.org", ip_address="192.0.2.7")
    post("Other words", name="Cy", ip_address="198.51.100.1")
    html = editor_client.get(CHANGELIST, {"q": term}).content.decode()
    assert "Top comment" in html and "Other words" not in html


def test_remove_keeps_replies_under_a_placeholder_and_is_logged(editor_client, article, post):
    top = post("Rude words")
    reply = post("Calm reply", parent=top)
    run_action(editor_client, "remove", [top])
    top.refresh_from_db()
    assert top.status == Comment.Status.REMOVED
    page = editor_client.get(article.get_absolute_url()).content.decode()
    assert "Rude words" not in page and "[removed]" in page and "Calm reply" in page
    history = editor_client.get(f"{CHANGELIST}{top.pk}/history/").content.decode()
    assert "Removed" in history
    assert LogEntry.objects.filter(object_id=str(top.pk)).exists()
    assert Comment.objects.get(pk=reply.pk).status == Comment.Status.APPROVED


def test_remove_with_replies_hides_the_whole_subtree(editor_client, article, post):
    top = post("Flame")
    reply = post("Flame reply", parent=top)
    deeper = post("Deeper flame", parent=reply)
    other = post("Innocent")
    run_action(editor_client, "remove_with_replies", [top])
    statuses = dict(Comment.objects.values_list("pk", "status"))
    assert {statuses[c.pk] for c in (top, reply, deeper)} == {"removed"}
    assert statuses[other.pk] == "approved"


def test_restore_and_approve_and_spam(editor_client, post):
    comment = post("Borderline")
    run_action(editor_client, "mark_spam", [comment])
    assert Comment.objects.get(pk=comment.pk).status == "spam"
    run_action(editor_client, "restore", [comment])
    assert Comment.objects.get(pk=comment.pk).status == "approved"


def test_actions_also_sit_on_the_change_form(editor_client, post):
    comment = post("Change form action")
    url = f"{CHANGELIST}{comment.pk}/change/"
    html = editor_client.get(url).content.decode()
    assert 'value="remove"' in html
    editor_client.post(
        url,
        {
            "CHANGE_FORM-action": "remove",
            "_selected_action": [comment.pk],
        },
    )
    assert Comment.objects.get(pk=comment.pk).status == "removed"


def test_editing_a_comment_in_the_admin_goes_through_the_service(editor_client, post):
    comment = post("Original")
    url = f"{CHANGELIST}{comment.pk}/change/"
    response = editor_client.post(
        url,
        {
            "author_name": "Reader",
            "author_email": "",
            "status": "approved",
            "body": "Edited **text**",
        },
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.body_html == "<p>Edited <strong>text</strong></p>\n"
    assert comment.edited_at is not None


@pytest.mark.parametrize("name", ["", "   ", "\u200b\u2800"])
def test_blanking_a_guests_name_in_the_admin_is_refused_with_a_message(editor_client, post, name):
    comment = post("Words", name="Ann")
    response = editor_client.post(
        f"{CHANGELIST}{comment.pk}/change/", change_data(comment, author_name=name)
    )
    assert response.status_code == 200
    assert "A name needs at least one visible character." in response.content.decode()
    comment.refresh_from_db()
    assert comment.author_name == "Ann"


def test_moderation_policy_all_holds_comments_and_only_the_author_sees_them(client, article):
    article.moderation = article.Moderation.ALL
    article.save()
    client.post(post_url(article), {"body": "Please approve", "author_name": "Ann"})
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.PENDING
    mine = client.get(article.get_absolute_url()).content.decode()
    assert "Please approve" in mine and "awaiting moderation" in mine
    client.cookies.clear()
    assert "Please approve" not in client.get(article.get_absolute_url()).content.decode()


def test_moderation_policy_anonymous_holds_only_readers_without_an_account(
    client, article, settings
):
    settings.COMMENTS_MODERATION = "anonymous"
    client.post(post_url(article), {"body": "anon words", "author_name": "Ann"})
    user = User.objects.create_user("member", password="pw-member-1")
    client.force_login(user)
    client.post(post_url(article), {"body": "member words"})
    statuses = dict(Comment.objects.values_list("body", "status"))
    assert statuses == {"anon words": "pending", "member words": "approved"}


def test_queue_lists_held_and_reported_oldest_first_and_one_click_clears(
    editor_client, article, post
):
    held = post("Held one", status=Comment.Status.PENDING)
    reported = post("Reported one")
    Flag.objects.create(comment=reported, reporter="session:x", reason="spam")
    post("Fine one")
    html = editor_client.get(QUEUE).content.decode()
    assert html.index("Held one") < html.index("Reported one")
    assert "Fine one" not in html
    assert "Moderation queue: 2 comments waiting" in editor_client.get("/admin/").content.decode()
    editor_client.post(f"{QUEUE}{held.pk}/approve/")
    editor_client.post(f"{QUEUE}{reported.pk}/remove/")
    assert Comment.objects.get(pk=held.pk).status == "approved"
    assert Comment.objects.get(pk=reported.pk).status == "removed"
    assert "Moderation queue: 0 comments waiting" in editor_client.get("/admin/").content.decode()


def test_queue_refuses_users_without_the_moderation_permission(client, post):
    held = post("Held", status=Comment.Status.PENDING)
    staff = User.objects.create_user("staff", password="pw-staff-123", is_staff=True)
    client.force_login(staff)
    assert client.post(f"{QUEUE}{held.pk}/approve/").status_code == 403
    assert Comment.objects.get(pk=held.pk).status == "pending"


def test_reader_reports_once_and_editors_hear_of_the_first_report(client, article, post, editor):
    comment = post("Spammy")
    response = client.post(f"/comments/{comment.pk}/report/", {"reason": "spam"})
    assert response.status_code == 303
    run_tasks()
    assert len(mail.outbox) == 1 and "edna@example.org" in mail.outbox[0].to
    again = client.post(f"/comments/{comment.pk}/report/", {"reason": "abuse"})
    assert "already reported" in again.content.decode()
    assert Flag.objects.count() == 1


def test_other_reason_needs_details(client, post):
    comment = post("Hmm")
    response = client.post(f"/comments/{comment.pk}/report/", {"reason": "other", "text": " "})
    assert "Say briefly what is wrong." in response.content.decode()
    assert not Flag.objects.exists()


def test_enough_distinct_reports_hide_the_comment_pending_review(
    article, post, settings, client, trusted_reader
):
    from django.test import Client

    settings.COMMENTS_FLAG_THRESHOLD = 3
    comment = post("Awful")
    for i in range(3):  # three trusted readers, three addresses
        reader = Client()
        reader.force_login(trusted_reader(f"reader{i}"))
        reader.post(
            f"/comments/{comment.pk}/report/", {"reason": "abuse"}, REMOTE_ADDR=f"192.0.2.{i + 1}"
        )
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING
    assert "Awful" not in client.get(article.get_absolute_url()).content.decode()


def test_banned_email_cannot_post_and_sees_why(client, article):
    Ban.objects.create(email="troll@example.org", reason="Repeated abuse.")
    response = client.post(
        post_url(article),
        {
            "body": "I am back",
            "author_name": "T",
            "author_email": "TROLL@example.org",
        },
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert "You cannot post here. Repeated abuse." in html and "I am back" in html
    assert not Comment.objects.exists()


def test_a_ban_from_the_admin_action_tells_the_reader_in_plain_words(editor_client, article, post):
    troll = post("troll", author_email="t@example.org")
    run_action(editor_client, "ban_authors", [troll])
    response = Client().post(
        post_url(article), {"body": "Again", "author_name": "T", "author_email": "t@example.org"}
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert (
        "You cannot post here. An editor has stopped this account or address from posting." in html
    )
    assert f"#{troll.pk}" not in html


def test_expired_ban_no_longer_applies(client, article):
    Ban.objects.create(ip_address="127.0.0.1", until=timezone.now() - timedelta(days=1))
    assert client.post(post_url(article), {"body": "ok", "author_name": "A"}).status_code == 303


def test_ban_action_then_remove_all_their_comments(editor_client, article, post):
    first = post("troll 1", author_email="t@example.org", ip_address="203.0.113.5")
    second = post("troll 2", author_email="t@example.org")
    bystander = post("fine", author_email="b@example.org")
    run_action(editor_client, "ban_authors", [first])
    ban = Ban.objects.get()
    assert ban.email == "t@example.org" and ban.ip_address == "203.0.113.5"
    editor_client.post(
        "/admin/comments/ban/",
        {
            "action": "remove_their_comments",
            "_selected_action": [ban.pk],
        },
    )
    statuses = dict(Comment.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[second.pk] == "removed"
    assert statuses[bystander.pk] == "approved"


def test_comments_close_automatically_after_n_days(client, article, settings):
    settings.COMMENTS_CLOSE_AFTER_DAYS = 7
    article.published_at = timezone.now() - timedelta(days=8)
    article.save()
    response = client.post(post_url(article), {"body": "late", "author_name": "A"})
    assert response.status_code == 403
    assert "Comments are closed" in response.content.decode()
    assert "Comments are closed." in client.get(article.get_absolute_url()).content.decode()


def test_editor_closes_comments_in_the_admin(editor_client, article):
    url = f"/admin/articles/article/{article.pk}/change/"
    data = {
        "title": article.title,
        "slug": article.slug,
        "byline": article.byline,
        "source": article.source,
        "body": article.body,
        "published_at_0": "2026-01-01",
        "published_at_1": "10:00:00",
        "moderation": "",
    }
    assert editor_client.post(url, data).status_code == 302
    article.refresh_from_db()
    assert article.comments_open is False


def change_data(comment, **overrides):
    data = {
        "author_name": comment.author_name,
        "author_email": comment.author_email,
        "status": comment.status,
        "body": comment.body,
        "parent": comment.parent_id or "",
    }
    return {**data, **overrides}


def test_editor_moves_a_comment_with_its_replies_under_another(editor_client, post):
    from comments.integrity import find_broken_threads

    first, second = post("First"), post("Second")
    moved = post("Misplaced", parent=first)
    child = post("Its reply", parent=moved)
    response = editor_client.post(
        f"{CHANGELIST}{moved.pk}/change/", change_data(moved, parent=second.pk)
    )
    assert response.status_code == 302
    moved.refresh_from_db()
    child.refresh_from_db()
    assert moved.parent_id == second.pk and moved.tree_id == second.tree_id
    assert child.parent_id == moved.pk and child.level == 2
    assert find_broken_threads() == []


def test_editor_moves_a_reply_out_to_the_top_level(editor_client, post):
    top = post("Top")
    reply = post("Deserves its own thread", parent=top)
    editor_client.post(f"{CHANGELIST}{reply.pk}/change/", change_data(reply, parent=""))
    reply.refresh_from_db()
    assert reply.parent_id is None and reply.level == 0 and reply.tree_id != top.tree_id


def test_moving_under_its_own_reply_is_refused_with_a_message(editor_client, post):
    top = post("Top")
    reply = post("Reply", parent=top)
    response = editor_client.post(
        f"{CHANGELIST}{top.pk}/change/", change_data(top, parent=reply.pk)
    )
    assert response.status_code == 200
    assert "cannot move under itself or its own reply" in response.content.decode()
    top.refresh_from_db()
    assert top.parent_id is None


def test_deleting_an_account_keeps_its_comments_signed_with_its_name(client, article):
    user = User.objects.create_user("leaving", password="pw-leaving-1")
    client.force_login(user)
    client.post(post_url(article), {"body": "my last words"})
    user.delete()
    comment = Comment.objects.get()
    assert comment.user is None and comment.author_name == "leaving"
    client.logout()
    assert "leaving" in client.get(article.get_absolute_url()).content.decode()


def test_ban_action_skips_comments_with_nothing_to_ban_by(editor_client, post):
    nameless = post("imported, no email, no address")
    response = run_action(editor_client, "ban_authors", [nameless])
    assert response.status_code == 200
    assert "had no account, email or address to ban" in response.content.decode()
    assert not Ban.objects.exists()


def test_approving_on_the_change_form_clears_the_reports(editor_client, post):
    comment = post("reported but fine")
    Flag.objects.create(comment=comment, reporter="ip:x", reason="spam")
    comment_set_status(comment=comment, status=Comment.Status.PENDING)
    editor_client.post(
        f"{CHANGELIST}{comment.pk}/change/",
        change_data(Comment.objects.get(pk=comment.pk), status="approved"),
    )
    assert Comment.objects.get(pk=comment.pk).status == "approved"
    assert not Flag.objects.filter(reviewed=False).exists()
    assert "Moderation queue: 0 comments waiting" in editor_client.get("/admin/").content.decode()


def test_one_reader_cannot_hide_a_comment_alone(article, post, settings, trusted_reader):
    from django.test import Client

    settings.COMMENTS_FLAG_THRESHOLD = 2
    comment = post("Unpopular but fine")
    for _ in range(3):  # three fresh sessions, one address: one report
        Client().post(f"/comments/{comment.pk}/report/", {"reason": "abuse"})
    assert Flag.objects.filter(comment=comment).count() == 1
    ann = trusted_reader("ann")
    for _ in range(3):  # one account, three fresh sessions: one report
        session = Client()
        session.force_login(ann)
        session.post(f"/comments/{comment.pk}/report/", {"reason": "abuse"})
    assert Flag.objects.filter(comment=comment).count() == 2
    assert Comment.objects.get(pk=comment.pk).status == "approved"
    other = Client()
    other.force_login(trusted_reader("bo"))
    other.post(f"/comments/{comment.pk}/report/", {"reason": "abuse"}, REMOTE_ADDR="192.0.2.44")
    assert Comment.objects.get(pk=comment.pk).status == "pending"


def test_reports_never_store_a_session_key(client, post):
    comment = post("x")
    client.get("/")  # a session exists
    client.post(f"/comments/{comment.pk}/report/", {"reason": "spam"})
    flag = Flag.objects.get()
    assert flag.reporter.startswith("ip:")
    assert client.session.session_key not in flag.reporter
