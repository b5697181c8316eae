"""A form the app cannot read as UTF-8 is refused with a 400 that says why, and stores
nothing; a session cookie that cannot be a session key is no session, not an error.

Refused, on every form (comment, reply, report, edit, log-in, sign-up, the admin's log-in):
a form that names a charset other than UTF-8 (urlencoded or multipart), a field name or value
that is not valid UTF-8 (urlencoded, multipart, multipart in base64), multipart without a
boundary, a form over DATA_UPLOAD_MAX_MEMORY_SIZE, and a Content-Type header Django cannot
parse. The posts carry a valid CSRF token and are checked as a browser's are: the 500s hid
there (Django's 400 page checks the token, reading the form again). Ordinary UTF-8 forms,
however they spell the charset, still post.
"""

import base64
import io
import re
import socket
import sys

import pytest
from django.contrib.auth.models import User
from django.test import Client

from comments.models import Comment, Flag
from tests.support.servers import app_servers

URLENCODED = "application/x-www-form-urlencoded"
BOUNDARY = "----threadline-form"
SEND_UTF8 = "Send the form as UTF-8."
NOT_UTF8 = "not valid UTF-8"

# Each form, with one field holding "café" as percent-escaped UTF-8 ({e} is replaced).
FORMS = {
    "comment": ("/articles/clash-looming/comments/", "body=caf{e}+au+lait&author_name=Ann"),
    "reply": ("/articles/clash-looming/comments/", "body=caf{e}&author_name=Ann&parent={pk}"),
    "report": ("/comments/{pk}/report/", "reason=other&text=caf{e}"),
    "edit": ("/comments/{pk}/edit/", "body=caf{e}"),
    "log-in": ("/accounts/login/", "username=caf{e}&password=a-long-pass-phrase-1"),
    "sign-up": (
        "/accounts/signup/",
        "username=caf{e}&password1=a-long-pass-phrase-1&password2=a-long-pass-phrase-1",
    ),
    "admin log-in": ("/admin/login/", "username=caf{e}&password=a-long-pass-phrase-1"),
}


@pytest.fixture
def browser(article):
    """A client whose posts face the CSRF check, holding the token a page gave it."""
    browser = Client(enforce_csrf_checks=True)
    browser.get(article.get_absolute_url())
    browser.token = browser.cookies["csrftoken"].value
    return browser


@pytest.fixture
def comment(post):
    return post("The first comment.")


def stored():
    return (
        list(Comment.objects.order_by("pk").values_list("body", flat=True)),
        Flag.objects.count(),
        list(User.objects.values_list("username", flat=True)),
    )


def send(browser, url, form: bytes, content_type=URLENCODED):
    """POST ``form`` (the wire bytes) to ``url`` with the browser's CSRF token."""
    if content_type.startswith("multipart/"):
        form = part("csrfmiddlewaretoken", browser.token.encode()) + form + close()
    else:
        form = b"csrfmiddlewaretoken=" + browser.token.encode() + b"&" + form
    return browser.generic("POST", url, data=form, content_type=content_type)


def part(name, value: bytes, *, headers=b"") -> bytes:
    disposition = b'Content-Disposition: form-data; name="' + as_bytes(name) + b'"\r\n'
    return b"--" + BOUNDARY.encode() + b"\r\n" + disposition + headers + b"\r\n" + value + b"\r\n"


def close() -> bytes:
    return b"--" + BOUNDARY.encode() + b"--\r\n"


def as_bytes(text) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


def form_for(name, comment, escaped_e):
    url, fields = FORMS[name]
    return url.format(pk=comment.pk), fields.format(e=escaped_e, pk=comment.pk).encode()


def assert_refused(response, message):
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert message in response.content.decode()


@pytest.mark.parametrize(
    "charset", ["latin-1", "ISO-8859-1", "windows-1252", "utf-16", "utf-8-sig", "no-such-set"]
)
def test_comment_in_another_charset_is_refused(browser, comment, charset):
    before = stored()
    url, form = form_for("comment", comment, "%C3%A9")
    response = send(browser, url, form, f"{URLENCODED}; charset={charset}")
    assert_refused(response, SEND_UTF8)
    assert stored() == before


