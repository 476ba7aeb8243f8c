"""Real Celery processes for the end-to-end tests: a worker and beat, each in its own process,
on Redis and the test database (tests/msp/test_tasks.py, tests/msp/test_rolling_restart.py)."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import redis
from django.db import connection

from msp.models import Heartbeat
from msp.selectors import BEAT_HEARTBEAT

ROOT = Path(__file__).resolve().parents[2]
WORKER_ARGS = ["worker", "--pool=solo", "--loglevel=INFO", "--without-mingle", "--without-gossip"]


def celery_env(redis_url: str, tmp_path: Path, **settings: str) -> dict:
    """The environment of a Celery process on `redis_url` and the test database pytest made."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "msp.settings.test",
        "MSP_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
        "CELERY_BROKER_URL": redis_url,
        "MSP_VAR_DIR": str(tmp_path),
        **settings,
    }


def celery(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """`celery -A msp <args>` in its own process, its output appended to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "msp", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def beat_args(tmp_path: Path) -> list[str]:
    return ["beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"]


@contextmanager
def worker_and_beat(redis_url: str, tmp_path: Path, **settings: str):
    """A Celery worker and beat in their own processes, on Redis and the test database."""
    redis.Redis.from_url(redis_url).flushdb()
    env = celery_env(redis_url, tmp_path, **settings)
    worker = celery(WORKER_ARGS, env, tmp_path / "worker.log")
    beat = celery(beat_args(tmp_path), env, tmp_path / "beat.log")
    try:
        yield
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            process.wait(timeout=30)


def heartbeat_after(instant: datetime | None, timeout: float = 60) -> datetime | None:
    """The first heartbeat recorded after `instant` (any, when None), waited for; None when
    none comes within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heartbeat = Heartbeat.objects.filter(name=BEAT_HEARTBEAT).first()
        if heartbeat and (instant is None or heartbeat.last_run_at > instant):
            return heartbeat.last_run_at
        time.sleep(0.1)
    return None
