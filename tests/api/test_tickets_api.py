"""Tickets over the API: list, filters, polling, creation, every action, query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ContactFactory
from tickets.choices import TicketStatus
from tickets.models import Ticket
from tickets.services import ticket_open, ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(client_a):
    return ticket_open(client=client_a, subject="Printer offline", impact="low", urgency="high")


def test_create_as_staff_starts_clocks_and_is_from_the_api(technician, api_as, client_a):
    contact = ContactFactory(client=client_a)
    response = api_as(technician).post(
        "/api/v1/tickets/",
        {
            "client": client_a.pk,
            "contact": contact.pk,
            "subject": "Mailbox full",
            "impact": "high",
            "urgency": "high",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["priority"], body["source"], body["status"]) == ("P1", "api", "new")
    assert {clock["kind"] for clock in body["clocks"]} == {"response", "resolution"}
    assert body["number"] == f"#{body['id']}"


def test_create_refuses_a_contact_of_another_client(technician, api_as, client_a, client_b):
    response = api_as(technician).post(
        "/api/v1/tickets/",
        {"client": client_a.pk, "contact": ContactFactory(client=client_b).pk, "subject": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["contact"] == ["The contact belongs to another client."]
    assert not Ticket.objects.exists()


def test_priority_override_needs_a_reason(technician, api_as, client_a):
    response = api_as(technician).post(
        "/api/v1/tickets/",
        {"client": client_a.pk, "subject": "x", "priority": "P1"},
        format="json",
    )
    assert response.status_code == 400
    assert "priority_override_reason" in response.json()["errors"]


def test_client_user_opens_for_their_own_client_only(client_user_a, api_as, client_b):
    client = api_as(client_user_a)
    response = client.post(
        "/api/v1/tickets/", {"client": client_b.pk, "subject": "VPN down"}, format="json"
    )
    assert response.status_code == 400  # another client is no client of theirs
    assert not Ticket.objects.exists()
    response = client.post("/api/v1/tickets/", {"subject": "VPN down"}, format="json")
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.client == client_user_a.client
    assert ticket.source == "portal"
    response = client.post("/api/v1/tickets/", {"subject": "x", "priority": "P1"}, format="json")
    assert response.json()["errors"]["priority"] == ["Only MSP staff may set this."]


def test_list_filters_and_polling(technician, api_as, client_a, client_b, ticket):
    other = ticket_open(client=client_b, subject="Other")
    client = api_as(technician, "read")
    ids = [row["id"] for row in client.get("/api/v1/tickets/").json()["results"]]
    assert ids == [other.pk, ticket.pk]  # newest first
    only_a = client.get("/api/v1/tickets/", {"client": client_a.pk}).json()["results"]
    assert [row["id"] for row in only_a] == [ticket.pk]
    since = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert client.get("/api/v1/tickets/", {"updated_since": since}).json()["results"] == []
    assert client.get("/api/v1/tickets/", {"q": "Printer"}).json()["results"][0]["id"] == ticket.pk
    response = client.get("/api/v1/tickets/", {"updated_since": "yesterday"})
    assert response.status_code == 400 and "updated_since" in response.json()["errors"]


def test_cursor_pages(technician, api_as, client_a):
    for index in range(5):
        ticket_open(client=client_a, subject=f"T{index}")
    client = api_as(technician, "read")
    page = client.get("/api/v1/tickets/", {"page_size": 2}).json()
    seen = [row["subject"] for row in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [row["subject"] for row in page["results"]]
    assert seen == ["T4", "T3", "T2", "T1", "T0"]


@pytest.mark.parametrize("page_size", [5, 50])
def test_list_query_count_is_fixed(technician, api_as, client_a, page_size):
    for index in range(60):
        ticket_open(client=client_a, subject=f"T{index}")
    client = api_as(technician, "read")
    client.get("/api/v1/tickets/")  # token's last_used_at written once
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/tickets/", {"page_size": page_size})
    assert len(response.json()["results"]) == page_size
    assert len(queries) == 3  # the token with its user; the user's visible clients; the page


def test_detail_has_clocks(technician, api_as, ticket):
    body = api_as(technician, "read").get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert body["description"] == ""
    assert [clock["kind"] for clock in body["clocks"]] == ["resolution", "response"]


class TestActions:
    def post(self, client, ticket, name, data=None):
        return client.post(f"/api/v1/tickets/{ticket.pk}/{name}/", data or {}, format="json")

    def test_the_lifecycle(self, technician, dispatcher, api_as, ticket):
        client = api_as(technician)
        assert self.post(client, ticket, "acknowledge").json()["first_response_at"]
        response = self.post(client, ticket, "reply", {"body": "Looking at it."})
        assert response.status_code == 201 and response.json()["is_public"]
        assert self.post(client, ticket, "note", {"body": "Toner?"}).json()["is_public"] is False
        body = self.post(client, ticket, "assign", {"assignee": dispatcher.pk}).json()
        assert body["assignee"] == dispatcher.pk
        body = self.post(client, ticket, "status", {"status": "waiting_on_client"}).json()
        clocks = {clock["kind"]: clock for clock in body["clocks"]}
        assert clocks["resolution"]["state"] == "paused"
        self.post(client, ticket, "status", {"status": "in_progress"})
        body = self.post(client, ticket, "priority", {"impact": "high", "urgency": "high"}).json()
        assert body["priority"] == "P1"
        assert self.post(client, ticket, "escalate", {"reason": "Hardware"}).json()["tier"] == "L2"
        entry = self.post(client, ticket, "log-time", {"minutes": 30, "work_type": "onsite"})
        assert entry.status_code == 201 and entry.json()["minutes"] == 30
        body = self.post(client, ticket, "resolve", {"resolution": "New toner."}).json()
        assert body["status"] == TicketStatus.RESOLVED
        body = self.post(client, ticket, "reopen", {"reason": "Jams again."}).json()
        assert body["status"] != TicketStatus.RESOLVED
        events = client.get(f"/api/v1/tickets/{ticket.pk}/events/").json()["results"]
        assert {"acknowledged", "reply", "note", "assigned", "status", "resolved", "reopened"} <= {
            event["kind"] for event in events
        }
        assert client.get(f"/api/v1/tickets/{ticket.pk}/time-entries/").json()["count"] == 1

    def test_merge(self, technician, api_as, ticket, client_a, client_b):
        duplicate = ticket_open(client=client_a, subject="Printer offline again")
        foreign = ticket_open(client=client_b, subject="Elsewhere")
        client = api_as(technician)
        response = self.post(client, duplicate, "merge", {"into": foreign.pk})
        assert response.status_code == 400
        body = self.post(client, duplicate, "merge", {"into": ticket.pk}).json()
        assert body["merged_into"] == ticket.pk and body["status"] == "closed"

    def test_bad_input_is_400_never_500(self, technician, api_as, ticket):
        client = api_as(technician)
        assert self.post(client, ticket, "status", {"status": "flying"}).status_code == 400
        response = self.post(client, ticket, "status", {"status": "resolved"})
        assert response.status_code == 400
        assert "resolution note" in response.json()["message"]
        assert self.post(client, ticket, "log-time", {"minutes": -5}).status_code == 400
        assert self.post(client, ticket, "resolve", {"resolution": ""}).status_code == 400
        assert self.post(client, ticket, "reply", {}).status_code == 400
        assert self.post(client, ticket, "assign", {"assignee": 999999}).status_code == 400

    def test_client_user_replies_as_the_client_and_sees_public_comments_only(
        self, client_user_a, technician, api_as, ticket
    ):
        ticket_reply(ticket=ticket, author=technician, body="Public answer")
        client = api_as(client_user_a)
        assert self.post(client, ticket, "reply", {"body": "Thanks"}).status_code == 201
        comments = client.get(f"/api/v1/tickets/{ticket.pk}/comments/").json()["results"]
        assert [c["body"] for c in comments] == ["Public answer", "Thanks"]
        for name in ("note", "acknowledge", "resolve", "log-time"):
            assert self.post(client, ticket, name, {"body": "x"}).status_code == 403
        assert client.get(f"/api/v1/tickets/{ticket.pk}/events/").status_code == 403
