import os

from django.core.wsgi import get_wsgi_application

from config.middleware import refuse_unreadable_content_type

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = refuse_unreadable_content_type(get_wsgi_application())
