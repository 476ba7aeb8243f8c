"""Settings shared by every environment; each value comes from an environment variable."""

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from msp.logging import logging_settings
from msp.settings.env import env_bool, env_float, env_int, env_list, env_str
from msp.storage import default_storage_from_env, serving_mode_from_env

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("MSP_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-secret-key-change-me")
# Fernet keys for secrets stored encrypted (msp.secrets: IMAP passwords), comma-separated,
# newest first. Empty: one key derived from SECRET_KEY (dev, test, demo; prod.py requires it).
SECRETS_KEYS = env_list("SECRETS_KEYS", [])
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "auditlog",
    "msp.apps.MspConfig",
    "msp.audit.apps.AuditConfig",
    "sla.apps.SlaConfig",
    "contracts.apps.ContractsConfig",
    "tickets.apps.TicketsConfig",
    "reporting.apps.ReportingConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ETag / If-None-Match on GET: API pollers get 304 Not Modified for unchanged pages.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times in the viewer's zone: their own setting, else the browser's (msp/middleware.py).
    "msp.middleware.TimezoneMiddleware",
    # Who, from where, for the audit trail of this request (msp.audit).
    "msp.middleware.AuditMiddleware",
    # One log line per request, and the ticket in the URL on every line (msp/logging.py).
    "msp.logging.RequestLogMiddleware",
    # X-RateLimit-* headers from the API throttle (msp/api/throttling.py).
    "msp.api.throttling.RateLimitHeadersMiddleware",
    # Two-factor sign-in: which device verified this session, then what it may reach.
    "django_otp.middleware.OTPMiddleware",
    "msp.mfa.MfaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signed out after SESSION_IDLE_MINUTES_* without activity (after messages: it says so).
    "msp.sessions.SessionIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so that it sees the outcome of authentication (failed-login lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "msp.urls"
WSGI_APPLICATION = "msp.wsgi.application"
ASGI_APPLICATION = "msp.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "msp.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'msp.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
# A read replica for the dashboards (msp/db_router.py); none by default.
READ_REPLICA = ""
if env_str("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = dj_database_url.parse(
        env_str("DATABASE_REPLICA_URL"), conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0)
    )
    READ_REPLICA = "replica"
DATABASE_ROUTERS = ["msp.db_router.ReplicaRouter"]
PGBOUNCER_TRANSACTION_MODE = env_bool("PGBOUNCER_TRANSACTION_MODE", False)
# Never hang on the database (msp/postgres/base.py): a connection must be made within the
# first figure; a query with no answer for the second makes us check that the server still
# answers at all, and fails if it does not. Requests then answer 503 (msp/outage.py).
DATABASE_CONNECT_DEADLINE_SECONDS = env_float("DATABASE_CONNECT_DEADLINE_SECONDS", 0.8)
DATABASE_HANG_SECONDS = env_float("DATABASE_HANG_SECONDS", 0.4)
# The server ends a statement running longer than this (0: no limit).
DATABASE_STATEMENT_TIMEOUT_SECONDS = env_int("DATABASE_STATEMENT_TIMEOUT_SECONDS", 60)


def postgres_tuned(database: dict) -> dict:
    """A PostgreSQL entry of DATABASES with the settings above; any other entry as it is."""
    if database["ENGINE"] != "django.db.backends.postgresql":
        return database
    options = {
        # libpq's own bounds, for what our deadline does not see; keepalives find a dead peer
        # (a crashed host, a dropped NAT entry) on an idle pooled connection.
        "connect_timeout": max(2, round(DATABASE_CONNECT_DEADLINE_SECONDS)),
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        **database.get("OPTIONS", {}),
    }
    # PgBouncer refuses the `options` start-up parameter: set the timeout on the role there
    # (ALTER ROLE ... SET statement_timeout), as the README says.
    if DATABASE_STATEMENT_TIMEOUT_SECONDS and not PGBOUNCER_TRANSACTION_MODE:
        options.setdefault(
            "options", f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT_SECONDS * 1000}"
        )
    tuned = {**database, "ENGINE": "msp.postgres", "OPTIONS": options}
    # Behind PgBouncer in transaction mode a server-side cursor cannot outlive its statement.
    if PGBOUNCER_TRANSACTION_MODE:
        tuned["DISABLE_SERVER_SIDE_CURSORS"] = True
    return tuned


