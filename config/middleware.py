"""Forms the app can read faithfully, or a 400 that says why.

Django reads form posts leniently or not at all: bytes that are not UTF-8 become U+FFFD (and
are stored so), and an urlencoded post naming another charset raises on every read of
``request.POST``, the 400 page's own CSRF check included, which makes it a 500.
``FormEncodingMiddleware`` runs before anything reads the form and answers a POST, PUT or
PATCH with a plain-text 400 when its form (urlencoded or multipart):

- names a charset other than UTF-8 (US-ASCII, a subset, passes),
- carries a field name or value that is not valid UTF-8,
- is multipart without a valid boundary,
- could not be read to the end.

The view never runs, so nothing is stored. A form larger than DATA_UPLOAD_MAX_MEMORY_SIZE is
refused by Django as before (the 400 handler in config/urls.py says so); files count towards
that limit, and their content is not checked. The one view that takes a file (the admin's
comment import, marked ``takes_uploads``) is left to Django's parser, which streams files
to disk and counts only the other fields towards the limit.

``DamagedSessionCookieMiddleware`` answers a request whose session cookie holds a control
character (a NUL, say) with a 400 that says so and deletes the cookie: the next request
starts a fresh session. (The session store also treats such a key as no session.)

``refuse_unreadable_content_type`` wraps the WSGI application (config/wsgi.py): Django parses
the Content-Type header while it builds the request, before any middleware, and a header it
cannot parse raised there, past every error handler.
"""

import base64
import binascii
import codecs
import contextlib
import re
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpResponseBadRequest, UnreadablePostError
from django.urls import Resolver404, resolve
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _

FORM_METHODS = {"POST", "PUT", "PATCH"}
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
UTF8_CODECS = {"utf-8", "ascii"}  # codec names, whatever the alias: "UTF8", "us-ascii"
BOUNDARY = re.compile(r"[ -~]{0,200}[!-~]")  # RFC 2046, as Django's parser requires

WRONG_CHARSET = _(
    "The form was sent in a character set other than UTF-8, so it was not accepted. "
    "Send the form as UTF-8."
)
NOT_UTF8 = _(
    "The form arrived with text that is not valid UTF-8, so it was not accepted. "
    "Send the form as UTF-8."
)
NO_BOUNDARY = _("The form was sent as multipart without a valid boundary, so it was not accepted.")
UNREADABLE = _("The form could not be read to the end, so it was not accepted.")
# Answered before Django has a request, so before any language is chosen: in English.
BAD_CONTENT_TYPE = "The Content-Type header could not be read, so the request was not accepted."


def refusal(message) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(str(message), content_type="text/plain; charset=utf-8")


class FormEncodingMiddleware:
    """Refuse a form that is not UTF-8 before anything reads it (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_form = request.content_type in (URLENCODED, MULTIPART)
        if (
            is_form
            and request.method in FORM_METHODS
            and not takes_uploads(request)
            and (problem := form_problem(request))
        ):
            return refusal(problem)
        return self.get_response(request)


def takes_uploads(request) -> bool:
    """Whether the request is a multipart post to a view marked ``takes_uploads``."""
    if request.content_type != MULTIPART:
        return False
    try:
        return getattr(resolve(request.path_info).func, "takes_uploads", False)
    except Resolver404:
        return False


DAMAGED_SESSION = _(
    "Your session cookie was damaged, so the request was not accepted and the cookie has "
    "been removed. Reload the page to continue."
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DamagedSessionCookieMiddleware:
    """A 400 that removes a session cookie with control characters (module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = settings.SESSION_COOKIE_NAME
        if CONTROL.search(request.COOKIES.get(name, "")):
            response = refusal(DAMAGED_SESSION)
            response.delete_cookie(
                name, path=settings.SESSION_COOKIE_PATH, domain=settings.SESSION_COOKIE_DOMAIN
            )
            return response
        return self.get_response(request)


def form_problem(request) -> str | None:
    """Why the request's form cannot be read as UTF-8, or None when it can."""
    charset = request.content_params.get("charset")
    if charset is not None:
        if not names_utf8(charset):
            return WRONG_CHARSET
        request.encoding = "utf-8"  # Django takes only this spelling for urlencoded forms
    try:
        body = request.body  # over DATA_UPLOAD_MAX_MEMORY_SIZE: Django's 400, as before
    except UnreadablePostError:
        return UNREADABLE
    if request.content_type == URLENCODED:
        return None if urlencoded_is_utf8(body) else NOT_UTF8
    boundary = request.content_params.get("boundary", "")
    if not BOUNDARY.fullmatch(boundary):
        return NO_BOUNDARY
    return None if multipart_is_utf8(body, boundary.encode()) else NOT_UTF8


def names_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name in UTF8_CODECS
    except (LookupError, ValueError):
        return False


def urlencoded_is_utf8(body: bytes) -> bool:
    """Whether the body and every name and value, once unescaped, is UTF-8."""
    try:
        parse_qsl(body.decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def multipart_is_utf8(body: bytes, boundary: bytes) -> bool:
    """Whether every part's headers, and the content of every part that is not a file, is
    UTF-8. Parts are cut as Django's parser cuts them: at every ``--boundary``, headers up to
    the first blank line, a trailing line break belonging to the delimiter."""
    for part in body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        try:
            head = head.decode()
        except UnicodeDecodeError:
            return False
        is_field, base64_encoded = False, False
        for line in head.split("\r\n"):
            name, colon, value = line.partition(":")
            try:
                value, params = parse_header_parameters(value.strip())
            except ValueError:
                continue  # Django skips a header it cannot parse
            name = name.strip().lower()
            if colon and name == "content-disposition":
                is_field = not params.get("filename")
            elif colon and name == "content-transfer-encoding":
                base64_encoded = value == "base64"
        if not is_field:
            continue
        data = content.removesuffix(b"\r\n")
        if base64_encoded:
            with contextlib.suppress(binascii.Error):  # Django keeps the text as sent
                data = base64.b64decode(data, validate=True)
        try:
            data.decode()
        except UnicodeDecodeError:
            return False
    return True


def refuse_unreadable_content_type(application):
    """Wrap a WSGI application: a request whose Content-Type header Django cannot parse gets
    a plain-text 400 instead of reaching Django, which would fail before its error handling."""

    def checked(environ, start_response):
        try:
            parse_header_parameters(environ.get("CONTENT_TYPE", ""))
        except ValueError:
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
            return [BAD_CONTENT_TYPE.encode()]
        return application(environ, start_response)

    return checked
