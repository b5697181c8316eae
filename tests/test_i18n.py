"""Threadline speaks English and French, whichever the reader asks for, and never mixes them.

- The French catalogue is complete: ``makemessages`` run over the code finds exactly the
  messages of the committed locale/fr/LC_MESSAGES/django.po (none new and untranslated,
  none stale), every one translated, nothing fuzzy, placeholders intact, and the committed
  django.mo is that .po compiled.
- The language comes from the browser (Accept-Language) or from the footer's switch (a
  cookie, which then wins), else from LANGUAGE_CODE: pages, forms, errors and counts
  ("0 réponse", "2 réponses") follow it.
- Cached discussions and ETags are per language: a page cached in English is never served
  to a French reader, nor a 304 given for an English copy; answers vary on Accept-Language
  and Cookie.
- Editors get the admin in their language (our columns, filters, actions and messages),
  while the comment's history and the mail the site sends are written in the site's
  language, whoever acted.
"""

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, override_settings

from tests.support.tasks import run_tasks

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "fr" / "LC_MESSAGES"
NBSP = "\u00a0"  # French puts one before : ; ? !


def read_po(path: Path) -> dict:
    """{(msgctxt, msgid, msgid_plural): {"msgstr": [...], "flags": {...}}} of a .po file,
    header included (msgid "")."""
    entries, entry, field = {}, None, None

    def close():
        if entry and "msgid" in entry:
            key = (entry.get("msgctxt"), entry["msgid"], entry.get("msgid_plural"))
            assert key not in entries, f"{path}: {key} twice"
            entries[key] = {"msgstr": entry["msgstr"], "flags": entry["flags"]}

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            close()
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgstr": {}}
        assert not line.startswith("#~"), f"{path}: an obsolete entry is left: {line}"
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(field, int):
                entry["msgstr"][field] += value
            else:
                entry[field] += value
        else:
            keyword, _, value = line.partition(" ")
            if match := re.fullmatch(r"msgstr\[(\d+)\]", keyword):
                field = int(match[1])
                entry["msgstr"][field] = ast.literal_eval(value)
            elif keyword == "msgstr":
                field = 0
                entry["msgstr"][0] = ast.literal_eval(value)
            else:
                field = keyword
                entry[field] = ast.literal_eval(value)
    return entries


