"""A calendar edit moves the deadlines of clocks still running on it (never time already
spent): the sweep picks those clocks up at once, recomputes their deadlines and the ticket's,
and fires whatever the new rules make due, once."""

from datetime import date, timedelta

import pytest
import time_machine

from sla.choices import ClockKind
from sla.models import SLAClock, SLAEvent
from sla.services import calendar_intervals_set, holiday_add
from tests.factories import ContactFactory
from tests.tickets.conftest import ny
from tickets import services
from tickets.choices import Impact, Urgency
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db

MONDAY_9 = ny(2026, 12, 7, 9, 0)


@pytest.fixture
def p3(policy, client_a):
    """P3 on New York business hours (08-18): resolution 3 business days = 1,800 minutes."""
    return services.ticket_open(
        client=client_a,
        contact=ContactFactory(client=client_a),
        subject="Laptop slow",
        impact=Impact.LOW,
        urgency=Urgency.HIGH,
        at=MONDAY_9,
    )


def resolution(ticket) -> SLAClock:
    return SLAClock.objects.get(ticket=ticket, kind=ClockKind.RESOLUTION)


def test_a_new_holiday_moves_the_deadline_once_the_sweep_has_run(p3, policy):
    assert resolution(p3).due_at == ny(2026, 12, 10, 9, 0)  # Thursday
    edited = MONDAY_9 + timedelta(hours=1)
    with time_machine.travel(edited, tick=False):
        holiday_add(calendar=policy.calendar, day=date(2026, 12, 9), name="Office move")
    assert resolution(p3).next_check_at == edited  # due for a recheck now
    sla_sweep(now=edited + timedelta(seconds=5))
    clock = resolution(p3)
    assert clock.due_at == ny(2026, 12, 11, 9, 0)  # Friday: Wednesday is now a holiday
    assert clock.spent_seconds == 3600 + 5  # the hour already spent stays spent
    assert clock.next_check_at == clock.warn_at  # back to its next milestone
    p3.refresh_from_db()
    assert p3.sla_due_at == min(
        c.due_at for c in SLAClock.objects.filter(ticket=p3, stopped_at__isnull=True)
    )


def test_longer_hours_bring_a_warning_forward_and_it_fires_once(p3, policy):
    edited = ny(2026, 12, 9, 9, 0)  # Wednesday: 1,200 of 1,800 minutes spent (66 %)
    with time_machine.travel(edited, tick=False):
        # From now on every weekday is 00:00-24:00: the 75 % mark (1,350 min) comes at 11:30.
        calendar_intervals_set(
            calendar=policy.calendar,
            intervals=[(weekday, 0, 1440) for weekday in range(5)],
        )
    sla_sweep(now=edited + timedelta(seconds=5))
    assert resolution(p3).warn_at == ny(2026, 12, 9, 11, 30)
    assert resolution(p3).due_at == ny(2026, 12, 9, 19, 0)
    sla_sweep(now=ny(2026, 12, 9, 11, 31))
    sla_sweep(now=ny(2026, 12, 9, 11, 45))
    keys = SLAEvent.objects.filter(clock=resolution(p3)).values_list("key", flat=True)
    assert list(keys) == ["warning-75"]


def test_the_clocks_rechecked_are_those_measured_on_the_calendar(p3, policy):
    """Found by the calendar in each clock's history, not by the policy as it is now: a policy
    moved to another calendar since still has its running clocks rechecked on the old one."""
    from sla.models import BusinessCalendar

    measured_on = policy.calendar
    policy.calendar = BusinessCalendar.objects.create(name="Nights", timezone="UTC", is_24x7=True)
    policy.save()
    edited = MONDAY_9 + timedelta(hours=1)
    with time_machine.travel(edited, tick=False):
        holiday_add(calendar=measured_on, day=date(2026, 12, 9), name="Office move")
    assert resolution(p3).next_check_at == edited
