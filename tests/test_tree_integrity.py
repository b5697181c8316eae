"""check_comment_trees finds each kind of broken thread and --repair fixes it.

Each test breaks a healthy thread with a queryset ``.update()`` (nothing else may write a
tree that way), runs the command, and checks what it names and what the repair leaves.
``lft < rght`` is a CheckConstraint: the database refuses that corruption, as the last
test shows. (A level check cannot be one: django-mptt moves a reply to the top level in two
statements, and PostgreSQL cannot defer a CHECK.)
"""

from types import SimpleNamespace

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from comments.integrity import find_broken_threads
from comments.models import Comment
from tests.support.commands import check_comment_trees


@pytest.fixture
def thread(post):
    """Two threads on one article: root (a (a1), b (b1)) and other (o1)."""
    root = post("root")
    a = post("a", parent=root)
    a1 = post("a1", parent=a)
    b = post("b", parent=root)
    b1 = post("b1", parent=b)
    other = post("other")
    o1 = post("o1", parent=other)
    return SimpleNamespace(root=root, a=a, a1=a1, b=b, b1=b1, other=other, o1=o1)


def corrupt(comment, **fields):
    Comment.objects.filter(pk=comment.pk).update(**fields)


def tree_numbers():
    return list(
        Comment.objects.order_by("pk").values_list(
            "pk", "tree_id", "lft", "rght", "level", "parent_id", "article_id"
        )
    )


def fresh(comment):
    return Comment.objects.get(pk=comment.pk)


def test_sound_threads_pass(thread):
    assert find_broken_threads() == []
    assert check_comment_trees() == (0, "Every comment thread is sound.\n")


def test_checker_reads_all_threads_in_one_query(thread, django_assert_num_queries):
    with django_assert_num_queries(1):
        find_broken_threads()


def test_reply_interval_swapped_with_its_parent_is_found_and_repaired(thread):
    healthy = tree_numbers()
    corrupt(thread.a, lft=3, rght=4)
    corrupt(thread.a1, lft=2, rght=5)

    status, output = check_comment_trees()

    assert status == 1
    assert f"Thread {thread.root.tree_id} (article #{thread.root.article_id} " in output
    assert f"comment #{thread.a1.pk}: its interval 2..5 is not inside its parent" in output
    assert f"comment #{thread.a.pk}: its interval 3..4 leaves room for 0 replies" in output
    assert "1 broken thread(s)" in output
    assert check_comment_trees("--repair")[0] == 0
    assert tree_numbers() == healthy


def test_rght_too_wide_for_the_replies_is_found_and_repaired(thread):
    healthy = tree_numbers()
    corrupt(thread.root, rght=12)

    status, output = check_comment_trees()

    assert status == 1
    assert (
        f"comment #{thread.root.pk}: its interval 1..12 leaves room for 5 replies, but it has 4"
    ) in output
    assert check_comment_trees("--repair")[0] == 0
    assert tree_numbers() == healthy


def test_overlapping_sibling_intervals_are_found_and_repaired(thread):
    healthy = tree_numbers()
    # b (6..9) and its reply slide left by two: same widths, but b now starts inside a (2..5)
    # and its reply a1 (3..4).
    Comment.objects.filter(pk__in=[thread.b.pk, thread.b1.pk]).update(
        lft=F("lft") - 2, rght=F("rght") - 2
    )

    status, output = check_comment_trees()

    assert status == 1
    assert f"comment #{thread.b.pk}: its interval 4..7 overlaps #{thread.a1.pk}'s 3..4" in output
    assert check_comment_trees("--repair")[0] == 0
    assert tree_numbers() == healthy


def test_wrong_level_is_found_and_repaired(thread):
    healthy = tree_numbers()
    corrupt(thread.a1, level=5)

    status, output = check_comment_trees()

    assert status == 1
    assert f"comment #{thread.a1.pk}: its level is 5, its parent #{thread.a.pk}'s is 1" in output
    assert check_comment_trees("--repair")[0] == 0
    assert tree_numbers() == healthy


