from functools import wraps

from django.contrib import admin
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import throttle
from accounts.forms import LoginForm, SignupForm


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
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(safe_next(request))
        form.add_error(None, refusal)
        status = 429
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": safe_next(request, "")},
        status=status,
    )
