"""Real app work, run by tests/msp/test_pgbouncer.py in a subprocess whose DATABASE_URL points
at PgBouncer in transaction pooling: `python -m tests.msp.pgbouncer_work <scenario>`. Prints
one JSON object: what the scenario counted, and every statement the app sent that would leave
state on a server connection (none expected).

A subprocess because the settings are read once per process: DATABASE_URL and
PGBOUNCER_TRANSACTION_MODE are the production ones (msp.settings.dev reads them as prod does),
not the test settings' database.
"""

import json
import re
import sys
import threading
from datetime import timedelta

# Statements whose effect outlives their transaction on the server connection. SET LOCAL,
# SET CONSTRAINTS and SET TRANSACTION end with the transaction; pg_advisory_xact_* likewise.
SESSION_STATE = re.compile(
    r"^\s*(SET\s+(?!LOCAL\b|CONSTRAINTS\b|TRANSACTION\b)|RESET\b|DISCARD\b|LISTEN\b|UNLISTEN\b"
    r"|NOTIFY\b|PREPARE\b|EXECUTE\b|DEALLOCATE\b|DECLARE\b|LOAD\b|CREATE\s+(TEMP|TEMPORARY)\b)"
    r"|pg_advisory_(?!xact_)|pg_notify\(|set_config\(",
    re.IGNORECASE,
)
OPENED = 20  # P1 tickets opened five hours ago: 5 replied and waiting, 5 replied, 10 untouched
AUDIT_ROWS = 2_600  # more than five of the audit export's 500-row chunks


class Statements:
    """Every statement the app sends, on every thread's connection."""

    def __init__(self):
        self.session_state: list[str] = []
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self._lock:
            self.count += 1
            if SESSION_STATE.search(sql):
                self.session_state.append(sql)
        return execute(sql, params, many, context)


STATEMENTS = Statements()


def watched(work):
    """Run `work` on a thread with its own database connection, its statements recorded."""
    from django.db import connection

    def run():
        try:
            with connection.execute_wrapper(STATEMENTS):
                work()
        finally:
            connection.close()

    return run


def _directory(tag: str):
    from msp.choices import Tier, UserRole
    from tests.factories import ClientFactory, ContactFactory, StaffFactory

    technician = StaffFactory(
        email=f"tech-{tag}@bouncer.example", role=UserRole.TECHNICIAN, tier=Tier.L1
    )
    admin = StaffFactory(
        email=f"admin-{tag}@bouncer.example",
        role=UserRole.ADMIN,
        is_staff=True,
        is_superuser=True,
    )
    client = ClientFactory(name=f"Bouncer {tag}", slug=f"bouncer-{tag}")
    contact = ContactFactory(client=client, email=f"it-{tag}@bouncer.example")
    return technician, admin, client, contact


