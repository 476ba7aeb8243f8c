"""The app with its database stopped, and hung: gunicorn in front of a PostgreSQL server of the
test's own (tests/pgcluster.py), which the test stops, starts, freezes with SIGSTOP and thaws.

While the database is unreachable every request (pages, API, alert intake) answers 503 with
Retry-After within a second, /healthz says which check fails within a second, the log gets a
line or two instead of a traceback per request, and once the server is back the same worker
processes answer normally again.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from msp.settings import base as base_settings
from tests.conftest import _missing_service
from tests.pgbouncer import free_port
from tests.pgcluster import cluster, postgres_bin

# django_db: so that pytest-django creates the test database the server is seeded from.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "outage-drill-password-2026"
# What a user may wait for an answer while the database is gone. The deadlines are 0.8 s to
# connect and 0.4 + 0.4 s for a hung query (msp/settings/base.py); the rest is headroom for a
# loaded two-core machine.
ANSWER_WITHIN = 1.5

SEED = f"""
import django
django.setup()
from msp.services import api_token_create
from tests.factories import StaffFactory
admin = StaffFactory(email="ops@msp.example", role="admin", password={PASSWORD!r})
print(api_token_create(user=admin, name="outage drill", scope="write")[1])
"""


@pytest.fixture(scope="module")
def database(django_db_setup, django_db_blocker):
    """A server of our own holding a copy of the migrated test database, and a token."""
    if not settings.POSTGRES_AVAILABLE:
        _missing_service("PostgreSQL is not reachable")
    if postgres_bin() is None:
        _missing_service("PostgreSQL server binaries (initdb) are not installed")
    source = settings.DATABASES["default"]
    with cluster() as server:
        server.execute("postgres", "CREATE DATABASE psa")
        dump = subprocess.run(
            [
                "pg_dump",
                "--no-owner",
                "-h",
                source["HOST"],
                "-p",
                str(source["PORT"] or 5432),
                "-U",
                source["USER"],
                source["NAME"],
            ],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(
            ["psql", "-q", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "psa"],
            input=dump,
            check=True,
            capture_output=True,
        )
        env = _app_env(server.url("psa"))
        token = (
            subprocess.run(
                [sys.executable, "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True
            )
            .stdout.decode()
            .split()[-1]
        )
        yield server, token


def _app_env(database_url: str, **extra: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "msp.settings.test",
        "TEST_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        # The production deadlines: the test settings' own are looser for a loaded machine.
        "DATABASE_CONNECT_DEADLINE_SECONDS": str(base_settings.DATABASE_CONNECT_DEADLINE_SECONDS),
        "DATABASE_HANG_SECONDS": str(base_settings.DATABASE_HANG_SECONDS),
        **extra,
    }


class App:
    def __init__(self, database_url: str, log: Path, **extra: str) -> None:
        self.port = free_port()
        self.log = log
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "msp.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--timeout",
                "60",
            ],
            env=_app_env(database_url, **extra),
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.base}/healthz", timeout=30)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    text = log.read_text()[-3000:]
                    raise RuntimeError(f"gunicorn did not start: {text}") from None
                time.sleep(0.2)

    def workers(self) -> set[int]:
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()
        return set(map(int, found))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _signed_in(app: App) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{app.base}/accounts/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = browser.post(
        f"{app.base}/accounts/login/",
        data={"username": "ops@msp.example", "password": PASSWORD, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{app.base}/accounts/login/"},
        timeout=10,
    )
    assert answer.status_code == 200 and "/accounts/login/" not in answer.url, answer.text[:500]
    return browser


def _calls(app: App, token: str, browser: requests.Session) -> dict:
    """Name -> a function making one request, as each kind of client would."""
    api = {"Authorization": f"Bearer {token}"}
    return {
        "workspace page": lambda: browser.get(f"{app.base}/workspace/tickets/", timeout=30),
        "API list": lambda: requests.get(f"{app.base}/api/v1/tickets/", headers=api, timeout=30),
        "alert intake": lambda: requests.post(
            f"{app.base}/api/v1/alerts/",
            json={
                "source": "rmm",
                "fingerprint": "disk-1",
                "severity": "warning",
                "summary": "Disk",
            },
            headers=api,
            timeout=30,
        ),
    }


def _timed(call) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _assert_unavailable(app: App, token: str, browser: requests.Session) -> dict:
    """Every kind of request answers 503 with Retry-After in time; returns the timings."""
    timings = {}
    for name, call in _calls(app, token, browser).items():
        response, elapsed = _timed(call)
        assert response.status_code == 503, (name, response.status_code, response.text[:300])
        assert int(response.headers["Retry-After"]) > 0, name
        assert elapsed < ANSWER_WITHIN, (name, elapsed)
        timings[name] = elapsed
    # The API answers in its error shape; pages say what happened.
    assert "database" in _calls(app, token, browser)["API list"]().json()["message"]
    assert "Briefly unavailable" in _calls(app, token, browser)["workspace page"]().text
    health, elapsed = _timed(lambda: requests.get(f"{app.base}/healthz", timeout=30))
    assert health.status_code == 503 and elapsed < 1.0, elapsed
    assert health.json()["checks"]["database"]["ok"] is False
    timings["healthz"] = elapsed
    return timings


def _assert_recovers(app: App, token: str, browser: requests.Session, workers: set[int]) -> float:
    started = time.monotonic()
    while True:
        statuses = {name: call().status_code for name, call in _calls(app, token, browser).items()}
        if statuses["API list"] == 200 and statuses["workspace page"] == 200:
            break
        assert time.monotonic() - started < 20, statuses
        time.sleep(0.2)
    assert statuses["alert intake"] < 500, statuses
    assert app.workers() == workers, "the worker processes were replaced"
    return time.monotonic() - started


def _outage_log(app: App, since: int) -> str:
    return app.log.read_bytes()[since:].decode(errors="replace")


def test_database_stopped_then_started(database, tmp_path):
    # Persistent connections: a stopped server closes them, which the next query sees at once.
    server, token = database
    app = App(server.url("psa"), tmp_path / "app.log", DATABASE_CONN_MAX_AGE="60")
    try:
        browser = _signed_in(app)
        for call in _calls(app, token, browser).values():
            assert call().status_code < 500
        workers = app.workers()
        log_start = app.log.stat().st_size

        server.stop()
        timings = _assert_unavailable(app, token, browser)
        for _ in range(20):  # a burst, as a busy MSP's browsers and monitors would send
            for call in _calls(app, token, browser).values():
                assert call().status_code == 503
        log = _outage_log(app, log_start)
        assert "Traceback" not in log
        # One line per worker process when the outage starts, not one per request (63 here).
        assert len(re.findall(r"Database unreachable", log)) <= 2, log[-3000:]
        assert len(log.splitlines()) <= 6, log[-3000:]

        server.start()
        recovered = _assert_recovers(app, token, browser, workers)
        print(f"stopped database: {timings}; recovered {recovered:.2f} s after start")
    finally:
        app.stop()


@pytest.mark.parametrize("conn_max_age", ["0", "60"], ids=["per-request", "persistent"])
def test_database_hung_then_resumed(database, tmp_path, conn_max_age):
    server, token = database
    app = App(server.url("psa"), tmp_path / "app.log", DATABASE_CONN_MAX_AGE=conn_max_age)
    try:
        browser = _signed_in(app)
        for _ in range(4):  # both workers hold a connection when the server freezes
            for call in _calls(app, token, browser).values():
                assert call().status_code < 500
        workers = app.workers()
        log_start = app.log.stat().st_size

        server.freeze()
        try:
            timings = _assert_unavailable(app, token, browser)
            again = _assert_unavailable(app, token, browser)  # the abandoned connections
            timings.update({f"again: {name}": value for name, value in again.items()})
        finally:
            server.thaw()
        assert "Traceback" not in _outage_log(app, log_start)

        recovered = _assert_recovers(app, token, browser, workers)
        print(f"hung database: {timings}; recovered {recovered:.2f} s after thaw")
    finally:
        app.stop()


# The tickets are opened this long before now: the test waits that much less for their
# one-minute targets.
BACKDATED = 25
OPEN_P1S = """
import json, sys
from datetime import timedelta
import django
django.setup()
from django.utils import timezone
from msp.choices import Tier, UserRole
from sla.models import SLATarget
from tests.factories import ClientFactory, StaffFactory, TeamFactory
from tickets.choices import Impact, Urgency
from tickets.services import ticket_open
SLATarget.objects.filter(priority="P1").update(response_minutes=1)
for tier in (Tier.L1, Tier.L2):
    lead = StaffFactory(role=UserRole.TECHNICIAN, tier=tier)
    TeamFactory(name=f"Team {tier}", tier=tier, lead=lead).members.add(lead)
