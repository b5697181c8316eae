"""Atom feeds of the newest comments, for the site and for one article, show exactly what an
anonymous reader's page shows: visible comments on published articles, cleaned as pages
are, names but never addresses; and the pages say where the feeds are."""

from datetime import timedelta

import pytest
from defusedxml import ElementTree
from django.utils import timezone

from articles.models import Article
from comments.models import Comment
from comments.services import comment_delete_by_author, comments_moderate

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    return [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "author": entry.findtext(f"{ATOM}author/{ATOM}name"),
            "link": entry.find(f"{ATOM}link").get("href"),
            "summary": entry.findtext(f"{ATOM}summary"),
        }
        for entry in feed.iter(f"{ATOM}entry")
    ]


@pytest.fixture
def discussion(article, other_article, post):
    first = post("The first, *emphasised*.", name="Ann", author_email="ann@example.org")
    post("A reply.", parent=first, name="Ben", ip_address="192.0.2.77")
    post("Held for review.", name="Cy", status="pending")
    spam = post("Buy now.", name="Dee")
    comments_moderate(pks=[spam.pk], status="spam")
    removed = post("Removed by an editor.", name="Eve")
    comments_moderate(pks=[removed.pk], status="removed")
    gone = post("Deleted by its author.", name="Fay")
    post("Keeps the placeholder.", parent=gone, name="Gus")
    comment_delete_by_author(comment=gone)
    post("On the other article.", name="Hal", on=other_article)
    return article


def test_site_feed_lists_visible_comments_newest_first(client, discussion):
    feed = entries(client, "/feeds/comments/")
    assert [e["author"] for e in feed] == ["Hal", "Gus", "Ben", "Ann"]
    assert feed[-1]["title"] == "Ann on “Clash looming?”: The first, *emphasised*."
    assert feed[-1]["summary"] == "<p>The first, <em>emphasised</em>.</p>\n"
    ann = Comment.objects.get(author_name="Ann")
    assert feed[-1]["link"] == f"http://testserver/comments/{ann.pk}/"
    body = client.get("/feeds/comments/").content.decode()
    for hidden in ["Held for review", "Buy now", "Removed by", "Deleted by its author"]:
        assert hidden not in body
    assert "ann@example.org" not in body and "192.0.2.77" not in body


def test_article_feed_lists_only_that_article(client, discussion):
    feed = entries(client, f"/articles/{discussion.slug}/feed/")
    assert [e["author"] for e in feed] == ["Gus", "Ben", "Ann"]


def test_unpublished_and_unknown_articles_have_no_feed_and_stay_out_of_the_site_feed(
    client, discussion
):
    Article.objects.filter(pk=discussion.pk).update(published_at=timezone.now() + timedelta(days=1))
    assert client.get(f"/articles/{discussion.slug}/feed/").status_code == 404
    assert client.get("/articles/no-such-article/feed/").status_code == 404
    assert [e["author"] for e in entries(client, "/feeds/comments/")] == ["Hal"]


def test_hostile_markup_is_cleaned_in_feeds_as_on_pages(client, article, post):
    post("<script>alert(1)</script>[x](javascript:alert(2)) <a href='javascript:x'>y</a>")
    (entry,) = entries(client, "/feeds/comments/")
    html = entry["summary"]  # the HTML a feed reader shows
    assert "<script" not in html and "<a" not in html and 'href="javascript' not in html
    assert html.startswith("<p>&lt;script&gt;alert(1)&lt;/script&gt;")


def test_pages_link_their_feeds(client, discussion):
    home = client.get("/").content.decode()
    assert '<link rel="alternate" type="application/atom+xml"' in home
    assert 'href="/feeds/comments/"' in home
    page = client.get(f"/articles/{discussion.slug}/").content.decode()
    assert f'href="/articles/{discussion.slug}/feed/"' in page


@pytest.mark.parametrize("extra", [0, 40])
def test_a_feed_costs_the_same_queries_however_many_comments(
    client, article, post, django_assert_num_queries, extra
):
    for n in range(5 + extra):
        post(f"Comment {n}.", name=f"R{n}")
    with django_assert_num_queries(1):
        client.get("/feeds/comments/")
