"""The log-in forms of the site and of the admin, throttled (see accounts/throttle.py), and
the sign-up form."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from accounts import throttle
from core import names


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


class SignupForm(UserCreationForm):
    """Sign-up. A username must have a letter and must not look like a reserved word nor like
    another account's username (core/names.py: the same rules as readers' names)."""

    def clean_username(self):
        username = super().clean_username()  # None: taken, the error is already on the form
        if username and (refusal := names.refusal(username)):
            raise ValidationError(refusal)
        return username
