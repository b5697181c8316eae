"""Huge discussions: paging by top-level threads, a depth limit, caching, conditional GETs.

The version that keys cached pages is bumped inside each write's own transaction
(``comments.services``), so it commits with the write or not at all; the tests that watch the
cache being invalidated use ``transactional_db`` so that each write really commits, as in
production.
"""

import re

import pytest
from django.contrib.auth.models import User

from bench.forest import bulk_forest
from comments.integrity import find_broken_threads
from comments.models import Comment
from comments.ordering import ORDERS
from comments.services import comment_create


def discussion(response):
    """The cacheable part of an article page (the forms around it carry per-reader tokens)."""
    html = response.content.decode()
    return html[html.index('<section class="discussion"') : html.index('id="post-heading"')]


def elements(html):
    return re.findall(r'id="comment-(\d+)" data-depth="(\d+)"', html)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("size", [10, 1_000, 10_000])
def test_page_cost_in_queries_is_the_same_at_any_size(
    client, article, size, order, django_assert_num_queries
):
    bulk_forest(article, size)
    assert find_broken_threads() == []
    url = f"{article.get_absolute_url()}?order={order}"
    # The article, the top-level threads, their rows to arrange, the rows shown, the count;
    # and but on the oldest order's first page (numbered 1, 2, 3…), the threads' numbers.
    with django_assert_num_queries(5 if order == "oldest" else 6):
        cold = client.get(url)
    with django_assert_num_queries(1):  # article only: the discussion comes from the cache
        warm = client.get(url)
    assert discussion(cold) == discussion(warm)
    # bulk_forest makes threads of 121 comments (the last one what is left): whole threads
    # fill the 500 budget, four of them oldest first; newest first, the short one and three.
    expected = size if size <= 500 else 4 * 121
    if order == "newest" and size > 500 and size % 121:
        expected = size % 121 + 3 * 121
    assert len(elements(cold.content.decode())) == expected


def test_page_shows_at_most_k_threads_and_c_comments(client, article, settings, post):
    settings.COMMENTS_PAGE_THREADS = 3
    settings.COMMENTS_PAGE_MAX = 7
    tops = [post(f"top {i}") for i in range(5)]
    for top in tops[:2]:
        for _ in range(2):
            post("reply", parent=top)
    html = client.get(article.get_absolute_url()).content.decode()
    shown = [int(pk) for pk, depth in elements(html) if depth == "0"]
    # Threads of 3 + 3 + 1 comments fill the budget of 7; the fourth thread waits.
    assert shown == [tops[0].pk, tops[1].pk, tops[2].pk]
    assert len(elements(html)) == 7
    more = re.search(r'href="\?after=(\d+)&amp;order=oldest#load-more"', html)
    assert more and "Load more comments" in html
    nxt = client.get(f"{article.get_absolute_url()}?after={more.group(1)}").content.decode()
    assert [int(pk) for pk, _ in elements(nxt)] == [tops[3].pk, tops[4].pk]
    assert '<span class="number">4.</span>' in nxt and '<span class="number">5.</span>' in nxt
    assert "Load more comments" not in nxt


