"""The five orders hold at every level, with pins, paging, the depth limit, focused pages and
permalinks, on one hand-built discussion whose expected sequences are written out by hand.

The discussion (posted in this order; votes as up/down):

    T1 2/0 ─ R1 1/1 ─ S1 0/0
           │        └ S2 1/0
           ├ R2 3/0
           └ R3 0/0
    T2 6/3
    T3 0/0
    T4 1/0

Scores: T1 2, T2 3, T4 1, R2 3, S2 1, the rest 0. Best (Wilson, 80%): T1 .549 > T2 .454 >
T4 .378; R2 .646 > R1 .164; S2 .378. Controversial: T2 9^(3/6) = 3, R1 2^1 = 2, the rest 0.
Ties break by posting time, oldest first.
"""

import re

import pytest
from django.contrib.auth.models import User

from comments import services, votes
from comments.models import Comment

EXPECTED = {
    "oldest": ["T1", "R1", "S1", "S2", "R2", "R3", "T2", "T3", "T4"],
    "newest": ["T4", "T3", "T2", "T1", "R3", "R2", "R1", "S2", "S1"],
    "top": ["T2", "T1", "R2", "R1", "S2", "S1", "R3", "T4", "T3"],
    "best": ["T1", "R2", "R1", "S2", "S1", "R3", "T2", "T4", "T3"],
    "controversial": ["T2", "T1", "R1", "S1", "S2", "R2", "R3", "T3", "T4"],
}
VOTES = {"T1": (2, 0), "T2": (6, 3), "T4": (1, 0), "R1": (1, 1), "R2": (3, 0), "S2": (1, 0)}


@pytest.fixture
def tree(article, post):
    """The discussion above: {name: comment}, with its votes cast through the service."""
    made = {}
    made["T1"] = post("T1")
    made["R1"] = post("R1", parent=made["T1"])
    made["S1"] = post("S1", parent=made["R1"])
    made["S2"] = post("S2", parent=made["R1"])
    made["R2"] = post("R2", parent=made["T1"])
    made["R3"] = post("R3", parent=made["T1"])
    for name in ("T2", "T3", "T4"):
        made[name] = post(name)
    voters = [User.objects.create_user(f"voter{i}") for i in range(9)]
    for name, (ups, downs) in VOTES.items():
        for i, voter in enumerate(voters[: ups + downs]):
            value = 1 if i < ups else -1
            who = votes.Voter(user=voter)
            votes.comment_vote(comment_pk=made[name].pk, voter=who, value=value)
    return made


def shown(html, tree):
    """The names of the comments on a page, in document order."""
    names = {comment.pk: name for name, comment in tree.items()}
    return [names[int(pk)] for pk in re.findall(r'<article class="[^"]*" id="comment-(\d+)"', html)]


@pytest.mark.parametrize("order", EXPECTED)
def test_every_order_applies_to_threads_and_to_the_replies_under_every_comment(
    client, article, tree, order
):
    html = client.get(f"{article.get_absolute_url()}?order={order}").content.decode()
    assert shown(html, tree) == EXPECTED[order]
    assert '<strong aria-current="true">' in html


def test_the_default_order_is_oldest_and_a_setting_changes_it(client, article, tree, settings):
    url = article.get_absolute_url()
    assert shown(client.get(url).content.decode(), tree) == EXPECTED["oldest"]
    settings.COMMENTS_DEFAULT_ORDER = "best"
    assert shown(client.get(url).content.decode(), tree) == EXPECTED["best"]


def test_top_level_comments_keep_their_numbers_in_every_order(client, article, tree):
    html = client.get(f"{article.get_absolute_url()}?order=best").content.decode()
    numbers = re.findall(
        r'id="comment-(\d+)"[^>]*>\s*<details[^>]*>\s*<summary[^>]*>\s*'
        r'<span class="number">(\d+)\.</span>',
        html,
    )
    by_name = {name: c.pk for name, c in tree.items()}
    assert [int(n) for _, n in numbers] == [1, 2, 4, 3]  # T1, T2, T4, T3
    assert [int(pk) for pk, _ in numbers] == [by_name[n] for n in ("T1", "T2", "T4", "T3")]


