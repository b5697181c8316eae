from django.contrib import admin
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponseBadRequest
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext as _
from django.views.generic import RedirectView

from accounts.views import admin_login
from core.health import healthz


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on every page, the admin's too."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        return static("favicon.svg")


favicon = FaviconView.as_view()


def bad_request(request, exception):
    """The 400 page, in words. It reads nothing from the request: Django's own checks the
    CSRF token first, reading the form again, and when the form was what failed, that failed
    again and the reader got a 500."""
    if isinstance(exception, RequestDataTooBig):
        message = _("The form is too large, so it was not accepted.")
    elif isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        message = _("The form has too many fields, so it was not accepted.")
    else:
        message = _("The request could not be understood, so it was not accepted.")
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


handler400 = bad_request

urlpatterns = [
    path("", include("comments.urls")),
    path("accounts/", include("accounts.urls")),
    path("email/", include("subscriptions.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the footer's switch
    path("admin/login/", admin_login),  # the admin's log-in, throttled
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon),
    path("healthz", healthz),  # for load balancers and monitoring (core/health.py)
]
