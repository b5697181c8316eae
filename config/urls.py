from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on every page, the admin's too."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        return static("favicon.svg")


favicon = FaviconView.as_view()

urlpatterns = [
    path("", include("articles.urls")),
    path("", include("comments.urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon),
]
