"""What the views read from a request: who is looking, from where, and what they asked for."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils.crypto import salted_hmac

from comments import ownership, roles
from comments.nodes import Viewer
from comments.ordering import ORDERS
from comments.selectors import default_order
from core.client import client_ip

ORDER_COOKIE = "discussion_order"
VOTER_COOKIE = "voter"
VOTER_SALT = "threadline.voter"
VOTED = "threadline.voted"  # in the session: a vote keeps the voter's own page from a 304


def viewer_for(request) -> Viewer:
    authenticated = request.user.is_authenticated
    return Viewer(
        user_id=request.user.pk if authenticated else None,
        owned_ids=ownership.owned_ids(request),
        editor=roles.is_editor(request.user),
        vote_cookie="" if authenticated else voter_cookie(request),
    )


def voter_cookie(request) -> str:
    """The signed token of a reader without an account who has voted, else ""."""
    if not settings.COMMENTS_ANONYMOUS_VOTES:
        return ""
    return request.get_signed_cookie(VOTER_COOKIE, default="", salt=VOTER_SALT)


def int_param(value):
    """A positive integer from a query or form value, else None (never an error)."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


def order_of(request) -> str:
    """The order the reader asked for (query, then their cookie), else the default."""
    order = request.GET.get("order") or request.COOKIES.get(ORDER_COOKIE)
    return order if order in ORDERS else default_order()


def see_other(url):
    """A 303: after a successful POST the browser GETs the result."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def reader_key(request) -> str:
    """Who reports: an account, or for readers without one their address (hashed, so the
    admin never shows it) — one report per person, not per browser session."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return (
        "ip:"
        + salted_hmac(
            "threadline.flag", client_ip(request) or "unknown", algorithm="sha256"
        ).hexdigest()[:20]
    )
