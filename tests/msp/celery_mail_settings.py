"""The test settings with email written to files in MSP_TEST_EMAIL_DIR, for a Celery worker
in its own process whose deliveries a test counts (tests/msp/test_rolling_restart.py)."""

from msp.settings.env import env_str
from msp.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env_str("MSP_TEST_EMAIL_DIR", required=True)