DATABASES = {alias: postgres_tuned(database) for alias, database in DATABASES.items()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# `manage.py migrate` (msp/management/commands/migrate.py) on PostgreSQL: a migration waits
# this long for its table's lock, rather than queueing every request behind a long transaction,
# then rolls back and is tried again after a pause, this many times (docs/upgrades.md).
MIGRATE_LOCK_TIMEOUT_SECONDS = env_int("MIGRATE_LOCK_TIMEOUT_SECONDS", 5)
MIGRATE_LOCK_RETRIES = env_int("MIGRATE_LOCK_RETRIES", 5)
MIGRATE_RETRY_WAIT_SECONDS = env_int("MIGRATE_RETRY_WAIT_SECONDS", 15)

AUTH_USER_MODEL = "msp.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Sessions end after this long without activity (msp.sessions), staff and client users.
SESSION_IDLE_MINUTES_STAFF = env_int("SESSION_IDLE_MINUTES_STAFF", 30)
SESSION_IDLE_MINUTES_CLIENT = env_int("SESSION_IDLE_MINUTES_CLIENT", 120)
# API tokens expire this many days after they are made unless another date is chosen; 0: never.
API_TOKEN_EXPIRY_DAYS = env_int("API_TOKEN_EXPIRY_DAYS", 90)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed-login throttling (msp.login_throttle): after AXES_FAILURE_LIMIT failures for one email
# from one address, that pair is locked out for AXES_COOLOFF_TIME hours; after
# LOGIN_FAILURE_LIMIT_PER_ADDRESS failures from one address on any accounts, the address is,
# and administrators are alerted. The login form says so.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 30)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], ["ip_address"]]
AXES_HANDLER = "msp.login_throttle.LoginThrottleHandler"
# Reverse proxies in front of the app (their X-Forwarded-For gives the client's address).
LOGIN_TRUSTED_PROXIES = env_int("LOGIN_TRUSTED_PROXIES", 0)
AXES_CLIENT_IP_CALLABLE = "msp.login_throttle.client_address"
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "msp.views.login_locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Audit trail (msp.audit, django-auditlog): changes as JSON, before and after; the rows of one
# request, command or task share a correlation id. Which models and fields: msp.audit.registry.
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_CID_GETTER = "msp.audit.context.current_cid"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("MSP_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# Ticket files: on disk under MEDIA_ROOT, or in an S3-compatible bucket (ATTACHMENT_STORAGE=s3,
# the AWS_* variables, `pip install .[s3]`); always sent through the permission-checked views,
# streamed or handed to nginx/Apache or to a signed bucket link (ATTACHMENT_SERVING). See
# msp/storage.py and docs/storage.md.
STORAGES = {
    "default": default_storage_from_env(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ATTACHMENT_SERVING = serving_mode_from_env(STORAGES["default"])
# X-Accel-Redirect: the nginx `internal` location that maps to MEDIA_ROOT.
ATTACHMENT_ACCEL_PREFIX = f"/{env_str('ATTACHMENT_ACCEL_PREFIX', 'protected-media').strip('/')}/"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "PSA <psa@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REDIS_URL = env_str("REDIS_URL", "")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Live pages (msp/live.py): how often the ticket page and the queues poll for changes, in
# seconds; presence ("Alex is viewing") lapses after LIVE_PRESENCE_SECONDS without a heartbeat.
LIVE_POLL_SECONDS = env_int("LIVE_POLL_SECONDS", 10)
LIVE_PRESENCE_SECONDS = env_int("LIVE_PRESENCE_SECONDS", max(20, 3 * LIVE_POLL_SECONDS))

# Celery: broker from REDIS_URL in production; the embedded default (dev.py) uses kombu's
# filesystem transport so that no server is needed.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# No task runs for ever (a hung server, a stuck SMTP peer): the soft limit raises inside the
# task, the hard one replaces the worker process. Tasks are idempotent; beat starts them again.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
# The broker too: a Redis that does not answer fails a publish after this many seconds.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How often beat sends the heartbeat task; /healthz reports the age of the last one.
HEARTBEAT_INTERVAL_SECONDS = env_int("HEARTBEAT_INTERVAL_SECONDS", 30)
# Prometheus metrics (GET /metrics, msp/metrics/, docs/monitoring.md): a scraper must show this
# bearer token and/or come from one of these networks (CIDRs, matched against the client
# address as LOGIN_TRUSTED_PROXIES reads it); with neither set the endpoint answers 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES", [])
for _network in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_ADDRESSES: {_network!r} is not an address or network."
        ) from None
# How often beat starts the SLA sweep; every warning and breach lands within this plus the run.
SLA_SWEEP_INTERVAL_SECONDS = env_int("SLA_SWEEP_INTERVAL_SECONDS", 15)
# Absolute links in emails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Two-factor sign-in (msp/mfa.py): authenticator apps, passkeys bound to SITE_URL's host, and
# recovery codes. Whether staff must use it is SecuritySettings, which starts from this value.
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", False)
OTP_TOTP_ISSUER = env_str("MFA_ISSUER", "MSP PSA")
# Browsers make passkeys only on HTTPS or on http://localhost, never on an IP address: a
# development site at http://127.0.0.1:8000 has its passkeys at http://localhost:8000.
_site = urlsplit(SITE_URL)
if _site.scheme == "https" or _site.hostname == "localhost":
    OTP_WEBAUTHN_RP_ID, OTP_WEBAUTHN_ALLOWED_ORIGINS = _site.hostname, [SITE_URL]
else:
    _port = f":{_site.port}" if _site.port else ""
    OTP_WEBAUTHN_RP_ID, OTP_WEBAUTHN_ALLOWED_ORIGINS = "localhost", [f"http://localhost{_port}"]
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False  # a second factor, after the password
# Satisfaction links in resolution emails stay valid this long; each answers once.
CSAT_LINK_DAYS = env_int("CSAT_LINK_DAYS", 30)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "msp.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["msp.api.permissions.ScopedAccess"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "msp.api.pagination.PagePagination",
    "DEFAULT_THROTTLE_CLASSES": ["msp.api.throttling.PerTokenRateThrottle"],
    "EXCEPTION_HANDLER": "msp.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["msp.api.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per token (or signed-in user) per period; monitoring alerts have their own budget.
API_THROTTLE_RATES = {
    "default": env_str("API_THROTTLE_RATE", "1200/min"),
    "alerts": env_str("API_ALERT_THROTTLE_RATE", "6000/min"),
}
# Monitoring alerts: severity -> (impact, urgency), which the priority matrix turns into a
# priority (default matrix: critical P1, error P2, warning P3, info P4); the asset fields
# matched, in order, against the alert's asset or host.
ALERT_MAX_BYTES = env_int("ALERT_MAX_BYTES", 256 * 1024)
MAILBOX_POLL_SECONDS = env_int("MAILBOX_POLL_SECONDS", 60)

SPECTACULAR_SETTINGS = {
    "TITLE": "MSP PSA API",
    "DESCRIPTION": (
        "Tickets, SLA clocks, contracts and the directory of a managed service provider, and "
        "intake of monitoring alerts. Authenticate with a personal token "
        "(`Authorization: Bearer <token>`), scoped read, write or alerts-only. Errors are "
        '`{"message": "...", "errors": {"field": ["..."]}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "msp.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.choices.TicketStatus",
        "AlertStatusEnum": "tickets.choices.AlertStatus",
        "TicketTypeEnum": "tickets.choices.TicketType",
        "TicketSourceEnum": "tickets.choices.TicketSource",
        "ContractStatusEnum": "contracts.choices.ContractStatus",
        "ContractTypeEnum": "contracts.choices.ContractType",
        "ClientStatusEnum": "msp.choices.ClientStatus",
        "HolidaySourceEnum": "sla.choices.HolidaySource",
        "ClockKindEnum": "sla.choices.ClockKind",
        "PriorityEnum": "sla.choices.Priority",
        "PeriodKindEnum": "msp.choices.PeriodKind",
        "AssetKindEnum": "msp.choices.AssetKind",
        "TargetKindEnum": "contracts.choices.TargetKind",
        "EventKindEnum": "tickets.choices.EventKind",
        "UserRoleEnum": "msp.choices.UserRole",
    },
}

# Logs (msp/logging.py): every record on stderr, "plain" text or "json" (prod's default), with
# the request id (the audit trail's correlation id, the X-Request-ID response header), user,
# client and ticket where known; LOG_REQUESTS adds one line per request.
LOG_TRUST_REQUEST_ID = env_bool("LOG_TRUST_REQUEST_ID", False)
LOGGING = logging_settings(
    log_format=env_str("LOG_FORMAT", "plain"),
    level=env_str("LOG_LEVEL", "INFO"),
    requests=env_bool("LOG_REQUESTS", False),
)

# Ticket attachments: size limit, and file types never accepted (executables and scripts).
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 2**20)
ATTACHMENT_BLOCKED_EXTENSIONS = frozenset(
    {"exe", "bat", "cmd", "com", "msi", "scr", "ps1", "vbs", "js", "jar", "sh", "dll"}
    | {"cpl", "hta", "lnk", "reg"}
)

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, so an
# injected <script>, event handler or <style> does not run. The one exception is the <style>
# inside the server-drawn SVG charts (pygal), which carries the response's nonce. Style
# attributes stay allowed (style-src-attr): pygal and the Django admin still write a few, and
# an attribute cannot read or send anything.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-elem": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
