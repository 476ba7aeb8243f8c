"""Input the API must refuse with a clear 4xx in its error shape, never a 500: deeply nested
JSON, NUL characters, oversized bodies, ids that are not integers; and 409 for actions the
ticket's state does not allow."""

import json

import pytest
from django.test import override_settings

from msp.choices import UserRole
from tests.factories import StaffFactory, TicketFactory
from tickets.choices import TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(api_as):
    return api_as(StaffFactory(role=UserRole.ADMIN))


def post_raw(client, path: str, body: str):
    return client.generic("POST", path, body.encode(), content_type="application/json")


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"message", "errors"} and body["message"]
    return body


def test_deeply_nested_json_is_400(admin_api, client_a):
    for depth in (10_000, 100):
        body = "[" * depth + "]" * depth
        assert_error(post_raw(admin_api, "/api/v1/tickets/", body), 400)
        nested = '{"subject": ' + "[" * depth + "]" * depth + "}"
        assert_error(post_raw(admin_api, "/api/v1/clients/", nested), 400)


@pytest.mark.parametrize(
    "path, payload",
    [
        ("/api/v1/clients/", {"name": "Nul\u0000Corp", "slug": "nul", "timezone": "UTC"}),
        ("/api/v1/clients/", {"name": "Ok", "slug": "ok", "email_domains": ["a\u0000.example"]}),
        ("/api/v1/alerts/", {"source": "x", "fingerprint": "f", "labels": {"k\u0000": "v"}}),
    ],
)
def test_nul_characters_in_any_string_are_400(admin_api, path, payload):
    body = assert_error(post_raw(admin_api, path, json.dumps(payload)), 400)
    assert "NUL" in body["message"]


def test_nul_character_in_a_ticket_action_is_400(admin_api, policy, client_a):
    ticket = TicketFactory(client=client_a)
    response = post_raw(
        admin_api, f"/api/v1/tickets/{ticket.pk}/note/", json.dumps({"body": "a\u0000b"})
    )
    assert_error(response, 400)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_upload_limit_is_413_in_the_error_shape(admin_api, policy, client_a):
    ticket = TicketFactory(client=client_a)
    big = json.dumps({"body": "x" * 2000})
    body = assert_error(post_raw(admin_api, f"/api/v1/tickets/{ticket.pk}/note/", big), 413)
    assert "1000 bytes" in body["message"]
    # Read by something before the parser (request.body): the same answer.
    response = admin_api.generic(
        "POST", "/api/v1/clients/", big.encode(), content_type="application/json"
    )
    assert_error(response, 413)


@pytest.mark.parametrize(
    "value",
    [
        lambda pk: pk + 0.5,  # int() would make it the client's id
        lambda pk: f"{pk}.5",
        lambda pk: True,
        lambda pk: [pk],
        lambda pk: {"id": pk},
    ],
)
def test_an_id_that_is_not_an_integer_is_400(admin_api, policy, client_a, value):
    response = admin_api.post(
        "/api/v1/tickets/", {"client": value(client_a.pk), "subject": "Float id"}, format="json"
    )
    body = assert_error(response, 400)
    assert "client" in body["errors"]


@pytest.mark.parametrize("value", [lambda pk: pk, lambda pk: float(pk)])
def test_an_integral_id_is_still_accepted(admin_api, policy, client_a, value):
    response = admin_api.post(
        "/api/v1/tickets/", {"client": value(client_a.pk), "subject": "Int id"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["client"] == client_a.pk


class TestConflicts:
    def post(self, client, ticket, action, data=None):
        return client.post(f"/api/v1/tickets/{ticket.pk}/{action}/", data or {}, format="json")

    def test_resolving_a_resolved_ticket_is_409(self, admin_api, policy, client_a):
        ticket = TicketFactory(client=client_a)
        assert self.post(admin_api, ticket, "resolve", {"resolution": "Done."}).status_code == 200
        response = self.post(admin_api, ticket, "resolve", {"resolution": "Again."})
        assert "cannot be resolved" in assert_error(response, 409)["message"]
        # A request that is itself wrong stays 400, whatever the ticket's state.
        assert_error(self.post(admin_api, ticket, "resolve", {"resolution": ""}), 400)

    def test_acknowledging_twice_is_409(self, admin_api, policy, client_a):
        ticket = TicketFactory(client=client_a)
        assert self.post(admin_api, ticket, "acknowledge").status_code == 200
        assert_error(self.post(admin_api, ticket, "acknowledge"), 409)

    def test_state_conflicts_of_other_actions_are_409(self, admin_api, policy, client_a):
        ticket = TicketFactory(client=client_a)
        assert_error(self.post(admin_api, ticket, "reopen", {"reason": "Why not"}), 409)
        assert_error(self.post(admin_api, ticket, "status", {"status": "closed"}), 409)
        assert_error(self.post(admin_api, ticket, "status", {"status": "resolved"}), 400)
        for _ in range(2):
            self.post(admin_api, ticket, "escalate", {"reason": "Harder"})
        assert_error(self.post(admin_api, ticket, "escalate", {"reason": "Harder"}), 409)
        assert self.post(admin_api, ticket, "status", {"status": "cancelled"}).status_code == 200
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.CANCELLED
        assert_error(self.post(admin_api, ticket, "note", {"body": "Late"}), 409)
        assert_error(self.post(admin_api, ticket, "assign", {"assignee": None}), 409)
