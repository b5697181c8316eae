"""The reader's language: Django's LocaleMiddleware, saying what it read.

The language comes from the cookie the footer's switch sets (Django's ``set_language``),
else from the browser's Accept-Language, else ``LANGUAGE_CODE``. Django's middleware adds
``Vary: Accept-Language``; the cookie chooses the language too, so every answer also varies
with ``Cookie``: no cache between the reader and the site may hand one reader's language to
another.
"""

from django.middleware import locale
from django.utils.cache import patch_vary_headers


class LocaleMiddleware(locale.LocaleMiddleware):
    def process_response(self, request, response):
        response = super().process_response(request, response)
        patch_vary_headers(response, ("Cookie",))
        return response