def scenario_tickets() -> dict:
    """Open P1 tickets through the services, reply, change status, then two SLA sweeps at once
    (skip_locked batches) and a third that must find nothing left to do."""
    from django.utils import timezone

    from msp.models import OutboxMessage
    from sla.choices import ClockKind
    from sla.models import SLAClock, SLAEvent
    from sla.services import default_policy_ensure
    from tickets.choices import Impact, TicketStatus, Urgency
    from tickets.models import Comment, Ticket
    from tickets.services import ticket_change_status, ticket_open, ticket_reply
    from tickets.timers.sweep import sla_sweep

    default_policy_ensure()
    technician, _, client, contact = _directory("tickets")
    now = timezone.now()
    opened_at = now - timedelta(hours=5)
    tickets = [
        ticket_open(
            client=client,
            contact=contact,
            subject=f"Outage {number}",
            impact=Impact.HIGH,
            urgency=Urgency.HIGH,
            assignee=technician,
            at=opened_at,
        )
        for number in range(OPENED)
    ]
    waiting, replied, untouched = tickets[:5], tickets[5:10], tickets[10:]
    for ticket in waiting + replied:
        ticket_reply(
            ticket=ticket, author=technician, body="On it.", at=opened_at + timedelta(minutes=5)
        )
    for ticket in waiting:
        ticket_change_status(
            ticket=ticket,
            actor=technician,
            status=TicketStatus.WAITING_ON_CLIENT,
            at=opened_at + timedelta(minutes=6),
        )

    sweeps = []

    def sweep():
        sweeps.append(sla_sweep(now=now, batch_size=3))

    threads = [threading.Thread(target=watched(sweep)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = sla_sweep(now=now)

    def breaches(group, kind) -> int:
        return SLAEvent.objects.filter(
            clock__ticket__in=group, clock__kind=kind, key="breach"
        ).count()

    return {
        "tickets": Ticket.objects.filter(client=client).count(),
        "clocks": SLAClock.objects.filter(ticket__client=client).count(),
        "replies": Comment.objects.filter(ticket__client=client, is_public=True).count(),
        "waiting": Ticket.objects.filter(
            client=client, status=TicketStatus.WAITING_ON_CLIENT
        ).count(),
        "swept_tickets": sum(result.tickets for result in sweeps),
        "milestones": sum(result.milestones for result in sweeps),
        "milestones_again": again.milestones,
        "sla_events": SLAEvent.objects.filter(clock__ticket__client=client).count(),
        "response_breaches": {
            "untouched": breaches(untouched, ClockKind.RESPONSE),
            "replied": breaches(replied + waiting, ClockKind.RESPONSE),
        },
        "resolution_breaches": {
            "untouched": breaches(untouched, ClockKind.RESOLUTION),
            "replied": breaches(replied, ClockKind.RESOLUTION),
            "waiting": breaches(waiting, ClockKind.RESOLUTION),
        },
        "breached_tickets": Ticket.objects.filter(client=client, sla_breached=True).count(),
        "outbox_sla": OutboxMessage.objects.filter(key__startswith="sla:").count(),
    }


def scenario_api() -> dict:
    """The ticket API through Django's test client with a real token: create, act, list."""
    from rest_framework.test import APIClient

    from msp.services import api_token_create
    from sla.services import default_policy_ensure
    from tickets.models import Ticket

    default_policy_ensure()
    technician, _, client, contact = _directory("api")
    _, secret = api_token_create(user=technician, name="bouncer", scope="write")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    created = []
    for number in range(5):
        response = api.post(
            "/api/v1/tickets/",
            {
                "client": client.pk,
                "contact": contact.pk,
                "subject": f"Mailbox full {number}",
                "impact": "high",
                "urgency": "medium",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        created.append(response.json()["id"])
    replied = api.post(f"/api/v1/tickets/{created[0]}/reply/", {"body": "Looking."}, format="json")
    listed = api.get("/api/v1/tickets/", {"client": client.pk, "page_size": 50})
    return {
        "created": len(created),
        "reply_status": replied.status_code,
        "list_status": listed.status_code,
        "listed": sorted(row["id"] for row in listed.json()["results"]),
        "created_ids": sorted(created),
        "stored": Ticket.objects.filter(client=client, source="api").count(),
        "first_response": Ticket.objects.filter(
            pk=created[0], first_response_at__isnull=False
        ).count(),
    }


def scenario_iterator() -> dict:
    """The audit trail's CSV export (a queryset .iterator() streamed after the view returned,
    outside any transaction) and a plain .iterator(), over thousands of rows."""
    import psycopg2
    from auditlog.models import LogEntry
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.db import DatabaseError
    from django.test import Client as HttpClient
    from django.urls import reverse

    from msp.models import Client

    cursors = (
        "client" if settings.DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS") else "server"
    )
    _, admin, client, _ = _directory(f"iterator-{cursors}")
    client_type = ContentType.objects.get_for_model(Client)
    LogEntry.objects.bulk_create(
        LogEntry(
            content_type=client_type,
            object_pk=str(client.pk),
            object_id=client.pk,
            object_repr=f"{client.name} {number}",
            action=LogEntry.Action.UPDATE,
            changes={"name": ["before", "after"]},
        )
        for number in range(AUDIT_ROWS)
    )
    result: dict = {"rows": LogEntry.objects.count()}
    try:
        result["iterated"] = sum(1 for _ in LogEntry.objects.iterator(chunk_size=500))
    except (DatabaseError, psycopg2.Error) as error:  # what this run reports, not a crash
        result["iterator_error"] = f"{type(error).__name__}: {error}".strip()
    http = HttpClient()
    http.force_login(admin)
    try:
        response = http.get(reverse("workspace:audit-list"), {"format": "csv"})
        body = b"".join(response.streaming_content).decode()
        result["csv_lines"] = len(body.splitlines())
    except (DatabaseError, psycopg2.Error) as error:
        result["csv_error"] = f"{type(error).__name__}: {error}".strip()
    return result


def scenario_time_zone() -> dict:
    """Django sets the connection's time zone once, when it connects (a session SET, the one
    the app makes): every later transaction, whichever server connection it lands on, must
    still read UTC. PgBouncer tracks TimeZone and sets it again on each server connection."""
    from django.db import connection

    seen = []
    backends = set()
    with connection.cursor() as cursor:
        for _ in range(8):
            cursor.execute("SELECT current_setting('TimeZone'), pg_backend_pid()")
            zone, backend = cursor.fetchone()
            seen.append(zone)
            backends.add(backend)
    return {"time_zones": sorted(set(seen)), "server_connections": len(backends)}


def scenario_mail_contact() -> dict:
    """The contact whose email tests/tickets/emails/plain.eml is from, for ingest_email."""
    from sla.services import default_policy_ensure
    from tests.factories import ClientFactory, ContactFactory

    default_policy_ensure()
    client = ClientFactory(name="Acme", slug="acme")
    ContactFactory(client=client, email="paula@acme.example")
    return {"client": client.pk}


SCENARIOS = {
    "mail_contact": scenario_mail_contact,
    "tickets": scenario_tickets,
    "api": scenario_api,
    "iterator": scenario_iterator,
    "time_zone": scenario_time_zone,
}


def main(name: str) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()  # locmem email, the test client's host allowed
    with connection.execute_wrapper(STATEMENTS):
        result = SCENARIOS[name]()
    connection.close()
    result["statements"] = STATEMENTS.count
    result["session_state"] = STATEMENTS.session_state
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
