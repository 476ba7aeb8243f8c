"""Time entries over the API: the same services and rules as the timesheet and approval pages."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from msp.choices import UserRole
from tests.factories import StaffFactory, TeamFactory
from tickets.models import RunningTimer, TimeEntry
from tickets.services import ticket_open
from tickets.services import timekeeping as tk

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 23)
URL = "/api/v1/time-entries/"


@pytest.fixture
def ticket(policy, client_a):
    return ticket_open(client=client_a, subject="Printer jams")


@pytest.fixture
def ticket_b(policy, client_b):
    return ticket_open(client=client_b, subject="Bravo VPN down")


def log(ticket, user, minutes=30, day=MONDAY, **kwargs):
    return tk.time_entry_log(ticket=ticket, user=user, minutes=minutes, spent_on=day, **kwargs)


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


class TestLogAndRead:
    def test_log_with_start_and_end_and_read_the_state(self, ticket, technician, api_as):
        api = api_as(technician)
        response = api.post(
            f"/api/v1/tickets/{ticket.pk}/log-time/",
            {
                "started_at": "2026-11-24T09:00:00Z",
                "ended_at": "2026-11-24T09:44:30Z",
                "work_type": "remote",
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["minutes"], body["spent_on"], body["state"]) == (45, "2026-11-24", "draft")
        assert body["ticket"] == ticket.pk and body["client"] == ticket.client_id
        entry = api.get(f"{URL}{body['id']}/").json()
        assert entry["started_at"] == "2026-11-24T09:00:00Z" and entry["rejection_reason"] == ""

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (
                {"started_at": "2026-11-24T10:00:00Z", "ended_at": "2026-11-24T09:00:00Z"},
                "ended_at",
            ),
            ({"started_at": "2026-11-24T10:00:00Z"}, "ended_at"),
            ({}, "minutes"),
            ({"minutes": 0}, "minutes"),
            ({"minutes": 1441}, "minutes"),
            ({"minutes": 30, "work_type": "gardening"}, "work_type"),
            ({"started_at": "yesterday", "ended_at": "2026-11-24T09:00:00Z"}, "started_at"),
        ],
    )
    def test_bad_input_is_400_with_field_details(self, ticket, technician, api_as, body, field):
        response = api_as(technician).post(
            f"/api/v1/tickets/{ticket.pk}/log-time/", body, format="json"
        )
        assert response.status_code == 400
        assert field in response.json()["errors"], response.json()
        assert not TimeEntry.objects.exists()

    def test_staff_list_their_own_managers_their_clients(
        self, ticket, ticket_b, technician, client_a, api_as
    ):
        mine = log(ticket, technician)
        theirs = log(ticket, StaffFactory())
        bravo = log(ticket_b, technician)
        assert set(ids(api_as(technician).get(URL))) == {mine.pk, bravo.pk}
        assert api_as(technician).get(f"{URL}{theirs.pk}/").status_code == 404
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
        assert set(ids(api_as(manager).get(URL))) == {mine.pk, theirs.pk}
        assert api_as(manager).get(f"{URL}{bravo.pk}/").status_code == 404

    def test_filters(self, ticket, technician, api_as):
        monday = log(ticket, technician, day=MONDAY)
        later = log(ticket, technician, day=MONDAY + timedelta(days=8))
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        api = api_as(technician)
        assert ids(api.get(URL, {"state": "submitted"})) == [monday.pk]
        assert ids(api.get(URL, {"spent_from": "2026-11-30"})) == [later.pk]
        assert ids(api.get(URL, {"spent_before": "2026-11-30"})) == [monday.pk]
        assert api.get(URL, {"state": "nonsense"}).status_code == 400

    def test_client_users_are_refused(self, ticket, technician, client_user_a, api_as):
        entry = log(ticket, technician)
        api = api_as(client_user_a)
        assert api.get(URL).status_code == 403
        assert api.get(f"{URL}{entry.pk}/").status_code == 403
        assert api.post(f"{URL}submit/", {"week_start": "2026-11-23"}).status_code == 403
        assert api.post(f"{URL}approve/", {"entries": [entry.pk]}).status_code == 403

    @pytest.mark.parametrize("rows", [3, 30])
    def test_list_query_count_is_fixed(
        self, ticket, technician, api_as, rows, django_assert_num_queries
    ):
        for _ in range(rows):
            log(ticket, technician)
        api = api_as(technician)
        # token (with user), its last use, visible clients, count, page.
        with django_assert_num_queries(5):
            response = api.get(URL, {"page_size": 50})
        assert len(response.json()["results"]) == rows


class TestChanges:
    def test_author_patches_and_deletes_a_draft(self, ticket, technician, api_as):
        entry = log(ticket, technician)
        api = api_as(technician)
        response = api.patch(f"{URL}{entry.pk}/", {"minutes": 50, "note": "more"}, format="json")
        assert response.status_code == 200 and response.json()["minutes"] == 50
        response = api.patch(
            f"{URL}{entry.pk}/",
            {"started_at": "2026-11-25T08:00:00Z", "ended_at": "2026-11-25T08:10:00Z"},
            format="json",
        )
        assert (response.json()["minutes"], response.json()["spent_on"]) == (10, "2026-11-25")
        bad = api.patch(f"{URL}{entry.pk}/", {"minutes": "many"}, format="json")
        assert bad.status_code == 400 and "minutes" in bad.json()["errors"]
        assert api.delete(f"{URL}{entry.pk}/").status_code == 204
        assert not TimeEntry.objects.exists()

    def test_others_entries_are_not_changed_even_by_managers(
        self, ticket, technician, admin_user, api_as
    ):
        entry = log(ticket, technician)
        api = api_as(admin_user)
        assert api.patch(f"{URL}{entry.pk}/", {"minutes": 1}, format="json").status_code == 404
        assert api.delete(f"{URL}{entry.pk}/").status_code == 404
        assert TimeEntry.objects.get().minutes == 30

    def test_submit_recall_approve_reject(self, ticket, technician, account_manager, api_as):
        first, second = log(ticket, technician), log(ticket, technician, 20)
        api = api_as(technician)
        response = api.post(f"{URL}submit/", {"week_start": "2026-11-26"}, format="json")
        assert response.json() == {"submitted": 2}
        # Submitted: locked for the author (409), except recall.
        assert api.patch(f"{URL}{first.pk}/", {"minutes": 1}, format="json").status_code == 409
        assert api.post(f"{URL}{second.pk}/recall/").json()["state"] == "draft"
        api.post(f"{URL}submit/", {"week_start": "2026-11-23"}, format="json")
        manager = api_as(account_manager)
        response = manager.post(f"{URL}approve/", {"entries": [first.pk]}, format="json")
        assert response.status_code == 200
        assert response.json()[0]["state"] == "approved"
        assert response.json()[0]["decided_by"] == account_manager.pk
        no_reason = manager.post(f"{URL}{second.pk}/reject/", {"reason": ""}, format="json")
        assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
        response = manager.post(f"{URL}{second.pk}/reject/", {"reason": "Dup"}, format="json")
        assert (response.json()["state"], response.json()["rejection_reason"]) == (
            "rejected",
            "Dup",
        )
        # Approved is locked for everyone; approving it again is a conflict.
        assert api.delete(f"{URL}{first.pk}/").status_code == 409
        again = manager.post(f"{URL}approve/", {"entries": [first.pk]}, format="json")
        assert again.status_code == 409

    def test_bad_approval_input(self, ticket, ticket_b, technician, client_a, api_as):
        entry = log(ticket_b, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        manager = api_as(StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team]))
        for body in ({}, {"entries": []}, {"entries": ["x"]}, {"entries": [entry.pk]}):
            response = manager.post(f"{URL}approve/", body, format="json")
            assert response.status_code == 400 and "entries" in response.json()["errors"]
        assert manager.post(f"{URL}{entry.pk}/reject/", {"reason": "x"}).status_code == 404
        assert TimeEntry.objects.get().state == "submitted"

    @pytest.mark.parametrize("role", [UserRole.TECHNICIAN, UserRole.DISPATCHER])
    def test_only_managers_decide(self, ticket, technician, role, api_as):
        entry = log(ticket, technician)
        tk.time_entries_submit(user=technician, week_start=MONDAY)
        api = api_as(StaffFactory(role=role))
        response = api.post(f"{URL}approve/", {"entries": [entry.pk]}, format="json")
        assert response.status_code == 403
        response = api.post(f"{URL}{entry.pk}/reject/", {"reason": "x"}, format="json")
        assert response.status_code in (403, 404)
        assert TimeEntry.objects.get().state == "submitted"

    def test_a_manager_does_not_approve_their_own(self, ticket, account_manager, api_as):
        entry = log(ticket, account_manager)
        tk.time_entries_submit(user=account_manager, week_start=MONDAY)
        api = api_as(account_manager)
        response = api.post(f"{URL}approve/", {"entries": [entry.pk]}, format="json")
        assert response.status_code == 403
        assert TimeEntry.objects.get().state == "submitted"

    def test_a_read_token_changes_nothing(self, ticket, technician, api_as):
        entry = log(ticket, technician)
        api = api_as(technician, "read")
        assert api.post(f"{URL}submit/", {"week_start": "2026-11-23"}).status_code == 403
        assert api.delete(f"{URL}{entry.pk}/").status_code == 403


class TestTimer:
    def test_start_stop(self, ticket, technician, api_as):
        api = api_as(technician)
        assert api.get(f"{URL}timer/").status_code == 404
        start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        with time_machine.travel(start, tick=False):
            response = api.post(f"{URL}timer/start/", {"ticket": ticket.pk}, format="json")
        assert response.status_code == 201
        assert response.json() == {
            "timer": {"ticket": ticket.pk, "started_at": "2026-11-24T09:00:00Z"},
            "stopped": None,
        }
        assert api.get(f"{URL}timer/").json()["ticket"] == ticket.pk
        again = api.post(f"{URL}timer/start/", {"ticket": ticket.pk}, format="json")
        assert again.status_code == 409
        with time_machine.travel(start + timedelta(seconds=125), tick=False):
            response = api.post(f"{URL}timer/stop/")
        assert response.status_code == 201
        assert (response.json()["minutes"], response.json()["state"]) == (3, "draft")
        assert api.post(f"{URL}timer/stop/").status_code == 409

    def test_no_timer_on_another_clients_ticket(self, ticket_b, client_a, api_as):
        team = TeamFactory(name="Pod A")
        team.clients.set([client_a])
        api = api_as(StaffFactory(teams=[team]))
        response = api.post(f"{URL}timer/start/", {"ticket": ticket_b.pk}, format="json")
        assert response.status_code == 404
        bad = api.post(f"{URL}timer/start/", {"ticket": "x"}, format="json")
        assert bad.status_code == 400 and "ticket" in bad.json()["errors"]
        assert not RunningTimer.objects.exists()

    def test_discard(self, ticket, technician, api_as):
        api = api_as(technician)
        api.post(f"{URL}timer/start/", {"ticket": ticket.pk}, format="json")
        assert api.post(f"{URL}timer/discard/").status_code == 204
        assert not RunningTimer.objects.exists() and not TimeEntry.objects.exists()
