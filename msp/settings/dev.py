"""The embedded default: SQLite, a filesystem broker, console email. No server needed."""

from msp.settings.base import *  # noqa: F403
from msp.settings.base import STATIC_ROOT, VAR_DIR
from msp.settings.env import env_bool, env_str

DEBUG = env_bool("DEBUG", True)

_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # kombu's filesystem transport: producers write messages into a folder the worker reads.
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }

# WhiteNoise serves STATIC_ROOT and warns when it is missing; collectstatic fills it in prod.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
