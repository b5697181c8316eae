"""A name cannot pass for someone else's.

A reader without an account cannot sign with an account's username or a reserved word
("admin", "editor", the site's name ...), nor with a look-alike of one (other case, Cyrillic
or Greek letters, fullwidth or mathematical forms, digits for letters, invisible characters
or spaces in between), nor with a name that shows no letter. Names are stored in their
normal form, without bidi controls or invisible characters, and shown that way even when an
older row still has them. Comments by accounts carry a mark drawn outside the name's text (a
box; editors and superusers an "Editor" badge) that no typed name can produce, at one query
per page whatever the number of comments. Sign-up holds usernames to the same rules.
"""

import re

import pytest
from django.contrib.auth.models import User

from accounts.forms import SignupForm
from comments import roles
from comments.models import Comment
from comments.roles import ensure_editors_group
from comments.services import comment_create

NO_LETTER = "Choose a name with at least one letter."
ACCOUNT_NAME = "That name belongs to an account: log in, or choose another."
RESERVED = "That name is reserved: choose another."


def post_as(client, article, name, body="Hello."):
    return client.post(f"/articles/{article.slug}/comments/", {"body": body, "author_name": name})


def author_line(html, comment):
    """The author part of a comment's meta line (after its number), up to its end, without
    the name's id (which a reply's label refers to)."""
    meta = re.search(
        rf'id="meta-{comment.pk}">\s*(?:<span class="number">\d+\.</span>)?(.*?)</summary>',
        html,
        re.S,
    )
    assert meta, f"comment {comment.pk} is not on the page"
    return re.sub(r' id="name-\d+"', "", meta.group(1)).strip()


@pytest.mark.parametrize(
    "name",
    [
        "boss",
        "BOSS",
        "b\u043ess",  # Cyrillic small o
        "\u0412\u041eSS",  # Cyrillic capital Ve and O
        "\uff42\uff4f\uff53\uff53",  # fullwidth
        "bo\u200bss",  # zero-width space
        "b0ss",
        "B o s s",
        "b\u00f6ss",  # an accent
    ],
)
def test_guest_cannot_sign_with_an_account_name_or_a_look_alike(client, article, name):
    User.objects.create_user("boss", password="pw-boss-123")
    response = post_as(client, article, name)
    assert response.status_code == 200
    assert ACCOUNT_NAME in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "Editor",
        "ADMIN",
        "\uff2doderator",  # fullwidth M
        "Th\u0435 Editor",  # Cyrillic e, and "editor" as one of the words
        "Ann (editor)",
        "\U0001d400\U0001d41d\U0001d426\U0001d422\U0001d427",  # mathematical bold "Admin"
        "Ad\u00admin",  # soft hyphen
        "Edit0r",
        "Site staff",
        "Threadline",
    ],
)
def test_reserved_names_and_their_look_alikes_are_refused(client, article, name):
    response = post_as(client, article, name)
    assert response.status_code == 200
    assert RESERVED in response.content.decode()
    assert not Comment.objects.exists()


def test_reserved_names_come_from_the_setting(client, article, settings):
    settings.COMMENTS_RESERVED_NAMES = ["Daily Planet"]
    assert RESERVED in post_as(client, article, "daily  PLANET").content.decode()
    assert post_as(client, article, "Editor").status_code == 303


@pytest.mark.parametrize(
    "name",
    [
        "\u200b",  # zero-width space
        "\u3164",  # Hangul filler (a "letter" that draws nothing)
        "\u2800",  # blank Braille pattern
        "\u200b\u3164 \u2800\u115f\ufeff",
        "\u202e",
        "1234",
        "\u02c8\u02c8",  # modifier letters only
        "-_-",
    ],
)
def test_names_without_a_visible_letter_are_refused(client, article, name):
    response = post_as(client, article, name)
    assert response.status_code == 200
    assert NO_LETTER in response.content.decode()
    assert not Comment.objects.exists()


def test_a_bidi_override_cannot_turn_a_name_around(client, article):
    response = post_as(client, article, "\u202erotidE")
    assert response.status_code == 303
    comment = Comment.objects.get()
    assert comment.author_name == "rotidE"
    html = client.get(article.get_absolute_url()).content.decode()
    assert "<bdi>rotidE</bdi>" in author_line(html, comment)
    assert "\u202e" not in html


def test_the_stored_name_is_the_normal_form(client, article):
    name = " \uff2a\uff4f\uff53e\u0301\u00a0\u00a0\uff2d\u200b\ufe0f "
    assert post_as(client, article, name).status_code == 303
    assert Comment.objects.get().author_name == "Jos\u00e9 M"


def test_an_older_name_with_controls_is_shown_without_them(client, article):
    """Rows written before names were normalized (or by the admin) still show clean."""
    comment = comment_create(article=article, body="old", author_name="\u202erotidE\u200b\u2066")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "<bdi>rotidE</bdi>" in author_line(html, comment)
    assert 'Reply<span class="visually-hidden"> to rotidE</span>' in html
    for control in ("\u202e", "\u200b", "\u2066"):
        assert control not in html


