"""An edit passes the same posting policy as a new comment, and status changes settle reports.

An author's edit is held for an editor wherever a new comment by them would be held (the
article's or the site's moderation, a blocked word), so editing cannot publish text no editor
has seen. An editor changes a comment's status only through ``comments_moderate``, which marks
its open reports as reviewed; the field-editing service refuses a status.
"""

import pytest
from django.core.exceptions import ValidationError

from comments import services
from comments.models import Comment, Flag


def post_url(article):
    return f"/articles/{article.slug}/comments/"


def test_edit_on_an_article_holding_anonymous_comments_goes_back_to_review(client, article):
    article.moderation = article.Moderation.ANONYMOUS
    article.save()
    client.post(post_url(article), {"body": "Reviewed words", "author_name": "Ann"})
    comment = Comment.objects.get()
    services.comment_set_status(comment=comment, status=Comment.Status.APPROVED)

    response = client.post(f"/comments/{comment.pk}/edit/", {"body": "Unreviewed words"})

    assert response.status_code == 303
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING
    assert comment.body == "Unreviewed words"
    mine = client.get(article.get_absolute_url()).content.decode()
    assert "Unreviewed words" in mine and "awaiting moderation" in mine
    client.cookies.clear()
    theirs = client.get(article.get_absolute_url()).content.decode()
    assert "Unreviewed words" not in theirs


def test_edit_where_nothing_is_held_stays_published(client, article):
    client.post(post_url(article), {"body": "First words", "author_name": "Ann"})
    comment = Comment.objects.get()
    client.post(f"/comments/{comment.pk}/edit/", {"body": "Second words"})
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED
    client.cookies.clear()
    assert "Second words" in client.get(article.get_absolute_url()).content.decode()


def test_field_edits_cannot_change_the_status(post):
    comment = post("words")
    with pytest.raises(ValidationError):
        services.comment_update(comment=comment, status=Comment.Status.REMOVED)
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED


def test_a_status_change_settles_the_open_reports(post):
    comment = post("words")
    services.comment_flag(comment=comment, reporter="user:1", reason=Flag.Reason.SPAM)
    services.comment_set_status(comment=comment, status=Comment.Status.REMOVED)
    assert list(Flag.objects.values_list("reviewed", flat=True)) == [True]


def test_edits_count_against_the_posting_rate_limit(client, article, settings):
    client.post(post_url(article), {"body": "Version 0", "author_name": "Ann"})
    comment = Comment.objects.get()
    settings.COMMENTS_RATE_LIMIT = "2/m"
    statuses = [
        client.post(f"/comments/{comment.pk}/edit/", {"body": f"Version {n}"}).status_code
        for n in (1, 2, 3)
    ]
    assert statuses == [303, 303, 429]
    comment.refresh_from_db()
    assert comment.body == "Version 2"
