from django.urls import include, path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.log_in, name="login"),
    path("email/", views.email_address, name="account_email"),
    path("", include("django.contrib.auth.urls")),
]
