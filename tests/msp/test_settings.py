"""Production settings: a clear start-up error per missing variable, and a clean check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Production start-up is judged on the variables each test gives, not on the test run's own.
INHERITED_VARIABLES_TO_DROP = {
    "SECRET_KEY",
    "SECRETS_KEYS",
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "DEBUG",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}
GOOD_SECRET = "k" * 20 + "-production-secret-" + "z" * 20


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        key: value for key, value in os.environ.items() if key not in INHERITED_VARIABLES_TO_DROP
    }
    clean.update(DJANGO_SETTINGS_MODULE="msp.settings.prod", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "SECRET_KEY": GOOD_SECRET,
    "DATABASE_URL": "postgres://psa:psa@db.internal:5432/psa",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "psa.example.com",
    "SECRETS_KEYS": "Hs4Yq0m0oK1y3CwJtB8tQ6m7oW2cG4rEo3pY2wQ1x0s=",
}


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "SECRETS_KEYS", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"]
)
def test_missing_variable_is_named_at_start_up(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert f"Environment variable {missing} is required" in result.stderr


def test_weak_secret_key_is_refused():
    result = run_manage("check", **{**PRODUCTION_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY must be a random string of at least 50 characters" in result.stderr


def test_a_malformed_secrets_key_is_refused():
    result = run_manage("check", **{**PRODUCTION_ENV, "SECRETS_KEYS": "not-a-fernet-key"})
    assert result.returncode != 0
    assert "SECRETS_KEYS: key 1 is not a Fernet key" in result.stderr


def test_bad_boolean_is_named():
    result = run_manage("check", **{**PRODUCTION_ENV, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_check_deploy_passes_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