@pytest.mark.parametrize("name", FORMS)
def test_every_form_in_latin_1_is_refused(browser, comment, name):
    before = stored()
    url, form = form_for(name, comment, "%E9")
    response = send(browser, url, form, f"{URLENCODED}; charset=latin-1")
    assert_refused(response, SEND_UTF8)
    assert stored() == before


@pytest.mark.parametrize("name", [name for name in FORMS if name != "edit"])
def test_every_form_with_text_that_is_not_utf8_is_refused(browser, comment, name):
    before = stored()
    url, form = form_for(name, comment, "%E9")  # "é" in Latin-1: not UTF-8
    assert_refused(send(browser, url, form), NOT_UTF8)
    assert stored() == before


def test_edit_with_text_that_is_not_utf8_is_refused_and_keeps_the_comment(browser, article):
    response = send(browser, FORMS["comment"][0], b"body=first+words&author_name=Ann")
    assert response.status_code == 303  # the browser's session now owns the comment
    comment = Comment.objects.get()
    url, form = form_for("edit", comment, "%E9")
    assert_refused(send(browser, url, form), NOT_UTF8)
    comment.refresh_from_db()
    assert comment.body == "first words"


def test_raw_bytes_that_are_not_utf8_are_refused(browser, comment):
    before = stored()
    response = send(browser, FORMS["comment"][0], b"body=caf\xe9&author_name=Ann")
    assert_refused(response, NOT_UTF8)
    assert stored() == before


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.mark.parametrize(
    "body_part",
    [
        pytest.param(part("body", b"bad \xff\xfe bytes"), id="value"),
        pytest.param(part(b"b\xffdy", b"a comment"), id="field name"),
        pytest.param(
            part(
                "body",
                base64.b64encode(b"caf\xe9"),
                headers=b"Content-Transfer-Encoding: base64\r\n",
            ),
            id="base64 value",
        ),
    ],
)
def test_multipart_with_text_that_is_not_utf8_is_refused(browser, comment, body_part):
    before = stored()
    form = body_part + part("author_name", b"Ann")
    response = send(browser, FORMS["comment"][0], form, MULTIPART)
    assert_refused(response, NOT_UTF8)
    assert stored() == before


def test_multipart_in_another_charset_is_refused(browser, comment):
    before = stored()
    form = part("body", b"caf\xe9") + part("author_name", b"Ann")
    response = send(browser, FORMS["comment"][0], form, f"{MULTIPART}; charset=latin-1")
    assert_refused(response, SEND_UTF8)
    assert stored() == before


def test_multipart_without_a_boundary_is_refused(browser, comment):
    before = stored()
    form = part("body", b"hello") + part("author_name", b"Ann")
    response = send(browser, FORMS["comment"][0], form, "multipart/form-data")
    assert_refused(response, "without a valid boundary")
    assert stored() == before


