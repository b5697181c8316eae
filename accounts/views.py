from functools import wraps

from django.contrib import admin, messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required, login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from accounts import throttle
from accounts.forms import EmailForm, LoginForm, SignupForm
from subscriptions import services as subscriptions


def safe_next(request, fallback="/"):
    """The ``next`` target if it stays on this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def refused_with_429(view):
    """A log-in view whose form the throttle refused answers 429 Too Many Requests (the
    page, with the message in the form, is the same)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None and form.has_error(NON_FIELD_ERRORS, code="throttled"):
            response.status_code = 429
        return response

    return wrapper


log_in = refused_with_429(LoginView.as_view(authentication_form=LoginForm))


@refused_with_429
@login_not_required
def admin_login(request):
    """The admin site's own log-in page; its form is throttled too (accounts/admin.py)."""
    return admin.site.login(request)


def signup(request):
    form = SignupForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        refusal = throttle.signup_refusal(request)
        if refusal is None:
            with transaction.atomic():  # the account and its confirmation mail, or neither
                user = form.save()
                sent = subscriptions.request_confirmation(
                    email=form.cleaned_data["email"], user=user
                )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _confirmation_message(form.cleaned_data["email"], sent))
            return redirect(safe_next(request))
        form.add_error(None, refusal)
        status = 429
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": safe_next(request, "")},
        status=status,
    )


def _confirmation_message(email: str, sent: bool) -> str:
    if sent:
        return gettext(
            "We sent a link to %(email)s: follow it to confirm the address. Until then we "
            "write nothing to it."
        ) % {"email": email}
    return gettext(
        "A link to confirm %(email)s was sent today already: follow the one in that email "
        "(it may take a few minutes to arrive), or ask again tomorrow."
    ) % {"email": email}


@login_required
@require_http_methods(["GET", "POST"])
def email_address(request):
    """The account's address, and a form for a new one. A new address is only mailed a
    link: the current one keeps receiving everything until that link is followed."""
    form = EmailForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        sent = subscriptions.request_confirmation(email=email, user=request.user)
        messages.success(request, _confirmation_message(email, sent))
        response = HttpResponseRedirect(request.path)
        response.status_code = 303
        return response
    return render(request, "registration/email.html", {"form": form})
