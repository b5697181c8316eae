"""The log-in forms of the site and of the admin, throttled (see accounts/throttle.py), the
sign-up form, and the form that changes an account's email address."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

from accounts import throttle
from core import names
from subscriptions.models import normalize


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


def email_field():
    return forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        help_text=gettext_lazy(
            "We send a link to confirm it, and write nothing else to it until you follow "
            "that link: then you can hear of replies and follow discussions. Never shown."
        ),
        error_messages={"required": gettext_lazy("Give an email address for your account.")},
    )


class SignupForm(UserCreationForm):
    """Sign-up. A username must have a letter and must not look like a reserved word nor like
    another account's username (core/names.py: the same rules as readers' names). An email
    address is required; it is not stored on the account until it is confirmed
    (``Meta.fields`` leaves it out), only mailed a link (accounts/views.py)."""

    email = email_field()
    field_order = ["username", "email", "password1", "password2"]

    def clean_username(self):
        username = super().clean_username()  # None: taken, the error is already on the form
        if username and (refusal := names.refusal(username)):
            raise ValidationError(refusal)
        return username


class EmailForm(forms.Form):
    """A new address for an account: kept apart until confirmed."""

    email = email_field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["email"].label = (
            gettext_lazy("New email address") if user.email else gettext_lazy("Email address")
        )

    def clean_email(self):
        email = normalize(self.cleaned_data["email"])
        if email == normalize(self.user.email):
            raise ValidationError(gettext("That is already your account's address."))
        return email
