"""A calendar measured on the version in force at each instant (no database).

New York office, Monday to Friday 09:00-17:00. At Wednesday 25 November 2026 12:00 the
calendar is edited: Thursday 26 November (Thanksgiving) becomes a holiday, and so does
Monday 23 November, already past. Instants are written in New York time, compared in UTC.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import CalendarError, NoWorkingTimeError, VersionedCalendar, WorkingTime

NY = ZoneInfo("America/New_York")
EDITED = datetime(2026, 11, 25, 12, 0, tzinfo=NY)


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


def office(holidays=(), hours=(("09:00", "17:00"),), tz="America/New_York"):
    return WorkingTime.from_hours(
        timezone=tz, hours={day: list(hours) for day in range(5)}, holidays=holidays, key=7
    )


BEFORE = office()
AFTER = office(holidays=[date(2026, 11, 23), date(2026, 11, 26)])
VERSIONED = VersionedCalendar([(None, BEFORE), (EDITED, AFTER)], key=7)


def test_time_before_the_edit_is_measured_on_the_rules_then():
    # Monday was a working day when it elapsed; adding it as a holiday later changes nothing.
    assert VERSIONED.between(ny(2026, 11, 23, 9), ny(2026, 11, 25, 12)) == timedelta(hours=19)
    assert AFTER.between(ny(2026, 11, 23, 9), ny(2026, 11, 25, 12)) == timedelta(hours=11)


def test_time_after_the_edit_is_measured_on_the_new_rules():
    # Wednesday 12:00-17:00, Thursday off, Friday 8 h.
    assert VERSIONED.between(EDITED, ny(2026, 11, 28)) == timedelta(hours=13)
    assert VERSIONED.between(ny(2026, 11, 23, 9), ny(2026, 11, 28)) == timedelta(hours=32)


def test_a_due_instant_after_the_edit_moves_with_it():
    # Monday 09:00 + 24 business hours: 19 h up to the edit, then Wednesday 12:00-17:00.
    assert VERSIONED.add(ny(2026, 11, 23, 9), 24 * 60) == ny(2026, 11, 25, 17)
    # One more hour: Thursday is now a holiday, so Friday 10:00 (it was Thursday 10:00).
    assert BEFORE.add(ny(2026, 11, 23, 9), 25 * 60) == ny(2026, 11, 26, 10)
    assert VERSIONED.add(ny(2026, 11, 23, 9), 25 * 60) == ny(2026, 11, 27, 10)


def test_due_exactly_at_the_edit_is_found_on_the_old_rules():
    assert VERSIONED.add(ny(2026, 11, 25, 9), 180) == EDITED
    assert VERSIONED.add(ny(2026, 11, 25, 9), 181) == ny(2026, 11, 25, 12, 1)


def test_adding_zero_and_reversed_spans():
    start = ny(2026, 11, 21, 12)  # a Saturday
    assert VERSIONED.add(start, 0) == start
    assert VERSIONED.between(ny(2026, 11, 28), ny(2026, 11, 23, 9)) == -timedelta(hours=32)


def test_is_working_reads_the_version_in_force():
    assert VERSIONED.is_working(ny(2026, 11, 23, 10))  # a holiday only from Wednesday on
    assert not VERSIONED.is_working(ny(2026, 11, 26, 10))
    assert VERSIONED.is_working(EDITED)
    assert not VERSIONED.is_continuous


def test_a_change_of_time_zone_and_hours_takes_effect_at_its_instant():
    berlin = office(tz="Europe/Berlin", hours=(("08:00", "16:00"),))
    moved = VersionedCalendar([(None, BEFORE), (EDITED, berlin)], key=7)
    # 12:00 in New York is 18:00 in Berlin: closed; next working time Thursday 08:00 Berlin.
    assert moved.add(EDITED, 60) == datetime(2026, 11, 26, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    assert moved.tz == ZoneInfo("Europe/Berlin")


def test_several_versions_and_no_working_time_at_the_end():
    closed = WorkingTime(timezone="America/New_York", week={}, key=7)
    calendar = VersionedCalendar(
        [(None, BEFORE), (EDITED, AFTER), (ny(2026, 11, 27, 12), closed)], key=7
    )
    assert calendar.between(ny(2026, 11, 25, 9), ny(2026, 12, 1)) == timedelta(hours=3 + 5 + 3)
    assert calendar.add(ny(2026, 11, 25, 9), 11 * 60) == ny(2026, 11, 27, 12)
    with pytest.raises(NoWorkingTimeError):
        calendar.add(ny(2026, 11, 25, 9), 11 * 60 + 1)


def test_versions_must_be_in_order():
    with pytest.raises(CalendarError, match="in order"):
        VersionedCalendar([(None, BEFORE), (EDITED, AFTER), (EDITED, BEFORE)])
    with pytest.raises(CalendarError, match="at least one"):
        VersionedCalendar([])
