"""One reader's browser, over plain HTTP, for tests that need many of them at once.

``Reader(server_url, article)`` reads and posts on one article of any server: pytest-django's
``live_server.url`` or a gunicorn ``AppServer.url`` (tests/support/servers.py). Each reader
has its own cookie jar and takes the CSRF token from the first article page it reads.
Redirects are left unfollowed: the 303 after a post is the answer, and names the new comment.

Requests never raise: an ``Answer`` holds the status and the page, or (connection refused or
dropped, timed out) no status and the name of the error.
"""

import functools
import html
import http.client
import re
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from http.cookiejar import Cookie, CookieJar
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.test import Client
from django.urls import reverse

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 303 itself is the answer: it names the new comment


class _FromAddress(urllib.request.HTTPHandler):
    """Connect from a given local address (any of 127.0.0.0/8 works on loopback)."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, request):
        return self.do_open(
            functools.partial(http.client.HTTPConnection, source_address=(self.source, 0)),
            request,
        )


@dataclass(frozen=True)
class Answer:
    """What came back: a status and the page, or no status and the error that stood in."""

    status: int | None
    text: str = ""
    location: str = ""
    error: str = ""

    @property
    def comment_id(self) -> int | None:
        """The new comment's id, from the 303 after a successful post."""
        if self.status != 303:
            return None
        return int(self.location.rsplit("#comment-", 1)[1])

    @property
    def title(self) -> str:
        """The page's title: with DEBUG on, an error page names the exception there."""
        found = re.search(r"<title>\s*(.*?)\s*</title>", self.text, re.DOTALL)
        return html.unescape(found[1]) if found else self.text[:200]

    def __str__(self):
        return str(self.status) if self.status is not None else self.error


class Reader:
    """One browser reading and posting on ``article`` of the server at ``server_url``, signing
    its comments ``name``. A reader may post from several threads at once."""

    def __init__(
        self,
        server_url: str,
        article,
        *,
        name: str = "Reader",
        timeout: float = 30,
        source: str | None = None,
    ):
        """``source``: a loopback address to connect from (127.0.0.2, ...), as another
        client of a proxy would."""
        self.cookies = CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.cookies)
        handlers = [cookies, _KeepRedirects]
        if source:
            handlers.append(_FromAddress(source))
        self.opener = urllib.request.build_opener(*handlers)
        self.server_url = server_url
        self.page_url = server_url + article.get_absolute_url()
        self.post_url = server_url + reverse("comment_post", args=[article.slug])
        self.name = name
        self.timeout = timeout
        self.csrf_token = ""

    def sign_in(self, user) -> None:
        """Carry a session signed in as ``user`` (made as the test client's ``force_login``
        makes one, in the test database), without the log-in form's password hashing."""
        client = Client()
        client.force_login(user)
        morsel = client.cookies[settings.SESSION_COOKIE_NAME]
        host = urlsplit(self.server_url).hostname
        self.cookies.set_cookie(
            Cookie(
                version=0,
                name=morsel.key,
                value=morsel.value,
                port=None,
                port_specified=False,
                domain=host,
                domain_specified=False,
                domain_initial_dot=False,
                path="/",
                path_specified=True,
                secure=False,
                expires=None,
                discard=False,
                comment=None,
                comment_url=None,
                rest={},
            )
        )

    def read_page(self) -> Answer:
        """GET the article page; the first good one gives the CSRF token for posting."""
        answer = self.get(self.page_url)
        if answer.status == 200 and not self.csrf_token:
            self.csrf_token = CSRF_FIELD.search(answer.text)[1]
        return answer

    def post(self, body: str, parent: int | None = None) -> Answer:
        """Send the comment form, as a reply to ``parent`` if given."""
        data = {"body": body, "parent": parent or "", "author_name": self.name, "author_email": ""}
        return self.submit(self.post_url, data)

    def get(self, url: str) -> Answer:
        """GET ``url`` (absolute, or a path on the server) with this reader's cookies."""
        return self._send(urllib.request.Request(self._absolute(url)))  # noqa: S310 (127.0.0.1)

    def submit(self, url: str, data: dict, headers: dict | None = None) -> Answer:
        """POST a form to ``url`` with the CSRF token of the page read first."""
        assert self.csrf_token, "read the page first: a form needs its CSRF token"
        request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1)
            self._absolute(url),
            data=urlencode({"csrfmiddlewaretoken": self.csrf_token, **data}).encode(),
            headers={"Referer": self.page_url, **(headers or {})},
        )
        return self._send(request)

    def _absolute(self, url: str) -> str:
        return url if url.startswith("http") else self.server_url + url

    def _send(self, request) -> Answer:
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return Answer(response.status, response.read().decode(errors="replace"))
        except HTTPError as answer:
            try:
                text = answer.read().decode(errors="replace")
            except (OSError, HTTPException):
                text = ""  # the status came, then the connection dropped
            return Answer(answer.code, text, answer.headers.get("Location", ""))
        except (OSError, HTTPException) as error:
            reason = error.reason if isinstance(error, URLError) else error
            if isinstance(reason, TimeoutError):
                return Answer(None, error="timeout")
            return Answer(None, error=type(reason).__name__)
