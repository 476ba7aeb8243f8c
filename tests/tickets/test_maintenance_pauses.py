"""Maintenance windows that pause SLA clocks of tickets about the affected assets."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contracts.choices import ContractStatus
from contracts.models import MaintenanceWindow
from msp.celery import app
from sla.choices import ClockKind
from tests.factories import AssetFactory, ContractFactory, TicketFactory
from tickets.choices import EventKind, TicketStatus
from tickets.services import ticket_change_status
from tickets.timers.maintenance import maintenance_pauses_apply

pytestmark = pytest.mark.django_db

SUNDAY = datetime(2026, 6, 7, tzinfo=UTC)  # windows open 02:00-04:00 UTC every Sunday


def at(hours: float) -> datetime:
    return SUNDAY + timedelta(hours=hours)


@pytest.fixture
def contract(client_a):
    client_a.timezone = "UTC"  # windows recur in the client's zone: here, UTC
    client_a.save()
    return ContractFactory(
        client=client_a, monthly_fee=Decimal("1000"), status=ContractStatus.ACTIVE
    )


@pytest.fixture
def window(contract, server):
    return MaintenanceWindow.objects.create(
        contract=contract,
        name="Sunday patching",
        asset=server,
        start=datetime(2026, 1, 4, 2, tzinfo=UTC),
        duration_minutes=120,
        recurrence="FREQ=WEEKLY;BYDAY=SU",
        pauses_sla=True,
    )


def p1(client, asset=None, opened=None):
    """A P1: 4 h resolution round the clock."""
    return TicketFactory(client=client, asset=asset, p1=True, at=opened or at(0))


def resolution(ticket):
    return ticket.sla_clocks.get(kind=ClockKind.RESOLUTION)


def test_window_pauses_from_its_start_and_resumes_at_its_end(window, server, client_a):
    ticket = p1(client_a, server)
    assert resolution(ticket).due_at == at(4)
    run = maintenance_pauses_apply(now=at(2) + timedelta(seconds=40))  # a late beat
    assert run.paused == [ticket.number]
    clock = resolution(ticket)
    assert clock.state == "paused"
    assert clock.spent_seconds == 2 * 3600  # exactly 00:00-02:00, not to the late run
    assert maintenance_pauses_apply(now=at(3)).paused == []  # once per occurrence
    run = maintenance_pauses_apply(now=at(4) + timedelta(minutes=1))
    assert run.resumed == [ticket.number]
    clock = resolution(ticket)
    assert clock.state == "running"
    assert clock.due_at == at(6)  # the 2 h window moved the deadline by 2 h
    kinds = list(ticket.events.values_list("kind", "at"))
    assert (EventKind.MAINTENANCE_PAUSE, at(2)) in kinds
    assert (EventKind.MAINTENANCE_RESUME, at(4)) in kinds


def test_only_open_tickets_about_the_affected_asset(window, server, client_a):
    other_asset = p1(client_a, AssetFactory(client=client_a))
    no_asset = p1(client_a)
    later = p1(client_a, server, opened=at(2.5))  # opened during the window
    run = maintenance_pauses_apply(now=at(2.75))
    assert run.paused == [later.number]
    assert resolution(other_asset).state == "running"
    assert resolution(no_asset).state == "running"
    # Paused from its own opening: no business time spent at all by the window's end.
    maintenance_pauses_apply(now=at(4))
    assert resolution(later).due_at == at(8)


def test_window_for_the_whole_contract_affects_every_asset(window, contract, client_a):
    window.asset = None
    window.save()
    ticket = p1(client_a, AssetFactory(client=client_a))
    assert maintenance_pauses_apply(now=at(2.1)).paused == [ticket.number]


def test_window_without_the_option_pauses_nothing(window, server, client_a):
    window.pauses_sla = False
    window.save()
    p1(client_a, server)
    assert maintenance_pauses_apply(now=at(3)).paused == []


def test_waiting_on_client_at_the_end_stays_paused(window, server, client_a, technician):
    ticket = p1(client_a, server)
    maintenance_pauses_apply(now=at(2.5))
    ticket_change_status(
        ticket=ticket, actor=technician, status=TicketStatus.WAITING_ON_CLIENT, at=at(3)
    )
    assert maintenance_pauses_apply(now=at(4.5)).resumed == []
    assert resolution(ticket).state == "paused"
    # The client answers: the clock resumes from then, with 2 h spent.
    ticket_change_status(ticket=ticket, actor=technician, status=TicketStatus.IN_PROGRESS, at=at(5))
    assert resolution(ticket).due_at == at(7)


def test_resumed_by_a_status_change_inside_the_window_is_paused_again(
    window, server, client_a, technician
):
    ticket = p1(client_a, server)
    maintenance_pauses_apply(now=at(2.25))
    ticket_change_status(
        ticket=ticket, actor=technician, status=TicketStatus.WAITING_ON_CLIENT, at=at(2.5)
    )
    ticket_change_status(ticket=ticket, actor=technician, status=TicketStatus.IN_PROGRESS, at=at(3))
    assert resolution(ticket).state == "running"
    assert maintenance_pauses_apply(now=at(3.5)).paused == [ticket.number]
    maintenance_pauses_apply(now=at(4))
    # Paused again from 03:00, when it last started running: only 00:00-02:00 was spent.
    assert resolution(ticket).due_at == at(6)


def test_beat_runs_it_every_minute():
    app.loader.import_default_modules()
    assert app.conf.beat_schedule["maintenance-pauses"]["schedule"] == 60.0
