"""Benchmark: the technician workspace at 100,000 and 1,000,000 tickets.

    .venv/bin/python bench/tickets_workspace.py --tickets 100000
    .venv/bin/python bench/tickets_workspace.py --tickets 1000000 --requests 200

Seeds a separate PostgreSQL database (msp_bench_<N>, kept for reuse; --reseed to rebuild) with
500 clients and N tickets over the past year, 20 % of them open, with comments, timeline
events and SLA clocks, using COPY. Then measures in-process server time (Django test client,
no network) of the "all open" queue page, a filtered and a searched queue, and ticket pages:
median and p95, and SQL queries per request; then the queue's triage: each sort's plan and
page, the page with 100 rows ticked and eight saved views, and a bulk assignment of 20 tickets.
"""

import argparse
import io
import json
import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from records import latency  # noqa: E402 - after the path is set

CLIENTS = 500
WORDS = [
    "printer", "outlook", "vpn", "password", "laptop", "server", "backup", "firewall",
    "email", "teams", "sharepoint", "license", "monitor", "wifi", "slow", "crash",
    "update", "disk", "certificate", "dns", "mailbox", "access",
]  # fmt: skip
CATEGORIES = ["Email", "Network", "Printing", "Accounts", "Hardware", "Software", "Backup"]
OPEN_SHARE = 0.20
BREACHED_SHARE = 0.05  # of concluded clocks
BATCH = 50_000


