"""The page a confirmation link opens. A GET only shows what the link would do, with a
button; the POST the button sends confirms. Mail scanners and link previews fetch links
(GET) before the reader sees them, so a GET that confirmed would confirm addresses nobody
looked at. A link that was altered or is too old answers 400 with a page that says so."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from subscriptions import services, tokens


def bad_link(request, *, expired=False, gone=False):
    return render(
        request,
        "subscriptions/bad_link.html",
        {"expired": expired, "gone": gone, "confirm_days": settings.MAIL_CONFIRM_DAYS},
        status=400,
    )


@require_http_methods(["GET", "POST"])
def confirm_address(request, token):
    try:
        email, user_id = tokens.read_confirm_token(token)
    except tokens.BadLink as error:
        return bad_link(request, expired=error.expired)
    account = None
    if user_id is not None:
        account = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if account is None:
            return bad_link(request, gone=True)
    if request.method == "POST":
        try:
            services.confirm(email=email, user=account)
        except ValidationError:
            return bad_link(request, gone=True)
        if account is None and not request.user.is_authenticated:
            # This browser has shown it reads the address's mail: it may follow
            # discussions with it (comments/following.py).
            request.session[services.SESSION_ADDRESS] = email
        response = HttpResponseRedirect(request.path)
        response.status_code = 303  # the GET that follows shows it done
        return response
    if account is not None:
        done = account.email == email
        manage_url = reverse("notifications")
    else:
        done = services.is_confirmed(email)
        manage_url = reverse("manage_notifications", args=[tokens.manage_token(email=email)])
    context = {"email": email, "account": account, "done": done, "manage_url": manage_url}
    return render(request, "subscriptions/confirm.html", context)
