"""Readers post, reply, edit and delete; bad input is refused with a message."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from comments.models import Comment
from comments.services import comment_set_status, comments_moderate


def post_url(article):
    return f"/articles/{article.slug}/comments/"


def test_anonymous_reader_posts_and_is_redirected_to_the_comment(client, article):
    response = client.post(
        post_url(article), {"body": "Hello *there*", "author_name": "Ann", "author_email": ""}
    )
    comment = Comment.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/articles/{article.slug}/#comment-{comment.pk}"
    assert comment.author_name == "Ann"
    assert comment.body_html == "<p>Hello <em>there</em></p>\n"
    assert comment.ip_address == "127.0.0.1"


def test_reply_lands_under_its_parent(client, article, post):
    parent = post("first")
    response = client.post(
        post_url(article), {"body": "a reply", "author_name": "Bo", "parent": parent.pk}
    )
    assert response.status_code == 303
    reply = Comment.objects.get(body="a reply")
    assert reply.parent_id == parent.pk
    assert reply.level == 1


def test_logged_in_user_posts_without_name(client, article):
    user = User.objects.create_user("carol", password="pw-carol-123")
    client.force_login(user)
    response = client.post(post_url(article), {"body": "as carol"})
    assert response.status_code == 303
    comment = Comment.objects.get()
    assert comment.user == user
    assert comment.author_name == ""
    assert "carol" in client.get(article.get_absolute_url()).content.decode()


def test_htmx_reply_returns_the_new_comment_fragment(client, article, post):
    parent = post("first")
    response = client.post(
        post_url(article),
        {"body": "inline reply", "author_name": "Di", "parent": parent.pk},
        headers={"HX-Request": "true"},
    )
    reply = Comment.objects.get(body="inline reply")
    html = response.content.decode()
    assert response.status_code == 201
    assert f'id="comment-{reply.pk}" data-depth="1" data-parent="{parent.pk}"' in html
    assert f'id="reply-{parent.pk}"' in html and 'hx-swap-oob="true"' in html
    assert "<!doctype" not in html


def test_htmx_error_returns_the_form_with_its_errors(client, article, post):
    parent = post("first")
    response = client.post(
        post_url(article),
        {"body": "   ", "author_name": "Di", "parent": parent.pk},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#reply-{parent.pk}"
    assert "Write something before posting." in response.content.decode()
    assert Comment.objects.count() == 1


def test_preview_shows_rendered_text_and_stores_nothing(client, article):
    response = client.post(
        post_url(article), {"body": "**bold** idea", "author_name": "Ed", "preview": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>bold</strong> idea" in html
    assert "**bold** idea</textarea>" in html
    assert Comment.objects.count() == 0


def test_no_js_reply_form_opens_under_the_comment(client, article, post):
    parent = post("first")
    html = client.get(f"{article.get_absolute_url()}?reply={parent.pk}").content.decode()
    slot = html[html.index(f'id="reply-{parent.pk}"') :]
    slot = slot[: slot.index(f'id="replies-{parent.pk}"')]
    assert f'name="parent" value="{parent.pk}"' in slot
    assert "Post reply" in slot


# Bad input: a clear message, nothing stored, never a 500.


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": "", "author_name": "Ann"}, "Write something before posting."),
        ({"body": " \n\t ", "author_name": "Ann"}, "Write something before posting."),
        (
            {"body": "x" * 20_000, "author_name": "Ann"},
            "At most 10,000 characters, please: this has 20,000, 10,000 too many.",
        ),
        (
            {"body": "hi", "author_name": "Ann", "author_email": "not-an-email"},
            "Enter a valid email address.",
        ),
        ({"body": "hi", "author_name": "N" * 101}, "at most 100 characters"),
        ({"body": "hi", "author_name": ""}, "Give a name to post without an account."),
        (
            {"body": "hi", "author_name": "Ann", "parent": "abc"},
            "That is not a comment you can reply to.",
        ),
        (
            {"body": "hi", "author_name": "Ann", "parent": "99999"},
            "The comment you replied to does not exist.",
        ),
        (
            {"body": "hi", "author_name": "Ann", "parent": "99999999999999999999999"},
            "That is not a comment you can reply to.",
        ),
        ({"body": "nul\x00byte", "author_name": "Ann"}, "Null characters are not allowed."),
    ],
)
def test_bad_input_is_refused_with_a_message(client, article, data, message):
    response = client.post(post_url(article), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert Comment.objects.count() == 0
    if data["body"].strip() and "\x00" not in data["body"]:
        assert data["body"][:50] in html  # the reader's text is kept


def test_reply_to_a_comment_of_another_article_is_refused(client, article, other_article, post):
    foreign = post("elsewhere", on=other_article)
    response = client.post(
        post_url(article), {"body": "hi", "author_name": "A", "parent": foreign.pk}
    )
    assert "That comment belongs to another article." in response.content.decode()
    assert Comment.objects.count() == 1


@pytest.mark.parametrize(
    "status", [Comment.Status.REMOVED, Comment.Status.PENDING, Comment.Status.SPAM]
)
def test_reply_to_hidden_comment_is_refused(client, article, post, status):
    parent = post("soon hidden")
    comment_set_status(comment=parent, status=status)
    response = client.post(
        post_url(article), {"body": "hi", "author_name": "A", "parent": parent.pk}
    )
    assert "That comment can no longer be replied to." in response.content.decode()
    assert Comment.objects.count() == 1


def test_post_to_closed_article_is_forbidden(client, article):
    article.comments_open = False
    article.save()
    response = client.post(post_url(article), {"body": "hi", "author_name": "A"})
    assert response.status_code == 403
    assert "Comments are closed" in response.content.decode()
    assert Comment.objects.count() == 0
    assert "Comments are closed." in client.get(article.get_absolute_url()).content.decode()


def test_invalid_utf8_is_refused(client, article):
    response = client.post(
        post_url(article),
        b"body=caf%E9&author_name=Ann",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.content.decode()
    assert Comment.objects.count() == 0


def test_anonymous_posting_can_be_switched_off(client, article, settings):
    settings.COMMENTS_ALLOW_ANONYMOUS = False
    response = client.post(post_url(article), {"body": "hi", "author_name": "A"})
    assert response.status_code == 403
    assert "Log in to comment." in response.content.decode()
    assert Comment.objects.count() == 0


def test_get_on_the_post_url_changes_nothing(client, article):
    assert client.get(post_url(article)).status_code == 405


def test_markdown_is_sanitized(client, article):
    client.post(
        post_url(article),
        {
            "body": "<script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.org)",
            "author_name": "A",
        },
    )
    html = Comment.objects.get().body_html
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.org" rel="nofollow ugc noopener">ok</a>' in html


# Edit and delete by the author.


def post_as(client, article, body, **extra):
    client.post(post_url(article), {"body": body, "author_name": "Ann", **extra})
    return Comment.objects.get(body=body)


def test_anonymous_author_edits_within_the_window_and_it_shows_edited(client, article):
    comment = post_as(client, article, "tyop")
    response = client.post(f"/comments/{comment.pk}/edit/", {"body": "typo fixed"})
    assert response.status_code == 303
    comment.refresh_from_db()
    assert comment.body == "typo fixed" and comment.edited_at is not None
    assert ">edited<" in client.get(article.get_absolute_url()).content.decode()


def test_edit_page_says_how_long_is_left_in_minutes(client, article, settings):
    settings.COMMENTS_EDIT_WINDOW_MINUTES = 15
    comment = post_as(client, article, "fresh")
    assert "for 15 more minutes" in client.get(f"/comments/{comment.pk}/edit/").content.decode()
    Comment.objects.filter(pk=comment.pk).update(
        created_at=comment.created_at - timedelta(minutes=14, seconds=30)
    )
    page = client.get(f"/comments/{comment.pk}/edit/").content.decode()
    assert "for 1 more minute." in page and "plus the edit window" not in page


def test_edit_after_the_window_is_refused(client, article, settings):
    comment = post_as(client, article, "old words")
    settings.COMMENTS_EDIT_WINDOW_MINUTES = 0
    response = client.post(f"/comments/{comment.pk}/edit/", {"body": "new words"})
    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.body == "old words"


def test_nobody_else_can_edit_or_delete(client, article, post):
    comment = post("mine")
    other = User.objects.create_user("mallory", password="pw-mallory-1")
    for actor in (None, other):
        client.logout()
        if actor:
            client.force_login(actor)
        assert client.post(f"/comments/{comment.pk}/edit/", {"body": "hacked"}).status_code == 403
        assert client.post(f"/comments/{comment.pk}/delete/").status_code == 403
    comment.refresh_from_db()
    assert comment.body == "mine" and comment.deleted_at is None


def test_edit_and_delete_controls_show_only_to_the_author(client, article, post):
    theirs = post("theirs")
    mine = post_as(client, article, "mine")
    html = client.get(article.get_absolute_url()).content.decode()
    assert f"/comments/{mine.pk}/edit/" in html and f"/comments/{mine.pk}/delete/" in html
    assert f"/comments/{theirs.pk}/edit/" not in html


def test_author_deletes_a_comment_with_replies_and_a_placeholder_keeps_them(client, article, post):
    mine = post_as(client, article, "my point")
    reply = post("your point", parent=mine)
    response = client.post(f"/comments/{mine.pk}/delete/")
    assert response.status_code == 303
    html = client.get(article.get_absolute_url()).content.decode()
    assert "my point" not in html and "[deleted]" in html
    assert f'id="comment-{reply.pk}" data-depth="1" data-parent="{mine.pk}"' in html


def test_author_deletes_a_comment_without_replies_and_it_disappears(client, article):
    mine = post_as(client, article, "regret")
    client.post(f"/comments/{mine.pk}/delete/")
    assert not Comment.objects.filter(pk=mine.pk).exists()
    assert f'id="comment-{mine.pk}"' not in client.get(article.get_absolute_url()).content.decode()


def test_logged_in_author_edits_own_comment(client, article):
    user = User.objects.create_user("dan", password="pw-dan-12345")
    client.force_login(user)
    client.post(post_url(article), {"body": "v1"})
    comment = Comment.objects.get()
    client.post(f"/comments/{comment.pk}/edit/", {"body": "v2"})
    comment.refresh_from_db()
    assert comment.body == "v2"


def test_text_full_of_brackets_renders_as_text_not_as_links(client, article):
    """Past 200 "[" a comment is rendered without link syntax (markdown-it-py would try
    each bracket as a link: seconds of work for a 10,000-character comment)."""
    body = "[x](https://example.org) " + "[" * 5000
    response = client.post(post_url(article), {"body": body, "author_name": "A"})
    assert response.status_code == 303
    html = Comment.objects.get().body_html
    assert "<a " not in html and "[" * 5000 in html


def test_a_reader_without_an_account_finds_their_name_in_the_next_form(client, article):
    first = post_as(client, article, "First words.", author_email="ann@example.org")
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'name="author_name" value="Ann"' in page
    assert 'name="author_email" value="ann@example.org"' in page
    reply = client.get(f"/comments/{first.pk}/reply/", headers={"HX-Request": "true"})
    assert 'name="author_name" value="Ann"' in reply.content.decode()
    other = Client()  # another browser knows nothing of it
    assert 'value="Ann"' not in other.get(article.get_absolute_url()).content.decode()


def test_a_comment_marked_as_spam_stays_in_its_authors_view_as_not_published(client, article):
    mine = post_as(client, article, "Honest words, flagged by mistake.")
    comments_moderate(pks=[mine.pk], status="spam")
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Honest words, flagged by mistake." in page and ">not published<" in page
    assert f"/comments/{mine.pk}/edit/" not in page  # an edit would not bring it back
    assert f"/comments/{mine.pk}/delete/" in page
    assert "Honest words" not in Client().get(article.get_absolute_url()).content.decode()


def test_the_comment_and_edit_fields_carry_the_length_for_the_live_count(client, article, settings):
    settings.COMMENTS_MAX_LENGTH = 1234
    mine = post_as(client, article, "Counted.")
    for url in (article.get_absolute_url(), f"/comments/{mine.pk}/edit/"):
        textarea = re.search(r"<textarea[^>]*>", client.get(url).content.decode())[0]
        assert 'data-max-length="1234"' in textarea and "maxlength" not in textarea
