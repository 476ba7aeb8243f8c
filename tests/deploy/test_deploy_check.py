"""bin/deploy-check: the image's install and start steps on this host, in a throw-away folder,
with the production settings against PostgreSQL and Redis (docs/deploy.md, "The check")."""

import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.deploy.sources import ROOT

pytestmark = pytest.mark.slow


def server_of(url: str) -> str:
    """postgres://user@host:port/name -> postgres://user@host:port (the check makes its own)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.timeout(900)
def test_the_deployment_installs_starts_answers_and_stops_cleanly(postgres, redis_url):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bin" / "deploy-check"),
            "--database-server",
            server_of(settings.TEST_DATABASE_URL),
            "--redis-server",
            server_of(redis_url),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=870,
    )
    print(done.stdout)  # the steps and their times, shown by pytest -s or on failure
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-12000:]
    assert "deploy-check: ok" in done.stdout
    assert '"status": "ok"' in done.stdout
