"""Test settings: PostgreSQL and Redis where reachable; in CI both are required."""

import os
import socket
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from msp.settings.base import *  # noqa: F403
from msp.settings.base import STATIC_ROOT, postgres_tuned
from msp.settings.env import env_bool, env_float, env_int, env_str

CI = env_bool("CI", False)
TEST_DATABASE_URL = env_str("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/msp")
TEST_REDIS_URL = env_str("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Under pytest-xdist (bin/test runs two workers) each worker flushes and fills a Redis database
# of its own, counting down from the one given (pytest-django already gives each its own
# PostgreSQL database, test_<name>_gw0, _gw1...).
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER.startswith("gw"):
    _redis = urlparse(TEST_REDIS_URL)
    _redis_db = int(_redis.path.strip("/") or 0) - int(_XDIST_WORKER[2:])
    TEST_REDIS_URL = _redis._replace(path=f"/{_redis_db % 16}").geturl()


def service_reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


POSTGRES_AVAILABLE = service_reachable(TEST_DATABASE_URL, 5432)
REDIS_AVAILABLE = service_reachable(TEST_REDIS_URL, 6379)
if CI and not POSTGRES_AVAILABLE:
    raise ImproperlyConfigured(f"CI needs PostgreSQL at {TEST_DATABASE_URL}; it is not reachable.")
if CI and not REDIS_AVAILABLE:
    raise ImproperlyConfigured(f"CI needs Redis at {TEST_REDIS_URL}; it is not reachable.")

if POSTGRES_AVAILABLE:
    # DATABASE_CONN_MAX_AGE: for the app servers the outage tests start on these settings.
    DATABASES = {
        "default": postgres_tuned(
            dj_database_url.parse(
                TEST_DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0)
            )
        )
    }
    # A "replica" that is the test database itself (Django's test mirror), for the router's
    # tests; nothing is routed to it unless a test sets READ_REPLICA.
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
    # A Celery worker started by an end-to-end test uses the test database pytest created.
    if env_str("MSP_TEST_DATABASE_NAME"):
        DATABASES["default"]["NAME"] = env_str("MSP_TEST_DATABASE_NAME")
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "memory://")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["*"]
# The production deadlines on the database (0.8 s to connect, 0.4 s of silence) are tuned for an
# app server; the suite runs twenty connecting threads at once beside a browser on two cores,
# where a connection can take longer without anything being wrong. The outage drills
# (tests/msp/test_database_outage.py) start their servers with the production figures.
DATABASE_CONNECT_DEADLINE_SECONDS = env_float("DATABASE_CONNECT_DEADLINE_SECONDS", 5.0)
DATABASE_HANG_SECONDS = env_float("DATABASE_HANG_SECONDS", 2.0)

# WhiteNoise serves STATIC_ROOT and warns when it is missing; collectstatic fills it in prod.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
