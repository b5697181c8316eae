"""Many readers post into one article at once, through the real HTTP stack, on PostgreSQL.

Eight clients, each a browser of its own (cookie jar, CSRF token taken from the page), post
25 comments each, starting together: top-level comments and replies to any comment already
posted, at any depth. Every post must land exactly once, under the parent it named, with the
trees sound afterwards. The second test does the same while a moderator removes and
restores comments; a reply to a comment removed at that moment is refused (the page comes
back with the form, status 200) and the client posts again elsewhere.

No 503 is allowed: the thread locks wait rather than fail, so ``ThreadBusy`` could only come
from a deadlock or serialization failure, and none of these writes can cause one.
"""

import random
import re
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.urls import reverse

from comments.integrity import find_broken_threads
from comments.models import Comment
from comments.services import comment_set_status

pytestmark = pytest.mark.postgres

CLIENTS = 8
POSTS_EACH = 25
REPLY_SHARE = 0.7
MAX_ATTEMPTS_EACH = POSTS_EACH * 10
TIME_LIMIT = 120  # seconds, for the whole run
REFUSED = "can no longer be replied to"


@pytest.fixture(autouse=True)
def _no_flood_defences(settings):
    """Eight clients posting in bursts from one address is the point here, not spam."""
    settings.COMMENTS_RATE_LIMIT = "off"
    settings.COMMENTS_MIN_SUBMIT_SECONDS = 0
    settings.COMMENTS_REFUSE_DUPLICATES = False
    settings.COMMENTS_MODERATION = "none"


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 303 itself is the answer: it names the new comment


class Browser:
    """One reader: a cookie jar, the CSRF token from the article page, redirects not followed."""

    def __init__(self, live_server_url, article):
        cookies = urllib.request.HTTPCookieProcessor(CookieJar())
        self.opener = urllib.request.build_opener(cookies, _KeepRedirects)
        self.page_url = live_server_url + article.get_absolute_url()
        self.post_url = live_server_url + reverse("comment_post", args=[article.slug])
        page = self.opener.open(self.page_url, timeout=30).read().decode()
        self.csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

    def post(self, body, parent=None):
        """Send the comment form; return (status, new comment id or None, response text)."""
        data = {
            "csrfmiddlewaretoken": self.csrf_token,
            "body": body,
            "parent": parent or "",
            "author_name": "Load tester",
            "author_email": "",
        }
        request = urllib.request.Request(  # noqa: S310 (the live server's own http URL)
            self.post_url, data=urlencode(data).encode(), headers={"Referer": self.page_url}
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, None, response.read().decode()
        except HTTPError as answer:
            text = answer.read().decode(errors="replace")
            if answer.code != 303:
                return answer.code, None, text
            return 303, int(answer.headers["Location"].rsplit("#comment-", 1)[1]), text


class Discussion:
    """What the clients have seen land: ids to reply to and, per body, the parent named."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids: list[int] = []
        self.parent_of: dict[str, int | None] = {}
        self.pk_of: dict[str, int] = {}
        self.answers = Counter()
        self.unexpected: list[tuple[int, str, str]] = []

    def pick_parent(self, rng):
        with self.lock:
            return rng.choice(self.ids) if self.ids and rng.random() < REPLY_SHARE else None

    def landed(self, body, pk, parent):
        with self.lock:
            self.ids.append(pk)
            self.parent_of[body] = parent
            self.pk_of[body] = pk


def _client(number, browser, discussion, start, deadline):
    rng = random.Random(number)
    start.wait(timeout=30)
    landed = attempts = 0
    while landed < POSTS_EACH:
        assert attempts < MAX_ATTEMPTS_EACH, f"client {number}: {attempts} attempts"
        assert time.monotonic() < deadline, f"client {number}: out of time"
        attempts += 1
        body = f"Client {number}, post {landed}."
        parent = discussion.pick_parent(rng)
        status, pk, page = browser.post(body, parent)
        if status == 303:
            discussion.landed(body, pk, parent)
            landed += 1
            outcome = "landed"
        elif status == 200 and parent is not None and REFUSED in page:
            outcome = "refused"
        else:
            discussion.unexpected.append((status, body, page[:500]))
            return
        with discussion.lock:
            discussion.answers[outcome] += 1


def _moderator(discussion, stop, deadline):
    """Remove and restore random comments until told to stop; return how many changes."""
    rng = random.Random("moderator")
    removed: set[int] = set()
    changes = 0
    try:
        while not stop.is_set() and time.monotonic() < deadline and changes < 5000:
            with discussion.lock:
                pk = rng.choice(discussion.ids) if discussion.ids else None
            if pk is None:
                time.sleep(0.005)
                continue
            status = Comment.Status.APPROVED if pk in removed else Comment.Status.REMOVED
            comment_set_status(comment=Comment.objects.get(pk=pk), status=status)
            (removed.discard if pk in removed else removed.add)(pk)
            changes += 1
            time.sleep(0.002)
        return changes
    finally:
        connection.close()


def _post_all_at_once(live_server, article, *, moderated):
    discussion = Discussion()
    browsers = [Browser(live_server.url, article) for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    stop = threading.Event()
    deadline = time.monotonic() + TIME_LIMIT
    with ThreadPoolExecutor(max_workers=CLIENTS + 1) as pool:
        moderator = pool.submit(_moderator, discussion, stop, deadline) if moderated else None
        clients = [
            pool.submit(_client, number, browser, discussion, start, deadline)
            for number, browser in enumerate(browsers)
        ]
        try:
            for client in clients:
                client.result(timeout=TIME_LIMIT + 30)
        finally:
            stop.set()
        changes = moderator.result(timeout=30) if moderator else 0
    return discussion, changes


def _assert_every_post_landed_once_where_named(article, discussion):
    assert discussion.unexpected == []
    rows = list(Comment.objects.filter(article=article).values_list("pk", "body", "parent_id"))
    assert len(rows) == CLIENTS * POSTS_EACH
    bodies = Counter(body for _, body, _ in rows)
    assert bodies.keys() == discussion.parent_of.keys()
    assert set(bodies.values()) == {1}
    assert {body: parent for _, body, parent in rows} == discussion.parent_of
    assert {body: pk for pk, body, _ in rows} == discussion.pk_of
    assert find_broken_threads() == []
    root_trees = list(Comment.objects.filter(parent=None).values_list("tree_id", flat=True))
    assert len(root_trees) == len(set(root_trees))
    assert Comment.objects.filter(level__gte=3).exists()  # replies went deep


def test_concurrent_posts_all_land_once_in_sound_trees(live_server, transactional_db, article):
    discussion, _ = _post_all_at_once(live_server, article, moderated=False)

    _assert_every_post_landed_once_where_named(article, discussion)
    assert discussion.answers == {"landed": CLIENTS * POSTS_EACH}


def test_concurrent_posts_while_a_moderator_removes_and_restores(
    live_server, transactional_db, article
):
    discussion, changes = _post_all_at_once(live_server, article, moderated=True)

    _assert_every_post_landed_once_where_named(article, discussion)
    assert discussion.answers["landed"] == CLIENTS * POSTS_EACH
    assert changes > 0