def configure(database: str, conn_max_age: int = 0) -> None:
    """Set Django up on the bench database; conn_max_age > 0 keeps the connection across
    requests (as a deployment with DATABASE_CONN_MAX_AGE does) instead of one per request."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "msp.settings.dev"
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ["DATABASE_CONN_MAX_AGE"] = str(conn_max_age)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    # Seeding a million tickets runs statements longer than the app's 60 s limit.
    os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_SECONDS", "0")
    import django

    django.setup()
    from msp.startup import settle

    settle()  # as the web processes do (msp/wsgi.py)


def drop_database(database: str) -> None:
    import psycopg2

    admin = psycopg2.connect("postgres://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin.close()


def ensure_database(database: str, reseed: bool) -> bool:
    """Create the bench database if needed; True when it must be seeded."""
    import psycopg2

    admin = psycopg2.connect("postgres://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        exists = cursor.fetchone() is not None
        if exists and reseed:
            cursor.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = False
        if not exists:
            cursor.execute(f'CREATE DATABASE "{database}"')
    admin.close()
    return not exists


def _text_value(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def copy_rows(model, rows: list[dict]) -> None:
    from django.db import connection

    from msp.postgres.base import plain_waits

    # Columns the seed does not name take the model's default, so that a field added later
    # (with a default) does not break the seed.
    defaults = {
        f.column: f.get_default()
        for f in model._meta.concrete_fields
        if f.column not in rows[0] and (f.has_default() or (f.empty_strings_allowed and not f.null))
    }
    fields = [f for f in model._meta.concrete_fields if f.column in rows[0] or f.column in defaults]
    buffer = io.StringIO()
    for row in rows:
        values = (row.get(field.column, defaults.get(field.column)) for field in fields)
        buffer.write("\t".join(_text_value(value) for value in values))
        buffer.write("\n")
    buffer.seek(0)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    # psycopg2 refuses COPY while the app's wait callback (msp/postgres/base.py) is set; a new
    # connection sets it, so connect first.
    connection.ensure_connection()
    with plain_waits(), connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {model._meta.db_table} ({columns}) FROM STDIN", buffer)


def seed(tickets: int, rng: random.Random, open_share: float = OPEN_SHARE) -> None:
    """Seed `tickets` tickets with their comments, timeline and clocks. Batches are made and
    copied by worker processes, one per core, so that Python making rows and PostgreSQL taking
    them run side by side (10M tickets fit in the hour this way)."""
    from django.core.management import call_command
    from django.db import connection, connections

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    people = seed_people(rng)
    batches = [
        (people, start, min(BATCH, tickets - start), rng.getrandbits(64), open_share)
        for start in range(0, tickets, BATCH)
    ]
    workers = min(len(batches), os.cpu_count() or 1)
    # Each forked worker opens its own connection: none may be inherited.
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        indexes = _bulk_load_begin()
        for done in pool.imap_unordered(_seed_batch, batches):
            print(f"  +{done:,} tickets ({time.perf_counter() - started:.0f} s)", flush=True)
        print(f"  rows in {time.perf_counter() - started:.0f} s", flush=True)
        # The largest index first, so that the two workers finish near the same time.
        for name in pool.imap_unordered(_run_statement, sorted(indexes, key=_index_cost)):
            print(f"  index {name} ({time.perf_counter() - started:.0f} s)", flush=True)
    _bulk_load_end()
    from sla.models import SLAClock
    from tickets.models import Comment, Ticket

    with connection.cursor() as cursor:
        for model in (Ticket, Comment, SLAClock):
            table = model._meta.db_table
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            cursor.execute(f"SELECT setval({sequence}, (SELECT MAX(id) FROM {table}))")
        cursor.execute("VACUUM ANALYZE") if connection.connection.autocommit else cursor.execute(
            "ANALYZE"
        )
    print(f"  statistics in {time.perf_counter() - started:.0f} s", flush=True)
    # The clocks' roll-ups per client and month, as the services would have kept them.
    from sla.rollups import sla_rollups_rebuild

    sla_rollups_rebuild()
    print(f"seeded in {time.perf_counter() - started:.0f} s")


def seed_people(rng: random.Random) -> dict:
    """The teams, staff, clients, contacts and assets the tickets refer to, as plain ids."""
    from msp.choices import Tier, UserRole
    from msp.models import Asset, Client, Contact, Site, Team, User
    from sla.services import default_policy_ensure

    policy = default_policy_ensure()
    staff = []
    for tier, count in ((Tier.L1, 15), (Tier.L2, 10), (Tier.L3, 5)):
        # Every team serves every client (an MSP that has not split clients by team).
        team = Team.objects.create(name=f"Bench {tier}", tier=tier, serves_all_clients=True)
        for n in range(count):
            user = User.objects.create_user(
                f"tech-{tier}-{n}@bench.msp",
                "bench-password-1",
                full_name=f"Tech {tier} {n}",
                role=UserRole.TECHNICIAN,
                tier=tier,
            )
            team.members.add(user)
            staff.append(user.pk)
    zones = ["America/New_York", "Europe/Berlin", "Europe/London", "America/Chicago"]
    clients = Client.objects.bulk_create(
        Client(name=f"Bench Client {n:03d}", slug=f"bench-{n:03d}", timezone=rng.choice(zones))
        for n in range(CLIENTS)
    )
    Site.objects.bulk_create(Site(client=c, name=f"Site {k}") for c in clients for k in range(2))
    contacts = Contact.objects.bulk_create(
        Contact(client=c, full_name=f"Person {k} of {c.pk}", email=f"p{k}@c{c.pk}.example")
        for c in clients
        for k in range(5)
    )
    assets = Asset.objects.bulk_create(
        Asset(client=c, name=f"DEV-{c.pk}-{k}", hostname=f"dev-{c.pk}-{k}", rmm_id=f"r-{c.pk}-{k}")
        for c in clients
        for k in range(10)
    )
    contacts_of, assets_of = {}, {}
    for contact in contacts:
        contacts_of.setdefault(contact.client_id, []).append(contact.pk)
    for asset in assets:
        assets_of.setdefault(asset.client_id, []).append(asset.pk)
    return {
        "policy": policy.pk,
        "calendar": policy.calendar_id,
        "staff": staff,
        "clients": [c.pk for c in clients],
        "contacts_of": contacts_of,
        "assets_of": assets_of,
        "teams": {team.tier: team.pk for team in Team.objects.all()},
        "now": datetime.now(UTC),
    }


SEEDED_TABLES = ["tickets_ticket", "tickets_comment", "tickets_timelineevent", "sla_slaclock"]


def _bulk_load_begin() -> list[str]:
    """Ready the seeded tables for a bulk load: their secondary indexes dropped (built once at
    the end, several times faster than kept row by row); the statements to build them again.
    The workers load as replicas, which skips foreign-key checks (the seed's rows are
    consistent by construction); the search triggers are told to fire for them anyway."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [SEEDED_TABLES],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for table, trigger in _search_triggers(cursor):
            cursor.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")
    connection.close()
    return [definition for _, definition in indexes]


def _bulk_load_end() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table, trigger in _search_triggers(cursor):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


