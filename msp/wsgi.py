import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp.settings.dev")

application = get_wsgi_application()

from msp.startup import settle  # noqa: E402 - needs the application built

settle()
