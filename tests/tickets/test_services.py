"""Every ticket transition and its effect on the SLA clocks, at exact instants.

Default policy, New York business hours 08:00-18:00 (600 min a day), Thanksgiving 26 Nov 2026.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from msp.choices import Tier
from sla.choices import ClockKind, ClockState
from sla.models import SLAClock
from tests.factories import ClientFactory, ContactFactory, StaffFactory
from tests.tickets.conftest import ny
from tickets import services
from tickets.choices import EventKind, Impact, TicketStatus, Urgency
from tickets.models import Comment, Ticket, TimeEntry
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db

MONDAY_9 = ny(2026, 11, 23, 9, 0)


@pytest.fixture(autouse=True)
def monday_noon():
    """Services called without `at` act at "now": Monday 23 Nov 2026, 12:00 New York."""
    with time_machine.travel(ny(2026, 11, 23, 12, 0), tick=False):
        yield


@pytest.fixture
def ticket(policy, client_a, contact_a, technician, teams):
    """A P3 (medium x medium) ticket opened on Monday 23 Nov 2026 at 09:00 New York."""
    return services.ticket_open(
        client=client_a,
        contact=contact_a,
        subject="Outlook keeps asking for the password",
        impact=Impact.MEDIUM,
        urgency=Urgency.MEDIUM,
        created_by=technician,
        at=MONDAY_9,
    )


def clock(ticket, kind, cycle=1) -> SLAClock:
    return SLAClock.objects.get(ticket=ticket, kind=kind, cycle=cycle)


def kinds(ticket) -> list[str]:
    return list(ticket.events.order_by("at", "pk").values_list("kind", flat=True))


class TestOpen:
    def test_priority_from_the_matrix_and_both_clocks_started(self, ticket, teams):
        assert ticket.priority == "P3"
        assert ticket.status == TicketStatus.NEW
        assert ticket.team == teams[Tier.L1]
        response = clock(ticket, ClockKind.RESPONSE)
        resolution = clock(ticket, ClockKind.RESOLUTION)
        # Response: next business day (600 min): 540 on Monday, 60 on Tuesday.
        assert response.due_at == ny(2026, 11, 24, 9, 0)
        # Resolution: 1800 min: Mon 540 + Tue 600 + Wed 600 = 1740, Thanksgiving, Fri 09:00.
        assert resolution.due_at == ny(2026, 11, 27, 9, 0)
        assert response.state == resolution.state == ClockState.RUNNING
        assert ticket.sla_due_at == response.due_at
        assert ticket.sla_warn_at == ny(2026, 11, 23, 16, 30)  # 75 % of 600 min
        assert kinds(ticket) == [EventKind.CREATED]

    def test_p1_runs_round_the_clock(self, policy, client_a):
        ticket = services.ticket_open(
            client=client_a,
            subject="Server down",
            impact=Impact.HIGH,
            urgency=Urgency.HIGH,
            at=ny(2026, 11, 21, 23, 0),  # Saturday night
        )
        assert ticket.priority == "P1"
        assert clock(ticket, ClockKind.RESPONSE).due_at == ny(2026, 11, 21, 23, 15)
        assert clock(ticket, ClockKind.RESOLUTION).due_at == ny(2026, 11, 22, 3, 0)

    def test_priority_override_needs_a_reason_and_saves_nothing(self, policy, client_a):
        with pytest.raises(ValidationError) as error:
            services.ticket_open(client=client_a, subject="X", priority="P1", at=MONDAY_9)
        assert "priority_override_reason" in error.value.message_dict
        assert not Ticket.objects.exists() and not SLAClock.objects.exists()

    def test_priority_override_with_a_reason(self, policy, client_a):
        ticket = services.ticket_open(
            client=client_a,
            subject="CEO laptop",
            priority="P2",
            priority_override_reason="Executive user",
            at=MONDAY_9,
        )
        assert ticket.priority == "P2"
        assert ticket.priority_override_reason == "Executive user"

    def test_contact_of_another_client_is_refused(self, policy, client_a, client_b):
        with pytest.raises(ValidationError) as error:
            services.ticket_open(
                client=client_a, subject="X", contact=ContactFactory(client=client_b)
            )
        assert error.value.message_dict["contact"] == ["The contact belongs to another client."]

    def test_blank_subject_is_refused(self, policy, client_a):
        with pytest.raises(ValidationError) as error:
            services.ticket_open(client=client_a, subject="   ")
        assert "subject" in error.value.message_dict


class TestResponse:
    def test_first_public_reply_stops_the_response_clock(self, ticket, technician):
        services.ticket_reply(
            ticket=ticket, author=technician, body="Looking", at=ny(2026, 11, 23, 9, 40)
        )
        ticket.refresh_from_db()
        response = clock(ticket, ClockKind.RESPONSE)
        assert response.state == ClockState.MET
        assert response.stopped_at == ny(2026, 11, 23, 9, 40)
        assert response.spent_seconds == 40 * 60
        assert ticket.first_response_at == ny(2026, 11, 23, 9, 40)
        assert ticket.sla_due_at == ny(2026, 11, 27, 9, 0)  # now the resolution deadline
        services.ticket_reply(
            ticket=ticket, author=technician, body="Again", at=ny(2026, 11, 23, 10)
        )
        assert clock(ticket, ClockKind.RESPONSE).stopped_at == ny(2026, 11, 23, 9, 40)

    def test_automatic_replies_and_notes_do_not_count(self, ticket, technician):
        services.ticket_reply(
            ticket=ticket, author=technician, body="Auto: received", automatic=True, at=MONDAY_9
        )
        services.ticket_note(ticket=ticket, author=technician, body="Internal", at=MONDAY_9)
        assert clock(ticket, ClockKind.RESPONSE).stopped_at is None

    def test_late_reply_is_a_breach(self, ticket, technician):
        services.ticket_reply(
            ticket=ticket, author=technician, body="Sorry", at=ny(2026, 11, 24, 9, 30)
        )
        response = clock(ticket, ClockKind.RESPONSE)
        assert response.state == ClockState.BREACHED
        assert response.breached_at == ny(2026, 11, 24, 9, 0)
        ticket.refresh_from_db()
        assert ticket.sla_breached

    def test_acknowledge_stops_the_response_clock_once(self, ticket, technician):
        services.ticket_acknowledge(ticket=ticket, actor=technician, at=ny(2026, 11, 23, 9, 5))
        ticket.refresh_from_db()
        assert clock(ticket, ClockKind.RESPONSE).state == ClockState.MET
        assert ticket.status == TicketStatus.IN_PROGRESS
        with pytest.raises(ValidationError, match="responded to already"):
            services.ticket_acknowledge(ticket=ticket, actor=technician)

    def test_client_users_cannot_reply_as_staff(self, ticket, client_user_a):
        with pytest.raises(ValidationError, match="Only MSP staff"):
            services.ticket_reply(ticket=ticket, author=client_user_a, body="Hi")

    def test_markdown_is_rendered_safely(self, ticket, technician):
        comment = services.ticket_reply(
            ticket=ticket, author=technician, body="**Done** <script>alert(1)</script>"
        )
        assert "<strong>Done</strong>" in comment.body_html
        assert "<script>" not in comment.body_html


class TestPause:
    def test_waiting_on_client_pauses_and_resume_moves_the_due_instant(self, ticket, technician):
        services.ticket_change_status(
            ticket=ticket,
            actor=technician,
            status=TicketStatus.WAITING_ON_CLIENT,
            at=ny(2026, 11, 23, 10),
        )
        resolution = clock(ticket, ClockKind.RESOLUTION)
        assert resolution.state == ClockState.PAUSED
        assert resolution.due_at is None
        services.ticket_change_status(
            ticket=ticket,
            actor=technician,
            status=TicketStatus.IN_PROGRESS,
            at=ny(2026, 11, 24, 10),
        )
        resolution = clock(ticket, ClockKind.RESOLUTION)
        # Paused 600 business minutes (Mon 10-18, Tue 8-10): due moves from Fri 09:00 by a day.
        assert resolution.paused_seconds == 600 * 60
        assert resolution.due_at == ny(2026, 11, 30, 9, 0)
        # The response clock never pauses.
        assert clock(ticket, ClockKind.RESPONSE).due_at == ny(2026, 11, 24, 9, 0)

    def test_waiting_on_third_party_does_not_pause_by_default(self, ticket, technician):
        services.ticket_change_status(
            ticket=ticket, actor=technician, status=TicketStatus.WAITING_ON_THIRD_PARTY, at=MONDAY_9
        )
        assert clock(ticket, ClockKind.RESOLUTION).state == ClockState.RUNNING

    def test_client_reply_brings_the_ticket_back_and_resumes(
        self, ticket, technician, client_user_a
    ):
        services.ticket_change_status(
            ticket=ticket,
            actor=technician,
            status=TicketStatus.WAITING_ON_CLIENT,
            at=ny(2026, 11, 23, 10),
        )
        services.ticket_client_message(
            ticket=ticket, author=client_user_a, body="Here it is", at=ny(2026, 11, 23, 11)
        )
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.IN_PROGRESS
        assert clock(ticket, ClockKind.RESOLUTION).due_at == ny(2026, 11, 27, 10, 0)

    def test_client_of_another_organisation_cannot_post(self, ticket, client_user_b):
        with pytest.raises(ValidationError, match="Only the ticket's client"):
            services.ticket_client_message(ticket=ticket, author=client_user_b, body="Hi")


class TestPriority:
    def test_raise_keeps_time_spent_and_applies_the_new_targets(self, ticket, technician):
        services.ticket_change_priority(
            ticket=ticket,
            actor=technician,
            impact=Impact.HIGH,
            urgency=Urgency.MEDIUM,
            at=ny(2026, 11, 23, 9, 30),
        )
        ticket.refresh_from_db()
        assert ticket.priority == "P2"
        # P2: response 60 min, resolution 480 min, both from the original 09:00 start.
        assert clock(ticket, ClockKind.RESPONSE).due_at == ny(2026, 11, 23, 10, 0)
        assert clock(ticket, ClockKind.RESOLUTION).due_at == ny(2026, 11, 23, 17, 0)
        assert ticket.sla_due_at == ny(2026, 11, 23, 10, 0)
        assert kinds(ticket)[-1] == EventKind.PRIORITY

    def test_override_needs_a_reason(self, ticket, technician):
        with pytest.raises(ValidationError) as error:
            services.ticket_change_priority(ticket=ticket, actor=technician, priority="P1")
        assert "reason" in error.value.message_dict
        ticket.refresh_from_db()
        assert ticket.priority == "P3"

    def test_raise_past_the_time_already_spent_breaches(self, ticket, technician):
        services.ticket_change_priority(
            ticket=ticket,
            actor=technician,
            priority="P2",
            reason="VIP",
            at=ny(2026, 11, 23, 10, 30),
        )
        response = clock(ticket, ClockKind.RESPONSE)
        assert response.breached_at == ny(2026, 11, 23, 10, 0)


class TestEscalation:
    def test_escalate_raises_the_tier_and_moves_to_that_team(self, ticket, technician, teams):
        services.ticket_assign(ticket=ticket, actor=technician, assignee=technician)
        services.ticket_escalate(ticket=ticket, actor=technician, reason="Needs Exchange admin")
        ticket.refresh_from_db()
        assert (ticket.tier, ticket.team, ticket.assignee) == (Tier.L2, teams[Tier.L2], None)
        event = ticket.events.get(kind=EventKind.ESCALATED)
        assert (event.old_value, event.new_value, event.detail) == (
            "L1",
            "L2",
            "Needs Exchange admin",
        )

    def test_escalation_needs_a_reason_and_stops_at_l3(self, ticket, technician):
        with pytest.raises(ValidationError):
            services.ticket_escalate(ticket=ticket, actor=technician, reason=" ")
        services.ticket_escalate(ticket=ticket, actor=technician, reason="a")
        services.ticket_escalate(ticket=ticket, actor=technician, reason="b")
        with pytest.raises(ValidationError, match="top tier"):
            services.ticket_escalate(ticket=ticket, actor=technician, reason="c")

    def test_cannot_assign_to_a_client_user(self, ticket, technician, client_user_a):
        with pytest.raises(ValidationError):
            services.ticket_assign(ticket=ticket, actor=technician, assignee=client_user_a)


class TestResolveReopenClose:
    def test_resolve_stops_the_resolution_clock(self, ticket, technician):
        services.ticket_resolve(
            ticket=ticket, actor=technician, resolution="Reset the profile", at=ny(2026, 11, 24, 12)
        )
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.RESOLVED
        assert ticket.resolved_at == ny(2026, 11, 24, 12)
        resolution = clock(ticket, ClockKind.RESOLUTION)
        assert resolution.state == ClockState.MET
        assert resolution.spent_seconds == (540 + 240) * 60
        # The resolution note is the first public reply, and late for the response target.
        assert clock(ticket, ClockKind.RESPONSE).state == ClockState.BREACHED
        assert ticket.sla_due_at is None

    def test_resolution_needs_a_note(self, ticket, technician):
        with pytest.raises(ValidationError):
            services.ticket_resolve(ticket=ticket, actor=technician, resolution="")

    def test_reopen_resumes_with_the_time_spent(self, ticket, technician):
        services.ticket_resolve(
            ticket=ticket, actor=technician, resolution="Done", at=ny(2026, 11, 23, 12)
        )
        services.ticket_reopen(
            ticket=ticket, actor=technician, reason="Back again", at=ny(2026, 11, 25, 8)
        )
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.IN_PROGRESS and ticket.resolved_at is None
        resolution = clock(ticket, ClockKind.RESOLUTION)
        assert resolution.state == ClockState.RUNNING
        # 180 min spent; 1620 left from Wednesday 08:00: Wed 600, Fri 600, Mon 420 -> 15:00.
        assert resolution.due_at == ny(2026, 11, 30, 15, 0)

    def test_client_reply_reopens_a_resolved_ticket(self, ticket, technician, client_user_a):
        services.ticket_resolve(
            ticket=ticket, actor=technician, resolution="Done", at=ny(2026, 11, 23, 12)
        )
        services.ticket_client_message(ticket=ticket, author=client_user_a, body="Still broken")
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.IN_PROGRESS
        assert EventKind.REOPENED in kinds(ticket)

    def test_close_only_from_resolved_and_no_replies_after(self, ticket, technician):
        with pytest.raises(ValidationError):
            services.ticket_close(ticket=ticket, actor=technician)
        services.ticket_resolve(ticket=ticket, actor=technician, resolution="Done")
        services.ticket_close(ticket=ticket, actor=technician)
        with pytest.raises(ValidationError, match="closed"):
            services.ticket_reply(ticket=ticket, author=technician, body="Hello?")
        assert Comment.objects.filter(ticket=ticket).count() == 1

    def test_illegal_transitions_are_refused(self, ticket, technician):
        with pytest.raises(ValidationError, match="Resolve the ticket with a resolution note"):
            services.ticket_change_status(
                ticket=ticket, actor=technician, status=TicketStatus.RESOLVED
            )
        services.ticket_resolve(ticket=ticket, actor=technician, resolution="Done")
        with pytest.raises(ValidationError, match="resolved cannot become waiting on client"):
            services.ticket_change_status(
                ticket=ticket, actor=technician, status=TicketStatus.WAITING_ON_CLIENT
            )

    def test_cancel_stops_every_clock(self, ticket, technician):
        services.ticket_change_status(
            ticket=ticket, actor=technician, status=TicketStatus.CANCELLED
        )
        assert not SLAClock.objects.filter(ticket=ticket, stopped_at__isnull=True).exists()
        ticket.refresh_from_db()
        assert ticket.sla_due_at is None and ticket.closed_at is not None


class TestMergeTimeFiles:
    def test_merge_moves_the_conversation_and_closes_the_duplicate(
        self, ticket, technician, policy, client_a
    ):
        duplicate = services.ticket_open(client=client_a, subject="Same problem", at=MONDAY_9)
        services.ticket_note(ticket=duplicate, author=technician, body="dup note")
        services.time_entry_log(ticket=duplicate, user=technician, minutes=15)
        services.ticket_merge(source=duplicate, target=ticket, actor=technician)
        duplicate.refresh_from_db()
        assert duplicate.status == TicketStatus.CLOSED and duplicate.merged_into == ticket
        assert ticket.comments.filter(body="dup note").exists()
        assert ticket.time_entries.count() == 1
        assert not SLAClock.objects.filter(ticket=duplicate, stopped_at__isnull=True).exists()
        assert kinds(ticket)[-1] == EventKind.LINKED

    def test_merge_across_clients_is_refused(self, ticket, technician, policy):
        other = services.ticket_open(client=ClientFactory(), subject="Other")
        with pytest.raises(ValidationError):
            services.ticket_merge(source=other, target=ticket, actor=technician)

    def test_time_entry_bounds(self, ticket, technician):
        with pytest.raises(ValidationError):
            services.time_entry_log(ticket=ticket, user=technician, minutes=0)
        entry = services.time_entry_log(ticket=ticket, user=technician, minutes=45, billable=False)
        assert entry.minutes == 45 and not entry.billable
        assert TimeEntry.objects.count() == 1
        assert (
            ticket.events.get(kind=EventKind.TIME_LOGGED).detail
            == "45 min remote support (not billable)"
        )

    def test_oversize_attachment_rolls_back_the_whole_reply(self, ticket, technician, settings):
        settings.ATTACHMENT_MAX_BYTES = 10
        upload = SimpleUploadedFile("log.txt", b"x" * 11, content_type="text/plain")
        with pytest.raises(ValidationError, match="larger than"):
            services.ticket_reply(
                ticket=ticket, author=technician, body="See log", attachments=[upload]
            )
        assert not Comment.objects.exists()
        assert clock(ticket, ClockKind.RESPONSE).stopped_at is None

    def test_executables_are_refused(self, ticket, technician):
        upload = SimpleUploadedFile("setup.exe", b"MZ", content_type="application/octet-stream")
        with pytest.raises(ValidationError, match=r"\.exe files are not accepted"):
            services.attachment_add(ticket=ticket, upload=upload, user=technician)


class TestNextUpdate:
    @pytest.fixture
    def next_update_policy(self, policy):
        policy.next_update_minutes = 120
        policy.save()
        return policy

    def test_client_message_starts_a_cycle_that_the_staff_update_stops(
        self, next_update_policy, ticket, technician, client_user_a
    ):
        services.ticket_client_message(
            ticket=ticket, author=client_user_a, body="Any news?", at=ny(2026, 11, 23, 11)
        )
        cycle = clock(ticket, ClockKind.NEXT_UPDATE)
        assert cycle.due_at == ny(2026, 11, 23, 13, 0)
        services.ticket_reply(
            ticket=ticket, author=technician, body="Working on it", at=ny(2026, 11, 23, 12)
        )
        assert clock(ticket, ClockKind.NEXT_UPDATE).state == ClockState.MET
        services.ticket_client_message(
            ticket=ticket, author=client_user_a, body="And now?", at=ny(2026, 11, 23, 17)
        )
        second = clock(ticket, ClockKind.NEXT_UPDATE, cycle=2)
        assert second.due_at == ny(2026, 11, 24, 9, 0)

    def test_each_client_message_restarts_the_running_cycle(
        self, next_update_policy, ticket, client_user_a
    ):
        services.ticket_client_message(
            ticket=ticket, author=client_user_a, body="1", at=ny(2026, 11, 23, 11)
        )
        services.ticket_client_message(
            ticket=ticket, author=client_user_a, body="2", at=ny(2026, 11, 23, 12)
        )
        cycles = SLAClock.objects.filter(ticket=ticket, kind=ClockKind.NEXT_UPDATE)
        # The first cycle is kept, superseded: neither met nor breached.
        assert [(c.cycle, c.state, c.stopped_at, c.due_at) for c in cycles] == [
            (1, ClockState.SUPERSEDED, ny(2026, 11, 23, 12), ny(2026, 11, 23, 13, 0)),
            (2, ClockState.RUNNING, None, ny(2026, 11, 23, 14, 0)),
        ]

    def test_a_breached_cycle_stays_breached_when_the_client_writes_again(
        self, next_update_policy, ticket, client_user_a
    ):
        services.ticket_client_message(
            ticket=ticket, author=client_user_a, body="1", at=ny(2026, 11, 23, 11)
        )
        sla_sweep(now=ny(2026, 11, 23, 13, 1))
        breached = clock(ticket, ClockKind.NEXT_UPDATE)
        assert breached.breached_at == ny(2026, 11, 23, 13, 0)
        services.ticket_client_message(
            ticket=ticket, author=client_user_a, body="Hello?", at=ny(2026, 11, 23, 14)
        )
        breached.refresh_from_db()
        assert (breached.state, breached.stopped_at) == (
            ClockState.BREACHED,
            ny(2026, 11, 23, 14),
        )
        assert list(breached.events.values_list("key", flat=True)) == [
            "warning-75",
            "warning-90",
            "breach",
        ]
        assert clock(ticket, ClockKind.NEXT_UPDATE, cycle=2).state == ClockState.RUNNING


def test_timeline_records_the_whole_lifecycle_in_order(ticket, technician, client_user_a):
    at = MONDAY_9
    step = timedelta(minutes=5)
    services.ticket_assign(ticket=ticket, actor=technician, assignee=technician, at=at + step)
    services.ticket_reply(ticket=ticket, author=technician, body="On it", at=at + 2 * step)
    services.ticket_change_status(
        ticket=ticket, actor=technician, status=TicketStatus.WAITING_ON_CLIENT, at=at + 3 * step
    )
    services.ticket_client_message(
        ticket=ticket, author=client_user_a, body="Done that", at=at + 4 * step
    )
    services.ticket_escalate(ticket=ticket, actor=technician, reason="Needs L2", at=at + 5 * step)
    services.time_entry_log(ticket=ticket, user=technician, minutes=20, at=at + 6 * step)
    services.ticket_resolve(ticket=ticket, actor=technician, resolution="Fixed", at=at + 7 * step)
    assert kinds(ticket) == [
        EventKind.CREATED,
        EventKind.ASSIGNED,
        EventKind.REPLY,
        EventKind.STATUS,
        EventKind.CLIENT_MESSAGE,
        EventKind.STATUS,
        EventKind.ESCALATED,
        EventKind.TIME_LOGGED,
        EventKind.REPLY,
        EventKind.STATUS,
        EventKind.RESOLVED,
    ]
    status_changes = list(
        ticket.events.filter(kind=EventKind.STATUS).values_list("old_value", "new_value")
    )
    assert status_changes == [
        ("new", "waiting_on_client"),
        ("waiting_on_client", "in_progress"),
        ("in_progress", "resolved"),
    ]
    assert StaffFactory._meta.model.objects.filter(pk=technician.pk).exists()


def test_parent_links_stay_within_a_client_and_never_loop(ticket, technician, policy, client_a):
    child = services.ticket_open(client=client_a, subject="User 2 affected too", at=MONDAY_9)
    services.ticket_link_parent(ticket=child, parent=ticket, actor=technician)
    assert list(ticket.children.all()) == [child]
    with pytest.raises(ValidationError, match="own ancestor"):
        services.ticket_link_parent(ticket=ticket, parent=child, actor=technician)
    other = services.ticket_open(client=ClientFactory(), subject="Elsewhere", at=MONDAY_9)
    with pytest.raises(ValidationError, match="another client"):
        services.ticket_link_parent(ticket=other, parent=ticket, actor=technician)
    services.ticket_link_parent(ticket=child, parent=None, actor=technician)
    assert not ticket.children.exists()