def test_load_more_with_htmx_returns_only_the_next_threads(client, article, settings, post):
    settings.COMMENTS_PAGE_THREADS = 1
    first, second = post("first"), post("second")
    response = client.get(
        f"{article.get_absolute_url()}?after={first.tree_id}", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<!doctype" not in html
    assert [int(pk) for pk, _ in elements(html)] == [second.pk]


def test_replies_deeper_than_the_limit_continue_on_a_focused_page(client, article, settings, post):
    settings.COMMENTS_MAX_DEPTH = 2
    chain = [post("level 0")]
    for level in range(1, 5):
        chain.append(post(f"level {level}", parent=chain[-1]))
    html = client.get(article.get_absolute_url()).content.decode()
    assert [int(d) for _, d in elements(html)] == [0, 1, 2]
    link = f"/comments/{chain[2].pk}/thread/"
    assert f'href="{link}">Continue this thread →' in html
    focused = client.get(link).content.decode()
    # Two comments above come first for context, then the comment and its replies.
    assert [(int(pk), int(d)) for pk, d in elements(focused)] == [
        (chain[0].pk, 0),
        (chain[1].pk, 1),
        (chain[2].pk, 2),
        (chain[3].pk, 3),
        (chain[4].pk, 4),
    ]
    assert f'class="comment highlight" id="comment-{chain[2].pk}"' in focused


def test_a_thread_bigger_than_the_page_continues_after_the_last_comment_shown(
    client, article, settings, post
):
    settings.COMMENTS_PAGE_MAX = 3
    top = post("top")
    replies = [post(f"reply {i}", parent=top) for i in range(4)]
    html = client.get(article.get_absolute_url()).content.decode()
    assert [int(pk) for pk, _ in elements(html)] == [top.pk, replies[0].pk, replies[1].pk]
    replies[1].refresh_from_db()
    link = f"/comments/{top.pk}/thread/?after={replies[1].lft}"
    assert f'href="{link}">Continue this thread' in html
    rest = client.get(link).content.decode()
    # The top comment comes again for context, then the replies not yet shown.
    assert [int(pk) for pk, _ in elements(rest)] == [top.pk, replies[2].pk, replies[3].pk]


def test_newest_first_puts_the_newest_first_at_every_level(client, article, post):
    old, new = post("old"), post("new")
    r1, r2 = post("r1", parent=old), post("r2", parent=old)
    response = client.get(f"{article.get_absolute_url()}?order=newest")
    html = response.content.decode()
    assert [int(pk) for pk, _ in elements(html)] == [new.pk, old.pk, r2.pk, r1.pk]
    assert '<span class="number">2.</span>' in html.split(f'id="comment-{old.pk}"')[0]
    assert response.cookies["discussion_order"].value == "newest"
    again = client.get(article.get_absolute_url()).content.decode()  # remembered by cookie
    assert [int(pk) for pk, _ in elements(again)][:2] == [new.pk, old.pk]


def test_a_new_comment_shows_at_once_despite_the_cache(client, article, post, transactional_db):
    url = article.get_absolute_url()
    client.get(url)
    fresh = post("just posted")
    assert f'id="comment-{fresh.pk}"' in client.get(url).content.decode()


def test_closing_comments_shows_at_once_despite_the_cache(client, article, post, transactional_db):
    post("a comment")
    url = article.get_absolute_url()
    assert "Reply" in client.get(url).content.decode()
    article.comments_open = False
    article.save()
    html = client.get(url).content.decode()
    assert "reply-link" not in html and "Comments are closed." in html


def test_one_reader_never_sees_another_readers_controls_or_pending_comments(client, article):
    author = User.objects.create_user("author", password="pw-author-1")
    held = comment_create(
        article=article, body="held for review", user=author, status=Comment.Status.PENDING
    )
    shown = comment_create(article=article, body="my visible words", user=author)
    url = article.get_absolute_url()

    client.force_login(author)
    mine = client.get(url).content.decode()
    assert "held for review" in mine and "awaiting moderation" in mine
    assert f"/comments/{shown.pk}/edit/" in mine

    client.logout()
    for _ in range(2):  # cold, then from the cache
        theirs = client.get(url).content.decode()
        assert "held for review" not in theirs and f'id="comment-{held.pk}"' not in theirs
        assert f"/comments/{shown.pk}/edit/" not in theirs

    other = User.objects.create_user("other", password="pw-other-12")
    client.force_login(other)
    html = client.get(url).content.decode()
    assert "held for review" not in html and f"/comments/{shown.pk}/edit/" not in html
    client.force_login(author)
    assert f"/comments/{shown.pk}/edit/" in client.get(url).content.decode()


def test_each_reader_gets_their_own_csrf_token_with_caching_on(article, post):
    from django.test import Client

    post("cached")
    tokens = set()
    for _ in range(2):
        reader = Client(enforce_csrf_checks=True)
        html = reader.get(article.get_absolute_url()).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        tokens.add(token)
        response = reader.post(
            f"/articles/{article.slug}/comments/",
            {"body": "with my token", "author_name": "R", "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 303
    assert len(tokens) == 2


def test_article_page_answers_conditional_get_with_304(client, article, post, transactional_db):
    post("first")
    url = article.get_absolute_url()
    first = client.get(url)
    etag = first["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    post("second")
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
