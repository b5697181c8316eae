"""Rate limits hold across app servers: two gunicorn processes sharing Redis.

100 posts from one address arrive at once, split between the two servers. Exactly the
configured number are accepted; every other one gets a 429 with a readable message.
"""

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest

from comments.models import Comment
from tests.servers import app_servers

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
        yield [server.port for server in servers]


@pytest.mark.postgres
def test_rate_limit_is_shared_by_two_app_servers(two_app_servers, article):
    def client(port):
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        html = opener.open(f"http://127.0.0.1:{port}{article.get_absolute_url()}", timeout=10)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html.read()).group(1)
        return opener, token.decode()

    clients = [client(port) for port in two_app_servers]

    def post(i):
        opener, token = clients[i % 2]
        port = two_app_servers[i % 2]
        data = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "body": f"post {i}",
                "author_name": "Flooder",
            }
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/articles/{article.slug}/comments/",
            data=data,
            headers={"Referer": f"http://127.0.0.1:{port}/"},
        )
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, ""
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(post, range(POSTS)))

    statuses = [status for status, _ in results]
    # Accepted posts answer 303, which urllib follows to the article page (200).
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == POSTS - LIMIT, statuses
    assert all("You are posting too often." in body for status, body in results if status == 429)
    assert Comment.objects.filter(article=article).count() == LIMIT
