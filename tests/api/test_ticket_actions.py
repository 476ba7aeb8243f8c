"""Ticket actions that the API gained to match the ticket page (close, parent link, files) and
the unrouted alerts page: same services, same scoping."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import TicketFactory
from tickets import services
from tickets.intake.alerts import AlertIn, alert_receive
from tickets.models import Ticket, UnroutedAlert

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(client_a, policy):
    return TicketFactory(client=client_a, subject="Printer")


class TestCloseAndParent:
    def test_close_a_resolved_ticket(self, ticket, technician, api_as):
        http = api_as(technician)
        services.ticket_resolve(ticket=ticket, actor=technician, resolution="Fixed")
        response = http.post(f"/api/v1/tickets/{ticket.pk}/close/")
        assert response.status_code == 200 and response.json()["status"] == "closed"
        assert http.post(f"/api/v1/tickets/{ticket.pk}/close/").status_code == 409

    def test_link_and_unlink_a_parent(self, ticket, client_a, technician, api_as):
        problem = TicketFactory(client=client_a, subject="Print server")
        http = api_as(technician)
        url = f"/api/v1/tickets/{ticket.pk}/parent/"
        assert http.post(url, {"parent": problem.pk}, format="json").status_code == 200
        assert Ticket.objects.get(pk=ticket.pk).parent_id == problem.pk
        assert http.post(url, {"parent": None}, format="json").status_code == 200
        assert Ticket.objects.get(pk=ticket.pk).parent_id is None

    def test_a_parent_of_another_client_is_refused(self, ticket, client_b, technician, api_as):
        other = TicketFactory(client=client_b)
        response = api_as(technician).post(
            f"/api/v1/tickets/{ticket.pk}/parent/", {"parent": other.pk}, format="json"
        )
        assert response.status_code == 400 and "parent" in response.json()["errors"]

    def test_client_users_do_neither(self, ticket, client_user_a, api_as):
        http = api_as(client_user_a)
        assert http.post(f"/api/v1/tickets/{ticket.pk}/close/").status_code == 403
        response = http.post(
            f"/api/v1/tickets/{ticket.pk}/parent/", {"parent": None}, format="json"
        )
        assert response.status_code == 403


class TestAttachments:
    def test_upload_list_and_download(self, ticket, technician, api_as):
        http = api_as(technician)
        url = f"/api/v1/tickets/{ticket.pk}/attachments/"
        response = http.post(
            url, {"file": SimpleUploadedFile("notes.txt", b"hello")}, format="multipart"
        )
        assert response.status_code == 201, response.json()
        file = response.json()
        assert (file["filename"], file["size"]) == ("notes.txt", 5)
        assert [row["id"] for row in http.get(url).json()["results"]] == [file["id"]]
        download = http.get(f"{url}{file['id']}/")
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == b"hello"
        assert 'filename="notes.txt"' in download["Content-Disposition"]

    def test_an_oversize_file_is_a_clear_error(self, ticket, technician, api_as, settings):
        settings.ATTACHMENT_MAX_BYTES = 5
        response = api_as(technician).post(
            f"/api/v1/tickets/{ticket.pk}/attachments/",
            {"file": SimpleUploadedFile("big.log", b"0123456789")},
            format="multipart",
        )
        assert response.status_code == 400
        assert "big.log is larger than" in str(response.json())
        assert not ticket.attachments.exists()

    def test_files_of_another_clients_ticket_are_unknown(
        self, ticket, client_user_b, technician, api_as
    ):
        http = api_as(technician)
        file = http.post(
            f"/api/v1/tickets/{ticket.pk}/attachments/",
            {"file": SimpleUploadedFile("notes.txt", b"hello")},
            format="multipart",
        ).json()
        other = api_as(client_user_b)
        assert other.get(f"/api/v1/tickets/{ticket.pk}/attachments/").status_code == 404
        assert (
            other.get(f"/api/v1/tickets/{ticket.pk}/attachments/{file['id']}/").status_code == 404
        )
        response = other.post(
            f"/api/v1/tickets/{ticket.pk}/attachments/",
            {"file": SimpleUploadedFile("x.txt", b"x")},
            format="multipart",
        )
        assert response.status_code == 404
        assert ticket.attachments.count() == 1

    def test_a_client_user_adds_a_file_to_their_own_ticket(self, ticket, client_user_a, api_as):
        response = api_as(client_user_a).post(
            f"/api/v1/tickets/{ticket.pk}/attachments/",
            {"file": SimpleUploadedFile("screenshot.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)},
            format="multipart",
        )
        assert response.status_code == 201


def _unrouted(technician) -> UnroutedAlert:
    outcome = alert_receive(
        alert=AlertIn(
            source="zabbix",
            fingerprint="disk-x",
            status="firing",
            severity="critical",
            summary="Disk full",
            details={},
            asset="nowhere-01",
        ),
        user=technician,
        at=timezone.now() - timedelta(minutes=5),
    )
    return UnroutedAlert.objects.get(pk=outcome.unrouted_id)


class TestUnroutedAlerts:
    def test_a_dispatcher_lists_and_routes_one(self, technician, dispatcher, client_a, api_as):
        kept = _unrouted(technician)
        http = api_as(dispatcher)
        listed = http.get("/api/v1/unrouted-alerts/").json()["results"]
        assert [row["id"] for row in listed] == [kept.pk]
        response = http.post(
            f"/api/v1/unrouted-alerts/{kept.pk}/route/", {"client": client_a.pk}, format="json"
        )
        assert response.status_code == 200 and response.json()["action"] == "opened"
        assert Ticket.objects.get(pk=response.json()["ticket"]).client == client_a
        assert http.get("/api/v1/unrouted-alerts/").json()["results"] == []
        again = http.post(
            f"/api/v1/unrouted-alerts/{kept.pk}/route/", {"client": client_a.pk}, format="json"
        )
        assert again.status_code == 404

    def test_a_client_the_dispatcher_does_not_see_is_refused(self, technician, client_b, api_as):
        from tests.factories import StaffFactory, TeamFactory

        kept = _unrouted(technician)
        pod = TeamFactory(name="Pod A")
        dispatcher = StaffFactory(role="dispatcher", tier="", teams=[pod])
        response = api_as(dispatcher).post(
            f"/api/v1/unrouted-alerts/{kept.pk}/route/", {"client": client_b.pk}, format="json"
        )
        assert response.status_code == 400 and "client" in response.json()["errors"]
        assert UnroutedAlert.objects.get(pk=kept.pk).routed_at is None

    @pytest.mark.parametrize("role", ["technician", "account_manager", "client_user_a"])
    def test_other_roles_may_not(self, role, technician, client_a, api_as, request):
        kept = _unrouted(technician)
        http = api_as(request.getfixturevalue(role))
        assert http.get("/api/v1/unrouted-alerts/").status_code == 403
        response = http.post(
            f"/api/v1/unrouted-alerts/{kept.pk}/route/", {"client": client_a.pk}, format="json"
        )
        assert response.status_code == 403
