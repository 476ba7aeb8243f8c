"""The restore drill, as an operator runs it: bin/backup of a database with tickets, SLA clocks
and their events, a report and an attached file; bin/restore into a new database and media
folder; then every table and file compared, and the app started on the copy."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.utils import timezone

from msp.periods import Period
from reporting.services import report_generate
from sla.models import SLAClock, SLAEvent
from tests.conftest import _missing_service
from tests.factories import ClientFactory, StaffFactory
from tickets.choices import Impact, Urgency
from tickets.services import attachment_add, ticket_open, ticket_reply
from tickets.timers.sweep import sla_sweep

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # processes, pg_dump and pg_restore: seconds each

# Bytes no compression or text handling could leave unchanged by accident.
ATTACHMENT = bytes(range(256)) * 1024 + b"the end"


@pytest.fixture
def postgres_tools(postgres):
    for tool in ("pg_dump", "pg_restore", "psql"):
        if not shutil.which(tool):
            _missing_service(f"{tool} is not installed (apt-get install postgresql-client)")


@pytest.fixture
def restored_database(postgres_tools):
    """The name of a database that does not exist yet; dropped after the test."""
    name = f"msp_h3_restored_{uuid.uuid4().hex[:8]}"
    yield name
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_sql(sql: str, params: tuple = ()) -> None:
    admin = psycopg2.connect(**_dsn("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql, params or None)
    finally:
        admin.close()


def _dsn(name: str) -> dict:
    settings = connection.settings_dict
    dsn = {"dbname": name, "host": settings["HOST"], "port": settings["PORT"] or 5432}
    for key, setting in (("user", "USER"), ("password", "PASSWORD")):
        if settings[setting]:
            dsn[key] = settings[setting]
    return dsn


def _env(database: str, media_root: Path, var_dir: Path) -> dict:
    """The app's environment pointed at one database and media folder (dev settings: no
    secrets needed; the scripts read DATABASE_URL and MEDIA_ROOT as production does)."""
    settings = connection.settings_dict
    user = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    host = f"{settings['HOST']}:{settings['PORT'] or 5432}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "msp.settings.dev",
        "DATABASE_URL": f"postgres://{user}@{host}/{database}",
        "MEDIA_ROOT": str(media_root),
        "MSP_VAR_DIR": str(var_dir),
        "ALLOWED_HOSTS": "testserver",
    }


def _run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _tables(name: str) -> dict[str, list[tuple]]:
    """Every table of the app's schema, every row in key order."""
    with psycopg2.connect(**_dsn(name)) as database, database.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = sorted(row[0] for row in cursor.fetchall())
        content = {}
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY 1')  # noqa: S608 - our tables
            content[table] = cursor.fetchall()
    database.close()
    return content


