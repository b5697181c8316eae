"""Reports are weighed: fresh accounts and readers without one can never take a comment down.

Guarantee (comments/reports.py): a comment is hidden when its open reports weigh
``COMMENTS_FLAG_THRESHOLD``. An editor's report weighs the whole threshold (decisive); a
trusted account's (older than ``COMMENTS_FLAG_TRUSTED_AGE_DAYS`` and with an approved,
visible comment) weighs 1; every other report weighs 0. Those are still recorded, still
put the comment in the moderation queue and still tell the editors, but any number of them
alone leave it on the page.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from comments.models import Comment, Flag
from tests.support.tasks import run_tasks

QUEUE = "/admin/comments/queuedcomment/"


@pytest.fixture
def editor_client(db):
    User.objects.create_user("edna", email="edna@example.org", password="pw-edna-123")
    call_command("make_editor", "edna")
    client = Client()
    client.force_login(User.objects.get(username="edna"))
    return client


def report(comment, *, user=None, address="127.0.0.1", reason="abuse"):
    """One reader reports from a browser of their own; returns the response."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.post(f"/comments/{comment.pk}/report/", {"reason": reason}, REMOTE_ADDR=address)


def shown(article, body):
    return body in Client().get(article.get_absolute_url()).content.decode()


def test_fresh_accounts_and_addresses_never_hide_a_comment_alone(article, post, editor_client):
    comment = post("Unpopular but within the rules")
    for i in range(3):
        fresh = User.objects.create_user(f"fresh{i}", password="pw-fresh-123")
        assert report(comment, user=fresh, address=f"198.51.100.{i + 1}").status_code == 303
    for i in range(10):
        assert report(comment, address=f"192.0.2.{i + 1}").status_code == 303
    run_tasks()
    assert Flag.objects.filter(comment=comment).count() == 13
    assert Comment.objects.get(pk=comment.pk).status == Comment.Status.APPROVED
    assert shown(article, "Unpopular but within the rules")
    assert "Unpopular but within the rules" in editor_client.get(QUEUE).content.decode()
    assert len(mail.outbox) == 1 and "edna@example.org" in mail.outbox[0].to


@pytest.mark.parametrize("kind", ["old, no comment", "young, approved comment", "old, held only"])
def test_an_account_counts_only_when_old_enough_and_with_an_approved_comment(
    article, post, settings, kind
):
    settings.COMMENTS_FLAG_THRESHOLD = 1
    comment = post("Still here")
    reporter = User.objects.create_user("almost", password="pw-almost-123")
    if kind.startswith("old"):
        reporter.date_joined = timezone.now() - timedelta(days=30)
        reporter.save(update_fields=["date_joined"])
    if kind == "young, approved comment":
        post("My approved words", user=reporter)
    if kind == "old, held only":
        post("My held words", user=reporter, status=Comment.Status.PENDING)
    report(comment, user=reporter)
    assert Flag.objects.filter(comment=comment).count() == 1
    assert Comment.objects.get(pk=comment.pk).status == Comment.Status.APPROVED
    assert shown(article, "Still here")


def test_three_trusted_accounts_hide_a_comment(article, post, trusted_reader):
    comment = post("Truly awful")
    for name in ("ann", "bo"):
        report(comment, user=trusted_reader(name))
    report(comment, user=User.objects.create_user("fresh", password="pw-fresh-123"))
    report(comment, address="192.0.2.1")
    assert shown(article, "Truly awful")
    report(comment, user=trusted_reader("cy"))
    assert Comment.objects.get(pk=comment.pk).status == Comment.Status.PENDING
    assert not shown(article, "Truly awful")


@pytest.mark.parametrize("role", ["editor", "superuser"])
def test_one_editors_report_hides_a_comment_at_once(article, post, role):
    comment = post("Doxxing someone")
    if role == "editor":
        User.objects.create_user("edna", password="pw-edna-123")
        call_command("make_editor", "edna")
        reporter = User.objects.get(username="edna")
    else:
        reporter = User.objects.create_superuser("root", password="pw-root-123")
    report(comment, user=reporter)
    assert Comment.objects.get(pk=comment.pk).status == Comment.Status.PENDING
    assert not shown(article, "Doxxing someone")


def test_a_trusted_accounts_second_report_is_refused_and_adds_nothing(
    article, post, settings, trusted_reader
):
    settings.COMMENTS_FLAG_THRESHOLD = 2
    comment = post("Borderline")
    ann = trusted_reader("ann")
    report(comment, user=ann)
    again = report(comment, user=ann, address="203.0.113.9", reason="spam")
    assert "already reported" in again.content.decode()
    assert Flag.objects.filter(comment=comment).count() == 1
    report(comment, user=User.objects.create_user("sock", password="pw-sock-123"))
    assert Comment.objects.get(pk=comment.pk).status == Comment.Status.APPROVED
    assert shown(article, "Borderline")
