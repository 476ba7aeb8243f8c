"""The embedded default: SQLite, a filesystem broker, email written to files. No server needed."""

from msp.settings.base import *  # noqa: F403
from msp.settings.base import DATABASES, STATIC_ROOT, VAR_DIR
from msp.settings.env import env_bool, env_str

DEBUG = env_bool("DEBUG", True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write to one SQLite file at once. WAL lets readers go on beside the
    # writer; IMMEDIATE takes the write lock when a transaction begins, so two transactions
    # never both read and then both try to write (SQLite fails one of them at once, without
    # waiting); the busy timeout makes every other writer wait its turn instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
    # Covering indexes (INCLUDE) are a PostgreSQL optimisation; SQLite ignores the extra columns.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

_BROKER_DIR = VAR_DIR / "broker"
# A host name in the URL, though the transport has no use for it: without one kombu warns.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: producers write messages into a folder the worker reads.
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        # The worker looks for new messages this often (kombu's default, 1 s, lets a worker
        # take about one task a second: the demo's hundreds of emails would take minutes).
        "polling_interval": 0.1,
    }

# Email is written to files (a file per connection, in effect per message), which administrators
# read on the Sent mail page (msp.sent_mail); EMAIL_BACKEND set in the environment (SMTP) sends
# it instead.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "msp.sent_mail.FileEmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "sent-mail"

# WhiteNoise serves STATIC_ROOT and warns when it is missing; collectstatic fills it in prod.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
