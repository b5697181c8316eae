"""The article page: the thread's shape, its hooks, and its cost in queries."""

import re

import pytest

from articles.models import Article
from comments.models import Comment
from comments.services import comment_create, comment_set_status


def comment_elements(html):
    """(pk, depth, parent) of each comment element, in document order."""
    return [
        (int(pk), int(depth), int(parent) if parent else None)
        for pk, depth, parent in re.findall(
            r'id="comment-(\d+)" data-depth="(\d+)" data-parent="(\d*)"', html
        )
    ]


def make_thread(article, size):
    """``size`` comments: a mix of top-level ones and replies at growing depth."""
    made = []
    for i in range(size):
        parent = made[i // 2].pk if i % 3 and made else None
        made.append(
            comment_create(article=article, body=f"Comment {i}", author_name="R", parent_id=parent)
        )
    return made


def test_home_lists_articles_newest_first_with_response_counts(client, article, post):
    older = Article.objects.create(
        title="Older",
        slug="older",
        body="x",
        published_at=article.published_at.replace(year=article.published_at.year - 1),
    )
    first = post("one")
    post("two", parent=first)
    hidden = post("three")
    comment_set_status(comment=hidden, status=Comment.Status.REMOVED)
    html = client.get("/").content.decode()
    assert html.index(article.title) < html.index(older.title)
    assert "2 responses" in html
    assert "0 responses" in html


def test_thread_nests_replies_under_their_parents_in_posting_order(client, article, post):
    a = post("A")
    b = post("B")
    a1 = post("A1", parent=a)
    a2 = post("A2", parent=a)
    a1x = post("A1x", parent=a1)
    html = client.get(article.get_absolute_url()).content.decode()
    assert comment_elements(html) == [
        (a.pk, 0, None),
        (a1.pk, 1, a.pk),
        (a1x.pk, 2, a1.pk),
        (a2.pk, 1, a.pk),
        (b.pk, 0, None),
    ]
    # Replies sit inside their parent's element: A's element closes after A2, before B.
    a_start = html.index(f'id="comment-{a.pk}"')
    b_start = html.index(f'id="comment-{b.pk}"')
    between = html[a_start:b_start]
    assert f'id="comment-{a2.pk}"' in between
    assert between.count("<article") == between.count("</article>")


def test_top_level_responses_are_numbered(client, article, post):
    first, second = post("first"), post("second")
    post("reply", parent=first)
    html = client.get(article.get_absolute_url()).content.decode()
    assert re.search(rf'id="comment-{first.pk}".*?<span class="number">1\.</span>', html, re.S)
    assert re.search(rf'id="comment-{second.pk}".*?<span class="number">2\.</span>', html, re.S)
    assert "3 responses" in html


def test_deep_threads_render_at_any_depth(client, article, post, settings):
    settings.COMMENTS_MAX_DEPTH = 100
    parent = None
    for _ in range(60):
        parent = post("deeper", parent=parent)
    html = client.get(article.get_absolute_url()).content.decode()
    depths = [depth for _, depth, _ in comment_elements(html)]
    assert depths == list(range(60))
    assert html.count("<article") == html.count("</article>")


def test_permalink_redirects_to_the_comment_on_its_article(client, article, post):
    comment = post("here")
    response = client.get(f"/comments/{comment.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/articles/{article.slug}/#comment-{comment.pk}"
    assert client.get("/comments/999999/").status_code == 404


def test_removed_comment_with_replies_stays_as_placeholder(client, article, post):
    parent = post("Offensive words")
    reply = post("A calm reply", parent=parent)
    lonely = post("Removed and alone")
    for comment in (parent, lonely):
        comment_set_status(comment=comment, status=Comment.Status.REMOVED)
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Offensive words" not in html
    assert "Removed and alone" not in html
    assert f'id="comment-{lonely.pk}"' not in html
    assert "[removed]" in html
    assert (reply.pk, 1, parent.pk) in comment_elements(html)


def test_author_email_and_ip_never_reach_the_page(client, article, post):
    post("hello", author_email="secret@example.org", ip_address="203.0.113.9")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "secret@example.org" not in html
    assert "203.0.113.9" not in html


@pytest.mark.parametrize("size", [10, 1000])
def test_article_page_query_count_does_not_grow_with_the_thread(
    client, article, size, django_assert_num_queries, settings
):
    """With paging out of the way, the whole discussion still costs the same queries."""
    settings.COMMENTS_PAGE_THREADS = settings.COMMENTS_PAGE_MAX = settings.COMMENTS_MAX_DEPTH = 5000
    make_thread(article, size)
    # The article, the page's top-level threads, their rows to arrange, the rows shown, the
    # response count.
    with django_assert_num_queries(5):
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('data-depth="') == size
