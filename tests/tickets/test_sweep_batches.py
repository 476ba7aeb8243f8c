"""The SLA sweep works in batches: what a batch costs in SQL, and that a batch gives exactly
what a ticket-at-a-time sweep would (the same SLA events, timeline, notifications)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from msp.choices import Tier
from msp.models import OutboxMessage
from sla.models import SLAClock, SLAEvent
from tests.factories import ContactFactory, TicketFactory
from tests.tickets.conftest import SUNDAY_NIGHT
from tickets.choices import EventKind
from tickets.models import Ticket
from tickets.timers import sweep
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db

# Every P1 milestone is due: unacknowledged, both clocks' warnings and breaches.
LATE = SUNDAY_NIGHT + timedelta(hours=5)


def open_p1s(client, count: int, assignee) -> list[Ticket]:
    return [
        TicketFactory(
            client=client,
            contact=ContactFactory(client=client),
            subject=f"Outage {index}",
            p1=True,
            assignee=assignee,
            at=SUNDAY_NIGHT,
        )
        for index in range(count)
    ]


def record_of(tickets) -> list:
    """What the sweep leaves behind, ticket by ticket, in a comparable form."""
    return [
        (
            sorted(SLAEvent.objects.filter(clock__ticket=ticket).values_list("clock__kind", "key")),
            list(
                ticket.events.filter(
                    kind__in=[EventKind.SLA_WARNING, EventKind.SLA_BREACH, EventKind.ESCALATED]
                )
                .order_by("pk")
                .values_list("kind", "new_value", "detail")
            ),
            Ticket.objects.filter(pk=ticket.pk).values_list("tier", "sla_breached").get(),
            sorted(
                OutboxMessage.objects.filter(key__startswith="sla:")
                .filter(key__in=_keys_of(ticket))
                .values_list("channel", "subject")
            ),
        )
        for ticket in tickets
    ]


def _keys_of(ticket) -> list[str]:
    clocks = SLAClock.objects.filter(ticket=ticket).values_list("pk", flat=True)
    return [
        key
        for key in OutboxMessage.objects.values_list("key", flat=True)
        if any(key.startswith(f"sla:{pk}:") for pk in clocks)
    ]


def statements(captured) -> list[str]:
    return [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]


@pytest.mark.parametrize("count", [2, 12])
def test_a_batch_costs_the_same_statements_whatever_its_size(
    count, client_a, policy, teams, technician
):
    tickets = open_p1s(client_a, count, technician)
    with CaptureQueriesContext(connection) as captured:
        result = sla_sweep(now=LATE)
    assert result.tickets == count and result.milestones == 7 * count
    # The due tickets; the tickets locked, then their clocks; the calendars; one insert of
    # SLA events, one update of the clocks, one upsert of the breaches' roll-ups
    # (sla.rollups); the policy's escalation rules; the staff who see
    # the batch's clients (four); the teams a breach escalates to (one per tier); the active
    # dispatchers, told of P1/P2 breaches (once per sweep); the outbox (insert, read back);
    # the tickets updated, the timeline entries inserted; the next look for due tickets.
    # Nothing per ticket.
    assert len(statements(captured)) == 20, statements(captured)
    assert {ticket.tier for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets])} == {
        Tier.L3
    }


def test_a_batch_records_what_one_ticket_at_a_time_would(client_a, policy, teams, technician):
    batched = open_p1s(client_a, 5, technician)
    sla_sweep(now=LATE)
    single = open_p1s(client_a, 5, technician)
    sla_sweep(now=LATE, batch_size=1)  # the same tickets, each alone: a batch of one
    shape = [(events, timeline, state) for events, timeline, state, _ in record_of(batched)]
    assert shape == [(e, t, s) for e, t, s, _ in record_of(single)]
    assert [len(outbox) for *_, outbox in record_of(batched)] == [
        len(outbox) for *_, outbox in record_of(single)
    ]
    assert all(len(outbox) > 0 for *_, outbox in record_of(batched))


def test_a_refused_batch_is_redone_one_ticket_at_a_time(
    client_a, policy, teams, technician, monkeypatch
):
    """One ticket's milestone is on record already (as if written by a path that skipped the
    ticket lock): the unique constraint undoes the whole batch, and the sweep takes each
    ticket alone, so the others are still recorded, once."""
    tickets = open_p1s(client_a, 3, technician)
    SLAEvent.objects.create(
        clock=SLAClock.objects.get(ticket=tickets[0], kind="response"),
        key="warning-75",
        due_at=LATE,
        recorded_at=LATE,
    )
    calls = []
    original = sweep._sweep_batch
    monkeypatch.setattr(
        sweep, "_sweep_batch", lambda ids, *args: calls.append(list(ids)) or original(ids, *args)
    )
    result = sla_sweep(now=LATE)
    assert calls == [sorted(t.pk for t in tickets), *([t.pk] for t in tickets)]
    assert (result.tickets, result.milestones, result.busy) == (2, 14, 1)
    assert [SLAEvent.objects.filter(clock__ticket=t).count() for t in tickets] == [1, 7, 7]