def test_parent_in_another_thread_is_found_and_repaired(thread):
    corrupt(thread.a, parent=thread.other)

    status, output = check_comment_trees()

    assert status == 1
    assert (
        f"comment #{thread.a.pk}: its parent #{thread.other.pk} is in thread "
        f"{thread.other.tree_id}, not in thread {thread.root.tree_id}"
    ) in output
    status, output = check_comment_trees("--repair")
    assert status == 0, output
    # The parent link wins: a and its reply move into the other thread, after o1.
    a, a1, other = fresh(thread.a), fresh(thread.a1), fresh(thread.other)
    assert (a.tree_id, a.lft, a.rght, a.level) == (other.tree_id, 4, 7, 1)
    assert (a1.tree_id, a1.lft, a1.rght, a1.level) == (other.tree_id, 5, 6, 2)
    assert (fresh(thread.root).rght, fresh(thread.b).lft) == (6, 2)


def test_parent_on_another_article_is_found_and_repaired(thread, other_article):
    healthy = tree_numbers()
    corrupt(thread.a, article=other_article)

    status, output = check_comment_trees()

    assert status == 1
    assert (
        f"comment #{thread.a.pk}: it is on article #{other_article.pk}, "
        f"its parent #{thread.root.pk} on article #{thread.root.article_id}"
    ) in output
    assert check_comment_trees("--repair")[0] == 0
    # A reply belongs to its top-level comment's article.
    assert tree_numbers() == healthy


def test_two_top_level_comments_in_one_tree_id_are_found_and_repaired(thread):
    Comment.objects.filter(tree_id=thread.other.tree_id).update(tree_id=thread.root.tree_id)
    corrupt(thread.other, lft=20, rght=23)  # its reply o1 (2..3) now comes first

    status, output = check_comment_trees()

    assert status == 1
    assert (
        f"comment #{thread.other.pk}: a second top-level comment in the thread "
        f"(the first is #{thread.root.pk})"
    ) in output
    status, output = check_comment_trees("--repair")
    assert status == 0, output
    other, o1 = fresh(thread.other), fresh(thread.o1)
    assert other.tree_id != thread.root.tree_id
    assert (o1.tree_id, o1.lft, o1.rght, o1.parent_id) == (other.tree_id, 2, 3, other.pk)
    assert (fresh(thread.root).lft, fresh(thread.root).rght) == (1, 10)


def test_parent_cycle_is_found_and_repaired(thread):
    corrupt(thread.a, parent=thread.a1)

    status, output = check_comment_trees()

    assert status == 1
    assert f"comment #{thread.a.pk}: its interval 2..5 is not inside its parent" in output
    status, output = check_comment_trees("--repair")
    assert status == 0, output
    # The cycle is cut at its first comment, which starts a thread of its own.
    a, a1 = fresh(thread.a), fresh(thread.a1)
    assert (a.parent_id, a.level, a.lft, a.rght) == (None, 0, 1, 4)
    assert (a1.parent_id, a1.tree_id, a1.level) == (a.pk, a.tree_id, 1)
    assert fresh(thread.root).rght == 6


def test_repair_leaves_sound_threads_alone(thread):
    corrupt(thread.a1, level=5)
    untouched = [row for row in tree_numbers() if row[1] == thread.other.tree_id]

    check_comment_trees("--repair")

    assert [row for row in tree_numbers() if row[1] == thread.other.tree_id] == untouched


def test_database_refuses_lft_not_below_rght(thread):
    with pytest.raises(IntegrityError), transaction.atomic():
        corrupt(thread.a, lft=F("rght"), rght=F("lft"))


def test_top_level_comment_with_a_nonzero_level_is_found_and_repaired(thread):
    corrupt(thread.root, level=1)

    status, output = check_comment_trees()
    assert status == 1
    assert f"comment #{thread.root.pk}: it is a top-level comment at level 1, not 0" in output

    assert check_comment_trees("--repair")[0] == 0
    assert fresh(thread.root).level == 0
    assert find_broken_threads() == []