@pytest.mark.parametrize("order", EXPECTED)
def test_a_pinned_thread_comes_first_in_every_order_and_says_so(client, article, tree, order):
    services.comment_pin(comment=tree["T3"], pinned=True)
    html = client.get(f"{article.get_absolute_url()}?order={order}").content.decode()
    rest = [name for name in EXPECTED[order] if name != "T3"]
    assert shown(html, tree) == ["T3", *rest]
    assert html.count('<span class="badge pinned">Pinned</span>') == 1


def test_only_a_top_level_comment_can_be_pinned(tree):
    with pytest.raises(Exception, match="Only a top-level comment can be pinned"):
        services.comment_pin(comment=tree["R1"], pinned=True)
    assert not Comment.objects.get(pk=tree["R1"].pk).pinned


def test_moving_a_pinned_comment_under_another_unpins_it(tree):
    services.comment_pin(comment=tree["T3"], pinned=True)
    services.comment_move(comment=tree["T3"], new_parent_id=tree["T2"].pk)
    assert not Comment.objects.get(pk=tree["T3"].pk).pinned


@pytest.mark.parametrize("order", EXPECTED)
def test_load_more_walks_the_threads_in_every_order(client, article, tree, order, settings):
    settings.COMMENTS_PAGE_THREADS = 1
    url = f"{article.get_absolute_url()}?order={order}"
    seen = []
    for _ in range(6):
        html = client.get(url).content.decode()
        seen += shown(html, tree)
        more = re.search(r'<p class="load-more" id="load-more"><a href="([^"#]+)', html)
        if not more:
            break
        url = article.get_absolute_url() + more[1].replace("&amp;", "&")
    assert seen == EXPECTED[order]


def in_thread_of_t1(order):
    return [name for name in EXPECTED[order] if name[0] != "T" or name == "T1"]


@pytest.mark.parametrize("order", EXPECTED)
def test_a_thread_cut_by_the_comment_budget_continues_in_the_same_order(
    client, article, tree, order, settings
):
    services.comment_pin(comment=tree["T1"], pinned=True)  # first in every order
    settings.COMMENTS_PAGE_MAX = 3
    html = client.get(f"{article.get_absolute_url()}?order={order}").content.decode()
    thread = in_thread_of_t1(order)
    assert shown(html, tree) == thread[:3]
    link = re.search(r'<p class="continue"><a href="([^"]+)">Continue this thread', html)[1]
    rest = shown(client.get(link.replace("&amp;", "&")).content.decode(), tree)
    # The rest of the thread, in order; above it only the comments it answers, for context.
    assert [name for name in rest if name in thread[3:]] == thread[3:]
    assert set(rest) - set(thread[3:]) <= {"T1", "R1"}


@pytest.mark.parametrize("order", EXPECTED)
def test_the_depth_limit_continues_on_a_focused_page_in_the_same_order(
    client, article, tree, order, settings
):
    settings.COMMENTS_MAX_DEPTH = 1
    html = client.get(f"{article.get_absolute_url()}?order={order}").content.decode()
    assert shown(html, tree) == [name for name in EXPECTED[order] if name[0] != "S"]
    focused = client.get(tree["R1"].get_absolute_url().rstrip("/") + "/thread/").content
    assert [n for n in shown(focused.decode(), tree) if n[0] == "S"] == [
        n for n in EXPECTED[order] if n[0] == "S"
    ]


@pytest.mark.parametrize("order", EXPECTED)
def test_a_focused_page_shows_the_replies_in_the_readers_order(client, tree, order):
    url = f"/comments/{tree['T1'].pk}/thread/?order={order}"
    assert shown(client.get(url).content.decode(), tree) == in_thread_of_t1(order)


@pytest.mark.parametrize("order", EXPECTED)
def test_a_permalink_finds_a_comment_on_a_later_page_in_every_order(
    client, article, tree, order, settings
):
    settings.COMMENTS_PAGE_THREADS = 1
    client.get(f"{article.get_absolute_url()}?order={order}")  # the reader's order, remembered
    first_thread = EXPECTED[order][0]
    last_thread = [name for name in EXPECTED[order] if name[0] == "T"][-1]
    here = client.get(tree[first_thread].get_absolute_url())
    assert here["Location"] == f"{article.get_absolute_url()}#comment-{tree[first_thread].pk}"
    later = client.get(tree[last_thread].get_absolute_url(), follow=True)
    assert later.status_code == 200
    assert f'id="comment-{tree[last_thread].pk}"' in later.content.decode()