@pytest.mark.parametrize("content_type", [URLENCODED, MULTIPART])
def test_form_over_the_upload_limit_is_refused_with_a_message(
    browser, comment, settings, content_type
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    before = stored()
    if content_type == URLENCODED:
        form = b"author_name=Ann&body=" + b"x" * 3000
    else:
        form = part("author_name", b"Ann") + part("body", b"x" * 3000)
    response = send(browser, FORMS["comment"][0], form, content_type)
    assert_refused(response, "too large")
    assert stored() == before


class DroppedConnection(io.RawIOBase):
    """A request body whose sender went away before the end."""

    def readinto(self, buffer):
        raise ConnectionResetError("the client went away")


def test_form_cut_off_by_a_dropped_connection_is_refused(browser, comment):
    before = stored()
    response = browser.generic(
        "POST",
        FORMS["comment"][0],
        data=b"body=hello&author_name=Ann",
        content_type=URLENCODED,
        **{"wsgi.input": DroppedConnection()},
    )
    assert_refused(response, "could not be read to the end")
    assert stored() == before


@pytest.mark.parametrize(
    "content_type",
    [
        URLENCODED,
        f"{URLENCODED}; charset=UTF-8",
        f"{URLENCODED}; charset=utf-8",
        f"{URLENCODED}; charset=Utf-8",
        f"{URLENCODED}; charset=utf8",
        f"{URLENCODED}; charset=US-ASCII",
        MULTIPART,
        f"{MULTIPART}; charset=UTF-8",
    ],
)
def test_utf8_forms_still_post_whatever_the_charset_is_called(browser, article, content_type):
    text = "Café ☕ “quoted”"
    if content_type.startswith("multipart/"):
        form = part("body", text.encode()) + part("author_name", "Zoë".encode())
    else:
        form = b"body=Caf%C3%A9+%E2%98%95+%E2%80%9Cquoted%E2%80%9D&author_name=Zo%C3%AB"
    response = send(browser, FORMS["comment"][0], form, content_type)
    assert response.status_code == 303
    comment = Comment.objects.get()
    assert (comment.body, comment.author_name) == (text, "Zoë")


NUL_SESSION = "abcdefghijklmnop\x00qrstuvwxyz012345"


def test_session_cookie_with_a_nul_gets_a_400_that_removes_it(client, article):
    client.cookies["sessionid"] = NUL_SESSION
    response = client.get(article.get_absolute_url())
    assert response.status_code == 400
    assert "session cookie was damaged" in response.content.decode()
    assert response.cookies["sessionid"].value == ""  # the cookie is deleted
    assert client.get(article.get_absolute_url()).status_code == 200  # a reload works
    assert client.get("/accounts/login/").status_code == 200


def test_a_post_with_a_nul_session_cookie_stores_nothing_then_works_after_reload(client, article):
    client.cookies["sessionid"] = NUL_SESSION
    response = client.post(FORMS["comment"][0], {"body": "Hello", "author_name": "Ann"})
    assert response.status_code == 400
    assert not Comment.objects.exists()
    response = client.post(FORMS["comment"][0], {"body": "Hello", "author_name": "Ann"})
    assert response.status_code == 303
    assert re.fullmatch(r"[a-z0-9]{32}", response.cookies["sessionid"].value)
    assert Comment.objects.get().body == "Hello"


def test_the_session_store_alone_takes_a_nul_key_as_no_session(db):
    """Defence in depth, should the cookie reach it: no query with a NUL, no session."""
    from config.sessions import SessionStore

    assert SessionStore(NUL_SESSION).load() == {}


def test_unreadable_content_type_header_is_refused_before_django(db):
    from config.wsgi import application

    body = b"body=hi&author_name=Ann"
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/articles/clash-looming/comments/",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": f"{URLENCODED}; charset*=bogus''utf-8",  # an RFC 2231 unknown charset
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    answer = {}
    chunks = application(environ, lambda status, headers: answer.update(status=status))
    assert answer["status"].startswith("400")
    assert "Content-Type header could not be read" in b"".join(chunks).decode()
    assert Comment.objects.count() == 0


def http(port, request: bytes) -> tuple[int, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


@pytest.mark.postgres
def test_through_gunicorn_each_bad_request_gets_a_400(transactional_db, article):
    with app_servers(workers=1, threads=1) as [server]:
        status, page = http(
            server.port,
            b"GET /articles/clash-looming/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Connection: close\r\n\r\n",
        )
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

        def post(content_type: str, cookie: str):
            form = f"csrfmiddlewaretoken={token}&body=caf%C3%A9&author_name=Ann".encode()
            return http(
                server.port,
                b"POST /articles/clash-looming/comments/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Connection: close\r\n"
                + f"Cookie: {cookie}\r\nContent-Type: {content_type}\r\n".encode()
                + f"Content-Length: {len(form)}\r\n\r\n".encode()
                + form,
            )

        cookie = f"csrftoken={token}"
        status, text = post(f"{URLENCODED}; charset=latin-1", cookie)
        assert (status, SEND_UTF8 in text) == (400, True)
        status, text = post(f"{URLENCODED}; charset*=bogus''utf-8", cookie)
        assert (status, "Content-Type header could not be read" in text) == (400, True)
        # Quoted, a cookie may carry an octal escape; Django unquotes it to a NUL.
        status, text = post(URLENCODED, f'{cookie}; sessionid="abcdefghijklmnop\\000qrstuvwxyz01"')
        assert (status, "session cookie was damaged" in text) == (400, True)
        status, _ = post(URLENCODED, cookie)
        assert status == 303
        assert list(Comment.objects.values_list("body", flat=True)) == ["café"]
