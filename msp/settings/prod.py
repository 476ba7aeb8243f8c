"""Production: every secret and endpoint comes from the environment, or start-up fails."""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from msp.logging import logging_settings
from msp.settings.base import *  # noqa: F403
from msp.settings.env import env_bool, env_int, env_list, env_str
from msp.storage import default_storage_from_env

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", required=True)
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-only"):
    raise ImproperlyConfigured(
        "Environment variable SECRET_KEY must be a random string of at least 50 characters."
    )
# Staff sign in with a second factor unless an administrator turns it off (SecuritySettings).
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", True)
SECRETS_KEYS = env_list("SECRETS_KEYS", [])
if not SECRETS_KEYS:
    raise ImproperlyConfigured(
        "Environment variable SECRETS_KEYS is required in this mode (Fernet keys, "
        "comma-separated, newest first)."
    )
for _place, _key in enumerate(SECRETS_KEYS, start=1):
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(f"SECRETS_KEYS: key {_place} is not a Fernet key.") from None
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Environment variable ALLOWED_HOSTS is required in this mode.")
env_str("DATABASE_URL", required=True)
REDIS_URL = env_str("REDIS_URL", required=True)
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

STORAGES = {
    # Local disk or an S3-compatible bucket, as base.py read it (ATTACHMENT_STORAGE).
    "default": default_storage_from_env(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# collectstatic: only the hashed copies (every page links them through {% static %}), and no
# compressed copies of the API docs' 8 MB of source maps; halves the image build's slowest step.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Exempt /healthz and /metrics from the HTTPS redirect so that load balancers and Prometheus can
# probe over plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# Metrics: a guessable token would publish the SLA machinery's state (msp/metrics/).
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:  # noqa: F405
    raise ImproperlyConfigured("Environment variable METRICS_TOKEN must be at least 32 characters.")

# JSON lines by default, one per request too, for a log collector (msp/logging.py).
LOGGING = logging_settings(
    log_format=env_str("LOG_FORMAT", "json"),
    level=env_str("LOG_LEVEL", "INFO"),
    requests=env_bool("LOG_REQUESTS", True),
)
