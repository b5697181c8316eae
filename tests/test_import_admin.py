"""Superusers import exports in the admin and see the same report as the command; nobody
else can, and a refused file says why beside the upload field, with nothing stored."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from articles.models import Article
from comments.models import Comment

DATA = Path(__file__).parent / "data" / "imports"
URL = "/admin/comments/comment/import/"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.org", "pw-for-tests")


def upload(client, name, content=None, **fields):
    content = content if content is not None else (DATA / name).read_bytes()
    return client.post(URL, {"file": SimpleUploadedFile(name, content), **fields})


def test_superuser_sees_the_form_linked_from_the_index_and_the_comment_list(client, superuser):
    client.force_login(superuser)
    assert 'type="file"' in client.get(URL).content.decode()
    assert URL in client.get("/admin/").content.decode()
    assert URL in client.get("/admin/comments/comment/").content.decode()


def test_upload_imports_and_shows_the_commands_report(client, superuser):
    client.force_login(superuser)
    page = upload(client, "disqus.xml", format="auto").content.decode()
    assert Comment.objects.count() == 6 and Article.objects.count() == 2
    assert "Articles created: 2; matched existing ones: 0." in page
    assert "Skipped, comments whose thread is not in the file: 1 (5006)." in page
    again = upload(client, "disqus.xml", format="auto").content.decode()
    assert "Nothing new: everything in the file is already here." in again


def test_dry_run_writes_nothing(client, superuser):
    client.force_login(superuser)
    page = upload(client, "wxr-1.0-http.xml", format="auto", dry_run="on").content.decode()
    assert "Dry run: nothing was written" in page
    assert "Comments imported: 9 (a dry run: nothing was written)" in page
    assert Comment.objects.count() == 0 and Article.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("billion-laughs.xml", "declares the XML entity"),
        ("truncated.xml", "it looks truncated"),
        ("not-an-export.txt", "Not an export"),
    ],
)
def test_refused_file_says_why_at_the_field_and_stores_nothing(client, superuser, name, problem):
    client.force_login(superuser)
    response = upload(client, name, format="auto")
    page = response.content.decode()
    assert response.status_code == 200
    assert problem in page and "Nothing was imported." in page
    assert page.index('role="alert"') < page.index(problem)
    assert Comment.objects.count() == 0 and Article.objects.count() == 0


def test_a_file_larger_than_a_form_may_be_is_still_taken(client, superuser, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    client.force_login(superuser)
    words = "word " * 60_000  # 300 kB of one comment
    text = (DATA / "wxr-1.2-https.xml").read_text().replace("Reply", words)
    upload(client, "big.xml", text.encode(), format="wxr")
    assert Comment.objects.filter(body__startswith="word word").exists()


def test_editors_and_readers_cannot_import(client, db):
    edna = User.objects.create_user("edna", password="pw-edna-123")
    call_command("make_editor", "edna", stdout=StringIO())
    client.force_login(edna)
    assert upload(client, "disqus.xml", format="auto").status_code == 403
    client.logout()
    assert upload(client, "disqus.xml", format="auto").status_code == 302  # to the login
    assert Comment.objects.count() == 0
