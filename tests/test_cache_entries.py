"""Only pages a reader can reach by the site's own links create cache entries.

A later page of a discussion ("Load more", ``?after=<tree_id>``) is cached only when
``after`` is a thread of the article, which is what the link carries; any other number is
answered correctly but uncached, so a client cannot fill the cache with one entry per
random value. Later pages live ``COMMENTS_PAGE_CACHE_SECONDS``, not a day.
"""

import re
import time

import pytest
from django.core.cache import cache


@pytest.fixture
def paged(article, post, settings):
    settings.COMMENTS_PAGE_THREADS = 2
    for number in range(6):
        post(f"thread {number}")
    return article


def entries() -> int:
    """How many entries the (local-memory) test cache holds."""
    return len(cache._cache)


def test_random_cursors_create_no_cache_entries(client, paged):
    url = paged.get_absolute_url()
    client.get(url)
    before = entries()
    for after in (7, 123456, 99999999, 31337, 42):
        response = client.get(f"{url}?order=newest&after={after}")
        assert response.status_code == 200
    assert entries() == before


def test_the_load_more_cursor_is_cached_for_a_bounded_time(client, paged, settings):
    settings.COMMENTS_PAGE_CACHE_SECONDS = 120
    url = paged.get_absolute_url()
    first = client.get(url).content.decode()
    after = re.search(r'href="\?after=(\d+)&amp;order=oldest#load-more"', first).group(1)
    before = entries()
    second = client.get(f"{url}?after={after}").content.decode()
    assert "thread 2" in second and "thread 0" not in second
    assert entries() > before
    assert any(0 < expiry - time.time() <= 120 for expiry in cache._expire_info.values())