def _files(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _seed(policy) -> dict:
    """Tickets whose SLA clocks were breached (events from the sweep), a reply, a report of
    last month and an attachment."""
    client = ClientFactory()
    technician = StaffFactory()
    opened = timezone.now() - timedelta(days=3)
    tickets = [
        ticket_open(
            client=client,
            subject=f"Backup drill {number}",
            impact=Impact.HIGH,
            urgency=Urgency.HIGH,
            at=opened,
        )
        for number in range(3)
    ]
    ticket_reply(ticket=tickets[0], author=technician, body="On it.", at=opened)
    sla_sweep()
    attachment = attachment_add(
        ticket=tickets[1],
        upload=SimpleUploadedFile("switch-config.bin", ATTACHMENT),
        user=technician,
    )
    # In the client's zone: just after midnight UTC on the 1st its month may not have ended.
    today = timezone.localdate(timezone.now(), ZoneInfo(client.timezone))
    last_month = Period.last_finished("month", today)
    report = report_generate(client=client, period=last_month)
    assert SLAEvent.objects.filter(clock__ticket__in=tickets).exists()
    return {"ticket": tickets[1], "attachment": attachment, "report": report, "user": technician}


@pytest.mark.django_db(transaction=True)  # bin/backup reads what the test committed
def test_backup_restores_into_a_new_database_whole_and_the_app_runs_on_it(
    policy, postgres_tools, restored_database, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    seeded = _seed(policy)
    source = connection.settings_dict["NAME"]
    source_env = _env(source, tmp_path / "media", tmp_path / "var")

    backup = _run([str(ROOT / "bin" / "backup"), str(tmp_path / "backups")], source_env)
    assert backup.returncode == 0, backup.stderr
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"]["rows"]["tickets_ticket"] == 3
    assert manifest["database"]["rows"]["sla_slaclock"] == SLAClock.objects.count()
    assert manifest["media"]["files"] == 1
    assert manifest["database"]["migrations"][-1].count(".") >= 1
    assert oct(folder.stat().st_mode & 0o777) == "0o700"

    target_media = tmp_path / "restored-media"
    target_env = _env(restored_database, target_media, tmp_path / "var")
    restore = _run([str(ROOT / "bin" / "restore"), str(folder)], target_env)
    assert restore.returncode == 0, restore.stdout + restore.stderr

    # Identical: every table row for row, every file byte for byte.
    connection.close()
    original, restored = _tables(source), _tables(restored_database)
    assert restored.keys() == original.keys()
    for table in ("tickets_ticket", "sla_slaclock", "sla_slaevent", "reporting_report"):
        assert restored[table] and restored[table] == original[table], table
    assert restored == original
    assert _files(target_media) == _files(tmp_path / "media")
    assert (target_media / seeded["attachment"].file.name).read_bytes() == ATTACHMENT

    # The app starts on the copy: its schema is current and it serves the restored data.
    check = _run([sys.executable, "manage.py", "migrate", "--check"], target_env)
    assert check.returncode == 0, check.stdout + check.stderr
    pages = _run([sys.executable, "-c", _PAGES.format(**_page_args(seeded))], target_env)
    assert pages.returncode == 0, pages.stdout + pages.stderr
    assert json.loads(pages.stdout.splitlines()[-1]) == {
        "healthz_database": True,
        "ticket": [200, True],
        "attachment": [200, True],
        "report": [200, True],
    }

    # A second restore into the now non-empty database is refused, and changes nothing.
    shutil.rmtree(target_media)
    restored = _tables(restored_database)
    again = _run([str(ROOT / "bin" / "restore"), str(folder)], target_env)
    assert again.returncode == 2
    assert "not empty" in again.stderr
    assert _tables(restored_database) == restored
    assert not target_media.exists()


def _page_args(seeded: dict) -> dict:
    return {
        "email": seeded["user"].email,
        "ticket": seeded["ticket"].pk,
        "subject": seeded["ticket"].subject,
        "attachment": seeded["attachment"].pk,
        "report": seeded["report"].pk,
        "size": len(ATTACHMENT),
    }


# Run in the restored app's own process: Django's test client, signed in as the technician.
_PAGES = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from django.test import Client
    from django.urls import reverse
    from msp.models import User

    client = Client()
    client.force_login(User.objects.get(email="{email}"))
    health = client.get("/healthz").json()
    ticket = client.get(reverse("tickets:detail", args=[{ticket}]))
    file = client.get(reverse("tickets:attachment", args=[{ticket}, {attachment}]))
    body = b"".join(file.streaming_content) if file.streaming else file.content
    report = client.get(reverse("reporting:detail", args=[{report}]))
    print(json.dumps({{
        "healthz_database": health["checks"]["database"]["ok"],
        "ticket": [ticket.status_code, "{subject}" in ticket.content.decode()],
        "attachment": [file.status_code, len(body) == {size}],
        "report": [report.status_code, b"report" in report.content.lower()],
    }}))
    """
)


def test_restore_refuses_a_backup_whose_files_were_damaged(tmp_path):
    folder = tmp_path / "backup-20260101T000000Z"
    folder.mkdir()
    (folder / "database.dump").write_bytes(b"changed after the backup")
    manifest = {"database.dump": {"bytes": 5, "sha256": hashlib.sha256(b"dump").hexdigest()}}
    (folder / "manifest.json").write_text(json.dumps({"files": manifest}))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "msp.settings.dev", "MSP_VAR_DIR": str(tmp_path)}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'never.sqlite3'}"
    result = _run([str(ROOT / "bin" / "restore"), str(folder)], env)
    assert result.returncode == 2
    assert "database.dump is missing or damaged" in result.stderr
    assert not (tmp_path / "never.sqlite3").exists()


def test_a_backup_from_an_older_version_is_migrated_up_on_restore(
    postgres_tools, django_db_setup, tmp_path
):
    """A backup whose schema lacks the newest migration (made before an upgrade) restores, and
    bin/restore applies the missing migration: the app's schema is current afterwards."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    (newest,) = graph.leaf_nodes("sla")
    (before,) = [p for p in graph.node_map[newest].parents if p.key[0] == "sla"]
    older, restored = (f"msp_h3_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("older", "upgraded"))
    # A copy of the test database (migrated already), taken one migration back.
    # A template must have no other session: close this thread's connections (the "replica"
    # alias mirrors the same database), then end any left by other threads of this worker (a
    # live server's, an earlier test's); the test database is this worker's own.
    # Waits (5 s at most) for each to end: a closed session's backend exits asynchronously.
    template = connection.settings_dict["NAME"]
    connections.close_all()
    _admin_sql(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (template,),
    )
    _admin_sql(f'CREATE DATABASE "{older}" TEMPLATE "{template}"')
    try:
        env = _env(older, tmp_path / "media", tmp_path / "var")
        done = _run([sys.executable, "manage.py", "migrate", "sla", before.key[1], "-v0"], env)
        assert done.returncode == 0, done.stderr
        backup = _run([str(ROOT / "bin" / "backup"), str(tmp_path / "backups")], env)
        assert backup.returncode == 0, backup.stderr
        (folder,) = (tmp_path / "backups").iterdir()
        migrations = json.loads((folder / "manifest.json").read_text())["database"]["migrations"]
        assert f"sla.{newest[1]}" not in migrations

        target = _env(restored, tmp_path / "restored-media", tmp_path / "var")
        restore = _run([str(ROOT / "bin" / "restore"), str(folder)], target)
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert f"Applying sla.{newest[1]}... OK" in restore.stdout
        check = _run([sys.executable, "manage.py", "migrate", "--check"], target)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        for name in (older, restored):
            _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
