"""Every comment URL follows its article's visibility.

An article whose publication time has not come answers 404, and so does every URL of its
comments: permalink, focused page, reply form, report form (which then stores no report),
edit and delete; nothing of its title or text leaks through them.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from articles.models import Article
from comments.models import Flag
from comments.services import comment_create


@pytest.fixture
def scheduled(db):
    article = Article.objects.create(
        title="Embargoed until Friday",
        slug="embargoed",
        body="Secret text.",
        published_at=timezone.now() + timedelta(days=3),
    )
    comment = comment_create(article=article, body="An early comment", author_name="Ann")
    return article, comment


@pytest.mark.parametrize("suffix", ["", "thread/", "reply/", "report/", "edit/", "delete/"])
def test_comment_urls_of_an_unpublished_article_answer_404(client, scheduled, suffix):
    article, comment = scheduled
    assert client.get(article.get_absolute_url()).status_code == 404
    response = client.get(f"/comments/{comment.pk}/{suffix}", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert b"Embargoed" not in response.content and b"An early comment" not in response.content


def test_reports_on_an_unpublished_article_are_refused_and_not_stored(client, scheduled):
    _, comment = scheduled
    response = client.post(f"/comments/{comment.pk}/report/", {"reason": "spam"})
    assert response.status_code == 404
    assert Flag.objects.count() == 0


def test_once_published_its_comments_answer(client, scheduled):
    article, comment = scheduled
    article.published_at = timezone.now() - timedelta(minutes=1)
    article.save()
    assert client.get(f"/comments/{comment.pk}/thread/").status_code == 200
    assert client.get(f"/comments/{comment.pk}/report/").status_code == 200


@pytest.mark.parametrize("suffix", ["vote/", "pin/"])
def test_votes_and_pins_on_an_unpublished_article_answer_404(client, scheduled, suffix):
    _, comment = scheduled
    client.force_login(User.objects.create_superuser("ed", password="pw-ed-12345"))
    response = client.post(f"/comments/{comment.pk}/{suffix}", {"value": "1", "pinned": "1"})
    assert response.status_code == 404
    assert b"Embargoed" not in response.content and b"An early comment" not in response.content
    comment.refresh_from_db()
    assert (comment.upvotes, comment.pinned) == (0, False)
