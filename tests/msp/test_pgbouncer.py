"""The app behind a real PgBouncer in transaction pooling (README, "Scale"): migrations, ticket
services, the SLA sweep, the API, streamed exports and management commands, each in a process
configured as production is (DATABASE_URL at PgBouncer, PGBOUNCER_TRANSACTION_MODE=true), on a
database made for this module. The pool hands each transaction another server connection
(tests/pgbouncer.py), so anything that relied on session state would fail here; every run also
reports the statements the app sent that leave session state behind, and there must be none.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

from tests.conftest import _missing_service
from tests.msp.pgbouncer_work import AUDIT_ROWS, OPENED
from tests.pgbouncer import PGBOUNCER, fresh_database, pgbouncer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EMAILS = ROOT / "tests" / "tickets" / "emails"


@pytest.fixture(scope="module")
def bouncer(postgres, tmp_path_factory):
    """PgBouncer in front of a new database (default time zone New York, so that Django has a
    session setting to make: its connection's time zone), migrated through PgBouncer."""
    if not shutil.which(PGBOUNCER):
        _missing_service(f"{PGBOUNCER} is not installed (apt-get install pgbouncer)")
    server = settings.TEST_DATABASE_URL
    with fresh_database(server, timezone="America/New_York") as database, pgbouncer(server) as pool:
        pool.fill_pool(database)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "msp.settings.dev",
            "DATABASE_URL": pool.url(database),
            "PGBOUNCER_TRANSACTION_MODE": "true",
            "DEBUG": "false",
            "CELERY_BROKER_URL": "memory://",
            "MSP_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        }
        migrated = manage(env, "migrate", "--no-input")
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        yield {"env": env, "port": pool.port, "database": database}


def manage(env: dict, *args: str, **run) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        **run,
    )


def work(
    bouncer, scenario: str, *, transaction_mode: bool = True, statement_timeout: str = "60"
) -> dict:
    """Run one scenario of tests/msp/pgbouncer_work.py in its own process; its JSON result."""
    env = {
        **bouncer["env"],
        "PGBOUNCER_TRANSACTION_MODE": str(transaction_mode).lower(),
        "DATABASE_STATEMENT_TIMEOUT_SECONDS": statement_timeout,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.msp.pgbouncer_work", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["statements"] > 0
    assert result["session_state"] == []  # no SET, advisory lock, LISTEN, PREPARE, cursor...
    return result


def test_each_transaction_gets_another_server_connection(bouncer):
    """The premise of this module: a session setting made by a client is gone in its next
    transactions, which run on other server connections."""
    connection = psycopg2.connect(
        host="127.0.0.1", port=bouncer["port"], user="postgres", dbname=bouncer["database"]
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '1234ms'")
            seen = []
            for _ in range(4):
                cursor.execute("SELECT current_setting('statement_timeout'), pg_backend_pid()")
                seen.append(cursor.fetchone())
    finally:
        connection.close()
    assert len({backend for _, backend in seen}) == 4
    assert [timeout for timeout, _ in seen].count("1234ms") <= 1


def test_every_migration_applied_through_pgbouncer(bouncer):
    plan = manage(bouncer["env"], "showmigrations", "--plan")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.count("[X]") > 40
    assert "[ ]" not in plan.stdout


def test_the_connection_time_zone_holds_on_every_server_connection(bouncer):
    result = work(bouncer, "time_zone")
    assert result["server_connections"] > 1
    assert result["time_zones"] == ["UTC"]  # not the database's America/New_York


def test_ticket_services_and_two_sla_sweeps_at_once(bouncer):
    result = work(bouncer, "tickets")
    assert result["tickets"] == OPENED
    assert result["clocks"] == 2 * OPENED  # response and resolution (no next-update target)
    assert result["replies"] == 10
    assert result["waiting"] == 5
    # Unanswered: both clocks breached; answered in 5 minutes: only resolution (4 h) breached;
    # waiting on the client since minute 6: resolution paused, not breached.
    assert result["response_breaches"] == {"untouched": 10, "replied": 0}
    assert result["resolution_breaches"] == {"untouched": 10, "replied": 5, "waiting": 0}
    assert result["breached_tickets"] == 15
    # The two sweeps shared the due tickets (skip_locked) and recorded each milestone once.
    assert result["swept_tickets"] == 15
    assert result["milestones"] == result["sla_events"] > 20
    assert result["milestones_again"] == 0
    assert result["outbox_sla"] > 0


def test_ticket_api_create_reply_and_list(bouncer):
    result = work(bouncer, "api")
    assert result["created"] == result["stored"] == 5
    assert (result["reply_status"], result["list_status"]) == (201, 200)
    assert result["listed"] == result["created_ids"]
    assert result["first_response"] == 1


def test_iterators_and_the_streamed_audit_export_read_every_row(bouncer):
    result = work(bouncer, "iterator")
    assert result["rows"] >= AUDIT_ROWS
    assert result["iterated"] == result["rows"]
    assert result["csv_lines"] == result["rows"] + 1  # and the header


def test_without_the_setting_server_side_cursors_break_behind_pgbouncer(bouncer):
    """Why PGBOUNCER_TRANSACTION_MODE exists: outside a transaction, .iterator() declares a
    cursor WITH HOLD on one server connection and fetches from another."""
    # Without the setting the app would also send the statement timeout as a start-up
    # parameter, which PgBouncer refuses outright; leave it out to show the cursor failure.
    result = work(bouncer, "iterator", transaction_mode=False, statement_timeout="0")
    assert "iterated" not in result
    assert "csv_lines" not in result
    assert result["iterator_error"].startswith("InvalidCursorName")
    assert result["csv_error"].startswith("InvalidCursorName")


def test_management_commands(bouncer):
    """Email intake from a file and the health report, each its own process."""
    work(bouncer, "mail_contact")
    ingested = manage(bouncer["env"], "ingest_email", str(EMAILS / "plain.eml"))
    assert ingested.returncode == 0, ingested.stderr[-3000:]
    assert "plain.eml: Processed -> ticket #" in ingested.stdout, ingested.stdout
    status = manage(bouncer["env"], "sla_status")
    report = json.loads(status.stdout)  # exit 1 is allowed: no beat runs here
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["sla_sweep"]["ok"] is True
    assert report["checks"]["outbox"]["failed_last_day"] == 0
