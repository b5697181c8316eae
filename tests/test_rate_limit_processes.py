"""Rate limits hold across app servers: two gunicorn processes sharing Redis.

100 posts from one address arrive at once, split between the two servers. Exactly the
configured number are accepted; every other one gets a 429 with a readable message.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from comments.models import Comment
from tests.support.http import Reader
from tests.support.servers import app_servers

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
LIMIT = 5
POSTS = 100


def redis_available():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture
def two_app_servers(transactional_db):
    if not redis_available():
        if os.environ.get("THREADLINE_REQUIRE_ALL"):
            pytest.fail(f"Redis is needed at {REDIS_URL}")
        pytest.skip(f"needs Redis at {REDIS_URL}")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    with app_servers(
        2,
        REDIS_URL=REDIS_URL,
        COMMENTS_RATE_LIMIT=f"{LIMIT}/d",  # a day-long window: no boundary mid-test
        CONN_MAX_AGE=0,
    ) as servers:
        yield servers


@pytest.mark.postgres
def test_rate_limit_is_shared_by_two_app_servers(two_app_servers, article):
    readers = [Reader(server.url, article, name="Flooder") for server in two_app_servers]
    assert [str(reader.read_page()) for reader in readers] == ["200", "200"]

    def post(i):
        return readers[i % 2].post(f"post {i}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(POSTS)))

    statuses = [str(answer) for answer in answers]
    assert statuses.count("303") == LIMIT, statuses  # accepted: redirected to the comment
    assert statuses.count("429") == POSTS - LIMIT, statuses
    assert all("You are posting too often." in a.text for a in answers if a.status == 429)
    assert Comment.objects.filter(article=article).count() == LIMIT
