"""Editors see and settle votes in the admin, and ``check_comment_trees`` keeps the counts
honest.

The comment list shows each comment's score and counts and whether it is pinned, and sorts
by score; Pin and Unpin act on top-level comments only, through ``services.comment_pin``;
a comment's change page shows editors who voted, read-only, in a number of queries that
does not grow with the votes; the Ban list discounts the votes of the banned accounts and
recounts; the check command names every comment whose counts disagree with its votes,
exits 1, and ``--repair`` recounts them from the votes.
"""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comments import services, votes
from comments.admin import CommentAdmin
from comments.models import Ban, Comment, Vote
from tests.support.commands import check_comment_trees

CHANGELIST = "/admin/comments/comment/"
BANS = "/admin/comments/ban/"


@pytest.fixture
def readers(db):
    """``readers(3)``: that many accounts, ann0, ann1, …"""

    def _make(count):
        return [
            User.objects.create_user(f"ann{i}", password=f"pw-ann{i}-123") for i in range(count)
        ]

    return _make


def vote(comment, user, value):
    votes.comment_vote(comment_pk=comment.pk, voter=votes.Voter(user=user), value=value)


def vote_without_account(comment, n, value):
    voter = votes.Voter(cookie=f"cookie-{n}", address=f"address-{n}")
    votes.comment_vote(comment_pk=comment.pk, voter=voter, value=value)


