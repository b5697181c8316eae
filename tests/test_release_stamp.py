"""New code never serves what old code drew: the cached discussion fragments, the drawings
of new comments and the article page's ETag all carry the release stamp (a hash of the files
that draw pages, ``core.release``), so after a deploy a reader gets the new markup at once
instead of a day-old fragment or a 304 for a page that named the old scripts and styles.
"""

import pytest

from comments.models import Comment
from core import release


@pytest.fixture
def deploy(monkeypatch):
    """Pretend the code changed: the next stamp is another one."""

    def _deploy(name: str):
        monkeypatch.setattr(release, "stamp", lambda: name)

    return _deploy


def test_a_cached_fragment_is_not_served_by_the_next_release(client, article, post, deploy):
    comment = post("Drawn by the old code.")
    deploy("old")
    assert "Drawn by the old code." in client.get(article.get_absolute_url()).text
    # A change that bypasses the discussion's version, as new code drawing it differently does.
    Comment.objects.filter(pk=comment.pk).update(body_html="<p>Drawn by the new code.</p>")
    assert "Drawn by the old code." in client.get(article.get_absolute_url()).text  # cached
    deploy("new")
    page = client.get(article.get_absolute_url()).text
    assert "Drawn by the new code." in page and "Drawn by the old code." not in page


def test_the_etag_of_one_release_gets_no_304_from_the_next(client, article, post, deploy):
    post("A comment.")
    deploy("old")
    etag = client.get(article.get_absolute_url())["ETag"]
    assert client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=etag).status_code == 304
    deploy("new")
    fresh = client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag


def test_the_stamp_is_the_same_for_the_same_code_and_names_it():
    release.stamp.cache_clear()
    first = release.stamp()
    release.stamp.cache_clear()
    assert release.stamp() == first and len(first) == 12