def test_only_the_look_alike_is_refused_not_a_different_name(client, article):
    User.objects.create_user("boss", password="pw-boss-123")
    assert ACCOUNT_NAME in post_as(client, article, "B\u043e\u0455\u0455").content.decode()
    for name in ("Bossa Nova", "Zo\u00eb", "\u0418\u0432\u0430\u043d", "\u674e\u534e", "Staffan"):
        assert post_as(client, article, name, body=f"I am {name}").status_code == 303
    assert Comment.objects.count() == 5


def test_account_comments_carry_a_mark_that_a_guest_name_cannot_produce(client, article):
    carol = User.objects.create_user("carol", password="pw-carol-123")
    by_account = comment_create(article=article, body="from carol", user=carol)
    # As close as a guest can get: the name, plus what the mark says in words.
    assert post_as(client, article, "Carol (account) \u2713").status_code == 303
    by_guest = Comment.objects.get(user=None)
    html = client.get(article.get_absolute_url()).content.decode()
    assert author_line(html, by_account) == (
        '<span class="author account"><bdi>carol</bdi>'
        '<span class="visually-hidden"> (account)</span></span>'
    )
    guest = author_line(html, by_guest)
    assert guest == '<span class="author"><bdi>Carol (account) \u2713</bdi></span>'


def test_editors_and_superusers_carry_an_editor_badge(client, article):
    editor = User.objects.create_user("edna", password="pw-edna-123")
    editor.groups.add(ensure_editors_group())
    root = User.objects.create_superuser("root", password="pw-root-123")
    member = User.objects.create_user("member", password="pw-member-1")
    comments = {
        who: comment_create(article=article, body=f"by {who}", user=user)
        for who, user in [("editor", editor), ("root", root), ("member", member)]
    }
    html = client.get(article.get_absolute_url()).content.decode()
    badge = '<span class="role">Editor</span>'
    assert badge in author_line(html, comments["editor"])
    assert badge in author_line(html, comments["root"])
    assert badge not in author_line(html, comments["member"])
    assert 'class="author account"' in author_line(html, comments["member"])


@pytest.mark.parametrize("size", [12, 120])
def test_marking_accounts_costs_one_query_per_page(
    client, article, size, django_assert_num_queries, settings
):
    settings.COMMENTS_PAGE_THREADS = settings.COMMENTS_PAGE_MAX = 5000
    editors = ensure_editors_group()
    people = [User.objects.create_user(f"user{i}", password="pw-user-123") for i in range(6)]
    for person in people[:2]:
        person.groups.add(editors)
    for i in range(size):
        comment_create(article=article, body=f"comment {i}", user=people[i % len(people)])
    # The article, the page's top-level threads, their rows to arrange, the rows shown, the
    # editors among their authors, the response count.
    with django_assert_num_queries(6):
        html = client.get(article.get_absolute_url()).content.decode()
    assert html.count('<span class="role">Editor</span>') == size // 3


def test_a_focused_page_marks_the_editor_too(client, article):
    editor = User.objects.create_user("edna", password="pw-edna-123")
    editor.groups.add(ensure_editors_group())
    comment = comment_create(article=article, body="by the editor", user=editor)
    html = client.get(f"/comments/{comment.pk}/thread/").content.decode()
    assert '<span class="role">Editor</span>' in author_line(html, comment)


def signup(username):
    return SignupForm(
        {
            "username": username,
            "email": "reader@example.org",
            "password1": "a-long-pass-123",
            "password2": "a-long-pass-123",
        }
    )


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("Admin", RESERVED),
        ("the_editor", RESERVED),
        ("b\u043ess", ACCOUNT_NAME),
        ("B0SS", ACCOUNT_NAME),
        ("___", NO_LETTER),
    ],
)
def test_signup_holds_usernames_to_the_same_rules(db, username, message):
    User.objects.create_user("boss", password="pw-boss-123")
    form = signup(username)
    assert not form.is_valid()
    assert form.errors["username"] == [message]


def test_signup_refuses_the_look_alike_but_not_a_different_username(db):
    User.objects.create_user("boss", password="pw-boss-123")
    assert not signup("bo\u0455s").is_valid()
    assert signup("bossanova").is_valid()


def test_the_signup_page_refuses_a_reserved_or_look_alike_username(client, db):
    User.objects.create_user("boss", password="pw-boss-12345")
    for username in ("Editor", "b\u043ess"):
        response = client.post(
            "/accounts/signup/",
            {"username": username, "password1": "Long-pass-123!", "password2": "Long-pass-123!"},
        )
        assert response.status_code == 200
        assert "choose another" in response.content.decode()
    assert list(User.objects.values_list("username", flat=True)) == ["boss"]


def test_an_editor_badge_appears_when_the_account_joins_editors(client, article, post):
    """The cached page is redrawn when an author becomes an editor."""
    author = User.objects.create_user("edna", password="pw-edna-12345")
    post("I edit things.", user=author)
    assert ">Editor</span>" not in client.get(article.get_absolute_url()).content.decode()
    author.groups.add(roles.ensure_editors_group())
    assert ">Editor</span>" in client.get(article.get_absolute_url()).content.decode()
