"""The admin's log-in form is throttled like the site's (its view, wrapped to answer a
refusal with a 429, is ``accounts.views.admin_login``, routed in config/urls.py)."""

from django.contrib import admin

from accounts.forms import AdminLoginForm

admin.site.login_form = AdminLoginForm
