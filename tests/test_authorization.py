"""Who may do what: edit, delete, approve, remove, ban × five kinds of actor.

Readers act through the site's views, editors and superusers through the admin. Each actor
tries every route; only the right ones succeed, the rest get 403 or 404 (or, in the admin,
its login page) and the database is unchanged.
"""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from comments import ownership
from comments.models import Ban, Comment
from comments.services import comment_create, comment_set_status

ACTORS = ["anonymous", "other", "author", "editor", "superuser"]
ALLOWED = {
    "edit": {"author", "editor", "superuser"},
    "delete": {"author", "superuser"},  # editors remove; deleting for good is the superuser's
    "approve": {"editor", "superuser"},
    "remove": {"editor", "superuser"},
    "ban": {"editor", "superuser"},
}


@pytest.fixture
def people(db):
    author = User.objects.create_user("author", password="pw-author-1")
    other = User.objects.create_user("other", password="pw-other-12")
    editor = User.objects.create_user("editor", password="pw-editor-1")
    call_command("make_editor", "editor", stdout=io.StringIO())
    superuser = User.objects.create_superuser("root", password="pw-root-123")
    return {"author": author, "other": other, "editor": editor, "superuser": superuser}


def snapshot():
    return (
        list(Comment.objects.order_by("pk").values_list("pk", "body", "status", "deleted_at")),
        Ban.objects.count(),
    )


def attempts(action, comment):
    """Every route by which someone might try ``action``: (method, url, data)."""
    admin = f"/admin/comments/comment/{comment.pk}/"
    bulk = {"_selected_action": [comment.pk]}
    return {
        "edit": [
            ("post", f"/comments/{comment.pk}/edit/", {"body": "changed"}),
            (
                "post",
                f"{admin}change/",
                {
                    "author_name": "",
                    "author_email": "",
                    "status": "approved",
                    "body": "changed",
                    "parent": "",
                },
            ),
        ],
        "delete": [
            ("post", f"/comments/{comment.pk}/delete/", {}),
            ("post", f"{admin}delete/", {"post": "yes"}),
        ],
        "approve": [("post", "/admin/comments/comment/", {"action": "approve", **bulk})],
        "remove": [("post", "/admin/comments/comment/", {"action": "remove", **bulk})],
        "ban": [("post", "/admin/comments/comment/", {"action": "ban_authors", **bulk})],
    }[action]


def refused(response):
    if response.status_code in (403, 404):
        return True
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("actor", ACTORS)
def test_authorization_matrix(client, article, people, action, actor):
    comment = comment_create(article=article, body="original", user=people["author"])
    if action == "approve":
        comment_set_status(comment=comment, status=Comment.Status.PENDING)
        comment = Comment.objects.get(pk=comment.pk)
    if actor != "anonymous":
        client.force_login(people[actor])
    before = snapshot()
    outcomes = [
        getattr(client, method)(url, data) for method, url, data in attempts(action, comment)
    ]
    if actor in ALLOWED[action]:
        assert snapshot() != before, f"{actor} could not {action}"
        assert any(not refused(response) for response in outcomes)
    else:
        assert all(refused(response) for response in outcomes), [
            (r.status_code, r.get("Location")) for r in outcomes
        ]
        assert snapshot() == before


def test_anonymous_token_is_bound_to_its_comment(client, article, post):
    mine = post("mine")
    theirs = post("theirs")
    session = client.session
    session[ownership.SESSION_KEY] = {str(theirs.pk): ownership._signer.sign(str(mine.pk))}
    session.save()
    assert client.post(f"/comments/{theirs.pk}/edit/", {"body": "stolen"}).status_code == 403
    forged = f"{theirs.pk}:forged-signature"
    session[ownership.SESSION_KEY] = {str(theirs.pk): forged}
    session.save()
    assert client.post(f"/comments/{theirs.pk}/delete/").status_code == 403
    assert Comment.objects.get(pk=theirs.pk).body == "theirs"


@pytest.mark.parametrize("status", ["pending", "spam", "removed"])
def test_hidden_comments_cannot_be_reached_by_guessing_their_id(client, article, post, status):
    hidden = post("secret words")
    comment_set_status(comment=hidden, status=status)
    for url in (
        f"/comments/{hidden.pk}/",
        f"/comments/{hidden.pk}/thread/",
        f"/comments/{hidden.pk}/reply/",
        f"/comments/{hidden.pk}/report/",
        f"/comments/{hidden.pk}/edit/",
        f"/comments/{hidden.pk}/delete/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"secret words" not in response.content
