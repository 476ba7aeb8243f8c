"""What a ticket write costs in SQL, whatever the data: opening a ticket (its clocks and
timeline entry included), over the API and in the service, and a reply."""

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from msp.services import api_token_create
from tests.factories import ContactFactory, TicketFactory
from tickets import services
from tickets.models import AlertSettings

pytestmark = pytest.mark.django_db


def statements(captured) -> list[str]:
    """The statements that reach the data (savepoints are the transaction's own)."""
    return [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]


def test_opening_a_ticket(client_a, policy, technician):
    contact = ContactFactory(client=client_a)
    services.ticket_open(client=client_a, subject="Warm-up", contact=contact)
    with CaptureQueriesContext(connection) as captured:
        ticket = services.ticket_open(
            client=client_a, subject="Printer", contact=contact, created_by=technician
        )
    # The policy (the contract's or the default one) with the contract, the tier's team and
    # the priority matrix's cell as subqueries, its targets and "not acknowledged" rules (on
    # PostgreSQL kept by the process while the policy's digest holds); then one INSERT each
    # for the ticket, its clocks, its timeline.
    assert len(statements(captured)) == (4 if connection.vendor == "postgresql" else 6)
    assert ticket.sla_due_at is not None and ticket.sla_clocks.count() == 2


def test_opening_a_ticket_over_the_api(client_a, policy, technician):
    _, secret = api_token_create(user=technician, name="RMM", scope="write")
    http = HttpClient(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"client": client_a.pk, "subject": "Warm-up"}
    http.post("/api/v1/tickets/", body, content_type="application/json")
    with CaptureQueriesContext(connection) as captured:
        response = http.post(
            "/api/v1/tickets/", {**body, "subject": "Disk full"}, content_type="application/json"
        )
    assert response.status_code == 201
    # The token with its user, the clients the user sees, the client named, and the four of
    # opening; the answer shows the ticket and clocks in hand (nothing read back).
    assert len(statements(captured)) == (7 if connection.vendor == "postgresql" else 9)
    # What the answer shows from memory is what reading the ticket back shows.
    assert response.json() == http.get(f"/api/v1/tickets/{response.json()['id']}/").json()


def test_a_reply(client_a, policy, technician):
    ticket = TicketFactory(client=client_a, contact=ContactFactory(client=client_a))
    services.ticket_reply(ticket=ticket, author=technician, body="Warm-up")
    with CaptureQueriesContext(connection) as captured:
        services.ticket_reply(ticket=ticket, author=technician, body="On my way.")
    # The ticket (locked), its contact, the comment, the timeline entry, the thread so far,
    # the outbox message (looked up by key, inserted), the thread's new message (the same),
    # the clocks (locked), the ticket's first response and summary.
    assert len(statements(captured)) == 11


def test_an_alert_that_fires_again(client_a, policy, technician, server):
    _, secret = api_token_create(user=technician, name="RMM", scope="alerts")
    http = HttpClient(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {
        "source": "rmm",
        "fingerprint": "disk-c",
        "status": "firing",
        "severity": "warning",
        "summary": "Disk C: 95 % full",
        "client": client_a.pk,
        "asset": server.name,
    }
    opened = http.post("/api/v1/alerts/", body, content_type="application/json")
    with CaptureQueriesContext(connection) as captured:
        again = http.post("/api/v1/alerts/", body, content_type="application/json")
    assert again.json()["results"][0] == {
        "fingerprint": "disk-c",
        "action": "repeated",
        "ticket": opened.json()["results"][0]["ticket"],
        "unrouted": None,
    }
    # The token with its user, the clients the user sees, the asset named; then one UPDATE
    # counts the occurrence and one INSERT notes it on the ticket.
    assert len(statements(captured)) == 5


def alertmanager_group(fingerprints, client) -> dict:
    """An Alertmanager webhook with one alert per fingerprint, for one client."""
    return {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "labels": {"alertname": "DiskFull", "client": client.slug, "disk": name},
                "annotations": {"summary": f"Disk {name} full"},
                "fingerprint": name,
            }
            for name in fingerprints
        ],
    }


@pytest.mark.usefixtures("postgres")
def test_a_group_of_alerts_costs_the_same_whatever_its_size(client_a, policy, technician):
    AlertSettings.objects.create(pk=1, storm_threshold=100)  # no storm: see test_alert_groups
    _, secret = api_token_create(user=technician, name="Alertmanager", scope="alerts")
    http = HttpClient(HTTP_AUTHORIZATION=f"Bearer {secret}")
    path = "/api/v1/alerts/alertmanager/"
    http.post(path, alertmanager_group(["warm-up"], client_a), content_type="application/json")
    counted = {}
    for size in (3, 12):
        names = [f"disk-{size}-{n}" for n in range(size)]
        body = alertmanager_group(names, client_a)
        with CaptureQueriesContext(connection) as opened:
            response = http.post(path, body, content_type="application/json")
        assert [r["action"] for r in response.json()["results"]] == ["opened"] * size
        with CaptureQueriesContext(connection) as repeated:
            response = http.post(path, body, content_type="application/json")
        assert [r["action"] for r in response.json()["results"]] == ["repeated"] * size
        counted[size] = (len(statements(opened)), len(statements(repeated)))
    # New alerts: the token with its user, the clients the user sees, the clients named; the
    # UPDATE of repeats (none), the alerts' past episodes, one INSERT of the new ones; their
    # clients locked, the alert settings, storms and recent alert tickets; the opening of the
    # tickets (contracts, policies and targets, teams, the priority matrix, the "not
    # acknowledged" rules, one INSERT each of tickets, clocks and timeline entries); one
    # UPDATE pointing the alerts at their tickets.
    # Repeats: the token, the clients seen, the clients named, one UPDATE counting them all
    # and one INSERT noting them on their tickets.
    assert counted[3] == counted[12] == (20, 5)