assignee = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1)
client = ClientFactory()
opened_at = timezone.now() - timedelta(seconds=int(sys.argv[1]))
tickets = [
    ticket_open(client=client, subject=f"Firewall {n}", impact=Impact.HIGH,
                urgency=Urgency.HIGH, assignee=assignee, at=opened_at)
    for n in range(4)
]
print(json.dumps([ticket.pk for ticket in tickets]))
"""

RECORD = """
import json, sys
import django
django.setup()
from msp.choices import OutboxStatus
from msp.models import OutboxMessage
from sla.models import SLAEvent
from tickets.models import Ticket
record = {}
for pk in json.loads(sys.argv[1]):
    ticket = Ticket.objects.get(pk=pk)
    events = SLAEvent.objects.filter(clock__ticket=ticket, clock__kind="response")
    record[pk] = {
        "tier": ticket.tier,
        "events": sorted(events.values_list("key", flat=True)),
        "written_late": max((e.written_at - e.due_at).total_seconds() for e in events)
        if events else None,
        "timeline": sorted(ticket.events.values_list("kind", flat=True)),
    }
unsent = OutboxMessage.objects.exclude(status=OutboxStatus.SENT).count()
print(json.dumps({"tickets": record, "unsent": unsent, "sent": OutboxMessage.objects.count()}))
"""


def _django(script: str, database_url: str, *args: str):
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=_app_env(database_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sla_timers_survive_a_hang_and_a_stop_without_loss_or_doubling(
    database, redis_url, tmp_path
):
    """A real worker and beat, P1 tickets with a one-minute response target: both warnings
    fall due while the database is frozen, the breach while it is stopped. Once it is back,
    every milestone is recorded, escalated and notified once, within seconds, by the same
    worker process (no restart)."""
    import redis

    server, _ = database
    url = server.url("psa")
    redis.Redis.from_url(redis_url).flushdb()
    ids = _django(OPEN_P1S, url, str(BACKDATED))
    opened = time.monotonic()
    env = _app_env(
        url,
        CELERY_BROKER_URL=redis_url,
        MSP_VAR_DIR=str(tmp_path),
        SLA_SWEEP_INTERVAL_SECONDS="2",
        HEARTBEAT_INTERVAL_SECONDS="2",
    )
    celery = [sys.executable, "-m", "celery", "-A", "msp"]
    worker = subprocess.Popen(
        [*celery, "worker", "--concurrency=1", "--loglevel=INFO", "--without-gossip"],
        env=env,
        cwd=ROOT,
        stdout=(tmp_path / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    beat = subprocess.Popen(
        [*celery, "beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"],
        env=env,
        cwd=ROOT,
        stdout=(tmp_path / "beat.log").open("w"),
        stderr=subprocess.STDOUT,
    )

    def at(seconds: float) -> None:
        time.sleep(max(0.0, opened + seconds - time.monotonic()))

    try:
        # Response warnings at 45 s and 54 s, the breach at 60 s after opening.
        at(40 - BACKDATED)
        server.freeze()
        at(57 - BACKDATED)
        server.thaw()
        server.stop()
        at(70 - BACKDATED)
        server.start()
        back = time.monotonic()
        deadline = back + 60
        while True:
            record = _django(RECORD, url, json.dumps(ids))
            done = all(t["tier"] == "L2" for t in record["tickets"].values())
            if (done and record["unsent"] == 0) or time.monotonic() > deadline:
                break
            time.sleep(1)
        settled = time.monotonic() - back
        alive = worker.poll() is None and beat.poll() is None
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            process.wait(timeout=60)
    log = (tmp_path / "worker.log").read_text()
    assert alive, log[-3000:]
    assert log.count("Connected to redis") == 1, "the worker reconnected: it was restarted"
    print(f"settled {settled:.1f} s after the database came back; {record['sent']} messages")
    for pk, ticket in record["tickets"].items():
        assert ticket["events"] == ["breach", "warning-75", "warning-90"], (pk, log[-3000:])
        assert ticket["tier"] == "L2", pk
        timeline = ticket["timeline"]
        assert timeline.count("sla_warning") == 2 and timeline.count("sla_breach") == 1, timeline
        assert timeline.count("escalated") == 1, timeline
        # Written once the database answered again: not at the next restart or claim timeout.
        assert ticket["written_late"] < (70 - 45) + 30, ticket
    assert record["unsent"] == 0
