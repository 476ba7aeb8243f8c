"""The policy a new ticket is opened under is kept by the process with the digest of its rows
(sla.selectors.policy_with_targets_cached): whatever changes the policy, its targets or a
calendar, by a service, the admin or a plain update, the next ticket is opened on the rows as
they are now."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla import selectors
from sla.choices import ClockKind, Priority
from sla.models import SLAClock, SLAPolicy, SLATarget
from sla.services import calendar_intervals_set, calendar_update, policy_save
from tests.factories import ContractFactory
from tests.factories.sla import business_hours_calendar
from tickets import services
from tickets.choices import Impact, Urgency

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres")]


def open_p2(client, **fields):
    """A P2 (high x medium) ticket; its response clock's target in minutes."""
    ticket = services.ticket_open(
        client=client, subject="Mail is down", impact=Impact.HIGH, urgency=Urgency.MEDIUM, **fields
    )
    row = SLAClock.objects.get(ticket=ticket, kind=ClockKind.RESPONSE)
    return ticket, row


def targets_read(captured) -> int:
    return sum('FROM "sla_slatarget"' in q["sql"] for q in captured)


def test_targets_are_read_once_while_nothing_changes(client_a, policy):
    open_p2(client_a)  # read and kept
    with CaptureQueriesContext(connection) as captured:
        open_p2(client_a)
    assert targets_read(captured) == 0


def test_a_target_changed_by_a_plain_update_applies_at_once(client_a, policy):
    _, before = open_p2(client_a)
    assert before.target_minutes == 60
    # No service, no signal, no updated_at: the digest still sees it.
    SLATarget.objects.filter(policy=policy, priority=Priority.P2).update(response_minutes=45)
    _, after = open_p2(client_a)
    assert after.target_minutes == 45
    assert after.due_at - after.started_at <= timedelta(minutes=45 + 24 * 60)


def test_a_policy_saved_through_the_service_applies_at_once(client_a, policy):
    open_p2(client_a)
    targets = {
        target.priority: {
            "response_minutes": target.response_minutes,
            "resolution_minutes": target.resolution_minutes,
            "response_calendar": target.response_calendar,
            "resolution_calendar": target.resolution_calendar,
        }
        for target in policy.targets.all()
    }
    targets[Priority.P2]["resolution_minutes"] = 300
    policy_save(policy=policy, targets=targets, next_update_minutes=90)
    ticket, _ = open_p2(client_a)
    resolution = SLAClock.objects.get(ticket=ticket, kind=ClockKind.RESOLUTION)
    assert resolution.target_minutes == 300
    assert ticket.sla_policy.next_update_minutes == 90


def test_a_calendar_edit_applies_at_once(client_a, policy):
    new_york = ZoneInfo("America/New_York")
    with time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=new_york), tick=False):
        _, before = open_p2(client_a)
        # New York business hours become 08:00-09:00: the hour's target ends the next day.
        calendar_intervals_set(
            calendar=policy.calendar, intervals=[(day, 8 * 60, 9 * 60) for day in range(5)]
        )
        _, after = open_p2(client_a)
    assert before.due_at == datetime(2026, 11, 23, 13, tzinfo=new_york)
    assert after.due_at == datetime(2026, 11, 24, 9, tzinfo=new_york)


def test_the_contracts_policy_and_a_policy_given(client_a, client_b, policy):
    other = SLAPolicy.objects.create(name="Gold", calendar=business_hours_calendar())
    for priority in Priority.values:
        SLATarget.objects.create(
            policy=other, priority=priority, response_minutes=7, resolution_minutes=70
        )
    contract = ContractFactory(client=client_b, sla_policy=other, status="active")
    ticket, row = open_p2(client_b)
    assert (ticket.sla_policy, ticket.contract_id, row.target_minutes) == (other, contract.pk, 7)
    ticket, row = open_p2(client_a, sla_policy=other)
    assert (ticket.sla_policy, ticket.contract_id, row.target_minutes) == (other, None, 7)
    ticket, row = open_p2(client_a)
    assert (ticket.sla_policy, row.target_minutes) == (policy, 60)


def test_each_ticket_gets_its_own_copy_of_the_policy(client_a, policy):
    first, _ = open_p2(client_a)
    first.sla_policy.name = "changed in memory"
    second, _ = open_p2(client_a)
    assert second.sla_policy.name == policy.name
    assert second.sla_policy is not first.sla_policy


def test_without_a_digest_the_policy_is_read_each_time(policy):
    with CaptureQueriesContext(connection) as captured:
        selectors.policy_with_targets_cached(policy_id=policy.pk, digest=None)
        selectors.policy_with_targets_cached(policy_id=policy.pk, digest=None)
    assert targets_read(captured) == 2


def test_an_edit_of_a_targets_own_calendar_applies_at_once(client_a, policy):
    new_york = ZoneInfo("America/New_York")
    always_on = policy.targets.get(priority=Priority.P1).response_calendar
    with time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=new_york), tick=False):
        p1 = {"impact": Impact.HIGH, "urgency": Urgency.HIGH}
        before = services.ticket_open(client=client_a, subject="Site down", **p1)
        # The round-the-clock calendar of P1 becomes weekdays 08:00-09:00 UTC.
        calendar_update(
            calendar=always_on,
            is_24x7=False,
            intervals=[(day, 8 * 60, 9 * 60) for day in range(5)],
        )
        after = services.ticket_open(client=client_a, subject="Site down", **p1)
    response = {
        ticket.pk: SLAClock.objects.get(ticket=ticket, kind=ClockKind.RESPONSE).due_at
        for ticket in (before, after)
    }
    assert response[before.pk] == datetime(2026, 11, 23, 12, 15, tzinfo=new_york)
    assert response[after.pk] == datetime(2026, 11, 24, 8, 15, tzinfo=UTC)


def test_not_acknowledged_rules_are_kept_with_the_policy_and_an_edit_applies_at_once(
    client_a, policy
):
    """The policy's "not acknowledged for N minutes" rules come with the cached policy (no
    query of their own); added, changed or switched off, the next ticket has them as they are."""
    from sla.models import EscalationRule

    def checks(ticket_row) -> list[int]:
        return sorted(
            round((datetime.fromisoformat(at) - ticket_row.started_at).total_seconds() / 60)
            for at in ticket_row.extra_checks.values()
        )

    open_p2(client_a)
    rule = EscalationRule.objects.create(
        policy=policy, name="Nobody looked", trigger="unacknowledged", minutes=15
    )
    _, row = open_p2(client_a)
    assert checks(row) == [15]
    with CaptureQueriesContext(connection) as captured:
        _, row = open_p2(client_a)
    assert checks(row) == [15]
    assert not any('FROM "sla_escalationrule"' in q["sql"] for q in captured)
    EscalationRule.objects.filter(pk=rule.pk).update(minutes=20)  # no service, no signal
    assert checks(open_p2(client_a)[1]) == [20]
    EscalationRule.objects.filter(pk=rule.pk).update(is_active=False)
    assert checks(open_p2(client_a)[1]) == []
