"""Every breach leaves its trace: whichever path concludes a clock as breached (the sweep, a
reply, an acknowledgement, a resolve, a pause, a priority change, a cancel or a merge), the
breach is recorded once, appears on the timeline once and its escalation rules run once."""

from datetime import timedelta

import pytest

from msp.choices import Tier, UserRole
from msp.models import OutboxMessage
from sla.choices import ClockKind
from sla.models import SLAClock, SLAEvent
from tests.factories import StaffFactory
from tests.tickets.conftest import SUNDAY_NIGHT, ny
from tickets import services
from tickets.choices import EventKind, Impact, TicketStatus, Urgency
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db

OPENED = SUNDAY_NIGHT
RESPONSE_DUE = OPENED + timedelta(minutes=15)
RESOLUTION_DUE = OPENED + timedelta(hours=4)
LATE = timedelta(seconds=5)  # after the due instant, before any sweep has run


def _reply(ticket, at):
    services.ticket_reply(ticket=ticket, author=ticket.assignee, body="Looking now", at=at)


def _acknowledge(ticket, at):
    services.ticket_acknowledge(ticket=ticket, actor=ticket.assignee, at=at)


def _resolve(ticket, at):
    services.ticket_resolve(ticket=ticket, actor=ticket.assignee, resolution="Replaced", at=at)


def _pause(ticket, at):
    services.ticket_change_status(
        ticket=ticket, actor=ticket.assignee, status=TicketStatus.WAITING_ON_CLIENT, at=at
    )


def _cancel(ticket, at):
    services.ticket_change_status(
        ticket=ticket, actor=ticket.assignee, status=TicketStatus.CANCELLED, at=at
    )


def _merge(ticket, at):
    survivor = services.ticket_open(client=ticket.client, subject="Switch", at=OPENED)
    services.ticket_merge(source=ticket, target=survivor, actor=ticket.assignee, at=at)


def _sweep_only(ticket, at):
    pass


PATHS = {
    "sweep": (_sweep_only, ClockKind.RESPONSE, RESPONSE_DUE),
    "reply": (_reply, ClockKind.RESPONSE, RESPONSE_DUE),
    "acknowledge": (_acknowledge, ClockKind.RESPONSE, RESPONSE_DUE),
    "resolve": (_resolve, ClockKind.RESOLUTION, RESOLUTION_DUE),
    "pause": (_pause, ClockKind.RESOLUTION, RESOLUTION_DUE),
    "cancel": (_cancel, ClockKind.RESOLUTION, RESOLUTION_DUE),
    "merge": (_merge, ClockKind.RESOLUTION, RESOLUTION_DUE),
}


def breach_trace(ticket, kind) -> tuple[int, int, int]:
    """(breach events of the clock, breach timeline entries, breach outbox messages)."""
    clock = SLAClock.objects.get(ticket=ticket, kind=kind)
    return (
        SLAEvent.objects.filter(clock=clock, key="breach").count(),
        ticket.events.filter(
            kind=EventKind.SLA_BREACH, detail__startswith=clock.get_kind_display()
        ).count(),
        OutboxMessage.objects.filter(key__startswith=f"sla:{clock.pk}:breach:").count(),
    )


@pytest.mark.parametrize("path", PATHS)
def test_a_breach_concluded_by_any_path_is_recorded_and_escalated_once(path, p1):
    act, kind, due = PATHS[path]
    act(p1, due + LATE)
    clock = SLAClock.objects.get(ticket=p1, kind=kind)
    if path != "sweep":
        assert clock.breached_at == due
    # The breach is due for the sweep at once, whatever path concluded the clock.
    assert clock.next_check_at is not None and clock.next_check_at <= due + LATE

    sla_sweep(now=due + LATE + timedelta(seconds=10))
    events, timeline, messages = breach_trace(p1, kind)
    assert (events, timeline) == (1, 1)
    # The default breach rule tells the assignee, the team lead and the account manager.
    assert messages >= 4
    # Exactly once: later sweeps add nothing.
    sla_sweep(now=due + timedelta(hours=1))
    sla_sweep(now=due + timedelta(days=1))
    assert breach_trace(p1, kind) == (events, timeline, messages)
    assert SLAClock.objects.get(pk=clock.pk).next_check_at is None


def test_a_priority_change_that_uses_up_the_new_target_breaches_once(policy, client_a, teams):
    opened = ny(2026, 11, 23, 10, 0)  # a Monday in business hours
    technician = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1)
    ticket = services.ticket_open(
        client=client_a,
        subject="Slow printer",
        impact=Impact.LOW,
        urgency=Urgency.LOW,
        assignee=technician,
        at=opened,
    )
    changed_at = opened + timedelta(minutes=40)  # P1's 15-minute response is long gone
    services.ticket_change_priority(
        ticket=ticket, actor=technician, priority="P1", reason="Whole floor", at=changed_at
    )
    clock = SLAClock.objects.get(ticket=ticket, kind=ClockKind.RESPONSE)
    assert clock.breached_at == opened + timedelta(minutes=15)
    sla_sweep(now=changed_at + timedelta(seconds=10))
    sla_sweep(now=changed_at + timedelta(hours=1))
    assert breach_trace(ticket, ClockKind.RESPONSE)[:2] == (1, 1)


def test_a_reply_in_time_leaves_no_breach(p1):
    _reply(p1, RESPONSE_DUE)  # at the due instant itself: met
    sla_sweep(now=RESPONSE_DUE + timedelta(minutes=1))
    assert breach_trace(p1, ClockKind.RESPONSE) == (0, 0, 0)