def _search_triggers(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
        "WHERE tgrelid::regclass::text = ANY(%s) AND tgname LIKE '%%search_insert'",
        [SEEDED_TABLES],
    )
    return cursor.fetchall()


def _index_cost(definition: str) -> int:
    return (0 if "USING gin" in definition else 1, 0 if "tickets_ticket " in definition else 1)


def _run_statement(statement: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(statement)
    return statement.split()[2]


def _seed_batch(batch: tuple) -> int:
    """Make one batch of tickets (ids from `first` + 1) and copy it in; the count made."""
    from sla.models import SLAClock
    from tickets.models import Comment, Ticket, TimelineEvent

    people, first, size, batch_seed, open_share = batch
    tickets, comments, events, clocks = _ticket_rows(
        people, first, size, random.Random(batch_seed), open_share
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    copy_rows(Ticket, tickets)
    copy_rows(Comment, comments)
    copy_rows(TimelineEvent, events)
    copy_rows(SLAClock, clocks)
    return size


def _ticket_rows(people: dict, first: int, size: int, rng: random.Random, open_share: float):
    now = people["now"]
    staff, clients, teams = people["staff"], people["clients"], people["teams"]
    words = WORDS
    open_statuses = [
        "new",
        "in_progress",
        "in_progress",
        "waiting_on_client",
        "waiting_on_third_party",
    ]
    priorities = ["P1"] * 5 + ["P2"] * 20 + ["P3"] * 45 + ["P4"] * 30
    # Written as JSON once: every clock has the same history.
    history = json.dumps(
        {
            "started_at": now.isoformat(),
            "target": [600, people["calendar"]],
            "running": [[now.isoformat(), None, people["calendar"]]],
            "pauses": [],
            "stopped_at": None,
            "breached_at": None,
            "warnings": [75, 90],
        }
    )
    ticket_rows, event_rows, comment_rows, clock_rows = [], [], [], []
    for pk in range(first + 1, first + size + 1):
        client = clients[rng.randrange(CLIENTS)]
        created = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
        is_open = rng.random() < open_share
        status = (
            rng.choice(open_statuses) if is_open else rng.choice(["resolved", "closed", "closed"])
        )
        tier = rng.choice(["L1"] * 6 + ["L2"] * 3 + ["L3"])
        paused = status == "waiting_on_client"
        due = (
            None if (not is_open or paused) else now + timedelta(minutes=rng.randrange(-2880, 7200))
        )
        assignee = rng.choice(staff) if rng.random() < 0.85 else None
        subject = " ".join(rng.sample(words, 4)).capitalize()
        resolved = None if is_open else created + timedelta(minutes=rng.randrange(10, 5000))
        ticket_rows.append(
            {
                "id": pk,
                "created_at": created,
                "updated_at": resolved or created,
                "client_id": client,
                "contact_id": rng.choice(people["contacts_of"][client]),
                "site_id": None,
                "asset_id": rng.choice(people["assets_of"][client]) if rng.random() < 0.5 else None,
                "subject": subject,
                "description": f"{subject}. " + " ".join(rng.sample(words, 12)),
                "type": "incident",
                "category": rng.choice(CATEGORIES),
                "source": rng.choice(["email", "phone", "portal", "alert", "api"]),
                "impact": "medium",
                "urgency": "medium",
                "priority": rng.choice(priorities),
                "priority_override_reason": "",
                "status": status,
                "tier": tier,
                "team_id": teams[tier],
                "assignee_id": assignee,
                "created_by_id": None,
                "sla_policy_id": people["policy"],
                "parent_id": None,
                "merged_into_id": None,
                "first_response_at": created + timedelta(minutes=30),
                "resolved_at": resolved,
                "closed_at": resolved + timedelta(days=3) if status == "closed" else None,
                "sla_due_at": due,
                "sla_warn_at": due - timedelta(minutes=60) if due else None,
                "sla_breached": bool(due and due < now),
            }
        )
        reply_at = created + timedelta(minutes=30)
        comment_rows.append(
            {
                "id": pk * 2,
                "created_at": reply_at,
                "updated_at": reply_at,
                "ticket_id": pk,
                "author_id": assignee,
                "is_public": True,
                "is_automatic": False,
                "body": "Looking into it now.",
                "body_html": "<p>Looking into it now.</p>",
            }
        )
        comment_rows.append(
            {
                "id": pk * 2 + 1,
                "created_at": reply_at,
                "updated_at": reply_at,
                "ticket_id": pk,
                "author_id": assignee,
                "is_public": False,
                "is_automatic": False,
                "body": "Checked the logs.",
                "body_html": "<p>Checked the logs.</p>",
            }
        )
        for offset, kind, comment in (
            (0, "created", None),
            (30, "reply", pk * 2),
            (31, "note", pk * 2 + 1),
        ):
            event_rows.append(
                {
                    "ticket_id": pk,
                    "kind": kind,
                    "actor_id": assignee,
                    "at": created + timedelta(minutes=offset),
                    "old_value": "",
                    "new_value": "",
                    "detail": "",
                    "comment_id": comment,
                }
            )
        if resolved:
            event_rows.append(
                {
                    "ticket_id": pk,
                    "kind": "resolved",
                    "actor_id": assignee,
                    "at": resolved,
                    "old_value": "",
                    "new_value": "",
                    "detail": "Fixed.",
                    "comment_id": None,
                }
            )
        for kind in ("response", "resolution"):
            running = kind == "resolution" and is_open and not paused
            concluded = not running and not (paused and kind == "resolution")
            breached = concluded and rng.random() < BREACHED_SHARE
            clock_rows.append(
                {
                    "created_at": created,
                    "updated_at": created,
                    "ticket_id": pk,
                    "client_id": client,
                    "kind": kind,
                    "cycle": 1,
                    "state": "running"
                    if running
                    else ("paused" if not concluded else "breached" if breached else "met"),
                    "target_minutes": 600,
                    "started_at": created,
                    "due_at": due if running else None,
                    "warn_at": None,
                    "breached_at": created + timedelta(minutes=600) if breached else None,
                    "stopped_at": (resolved if kind == "resolution" else reply_at)
                    if concluded
                    else None,
                    "spent_seconds": rng.randrange(300, 36000),
                    "paused_seconds": 0,
                    "next_check_at": due if running else None,
                    "extra_checks": {},
                    "milestones_fired": [],
                    "history": history,
                }
            )
    return ticket_rows, comment_rows, event_rows, clock_rows


def measure(label: str, http, urls: str | list[str], requests: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = [urls] if isinstance(urls, str) else urls
    http.get(urls[0])  # warm caches, as a running server has them
    timings, queries = [], set()
    for index in range(requests):
        url = urls[index % len(urls)]
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = http.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        queries.add(len(captured))
    measured = latency(label, timings, queries="/".join(str(q) for q in sorted(queries)))
    print(
        f"  {label:34} p50 {measured['p50_ms']:7.1f} ms   p95 {measured['p95_ms']:7.1f} ms   "
        f"queries {measured['queries']}"
    )
    return measured


def explain(sql_label: str, queryset) -> None:
    plan = queryset.explain()
    scan = "index scan" if "Index" in plan else "NO INDEX"
    print(f"  plan of {sql_label}: {scan} ({plan.splitlines()[0][:90]})")


def open_database(tickets: int, reseed: bool = False, conn_max_age: int = 0) -> str:
    """Point Django at the bench database of this size, seeding it on first use and bringing
    its schema up to date (a database seeded by an older version catches up)."""
    database = f"msp_bench_{tickets}"
    must_seed = ensure_database(database, reseed)
    configure(database, conn_max_age)
    if must_seed:
        try:
            seed(tickets, random.Random(42))
        except BaseException:
            # A half-seeded database would be taken for a seeded one next time.
            from django.db import connections

            connections.close_all()
            drop_database(database)
            raise
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from msp.models import Team

    # Seeded before teams had clients: the bench teams serve every client, as the seed does now.
    Team.objects.filter(name__startswith="Bench ").update(serves_all_clients=True)
    return database


def run(
    *, tickets: int = 100_000, requests: int = 200, reseed: bool = False, conn_max_age: int = 0
) -> list[dict]:
    """Measure the workspace pages; print them as they come and return them as records."""
    database = open_database(tickets, reseed, conn_max_age)

    from django.test import Client as HttpClient

    from msp.models import User
    from tickets.models import Ticket
    from tickets.selectors import Queue, ticket_queue

    technician = User.objects.get(email="tech-l1-0@bench.msp")
    http = HttpClient()
    http.force_login(technician)
    open_count = Ticket.objects.open().count()
    print(f"{Ticket.objects.count():,} tickets, {open_count:,} open, in {database}")
    explain("the all-open queue", ticket_queue(user=technician, queue=Queue.ALL_OPEN)[:50])
    sample = Ticket.objects.open().order_by("?").values_list("pk", flat=True)[:20]
    pages = [
        ("queue: all open, page 1", "/workspace/tickets/?queue=open"),
        ("queue: all open, page 5", "/workspace/tickets/?queue=open&page=5"),
        ("queue: my tier and teams", "/workspace/tickets/?queue=tier"),
        ("queue: one client", "/workspace/tickets/?queue=open&client=250"),
        ("queue: search 'printer vpn'", "/workspace/tickets/?queue=open&q=printer+vpn"),
        ("ticket page (20 open tickets)", [f"/workspace/tickets/{pk}/" for pk in sample]),
    ]
    records = [measure(label, http, urls, requests) for label, urls in pages]
    return records + triage(technician, http, requests)


def triage(technician, http, requests: int) -> list[dict]:
    """The queue's triage (issue 23): each sort's plan and page, the page with 100 rows
    ticked and eight saved views with their counts, and a bulk assignment of 20 tickets."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.models import SavedView, Ticket
    from tickets.selectors import Queue, queue_ordered, ticket_queue

    for sort in ("priority", "-updated", "client"):
        explain(
            f"the open queue sorted by {sort}",
            queue_ordered(ticket_queue(user=technician, queue=Queue.ALL_OPEN), sort)[:100],
        )
    first_page = list(
        ticket_queue(user=technician, queue=Queue.ALL_OPEN).values_list("pk", flat=True)[:100]
    )
    ticked = "&".join(f"selected={pk}" for pk in first_page)
    SavedView.objects.filter(owner=technician).delete()
    for index, querystring in enumerate(
        [
            "priority=P1",
            "priority=P2&sort=client",
            "queue=unassigned",
            "queue=breaching",
            "queue=tier&sort=-updated",
            "client=250",
            "status=waiting_on_client",
            "queue=open&q=printer",
        ]
    ):
        SavedView.objects.create(
            owner=technician, name=f"Bench view {index}", querystring=querystring
        )
    pages = [
        ("queue: sorted by priority, 100 rows", "/workspace/tickets/?sort=priority&per_page=100"),
        ("queue: sorted by -updated, 100 rows", "/workspace/tickets/?sort=-updated&per_page=100"),
        ("queue: sorted by client, 100 rows", "/workspace/tickets/?sort=client&per_page=100"),
        ("queue: 100 rows, 100 ticked, 8 views", f"/workspace/tickets/?per_page=100&{ticked}"),
    ]
    records = [measure(label, http, urls, requests) for label, urls in pages]
    SavedView.objects.filter(owner=technician).delete()

    # A bulk assignment of 20 open tickets, to the technician and back to nobody, in turns:
    # each request is twenty single-ticket assignments, each in its own transaction.
    chosen = first_page[:20]  # open tickets the technician sees, as ticked on the page
    timings, queries, changed = [], set(), 0
    rounds = max(4, requests // 10)
    for index in range(rounds):
        data = {
            "action": "assign",
            "tickets": chosen,
            "assignee": technician.pk if index % 2 == 0 else "",
            "next": "/workspace/tickets/",
        }
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = http.post("/workspace/tickets/bulk/", data)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 302:
            raise SystemExit(f"bulk assign answered {response.status_code}")
        queries.add(len(captured))
        changed = Ticket.objects.filter(pk__in=chosen, assignee=technician).count()
    measured = latency(
        "bulk assign of 20 tickets", timings, queries="/".join(str(q) for q in sorted(queries))
    )
    print(
        f"  {'bulk assign of 20 tickets':34} p50 {measured['p50_ms']:7.1f} ms   "
        f"p95 {measured['p95_ms']:7.1f} ms   queries {measured['queries']}   "
        f"({len(chosen)} chosen, {changed} assigned after the last round)"
    )
    Ticket.objects.filter(pk__in=chosen).update(assignee=None)
    return [*records, measured]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="seconds to keep the database connection (0: one connection per request)",
    )
    options = parser.parse_args()
    run(
        tickets=options.tickets,
        requests=options.requests,
        reseed=options.reseed,
        conn_max_age=options.conn_max_age,
    )


if __name__ == "__main__":
    main()
