"""Migrations run while the old code still serves (docs/upgrades.md): every migration that is
not in the baseline must be safe to apply under load. Its SQL, as `manage.py sqlmigrate` writes
it for PostgreSQL, is linted by squawk, a PostgreSQL migration linter: no table rewrite, no long
lock on a table that exists already (index without CONCURRENTLY, constraint or foreign key
without NOT VALID, SET NOT NULL, column type change) and nothing that breaks the old code still
running (dropped or renamed columns and tables, a NOT NULL column without a database default).

Tables created by the same migration are exempt: they are empty and unknown to the old code.
A migration that knowingly does one of these things (the contract step of an expand/contract
change, after a release that no longer uses the column) says so and why:

    class Migration(migrations.Migration):
        online_safety_waivers = {"ban-drop-column": "0031 stopped reading ticket.legacy_code"}

Each kind of unsafe migration is proved caught below by a small migration built in the test.
The migrate command's lock timeout (msp/management/commands/migrate.py) is tested at the end.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.postgres.functions import RandomUUID
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import DEFAULT_DB_ALIAS, connection, connections, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.models import Q

from tests.conftest import _missing_service

BASELINE = Path(__file__).with_name("migration_baseline.txt")
HOUSE_APPS = {"msp", "audit", "sla", "contracts", "tickets", "reporting"}

# squawk's rules that do not fit Django's SQL or are handled another way, and why.
EXCLUDED_RULES = {
    # varchar(n) is how Django writes max_length; widening it is metadata-only in PostgreSQL.
    "prefer-text-field": "",
    # Counters and sizes far from 2^31; primary keys are bigint already (DEFAULT_AUTO_FIELD).
    "prefer-bigint-over-int": "",
    "prefer-bigint-over-smallint": "",
    "prefer-identity": "",
    # A migration runs once, in a transaction: IF [NOT] EXISTS would hide a half-applied state.
    "prefer-robust-stmts": "",
    # The migrate command sets lock_timeout for the whole run (MIGRATE_LOCK_TIMEOUT); a
    # statement_timeout would cut a long CREATE INDEX CONCURRENTLY that blocks nobody.
    "require-lock-timeout": "",
    "require-statement-timeout": "",
    # Django replaces a choices check by dropping it and adding the new one: the new one is
    # what matters, and constraint-missing-not-valid checks it.
    "ban-drop-constraint": "",
}


def _squawk() -> str:
    found = Path(sys.executable).with_name("squawk")
    if found.exists():
        return str(found)
    if shutil.which("squawk"):
        return shutil.which("squawk")
    _missing_service("squawk is not installed (bin/setup --dev installs squawk-cli)")
    return ""


def _subject_table(statement: str) -> str | None:
    match = re.search(
        r'(?:ALTER TABLE|DROP TABLE|\bON)\s+(?:ONLY\s+)?(?:IF EXISTS\s+)?"?(\w+)"?',
        statement,
        re.IGNORECASE,
    )
    return match.group(1) if match else None


def lint(sql: str, *, label: str, waivers: dict[str, str] | None = None) -> list[str]:
    """squawk's findings on `sql`, less the excluded rules, the waived ones and those on
    tables that the same SQL creates; each as "rule: statement"."""
    result = subprocess.run(
        [_squawk(), "--reporter", "json", "--stdin-filepath", f"{label}.sql"],
        input=sql,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip().startswith("["):
        raise AssertionError(f"squawk failed on {label}: {result.stderr or result.stdout}")
    created = set(re.findall(r'CREATE TABLE\s+"?(\w+)"?', sql, re.IGNORECASE))
    lines = sql.splitlines()
    findings = []
    for violation in json.loads(result.stdout):
        rule = violation["rule_name"]
        if rule in EXCLUDED_RULES or rule in (waivers or {}):
            continue
        statement = lines[violation["line"]] if violation["line"] < len(lines) else ""
        if _subject_table(statement) in created:
            continue
        findings.append(f"{rule}: {statement.strip()[:160]} ({violation['message']})")
    return findings


def sql_of(migration: migrations.Migration) -> str:
    """The SQL `sqlmigrate` prints for `migration`, applied on top of every migration on disk
    (a made-up migration is not on disk; a real one uses MigrationLoader.collect_sql). On a
    connection of its own, outside the test's transaction: CONCURRENTLY operations refuse to
    be written inside one. Only SQL text is made; nothing is executed."""
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        state = MigrationLoader(own, ignore_no_migrations=True).project_state()
        with own.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
            migration.apply(state, editor, collect_sql=True)
        return "\n".join(editor.collected_sql)
    finally:
        own.close()


def _baseline() -> set[str]:
    return {
        line.strip()
        for line in BASELINE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }


pytestmark = pytest.mark.django_db


@pytest.fixture
def sql_connection(postgres, db):
    return connection


def unsafe_disk_migrations(*, accepted: set[str], only: set[str] | None = None) -> dict:
    """{"app.name": findings} for the project's migrations on disk that are not `accepted`
    (or only those in `only`), with their SQL as sqlmigrate writes it. On a connection of
    its own, outside the test's transaction, as `sql_of`: a migration with atomic = False
    (CREATE INDEX CONCURRENTLY) refuses to be written inside one."""
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        loader = MigrationLoader(own, ignore_no_migrations=True)
        unsafe = {}
        for (app, name), migration in sorted(loader.disk_migrations.items()):
            label = f"{app}.{name}"
            skipped = only is not None and label not in only
            if app not in HOUSE_APPS or label in accepted or skipped:
                continue
            sql = "\n".join(loader.collect_sql([(migration, False)]))
            waivers = getattr(migration, "online_safety_waivers", {})
            findings = lint(sql, label=label, waivers=waivers)
            if findings:
                unsafe[label] = findings
    finally:
        own.close()
    return unsafe


def test_every_migration_outside_the_baseline_is_safe_while_the_app_serves(sql_connection):
    unsafe = unsafe_disk_migrations(accepted=_baseline())
    assert not unsafe, (
        "These migrations would lock or rewrite a table, or break the code still serving, "
        "while they run (docs/upgrades.md says how to write them instead):\n"
        + "\n".join(f"{name}:\n  " + "\n  ".join(found) for name, found in unsafe.items())
    )


def test_the_check_reads_migrations_on_disk_as_sqlmigrate_does(sql_connection):
    """Two migrations of the baseline, checked as if new: the tickets index built without
    CONCURRENTLY (tickets 0008) is caught; the new tables of reporting 0002 pass."""
    caught = unsafe_disk_migrations(
        accepted=set(), only={"tickets.0008_client_created_index", "reporting.0002_report"}
    )
    assert list(caught) == ["tickets.0008_client_created_index"]
    assert caught["tickets.0008_client_created_index"][0].startswith(
        'require-concurrent-index-creation: CREATE INDEX "ticket_client_created_idx"'
    )


def test_the_baseline_is_frozen_to_migrations_that_exist(sql_connection):
    """The baseline lists the migrations accepted as they were (their tables were empty or
    small then); it names only real migrations and never grows past the day it was made."""
    on_disk = {
        f"{app}.{name}"
        for app, name in MigrationLoader(connection, ignore_no_migrations=True).disk_migrations
        if app in HOUSE_APPS
    }
    baseline = _baseline()
    assert baseline <= on_disk, baseline - on_disk
    assert len(baseline) == 52


class Made(migrations.Migration):
    """A migration made up for a test, after every migration on disk."""

    def __init__(self, *operations, atomic: bool = True, waivers: dict | None = None):
        super().__init__("9999_made_up", "tickets")
        self.operations = list(operations)
        self.atomic = atomic
        self.online_safety_waivers = waivers or {}


def _ticket_fk(name: str) -> migrations.AddField:
    return migrations.AddField(
        "ticket",
        name,
        models.ForeignKey("msp.Site", on_delete=models.SET_NULL, null=True, related_name="+"),
    )


UNSAFE = {
    "a NOT NULL column whose default Django drops (old code inserts fail)": (
        Made(migrations.AddField("ticket", "is_vip", models.BooleanField(default=False))),
        "ban-drop-default",
    ),
    "a NOT NULL column without any default": (
        Made(
            migrations.RunSQL('ALTER TABLE "tickets_ticket" ADD COLUMN "weight" integer NOT NULL')
        ),
        "adding-required-field",
    ),
    "a column with a volatile default (table rewrite)": (
        Made(migrations.AddField("ticket", "token", models.UUIDField(db_default=RandomUUID()))),
        "adding-field-with-default",
    ),
    "a column type change (table rewrite)": (
        Made(migrations.AlterField("attachment", "size", models.BigIntegerField())),
        "changing-column-type",
    ),
    "SET NOT NULL on a big table (full scan under lock)": (
        Made(
            migrations.AlterField("ticket", "first_response_at", models.DateTimeField(default=None))
        ),
        "adding-not-nullable-field",
    ),
    "an index without CONCURRENTLY": (
        Made(
            migrations.AddIndex(
                "ticket", models.Index(fields=["closed_at"], name="ticket_closed_idx")
            )
        ),
        "require-concurrent-index-creation",
    ),
    "an index dropped without CONCURRENTLY": (
        Made(migrations.RemoveIndex("ticket", "ticket_created_idx")),
        "require-concurrent-index-deletion",
    ),
    "a check constraint without NOT VALID": (
        Made(
            migrations.AddConstraint(
                "ticket",
                models.CheckConstraint(condition=~Q(subject=""), name="ticket_subject_not_empty"),
            )
        ),
        "constraint-missing-not-valid",
    ),
    "a unique constraint (ACCESS EXCLUSIVE while its index is built)": (
        Made(
            migrations.AddConstraint(
                "timelineevent",
                models.UniqueConstraint(fields=["ticket", "at", "kind"], name="event_once"),
            )
        ),
        "disallowed-unique-constraint",
    ),
    "a foreign key without NOT VALID": (
        Made(_ticket_fk("billing_site")),
        "adding-foreign-key-constraint",
    ),
    "a dropped column (old code still selects it)": (
        Made(migrations.RemoveField("ticket", "category")),
        "ban-drop-column",
    ),
    "a renamed column (old code still uses the old name)": (
        Made(migrations.RenameField("ticket", "subject", "title")),
        "renaming-column",
    ),
    "a dropped table": (Made(migrations.DeleteModel("satisfactionsurvey")), "ban-drop-table"),
    "a renamed table": (Made(migrations.RenameModel("timeentry", "worklog")), "renaming-table"),
}


@pytest.mark.parametrize("kind", list(UNSAFE))
def test_each_kind_of_unsafe_migration_is_caught(sql_connection, kind):
    migration, rule = UNSAFE[kind]
    findings = lint(sql_of(migration), label=kind)
    assert any(finding.startswith(f"{rule}:") for finding in findings), findings


SAFE = {
    "a nullable column": Made(
        migrations.AddField("ticket", "vip_note", models.TextField(null=True))
    ),
    "a NOT NULL column with a database default (old code's inserts get it)": Made(
        migrations.AddField(
            "ticket", "is_vip", models.BooleanField(default=False, db_default=False)
        )
    ),
    "an index built CONCURRENTLY, in a non-atomic migration": Made(
        AddIndexConcurrently(
            "ticket", models.Index(fields=["closed_at"], name="ticket_closed_idx")
        ),
        atomic=False,
    ),
    "a new table with a foreign key to tickets and its indexes": Made(
        migrations.CreateModel(
            "TicketTag",
            [
                ("id", models.BigAutoField(primary_key=True)),
                (
                    "ticket",
                    models.ForeignKey(
                        "tickets.Ticket", on_delete=models.CASCADE, related_name="tags"
                    ),
                ),
                ("name", models.CharField(max_length=50)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=["ticket", "name"], name="ticket_tag_once")
                ]
            },
        )
    ),
    "a dropped column, waived by the contract step of an expand/contract change": Made(
        migrations.RemoveField("ticket", "category"),
        waivers={"ban-drop-column": "the release before stopped reading ticket.category"},
    ),
}


@pytest.mark.parametrize("kind", list(SAFE))
def test_safe_migrations_pass(sql_connection, kind):
    migration = SAFE[kind]
    assert lint(sql_of(migration), label=kind, waivers=migration.online_safety_waivers) == []


ROOT = Path(__file__).resolve().parents[2]


def _connect():
    import psycopg2

    settings_dict = connection.settings_dict
    return psycopg2.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
    )


def _probe_column_exists(cursor) -> bool:
    cursor.execute(
        "SELECT 1 FROM information_schema.columns"
        " WHERE table_name = 'tickets_ticket' AND column_name = 'lock_probe'"
    )
    return cursor.fetchone() is not None


@pytest.mark.slow
def test_migrate_gives_up_on_a_busy_table_instead_of_queueing_every_request(sql_connection):
    """A long transaction (a report, say) has read the tickets table and stays open. A
    migration altering that table must wait for it, and every query on the table queues behind
    the migration: the site stalls. `migrate` waits at most --lock-timeout for its lock, rolls
    back, tries again once, and exits with an error; meanwhile a request reading tickets waits
    about one timeout, not for the long transaction; nothing is applied."""
    long_transaction, request, watcher = _connect(), _connect(), _connect()
    watcher.autocommit = True
    with long_transaction.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket")  # holds ACCESS SHARE until rollback
    migrate = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "migrate",
            "migrate_lock_probe",
            "--lock-timeout=1",
            "--lock-retries=1",
            "--retry-wait=0.5",
            "--no-input",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.msp.migrate_lock_settings",
            "MSP_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait until the migration is queued for its lock on the tickets table.
        with watcher.cursor() as cursor:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and migrate.poll() is None:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND relation = 'tickets_ticket'::regclass"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"the migration never waited for the lock: {migrate.communicate()}")
        queued_at = time.monotonic()
        with request.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tickets_ticket")
        request_wait = time.monotonic() - queued_at
        out, err = migrate.communicate(timeout=60)
        gave_up_after = time.monotonic() - queued_at
    finally:
        if migrate.poll() is None:
            migrate.kill()
        long_transaction.rollback()
        request.rollback()
        with watcher.cursor() as cursor:
            applied = _probe_column_exists(cursor)
            if applied:  # undo, so that the test database stays as migrated
                cursor.execute('ALTER TABLE "tickets_ticket" DROP COLUMN "lock_probe"')
                cursor.execute("DELETE FROM django_migrations WHERE app = 'migrate_lock_probe'")
        for each in (long_transaction, request, watcher):
            each.close()
    assert migrate.returncode != 0, out
    assert not applied, "the migration went through while the table was busy"
    assert "waited 1 s for a lock 2 times and gave up" in err, err
    assert "try 2 of 2" in err, err
    # One lock timeout (1 s) and a little: never the long transaction's lifetime.
    assert request_wait < 2.5, request_wait
    # Two tries of 1 s and a 0.5 s pause, plus the process's own start-up.
    assert gave_up_after < 10, gave_up_after
    print(f"request waited {request_wait:.2f} s; migrate gave up after {gave_up_after:.2f} s")
