"""Many readers post into one article at once, through the real HTTP stack, on PostgreSQL.

Eight clients, each a reader of its own (tests/support/http.py: cookie jar, CSRF token
taken from the page), post 25 comments each, starting together: top-level comments and
replies to any comment already posted, at any depth. Every post must land exactly once,
under the parent it named, with the trees sound afterwards. The second test does the same
while a moderator removes and restores comments; a reply to a comment removed at that
moment is refused (the page comes back with the form, status 200) and the client posts
again elsewhere.

No 503 is allowed: the thread locks wait rather than fail, so ``ThreadBusy`` could only come
from a deadlock or serialization failure, and none of these writes can cause one.
"""

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from comments.integrity import find_broken_threads
from comments.models import Comment
from comments.services import comment_set_status
from tests.support.http import Reader

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


class Discussion:
    """What the clients have seen land: ids to reply to and, per body, the parent named."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids: list[int] = []
        self.parent_of: dict[str, int | None] = {}
        self.pk_of: dict[str, int] = {}
        self.answers = Counter()
        self.unexpected: list[tuple[str, str, str]] = []

    def pick_parent(self, rng):
        with self.lock:
            return rng.choice(self.ids) if self.ids and rng.random() < REPLY_SHARE else None

    def landed(self, body, pk, parent):
        with self.lock:
            self.ids.append(pk)
            self.parent_of[body] = parent
            self.pk_of[body] = pk


def _client(number, reader, discussion, start, deadline):
    rng = random.Random(number)
    start.wait(timeout=30)
    landed = attempts = 0
    while landed < POSTS_EACH:
        assert attempts < MAX_ATTEMPTS_EACH, f"client {number}: {attempts} attempts"
        assert time.monotonic() < deadline, f"client {number}: out of time"
        attempts += 1
        body = f"Client {number}, post {landed}."
        parent = discussion.pick_parent(rng)
        answer = reader.post(body, parent)
        if answer.status == 303:
            discussion.landed(body, answer.comment_id, parent)
            landed += 1
            outcome = "landed"
        elif answer.status == 200 and parent is not None and REFUSED in answer.text:
            outcome = "refused"
        else:
            discussion.unexpected.append((str(answer), body, answer.text[:500]))
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
    readers = [
        Reader(live_server.url, article, name="Load tester", timeout=60) for _ in range(CLIENTS)
    ]
    assert [str(reader.read_page()) for reader in readers] == ["200"] * CLIENTS
    start = threading.Barrier(CLIENTS)
    stop = threading.Event()
    deadline = time.monotonic() + TIME_LIMIT
    with ThreadPoolExecutor(max_workers=CLIENTS + 1) as pool:
        moderator = pool.submit(_moderator, discussion, stop, deadline) if moderated else None
        clients = [
            pool.submit(_client, number, reader, discussion, start, deadline)
            for number, reader in enumerate(readers)
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
