from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from msp.choices import Tier, UserRole
from sla.choices import ClockKind, ClockState
from tests.factories import AssetFactory, ClientFactory, ContactFactory, SiteFactory, StaffFactory
from tests.helpers import signed_in
from tickets import services
from tickets.choices import Impact, TicketStatus, Urgency
from tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db


def queue_numbers(response) -> list[int]:
    return [ticket.pk for ticket in response.context["page"].rows]


@pytest.fixture
def now():
    # A Wednesday morning in New York: business hours, no holiday.
    moment = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        yield moment


def open_ticket(client, minutes_ago=0, now=None, **kwargs):
    kwargs.setdefault("subject", "Something broke")
    return services.ticket_open(
        client=client, at=(now or timezone.now()) - timedelta(minutes=minutes_ago), **kwargs
    )


class TestQueues:
    def test_all_open_sorted_by_next_sla_deadline(self, now, policy, technician, client_a):
        p4 = open_ticket(client_a, now=now, impact=Impact.LOW, urgency=Urgency.LOW)
        p1 = open_ticket(client_a, now=now, impact=Impact.HIGH, urgency=Urgency.HIGH)
        p2_old = open_ticket(client_a, 50, now=now, impact=Impact.HIGH, urgency=Urgency.MEDIUM)
        paused = open_ticket(client_a, now=now)
        services.ticket_change_status(
            ticket=paused, actor=technician, status=TicketStatus.WAITING_ON_CLIENT
        )
        resolved = open_ticket(client_a, now=now)
        services.ticket_resolve(ticket=resolved, actor=technician, resolution="done")
        response = signed_in(technician).get(reverse("tickets:queue"))
        # P2 response due in 10 min, P1 in 15 min, P4 in 2 days; paused last; resolved absent.
        assert queue_numbers(response) == [p2_old.pk, p1.pk, p4.pk, paused.pk]

    def test_each_queue(self, now, policy, technician, client_a, teams):
        mine = open_ticket(client_a, now=now, assignee=technician)
        unassigned = open_ticket(client_a, now=now, impact=Impact.LOW, urgency=Urgency.LOW)
        l2 = open_ticket(client_a, now=now, tier=Tier.L2)
        urgent = open_ticket(client_a, now=now, impact=Impact.HIGH, urgency=Urgency.HIGH)
        http = signed_in(technician)  # an L1 technician

        def queue(name):
            return set(queue_numbers(http.get(reverse("tickets:queue"), {"queue": name})))

        assert queue("mine") == {mine.pk}
        assert queue("unassigned") == {unassigned.pk, l2.pk, urgent.pk}
        assert queue("tier") == {mine.pk, unassigned.pk, urgent.pk}
        assert queue("breaching") == {urgent.pk}  # P1 response due in 15 minutes
        assert queue("open") == {mine.pk, unassigned.pk, l2.pk, urgent.pk}

    def test_filters_and_search(self, now, policy, technician, client_a, client_b):
        printer = open_ticket(client_a, now=now, subject="Printer jams on tray 2")
        other = open_ticket(
            client_b, now=now, subject="Mailbox full", impact=Impact.HIGH, urgency=Urgency.HIGH
        )
        http = signed_in(technician)
        url = reverse("tickets:queue")
        assert queue_numbers(http.get(url, {"client": client_b.pk})) == [other.pk]
        assert queue_numbers(http.get(url, {"priority": "P1"})) == [other.pk]
        assert queue_numbers(http.get(url, {"q": "printer"})) == [printer.pk]
        assert queue_numbers(http.get(url, {"q": f"#{other.pk}"})) == [other.pk]
        assert queue_numbers(http.get(url, {"q": "nothing-like-this"})) == []

    def test_htmx_filter_returns_only_the_results(self, now, policy, technician, client_a):
        open_ticket(client_a, now=now)
        response = signed_in(technician).get(
            reverse("tickets:queue"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results"
        )
        assert b"<nav" in response.content and b"queue-filters" not in response.content

    @pytest.mark.parametrize("rows", [2, 60])
    def test_queue_query_count_does_not_depend_on_rows(
        self, now, policy, technician, client_a, django_assert_num_queries, rows
    ):
        other_clients = ClientFactory.create_batch(3)
        for index in range(rows):
            open_ticket(
                other_clients[index % 3] if index % 2 else client_a, now=now, assignee=technician
            )
        http = signed_in(technician)
        # session, user, the user's visible clients (once), the page of tickets with their
        # client/assignee/team/contact, the client and assignee choices of the filter form,
        # the saved views (none here: no count query), the bulk bar's assignees and teams.
        with django_assert_num_queries(9):
            response = http.get(reverse("tickets:queue"))
        assert len(response.context["page"].rows) == min(rows, 50)

    def test_client_users_cannot_open_the_workspace(self, client_user_a):
        assert signed_in(client_user_a).get(reverse("tickets:queue")).status_code == 403


class TestTicketPage:
    @pytest.fixture
    def ticket(self, now, policy, client_a):
        return open_ticket(client_a, now=now, contact=ContactFactory(client=client_a))

    def test_shows_clocks_and_timeline(self, ticket, technician):
        content = (
            signed_in(technician).get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
        )
        assert ticket.subject in content and "Response" in content and "Resolution" in content
        assert 'data-kind="created"' in content

    def test_query_count_is_fixed(self, ticket, technician, django_assert_num_queries):
        for index in range(8):
            services.ticket_note(ticket=ticket, author=technician, body=f"note {index}")
            services.time_entry_log(ticket=ticket, user=technician, minutes=5)
        http = signed_in(technician)
        # session, user, the user's visible clients, ticket with its joins, clocks, events
        # (with actor and comment), time entries (with user), attachments, children, the
        # clocks' breach exemptions, the assignee choices, the contact choices.
        with django_assert_num_queries(12):
            http.get(reverse("tickets:detail", args=[ticket.pk]))

    def test_unknown_ticket_is_404(self, technician):
        assert (
            signed_in(technician).get(reverse("tickets:detail", args=[999999])).status_code == 404
        )

    def test_reply_through_htmx_returns_the_refreshed_ticket(self, ticket, technician):
        response = signed_in(technician).post(
            reverse("tickets:reply", args=[ticket.pk]),
            {"body": "On my way"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        assert "Reply sent." in response.content.decode()
        assert ticket.sla_clocks.get(kind=ClockKind.RESPONSE).state == ClockState.MET

    def test_empty_reply_is_a_form_error_and_nothing_is_saved(self, ticket, technician):
        response = signed_in(technician).post(
            reverse("tickets:reply", args=[ticket.pk]), {"body": ""}
        )
        assert response.status_code == 400
        assert "This field is required" in response.content.decode()
        assert not Comment.objects.exists()

    def test_oversize_attachment_is_a_form_error(self, ticket, technician, settings):
        settings.ATTACHMENT_MAX_BYTES = 5
        upload = SimpleUploadedFile("big.log", b"0123456789")
        response = signed_in(technician).post(
            reverse("tickets:reply", args=[ticket.pk]), {"body": "log", "attachments": upload}
        )
        assert response.status_code == 400
        assert "big.log is larger than" in response.content.decode()
        assert not Comment.objects.exists()

    def test_attachment_upload_and_scoped_download(self, ticket, technician, client_b):
        http = signed_in(technician)
        http.post(
            reverse("tickets:attach", args=[ticket.pk]),
            {"attachments": SimpleUploadedFile("notes.txt", b"hello")},
        )
        attachment = ticket.attachments.get()
        response = http.get(reverse("tickets:attachment", args=[ticket.pk, attachment.pk]))
        assert b"".join(response.streaming_content) == b"hello"
        assert (
            http.get(reverse("tickets:attachment", args=[ticket.pk + 1, attachment.pk])).status_code
            == 404
        )

    def test_priority_override_without_reason_is_refused(self, ticket, technician):
        response = signed_in(technician).post(
            reverse("tickets:priority", args=[ticket.pk]),
            {"impact": Impact.LOW, "urgency": Urgency.MEDIUM, "priority": "P1", "reason": ""},
        )
        assert response.status_code == 400
        assert "say why this ticket is P1" in response.content.decode()
        ticket.refresh_from_db()
        assert ticket.priority == "P4"

    def test_illegal_status_change_is_refused(self, ticket, technician):
        services.ticket_resolve(ticket=ticket, actor=technician, resolution="Done")
        response = signed_in(technician).post(
            reverse("tickets:status", args=[ticket.pk]), {"status": TicketStatus.IN_PROGRESS}
        )
        assert response.status_code == 400
        assert "cannot become in progress" in response.content.decode()

    def test_every_action_over_http(self, ticket, technician, teams, policy, client_a):
        http = signed_in(technician)

        def post(name, data=None):
            response = http.post(reverse(f"tickets:{name}", args=[ticket.pk]), data or {})
            assert response.status_code == 302, response.content.decode()[:2000]

        post("acknowledge")
        post("take")
        post("note", {"body": "internal"})
        post("status", {"status": TicketStatus.WAITING_ON_THIRD_PARTY, "note": "Vendor case 123"})
        post(
            "priority",
            {"impact": Impact.HIGH, "urgency": Urgency.LOW, "priority": "", "reason": ""},
        )
        post("time", {"minutes": "30", "work_type": "remote", "billable": "on", "note": "diag"})
        parent = open_ticket(client_a, subject="Site-wide outage")
        post("parent", {"parent": parent.pk})
        post("escalate", {"reason": "Needs L2"})
        post("assign", {"assignee": ""})
        post("resolve", {"resolution": "Replaced the PSU"})
        post("reopen", {"reason": "Failed again"})
        post("resolve", {"resolution": "Replaced the board"})
        preview = http.post(reverse("tickets:close", args=[ticket.pk]))
        assert preview.status_code == 200 and b"Closing is final" in preview.content
        post("close", {"confirm": preview.context["confirm_token"]})
        ticket.refresh_from_db()
        assert ticket.parent == parent
        assert (ticket.status, ticket.tier, ticket.priority, ticket.assignee) == (
            TicketStatus.CLOSED,
            Tier.L2,
            "P3",
            None,
        )
        duplicate = open_ticket(client_a, subject="dup")
        response = http.post(reverse("tickets:merge", args=[duplicate.pk]), {"target": ticket.pk})
        assert response.status_code == 400  # the target is closed
        target = open_ticket(client_a, subject="target")
        url = reverse("tickets:merge", args=[duplicate.pk])
        response = http.post(url, {"target": target.pk})
        assert response.status_code == 200  # the preview: nothing merged yet
        duplicate.refresh_from_db()
        assert duplicate.merged_into is None
        token = response.context["confirm_token"]
        response = http.post(url, {"target": target.pk, "confirm": token})
        assert response.status_code == 302
        duplicate.refresh_from_db()
        assert duplicate.merged_into == target

    def test_client_users_cannot_reach_ticket_pages_or_actions(self, ticket, client_user_a):
        http = signed_in(client_user_a)
        assert http.get(reverse("tickets:detail", args=[ticket.pk])).status_code == 403
        assert (
            http.post(reverse("tickets:reply", args=[ticket.pk]), {"body": "x"}).status_code == 403
        )
        assert not Comment.objects.exists()

    def test_sla_fragment(self, ticket, technician):
        response = signed_in(technician).get(reverse("tickets:sla", args=[ticket.pk]))
        assert 'id="sla-clocks"' in response.content.decode()


class TestPhoneIntake:
    def test_open_a_ticket_by_phone(self, now, policy, technician, client_a):
        contact = ContactFactory(client=client_a)
        asset = AssetFactory(client=client_a, site=SiteFactory(client=client_a))
        response = signed_in(technician).post(
            reverse("tickets:create"),
            {
                "client": client_a.pk,
                "contact": contact.pk,
                "asset": asset.pk,
                "subject": "No internet",
                "type": "incident",
                "source": "phone",
                "impact": "medium",
                "urgency": "high",
            },
        )
        ticket = Ticket.objects.get()
        assert response.status_code == 302 and response.url == reverse(
            "tickets:detail", args=[ticket.pk]
        )
        assert (ticket.priority, ticket.site, ticket.created_by) == ("P2", asset.site, technician)

    def test_contact_of_another_client_is_a_form_error(
        self, now, policy, technician, client_a, client_b
    ):
        response = signed_in(technician).post(
            reverse("tickets:create"),
            {
                "client": client_a.pk,
                "contact": ContactFactory(client=client_b).pk,
                "subject": "X",
                "type": "incident",
                "source": "phone",
                "impact": "low",
                "urgency": "low",
            },
        )
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        assert not Ticket.objects.exists()

    def test_override_without_reason_is_a_form_error(self, now, policy, technician, client_a):
        response = signed_in(technician).post(
            reverse("tickets:create"),
            {
                "client": client_a.pk,
                "subject": "X",
                "type": "incident",
                "source": "phone",
                "impact": "low",
                "urgency": "low",
                "priority": "P1",
            },
        )
        assert response.status_code == 400
        assert "say why this ticket is P1" in response.content.decode()

    def test_client_fields_narrow_to_the_client(self, technician, client_a, client_b):
        own = ContactFactory(client=client_a, full_name="Own Person")
        ContactFactory(client=client_b, full_name="Other Person")
        content = (
            signed_in(technician)
            .get(reverse("tickets:client-fields"), {"client": client_a.pk})
            .content.decode()
        )
        assert own.full_name in content and "Other Person" not in content

    def test_staff_only(self, client_user_a):
        assert signed_in(client_user_a).get(reverse("tickets:create")).status_code == 403


def test_role_matrix_for_workspace_staff(now, policy, client_a):
    ticket = open_ticket(client_a, now=now)
    for role in (
        UserRole.TECHNICIAN,
        UserRole.DISPATCHER,
        UserRole.ACCOUNT_MANAGER,
        UserRole.ADMIN,
    ):
        http = signed_in(StaffFactory(role=role, tier=""))
        assert http.get(reverse("tickets:detail", args=[ticket.pk])).status_code == 200


def test_uploaded_files_are_not_reachable_under_media(now, policy, client_a, technician, settings):
    settings.DEBUG = True
    ticket = open_ticket(client_a, now=now)
    services.attachment_add(
        ticket=ticket, upload=SimpleUploadedFile("secret.txt", b"x"), user=technician
    )
    path = ticket.attachments.get().file.url
    assert path.startswith("/media/")
    assert HttpClient().get(path).status_code == 404
    assert signed_in(technician).get(path).status_code == 404
