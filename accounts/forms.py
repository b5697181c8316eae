"""The log-in forms of the site and of the admin, throttled (see accounts/throttle.py)."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts import throttle


class ThrottledLoginMixin:
    """Refuses a log-in over the failure limit before the password is checked; a refusal is
    a non-field error with code ``"throttled"`` (the views answer it with a 429)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # nothing to check yet: the fields say what is missing
        attempt = throttle.begin_login(self.request, username)
        if attempt.refusal:
            raise ValidationError(attempt.refusal, code="throttled")
        cleaned_data = super().clean()  # a wrong password raises: the attempt stays counted
        attempt.succeeded()
        return cleaned_data


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