def tool(name: str) -> str:
    """A program of Debian's gettext (or git), found on the PATH; the test fails without it
    (`.ci/run` installs gettext)."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install Debian's gettext (`.ci/run` does)")
    return found


def project_files() -> list[str]:
    """The project's files as git sees them: tracked, and new ones not ignored."""
    listed = subprocess.run(  # noqa: S603 (fixed arguments)
        [tool("git"), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages ``makemessages -l fr`` finds in a copy of the project (the checkout is
    left alone), as a fresh .po with no translations."""
    tool("xgettext")  # what makemessages runs
    copy = tmp_path_factory.mktemp("project")
    for name in project_files():
        if name.startswith("locale/"):
            continue
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    (copy / "locale").mkdir()
    subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "manage.py", "makemessages", "-l", "fr"],
        cwd=copy,
        env={**os.environ, "DEBUG": "1", "PYTHONPATH": ""},
        capture_output=True,
        check=True,
    )
    return read_po(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po")


def test_the_french_catalogue_has_exactly_the_messages_the_code_uses(extracted):
    committed = read_po(CATALOGUE / "django.po")
    new = sorted(set(extracted) - set(committed), key=str)
    stale = sorted(set(committed) - set(extracted), key=str)
    assert not new, f"not in django.po yet (run makemessages -l fr, translate): {new}"
    assert not stale, f"in django.po but no longer in the code (run makemessages): {stale}"


def test_every_french_message_is_translated_and_none_is_fuzzy():
    committed = read_po(CATALOGUE / "django.po")
    header = committed.pop((None, "", None))
    assert "fuzzy" not in header["flags"]
    assert "Language: fr\n" in header["msgstr"][0]
    forms = int(re.search(r"nplurals=(\d+)", header["msgstr"][0])[1])
    for key, entry in committed.items():
        assert "fuzzy" not in entry["flags"], key
        expected = forms if key[2] is not None else 1
        assert len(entry["msgstr"]) == expected, key
        assert all(text.strip() for text in entry["msgstr"].values()), f"untranslated: {key}"
    # Placeholders: every %(name)s of a msgid is in its msgstr, and nothing else.
    check = [tool("msgfmt"), "--check", "-o", os.devnull, CATALOGUE / "django.po"]
    subprocess.run(check, check=True)  # noqa: S603 (fixed arguments)


def test_the_committed_mo_is_the_po_compiled(tmp_path):
    compiled = tmp_path / "django.mo"
    compile_po = [tool("msgfmt"), "-o", compiled, CATALOGUE / "django.po"]
    subprocess.run(compile_po, check=True)  # noqa: S603 (fixed arguments)
    with open(compiled, "rb") as fresh, open(CATALOGUE / "django.mo", "rb") as committed:
        fresh, committed = gettext.GNUTranslations(fresh), gettext.GNUTranslations(committed)
    assert committed._catalog == fresh._catalog, "django.mo is stale: run compilemessages"
    assert [committed.plural(n) for n in range(-3, 4)] == [fresh.plural(n) for n in range(-3, 4)]


# Pages in the reader's language.


FR = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.5"}


def french(client, url, **extra):
    return client.get(url, **FR, **extra)


def test_a_french_browser_gets_the_article_page_in_french(client, article, post):
    post("Bonjour.", name="Ann")
    page = french(client, article.get_absolute_url()).content.decode()
    assert '<html lang="fr" dir="ltr">' in page
    assert "Participer à la discussion" in page
    assert '<label for="id_body">Votre commentaire</label>' in page
    assert ">Publier le commentaire</button>" in page
    assert ">Répondre<" in page and ">Signaler<" in page
    assert "Reply" not in page and "Join the discussion" not in page
    english = client.get(article.get_absolute_url()).content.decode()
    assert '<html lang="en" dir="ltr">' in english and "Join the discussion" in english


@pytest.mark.parametrize(
    ("comments", "count"), [(0, "0 réponse"), (1, "1 réponse"), (2, "2 réponses")]
)
def test_the_count_of_responses_is_plural_as_french_says(client, article, post, comments, count):
    for n in range(comments):
        post(f"Comment {n}.")
    page = french(client, article.get_absolute_url()).content.decode()
    assert f'<span id="response-count">{count}</span>' in page
    listing = french(client, "/").content.decode()
    assert f'#responses">{count}</a>' in listing


def test_an_empty_post_is_refused_in_french(client, article):
    response = client.post(
        f"/articles/{article.slug}/comments/",
        {"body": "", "author_name": "Ann"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert "Écrivez quelque chose avant de publier." in response.content.decode()


def test_a_refusal_from_the_posting_policy_is_said_in_french(client, article, settings):
    settings.COMMENTS_MAX_LINKS = 1
    body = "https://a.example https://b.example"
    response = client.post(
        f"/articles/{article.slug}/comments/",
        {"body": body, "author_name": "Ann"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert f"Trop de liens{NBSP}: 1 au plus par commentaire." in response.content.decode()


def test_times_on_comments_are_written_in_the_readers_language(client, article, post):
    comment = post("Hello.")
    comment.created_at = comment.created_at.replace(year=2024, month=2, day=7, hour=9, minute=5)
    comment.save(update_fields=["created_at"])
    page = french(client, article.get_absolute_url()).content.decode()
    assert 'title="7 février 2024 à 09:05 UTC">7 févr. 2024, 09:05</time>' in page
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'title="7 February 2024, 09:05 UTC">7 Feb 2024, 09:05</time>' in page


def test_the_footer_switch_sets_the_language_for_the_next_pages(article):
    reader = Client(enforce_csrf_checks=True)
    page = reader.get(article.get_absolute_url()).content.decode()
    form = re.search(r'<form class="languages" method="post" action="([^"]+)"', page)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    assert '<button type="submit" class="link" name="language" value="fr" lang="fr">' in page
    response = reader.post(
        form[1].replace("&amp;", "&"), {"csrfmiddlewaretoken": token, "language": "fr"}
    )
    assert response.status_code == 302
    assert response["Location"] == article.get_absolute_url()
    page = reader.get(article.get_absolute_url()).content.decode()
    assert '<html lang="fr"' in page and "Participer à la discussion" in page
    assert '<strong lang="fr" aria-current="true">Français</strong>' in page
    # The choice outlasts the browser's own preference, until it is switched back.
    page = reader.get(article.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr"' in page


# Caches and conditional requests, per language.


def test_a_cached_discussion_is_served_in_each_readers_language(client, article, post):
    post("First.", name="Ann")
    english = client.get(article.get_absolute_url()).content.decode()  # fills the cache
    page = french(Client(), article.get_absolute_url()).content.decode()
    assert ">Répondre<" in page and "1 réponse<" in page
    assert ">Reply<" not in page and "1 response<" not in page
    english_again = Client().get(article.get_absolute_url()).content.decode()
    assert ">Reply<" in english_again and ">Répondre<" not in english_again
    assert "1 response<" in english and "1 response<" in english_again


def test_a_later_page_of_the_discussion_is_cached_per_language(client, article, post, settings):
    settings.COMMENTS_PAGE_THREADS = 1
    post("First.")
    second = post("Second.")
    first_page = client.get(article.get_absolute_url()).content.decode()
    after = re.search(r"\?after=(\d+)", first_page)[1]
    url = f"{article.get_absolute_url()}?after={after}&order=oldest"
    headers = {"HTTP_HX_REQUEST": "true"}
    assert ">Reply<" in client.get(url, **headers).content.decode()  # cached in English
    page = french(Client(), url, **headers).content.decode()
    assert f'id="comment-{second.pk}"' in page
    assert ">Répondre<" in page and ">Reply<" not in page


def test_an_english_etag_does_not_answer_a_french_request(client, article, post):
    post("First.")
    english = client.get(article.get_absolute_url())
    etag = english["ETag"]
    assert client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=etag).status_code == 304
    response = french(client, article.get_absolute_url(), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert "Participer à la discussion" in response.content.decode()


def test_answers_vary_with_the_language_header_and_the_cookie(client, article):
    for url in (article.get_absolute_url(), "/", "/feeds/comments/"):
        vary = {part.strip() for part in client.get(url)["Vary"].split(",")}
        assert {"Accept-Language", "Cookie"} <= vary, url
    assert french(client, "/")["Content-Language"] == "fr"


def test_a_plain_text_refusal_is_in_french_too(client, article):
    article.comments_open = False
    article.save()
    response = client.post(
        f"/articles/{article.slug}/comments/",
        {"body": "Hello", "author_name": "Ann"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 403
    assert response.content.decode() == "Les commentaires sont fermés sur cet article."


def test_a_form_refused_before_the_view_is_refused_in_french(client, article):
    response = client.post(
        f"/articles/{article.slug}/comments/",
        b"body=caf%E9",
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 400
    assert "n’est pas de l’UTF-8 valide" in response.content.decode()


# Editors: the admin in their language, the record in the site's.


@pytest.fixture
def superuser_client(db):
    user = User.objects.create_superuser("root", "root@example.org", "pw-root-123")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_comment_list_speaks_french_to_a_french_editor(superuser_client, post):
    comment = post("Hello.", status="pending")
    page = french(superuser_client, "/admin/comments/comment/").content.decode()
    assert '<option value="approve">Approuver les commentaires sélectionnés</option>' in page
    assert '<option value="remove_with_replies">Retirer la sélection avec toutes ses réponses' in (
        page
    )
    assert ">Commentaire</a>" in page  # our column, not Django's
    assert "Par signalements" in page  # our filter
    response = superuser_client.post(
        "/admin/comments/comment/",
        {"action": "approve", "_selected_action": [comment.pk]},
        HTTP_ACCEPT_LANGUAGE="fr",
        follow=True,
    )
    assert f"Approuvé{NBSP}: 1 commentaire." in response.content.decode()
    # The history is written in the site's language, for editors of every language.
    entry = LogEntry.objects.get(object_id=str(comment.pk))
    assert entry.change_message == "Approved (status: approved)."


def test_mail_is_written_in_the_sites_language_whoever_acted(client, article, post, confirmed):
    confirmed("ann@example.org")
    parent = post("Hello.", author_email="ann@example.org", notify_replies=True)
    url = f"/articles/{article.slug}/comments/"
    client.post(url, {"body": "Reply.", "author_name": "Bob", "parent": parent.pk}, **FR)
    run_tasks()
    assert mail.outbox[-1].subject == f"New reply to your comment on “{article.title}”"
    with override_settings(LANGUAGE_CODE="fr"):
        client.post(url, {"body": "Other.", "author_name": "Cy", "parent": parent.pk})
        run_tasks()
    # (A subject's white space is made plain spaces: one line, whatever the translation.)
    subject = f"Nouvelle réponse à votre commentaire sur « {article.title} »"
    assert mail.outbox[-1].subject == subject
    assert mail.outbox[-1].body.startswith(f"Cy a répondu à votre commentaire sur «{NBSP}")
