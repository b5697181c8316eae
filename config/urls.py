from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import admin_login


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on every page, the admin's too."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        return static("favicon.svg")


favicon = FaviconView.as_view()

urlpatterns = [
    path("", include("comments.urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/login/", admin_login),  # the admin's log-in, throttled
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon),
]
