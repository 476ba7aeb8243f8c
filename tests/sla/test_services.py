from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.core.exceptions import ValidationError

from sla import selectors, services
from sla.choices import HolidaySource, Priority
from sla.models import BusinessCalendar, Holiday, SLAPolicy
from tests.factories import BusinessCalendarFactory, business_hours_calendar

pytestmark = pytest.mark.django_db


def test_calendar_create_with_intervals():
    calendar = services.calendar_create(
        name="Night desk",
        timezone_name="Europe/Berlin",
        intervals=[(0, 22 * 60, 1440), (1, 0, 6 * 60)],
    )
    assert [str(interval) for interval in calendar.intervals.all()] == [
        "Monday 22:00-24:00",
        "Tuesday 00:00-06:00",
    ]
    assert calendar.intervals.get(weekday=0).end_time == time(0)


def test_overlapping_intervals_are_refused_and_nothing_is_saved():
    with pytest.raises(ValidationError, match="Tuesday: 09:00-13:00 overlaps 12:00-17:00"):
        services.calendar_create(
            name="Broken",
            timezone_name="UTC",
            intervals=[(1, 9 * 60, 13 * 60), (1, 12 * 60, 17 * 60)],
        )
    assert not BusinessCalendar.objects.filter(name="Broken").exists()


def test_unknown_timezone_is_refused():
    with pytest.raises(ValidationError) as error:
        services.calendar_create(name="X", timezone_name="Moon/Base")
    assert "timezone" in error.value.message_dict


def test_holiday_import_materialises_the_preset_as_editable_rows():
    calendar = business_hours_calendar(holiday_country="DE", holiday_subdivision="BY")
    services.holiday_add(calendar=calendar, day=date(2026, 12, 24), name="Christmas Eve (company)")
    created = services.calendar_holidays_import(calendar=calendar, first_year=2026, last_year=2026)
    holidays = {holiday.date: holiday for holiday in calendar.holidays.all()}
    assert created == len(holidays) - 1
    assert holidays[date(2026, 1, 6)].name == "Epiphany"  # Bavaria only
    assert holidays[date(2026, 10, 3)].source == HolidaySource.PRESET
    assert holidays[date(2026, 12, 24)].source == HolidaySource.MANUAL
    # Importing again adds nothing.
    assert (
        services.calendar_holidays_import(calendar=calendar, first_year=2026, last_year=2026) == 0
    )


def test_holiday_import_needs_a_sane_year_range():
    calendar = business_hours_calendar(holiday_country="US")
    with pytest.raises(ValidationError) as error:
        services.calendar_holidays_import(calendar=calendar, first_year=2030, last_year=2026)
    assert "last_year" in error.value.message_dict


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False)
def test_engine_follows_holiday_edits():
    # Edits made on 20 November take effect from then on, so they move this deadline.
    calendar = business_hours_calendar(timezone="UTC")
    start = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday
    assert selectors.calendar_engine(calendar).add(start, 120) == datetime(
        2026, 11, 26, 10, 0, tzinfo=UTC
    )
    services.holiday_add(calendar=calendar, day=date(2026, 11, 26), name="Thanksgiving")
    calendar = selectors.calendar_detail(pk=calendar.pk)
    assert selectors.calendar_engine(calendar).add(start, 120) == datetime(
        2026, 11, 27, 10, 0, tzinfo=UTC
    )
    services.holiday_delete(holiday=Holiday.objects.get(calendar=calendar))
    calendar = selectors.calendar_detail(pk=calendar.pk)
    assert selectors.calendar_engine(calendar).add(start, 120) == datetime(
        2026, 11, 26, 10, 0, tzinfo=UTC
    )


@pytest.fixture
def no_default_policy(db):
    """The test database comes with the default policy (tests/conftest.py): in this test only,
    its policy and calendars are put out of the way so that default_policy_ensure makes them."""
    SLAPolicy.objects.filter(name=services.DEFAULT_POLICY_NAME).update(
        name="Put aside", is_default=False
    )
    for name in (services.ALWAYS_ON_CALENDAR_NAME, "Business hours (America/New_York)"):
        BusinessCalendar.objects.filter(name=name).update(name=f"Put aside: {name}")


def test_default_policy_matches_common_msp_practice(no_default_policy):
    policy = services.default_policy_ensure()
    assert policy.is_default
    rows = {target.priority: target for target in policy.targets.all()}
    assert {p: (rows[p].response_minutes, rows[p].resolution_minutes) for p in rows} == {
        "P1": (15, 240),
        "P2": (60, 480),
        "P3": (600, 1800),
        "P4": (1200, 6000),
    }
    assert rows["P1"].resolution_calendar.is_24x7
    assert rows["P2"].resolution_calendar is None  # the policy's business-hours calendar
    assert policy.calendar.holidays.filter(date=date(2026, 11, 26)).exists()  # Thanksgiving
    assert services.default_policy_ensure() == policy
    assert SLAPolicy.objects.filter(name=services.DEFAULT_POLICY_NAME).count() == 1


def test_policy_targets_give_engine_targets_on_the_right_calendars(policy):
    assert selectors.default_policy() == policy
    p1 = selectors.policy_targets(policy=policy, priority=Priority.P1)
    p3 = selectors.policy_targets(policy=policy, priority=Priority.P3)
    assert p1.response.minutes == 15 and p1.response.calendar.is_continuous
    assert p3.resolution.minutes == 1800 and not p3.resolution.calendar.is_continuous
    assert p3.warning_percents == (75, 90)
    assert p3.pause_statuses == frozenset({"waiting_on_client"})
    assert p3.next_update is None


def test_policy_save_hands_over_the_default_flag(policy):
    calendar = BusinessCalendarFactory()
    old = policy
    targets = {p: {"response_minutes": 30, "resolution_minutes": 240} for p in Priority.values}
    new = services.policy_save(name="Gold", calendar=calendar, is_default=True, targets=targets)
    old.refresh_from_db()
    assert new.is_default and not old.is_default
    assert new.targets.count() == 4


def test_policy_save_needs_every_priority():
    with pytest.raises(ValidationError, match="Every priority"):
        services.policy_save(
            name="Partial",
            calendar=BusinessCalendarFactory(),
            targets={"P1": {"response_minutes": 1}},
        )