def run_action(client, action, objects, url=CHANGELIST):
    return client.post(
        url, {"action": action, "_selected_action": [o.pk for o in objects]}, follow=True
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def fresh(comment):
    return Comment.objects.get(pk=comment.pk)


def test_comment_list_shows_counts_and_pinned_and_sorts_by_score(editor_client, post, readers):
    low, high, middle = post("Lowest words"), post("Highest words"), post("Middle words")
    ann = readers(4)
    vote(low, ann[0], -1)
    vote(low, ann[1], -1)
    for reader in ann[:3]:
        vote(high, reader, 1)
    vote(high, ann[3], -1)
    vote(middle, ann[0], 1)
    services.comment_pin(comment=high, pinned=True)
    column = CommentAdmin.list_display.index("score_summary") + 1

    ascending = editor_client.get(CHANGELIST, {"o": column}).content.decode()
    descending = editor_client.get(CHANGELIST, {"o": f"-{column}"}).content.decode()

    assert '+2 <small class="tl-counts" title="3 up, 1 down">(3↑ 1↓)</small>' in ascending
    assert '-2 <small class="tl-counts" title="0 up, 2 down">(0↑ 2↓)</small>' in ascending
    assert '+1 <small class="tl-counts" title="1 up, 0 down">(1↑ 0↓)</small>' in ascending
    assert ascending.count('<span class="tl-badge tl-pinned">pinned</span>') == 1
    assert "sortable column-score_summary" in ascending

    def order(html):
        words = ["Lowest words", "Middle words", "Highest words"]
        return sorted(words, key=html.index)

    assert order(ascending) == ["Lowest words", "Middle words", "Highest words"]
    assert order(descending) == ["Highest words", "Middle words", "Lowest words"]


def test_pin_and_unpin_act_on_top_level_comments_and_refuse_replies(editor_client, post):
    top = post("Pin me")
    reply = post("Not me", parent=top)

    response = run_action(editor_client, "pin", [top, reply])

    assert (fresh(top).pinned, fresh(reply).pinned) == (True, False)
    assert messages_of(response) == [
        "Pinned: 1 comment.",
        "Skipped 1 reply: only a top-level comment can be pinned or unpinned.",
    ]
    assert LogEntry.objects.filter(object_id=str(top.pk), change_message="Pinned.").exists()
    assert "Pinned: 0 comments. 1 was pinned already." in messages_of(
        run_action(editor_client, "pin", [top])
    )

    response = run_action(editor_client, "unpin", [top, reply])

    assert fresh(top).pinned is False
    assert messages_of(response) == [
        "Unpinned: 1 comment.",
        "Skipped 1 reply: only a top-level comment can be pinned or unpinned.",
    ]


def test_pin_also_sits_on_the_change_form(editor_client, post):
    comment = post("Pin from its page")
    url = f"{CHANGELIST}{comment.pk}/change/"
    assert 'value="pin"' in editor_client.get(url).content.decode()

    editor_client.post(url, {"CHANGE_FORM-action": "pin", "_selected_action": [comment.pk]})

    assert fresh(comment).pinned is True


def test_change_page_shows_editors_who_voted_read_only(editor_client, post, readers):
    comment = post("Voted on")
    ann0, ann1 = readers(2)
    vote(comment, ann0, 1)
    vote(comment, ann1, -1)
    vote_without_account(comment, 1, 1)
    votes.votes_discount(users=[ann1])

    html = editor_client.get(f"{CHANGELIST}{comment.pk}/change/").content.decode()

    assert "Who voted:" in html
    assert "<td>ann0</td><td>up</td>" in html
    assert "<td>ann1</td><td>down</td>" in html and "no (discounted)" in html
    assert "<td>reader without an account</td><td>up</td>" in html
    assert '+2 <small class="tl-counts" title="2 up, 0 down">' in html
    assert "TOTAL_FORMS" not in html and 'name="votes' not in html  # nothing to add or change


def test_who_voted_costs_the_same_queries_for_two_votes_or_six(editor_client, post, readers):
    comment = post("Voted on")
    accounts = readers(6)

    def queries_for_the_change_page():
        with CaptureQueriesContext(connection) as queries:
            assert editor_client.get(f"{CHANGELIST}{comment.pk}/change/").status_code == 200
        return len(queries)

    for reader in accounts[:2]:
        vote(comment, reader, 1)
    two = queries_for_the_change_page()
    for reader in accounts[2:]:
        vote(comment, reader, -1)

    assert queries_for_the_change_page() == two


def test_who_voted_is_for_editors_only(client, post, readers):
    comment = post("Voted on")
    vote(comment, readers(1)[0], 1)
    staff = User.objects.create_user("stan", password="pw-stan-123", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_comment"))
    client.force_login(staff)

    response = client.get(f"{CHANGELIST}{comment.pk}/change/")

    assert response.status_code == 200
    assert "Who voted" not in response.content.decode()
    assert "ann0" not in response.content.decode()


def test_discounting_a_banned_accounts_votes_recounts_and_reports(
    editor_client, editor, post, readers
):
    comment = post("Brigaded")
    troll, ann = readers(2)
    vote(comment, troll, -1)
    vote(comment, ann, 1)
    by_account = Ban.objects.create(user=troll, created_by=editor)
    by_email = Ban.objects.create(email="t@example.org", created_by=editor)

    response = run_action(editor_client, "discount_their_votes", [by_account, by_email], BANS)

    assert messages_of(response) == [
        "Discounted 1 vote of 1 account.",
        "1 selected ban names no account: only an account's votes can be discounted.",
    ]
    comment = fresh(comment)
    assert (comment.upvotes, comment.downvotes, comment.score) == (1, 0, 1)
    assert Vote.objects.get(user=troll).counted is False
    assert Vote.objects.get(user=ann).counted is True
    assert votes.miscounted() == []
    assert LogEntry.objects.filter(
        object_id=str(by_account.pk), change_message="Discounted the votes of this account."
    ).exists()


def test_check_names_a_comment_whose_counts_disagree_and_repair_recounts(post, readers):
    comment = post("Counted")
    vote(comment, readers(1)[0], 1)
    Comment.objects.filter(pk=comment.pk).update(upvotes=99, score=99)

    status, output = check_comment_trees()

    assert status == 1
    assert "Every comment thread is sound." in output
    assert f"comment #{comment.pk}: counts 99 up 0 down, votes say 1 up 0 down" in output
    assert "1 comment(s) with wrong vote counts. Run with --repair to recount them." in output

    status, output = check_comment_trees("--repair")

    assert status == 0, output
    assert f"Recounted the votes of comment(s) #{comment.pk}." in output
    assert (fresh(comment).upvotes, fresh(comment).score) == (1, 1)
    assert check_comment_trees() == (0, "Every comment thread is sound.\n")


def test_check_names_stale_order_keys_even_when_the_counts_agree(post, readers):
    comment = post("Counted")
    vote(comment, readers(1)[0], 1)
    Comment.objects.filter(pk=comment.pk).update(best=0.99)

    status, output = check_comment_trees()

    assert status == 1
    assert f"comment #{comment.pk}: counts 1 up 0 down match its votes, but its order" in output
    assert check_comment_trees("--repair")[0] == 0
    assert fresh(comment).best == votes.wilson_lower_bound(1, 0)


def test_check_reports_a_broken_thread_and_wrong_counts_together_and_repairs_both(post, readers):
    top = post("Top")
    reply = post("Reply", parent=top)
    vote(reply, readers(1)[0], -1)
    Comment.objects.filter(pk=top.pk).update(rght=12)
    Comment.objects.filter(pk=reply.pk).update(downvotes=0, score=0)

    status, output = check_comment_trees()

    assert status == 1
    assert f"comment #{top.pk}: its interval 1..12" in output
    assert f"comment #{reply.pk}: counts 0 up 0 down, votes say 0 up 1 down" in output
    assert (
        "1 broken thread(s), 1 comment(s) with wrong vote counts. "
        "Run with --repair to rebuild and recount them."
    ) in output

    status, output = check_comment_trees("--repair")

    assert status == 0, output
    assert "Repaired: every comment thread is sound." in output
    assert "Recounted: every vote count matches the votes." in output
    assert (fresh(top).rght, fresh(reply).downvotes) == (4, 1)
