import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp.settings.dev")

application = get_asgi_application()

from msp.startup import settle  # noqa: E402 - needs the application built

settle()
