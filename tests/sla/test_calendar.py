"""Exact business-time arithmetic. Instants are written in local time and compared in UTC."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import CalendarError, NoWorkingTimeError, WorkingTime, check_intervals

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = range(5)


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def office(tz="America/New_York", hours=(("09:00", "17:00"),), days=WEEKDAYS, holidays=()):
    return WorkingTime.from_hours(
        timezone=tz, hours={day: list(hours) for day in days}, holidays=holidays
    )


@pytest.fixture
def nine_to_five():
    return office()


class TestAdd:
    def test_within_the_same_day(self, nine_to_five):
        assert nine_to_five.add(ny(2026, 11, 23, 10, 0), 90) == ny(2026, 11, 23, 11, 30)

    def test_target_used_up_at_closing_time_is_due_at_closing_time(self, nine_to_five):
        assert nine_to_five.add(ny(2026, 11, 23, 9, 0), 480) == ny(2026, 11, 23, 17, 0)

    def test_one_minute_more_rolls_to_next_opening(self, nine_to_five):
        assert nine_to_five.add(ny(2026, 11, 23, 9, 0), 481) == ny(2026, 11, 24, 9, 1)

    def test_friday_afternoon_rolls_over_the_weekend(self, nine_to_five):
        assert nine_to_five.add(ny(2026, 11, 20, 16, 0), 120) == ny(2026, 11, 23, 10, 0)

    def test_start_on_a_weekend(self, nine_to_five):
        assert nine_to_five.add(ny(2026, 11, 21, 12, 0), 60) == ny(2026, 11, 23, 10, 0)

    def test_start_in_the_evening(self, nine_to_five):
        assert nine_to_five.add(ny(2026, 11, 24, 20, 0), 30) == ny(2026, 11, 25, 9, 30)

    def test_start_before_opening(self, nine_to_five):
        assert nine_to_five.add(ny(2026, 11, 24, 7, 0), 30) == ny(2026, 11, 24, 9, 30)

    def test_zero_minutes_is_the_start_itself(self, nine_to_five):
        start = ny(2026, 11, 21, 12, 0)  # a Saturday: not working time, still the answer
        assert nine_to_five.add(start, 0) == start

    def test_exact_to_the_second_and_below(self, nine_to_five):
        start = ny(2026, 11, 23, 9, 0, 30, 500_000)
        assert nine_to_five.add(start, 1) == ny(2026, 11, 23, 9, 1, 30, 500_000)
        late = ny(2026, 11, 20, 16, 59, 45)  # Friday, 15 s before closing
        assert nine_to_five.add(late, 1) == ny(2026, 11, 23, 9, 0, 45)

    def test_timedelta_amounts(self, nine_to_five):
        start = ny(2026, 11, 23, 16, 0)
        assert nine_to_five.add(start, timedelta(hours=1, seconds=1)) == ny(2026, 11, 24, 9, 0, 1)

    def test_result_is_utc(self, nine_to_five):
        due = nine_to_five.add(ny(2026, 11, 23, 9, 0), 60)
        assert due.tzinfo is UTC
        assert due == utc(2026, 11, 23, 15, 0)

    def test_holiday_on_a_working_day_is_skipped(self):
        calendar = office(holidays=[date(2026, 11, 26)])  # Thanksgiving, a Thursday
        assert calendar.add(ny(2026, 11, 25, 16, 0), 120) == ny(2026, 11, 27, 10, 0)

    def test_start_on_a_holiday(self):
        calendar = office(holidays=[date(2026, 11, 26)])
        assert calendar.add(ny(2026, 11, 26, 10, 0), 60) == ny(2026, 11, 27, 10, 0)

    def test_across_new_year_with_a_holiday(self):
        calendar = office(holidays=[date(2027, 1, 1)])
        # Thursday 31 Dec 2026 16:00 + 2 h: 1 h that day, Friday is a holiday, Monday 10:00.
        assert calendar.add(ny(2026, 12, 31, 16, 0), 120) == ny(2027, 1, 4, 10, 0)

    def test_split_day(self):
        calendar = office(hours=(("08:00", "12:00"), ("13:00", "17:00")))
        assert calendar.add(ny(2026, 11, 23, 11, 0), 120) == ny(2026, 11, 23, 14, 0)
        assert calendar.add(ny(2026, 11, 23, 12, 30), 30) == ny(2026, 11, 23, 13, 30)

    def test_overnight_shift_split_at_midnight(self):
        calendar = WorkingTime.from_hours(
            timezone="America/New_York",
            hours={0: [("22:00", "24:00")], 1: [("00:00", "06:00")]},
        )
        assert calendar.add(ny(2026, 11, 23, 23, 0), 120) == ny(2026, 11, 24, 1, 0)
        assert calendar.add(ny(2026, 11, 23, 12, 0), 480) == ny(2026, 11, 24, 6, 0)
        assert calendar.add(ny(2026, 11, 23, 12, 0), 481) == ny(2026, 11, 30, 22, 1)

    def test_many_weeks(self, nine_to_five):
        # 50 business days of 8 h from Monday 5 January 2026: the Friday of the tenth week,
        # by then on daylight saving time.
        assert nine_to_five.add(ny(2026, 1, 5, 9, 0), 50 * 480) == ny(2026, 3, 13, 17, 0)
        assert ny(2026, 3, 13, 17, 0) == utc(2026, 3, 13, 21, 0)

    def test_many_years(self, nine_to_five):
        start = ny(2026, 1, 1, 9, 0)
        due = nine_to_five.add(start, 3 * 52 * 5 * 480)
        assert nine_to_five.between(start, due) == timedelta(minutes=3 * 52 * 5 * 480)
        assert due == ny(2028, 12, 27, 17, 0)  # the 780th weekday from 1 Jan 2026, at closing

    def test_24x7_is_elapsed_time(self):
        calendar = WorkingTime(timezone="America/New_York", always_open=True)
        assert calendar.add(ny(2026, 11, 21, 23, 0), 240) == ny(2026, 11, 22, 3, 0)


class TestDaylightSavingTime:
    """US: 8 Mar 2026 02:00 -> 03:00 and 1 Nov 2026 02:00 -> 01:00. Berlin: 29 Mar 2026
    02:00 -> 03:00 and 25 Oct 2026 03:00 -> 02:00. All four are Sundays."""

    def test_ny_office_hours_across_spring_forward(self, nine_to_five):
        due = nine_to_five.add(ny(2026, 3, 6, 16, 0), 120)  # Friday EST -> Monday EDT
        assert due == ny(2026, 3, 9, 10, 0)
        assert due == utc(2026, 3, 9, 14, 0)

    def test_ny_office_hours_across_fall_back(self, nine_to_five):
        due = nine_to_five.add(ny(2026, 10, 30, 16, 0), 120)  # Friday EDT -> Monday EST
        assert due == utc(2026, 11, 2, 15, 0)

    def test_ny_24x7_across_spring_forward_loses_the_skipped_hour(self):
        calendar = WorkingTime(timezone="America/New_York", always_open=True)
        due = calendar.add(ny(2026, 3, 7, 22, 0), 360)
        assert due == ny(2026, 3, 8, 5, 0)  # 6 real hours; the wall clock shows 7 later

    def test_ny_24x7_across_fall_back_gains_the_repeated_hour(self):
        calendar = WorkingTime(timezone="America/New_York", always_open=True)
        due = calendar.add(ny(2026, 10, 31, 22, 0), 360)
        assert due == ny(2026, 11, 1, 3, 0)  # 6 real hours; the wall clock shows 5 later

    def test_ny_interval_crossing_spring_forward_is_an_hour_shorter(self):
        calendar = WorkingTime.from_hours(
            timezone="America/New_York", hours={6: [("00:00", "06:00")]}
        )
        assert calendar.between(ny(2026, 3, 8, 0, 0), ny(2026, 3, 8, 12, 0)) == timedelta(hours=5)
        assert calendar.add(ny(2026, 3, 8, 0, 0), 300) == ny(2026, 3, 8, 6, 0)
        assert calendar.add(ny(2026, 3, 8, 1, 30), 30) == ny(2026, 3, 8, 3, 0)

    def test_ny_interval_crossing_fall_back_is_an_hour_longer(self):
        calendar = WorkingTime.from_hours(
            timezone="America/New_York", hours={6: [("00:00", "06:00")]}
        )
        sunday = ny(2026, 11, 1, 0, 0)
        assert calendar.between(sunday, ny(2026, 11, 1, 12, 0)) == timedelta(hours=7)
        assert calendar.add(sunday, 420) == ny(2026, 11, 1, 6, 0)
        # 120 minutes after midnight the wall clock reads 01:00 for the second time.
        assert calendar.add(sunday, 120) == utc(2026, 11, 1, 6, 0)

    def test_interval_starting_in_the_skipped_hour_starts_at_the_jump(self):
        calendar = WorkingTime.from_hours(
            timezone="America/New_York", hours={6: [("02:30", "04:00")]}
        )
        # 02:30 never shows on 8 March; working time starts when the clock jumps to 03:00.
        assert calendar.add(ny(2026, 3, 8, 0, 0), 1) == ny(2026, 3, 8, 3, 1)
        assert calendar.between(ny(2026, 3, 8, 0, 0), ny(2026, 3, 8, 12, 0)) == timedelta(hours=1)

    def test_interval_ending_in_the_repeated_hour_counts_both_passes(self):
        calendar = WorkingTime.from_hours(
            timezone="America/New_York", hours={6: [("00:00", "01:30")]}
        )
        day = (ny(2026, 11, 1, 0, 0), ny(2026, 11, 2, 0, 0))
        assert calendar.between(*day) == timedelta(hours=2)

    def test_berlin_office_hours_across_spring_forward(self):
        calendar = office(tz="Europe/Berlin", hours=(("08:00", "18:00"),))
        due = calendar.add(berlin(2026, 3, 27, 17, 0), 120)  # Friday CET -> Monday CEST
        assert due == berlin(2026, 3, 30, 9, 0)
        assert due == utc(2026, 3, 30, 7, 0)

    def test_berlin_office_hours_across_fall_back(self):
        calendar = office(tz="Europe/Berlin", hours=(("08:00", "18:00"),))
        due = calendar.add(berlin(2026, 10, 23, 17, 0), 120)  # Friday CEST -> Monday CET
        assert due == utc(2026, 10, 26, 8, 0)

    def test_berlin_interval_crossing_each_switch(self):
        calendar = WorkingTime.from_hours(timezone="Europe/Berlin", hours={6: [("01:00", "04:00")]})
        spring = calendar.between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0))
        autumn = calendar.between(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0))
        assert spring == timedelta(hours=2)
        assert autumn == timedelta(hours=4)
        assert calendar.add(berlin(2026, 3, 29, 0, 0), 90) == berlin(2026, 3, 29, 3, 30)

    def test_berlin_24x7_week_with_the_switch(self):
        calendar = WorkingTime(timezone="Europe/Berlin", always_open=True)
        week = calendar.between(berlin(2026, 3, 23), berlin(2026, 3, 30))
        assert week == timedelta(days=7) - timedelta(hours=1)

    def test_berlin_full_days_calendar_matches_24x7(self):
        full_days = WorkingTime(
            timezone="Europe/Berlin", week={day: [(0, 1440)] for day in range(7)}
        )
        always = WorkingTime(timezone="Europe/Berlin", always_open=True)
        start = berlin(2026, 10, 24, 12, 0)
        assert full_days.add(start, 1440) == always.add(start, 1440) == berlin(2026, 10, 25, 11, 0)


class TestChangesAtLocalMidnight:
    """Zones whose clocks change at 00:00 local time, or just after it.

    Santiago: Sunday 6 Sep 2026 00:00 -04 -> 01:00 -03 (the day starts at 01:00), and Sunday
    5 Apr 2026 00:00 -03 -> Saturday 23:00 -04 (Saturday's last hour is read twice). Goose Bay,
    7 Nov 2010: 00:01 ADT -> 23:01 AST, so the repeated hour straddles midnight: one minute of
    Sunday, then Saturday 23:01-24:00 again, then Sunday again.
    """

    def santiago(self, hours):
        return WorkingTime.from_hours(timezone="America/Santiago", hours=hours)

    def test_spring_forward_at_midnight_places_the_day_on_the_new_offset(self):
        calendar = self.santiago({6: [("08:00", "12:00")]})
        # Sunday 08:00-12:00 -03 is 11:00-15:00 UTC, not 12:00-16:00 (09:00-13:00 local).
        assert calendar.add(utc(2026, 9, 5, 12, 0), 1) == utc(2026, 9, 6, 11, 1)
        assert calendar.add(utc(2026, 9, 5, 12, 0), 240) == utc(2026, 9, 6, 15, 0)
        assert calendar.is_working(utc(2026, 9, 6, 11, 0))
        assert not calendar.is_working(utc(2026, 9, 6, 15, 30))
        assert calendar.between(utc(2026, 9, 6, 11, 0), utc(2026, 9, 6, 15, 0)) == timedelta(
            hours=4
        )

    def test_spring_forward_at_midnight_skips_the_first_hour(self):
        calendar = self.santiago({6: [("00:00", "02:00")]})
        # 00:00-01:00 never shows on that Sunday: one hour, 01:00-02:00 -03 = 04:00-05:00 UTC.
        assert calendar.between(utc(2026, 9, 6), utc(2026, 9, 7)) == timedelta(hours=1)
        assert calendar.add(utc(2026, 9, 5, 12, 0), 1) == utc(2026, 9, 6, 4, 1)

    def test_fall_back_at_midnight_repeats_the_last_hour_of_the_day_before(self):
        saturday_night = self.santiago({5: [("22:00", "24:00")]})
        # 22:00-24:00 -03 (01:00-03:00 UTC), then 23:00-24:00 again in -04 (03:00-04:00 UTC).
        assert saturday_night.between(utc(2026, 4, 4), utc(2026, 4, 6)) == timedelta(hours=3)
        assert saturday_night.add(utc(2026, 4, 4, 12, 0), 150) == utc(2026, 4, 5, 3, 30)
        sunday_morning = self.santiago({6: [("00:00", "02:00")]})
        assert sunday_morning.add(utc(2026, 4, 4, 12, 0), 1) == utc(2026, 4, 5, 4, 1)
        assert sunday_morning.between(utc(2026, 4, 4), utc(2026, 4, 6)) == timedelta(hours=2)

    def test_repeated_hour_straddling_midnight_counts_each_date_apart(self):
        saturday = WorkingTime.from_hours(
            timezone="America/Goose_Bay", hours={5: [("23:00", "24:00")]}
        )
        sunday = WorkingTime.from_hours(
            timezone="America/Goose_Bay", hours={6: [("00:00", "01:00")]}
        )
        night = (utc(2010, 11, 7), utc(2010, 11, 8))
        # Saturday 23:00-24:00 ADT (02:00-03:00 UTC), then 23:01-24:00 AST (03:01-04:00 UTC).
        assert saturday.between(*night) == timedelta(minutes=119)
        assert saturday.add(utc(2010, 11, 7), 61) == utc(2010, 11, 7, 3, 2)
        assert not saturday.is_working(utc(2010, 11, 7, 3, 0, 30))
        # Sunday 00:00-00:01 ADT (03:00-03:01 UTC), then 00:00-01:00 AST (04:00-05:00 UTC).
        assert sunday.between(*night) == timedelta(minutes=61)
        assert sunday.add(utc(2010, 11, 7), 2) == utc(2010, 11, 7, 4, 1)
        assert not sunday.is_working(utc(2010, 11, 7, 3, 30))


class TestBetween:
    def test_counts_only_working_time(self, nine_to_five):
        # Friday 16:00 to Monday 10:00: one hour each side of the weekend.
        assert nine_to_five.between(ny(2026, 11, 20, 16, 0), ny(2026, 11, 23, 10, 0)) == timedelta(
            hours=2
        )

    def test_excludes_holidays(self):
        calendar = office(holidays=[date(2026, 11, 26)])
        week = calendar.between(ny(2026, 11, 23), ny(2026, 11, 30))
        assert week == timedelta(hours=32)

    def test_negative_when_reversed(self, nine_to_five):
        a, b = ny(2026, 11, 23, 10, 0), ny(2026, 11, 23, 12, 0)
        assert nine_to_five.between(b, a) == -timedelta(hours=2)

    def test_minutes_between(self, nine_to_five):
        assert (
            nine_to_five.minutes_between(ny(2026, 11, 23, 10, 0), ny(2026, 11, 23, 10, 0, 30))
            == 0.5
        )

    def test_multi_year_span(self, nine_to_five):
        total = nine_to_five.between(ny(2025, 1, 1), ny(2028, 1, 1))
        weekdays = sum(
            1
            for offset in range((date(2028, 1, 1) - date(2025, 1, 1)).days)
            if (date(2025, 1, 1) + timedelta(days=offset)).weekday() < 5
        )
        assert total == timedelta(hours=8 * weekdays)

    def test_is_working(self, nine_to_five):
        assert nine_to_five.is_working(ny(2026, 11, 23, 9, 0))
        assert not nine_to_five.is_working(ny(2026, 11, 23, 17, 0))
        assert not nine_to_five.is_working(ny(2026, 11, 22, 12, 0))


class TestBadInput:
    def test_no_working_time_at_all_is_a_clear_error(self):
        calendar = WorkingTime(timezone="UTC", week={})
        with pytest.raises(NoWorkingTimeError, match="no working time"):
            calendar.add(utc(2026, 1, 1), 1)
        assert calendar.between(utc(2026, 1, 1), utc(2026, 2, 1)) == timedelta(0)

    def test_every_working_day_a_holiday_is_a_clear_error_not_a_hang(self):
        every_day = [date(2026, 1, 1) + timedelta(days=n) for n in range(366 * 101)]
        calendar = office(tz="UTC", holidays=every_day)
        with pytest.raises(NoWorkingTimeError, match="100 years"):
            calendar.add(utc(2026, 1, 1), 60)

    def test_naive_datetimes_are_refused(self, nine_to_five):
        with pytest.raises(ValueError, match="aware"):
            nine_to_five.add(datetime(2026, 1, 1), 1)  # noqa: DTZ001

    def test_negative_minutes_are_refused(self, nine_to_five):
        with pytest.raises(ValueError, match="negative"):
            nine_to_five.add(ny(2026, 1, 1), -5)

    def test_unknown_time_zone(self):
        with pytest.raises(CalendarError, match="Mars/Olympus"):
            WorkingTime(timezone="Mars/Olympus", week={})

    def test_overlapping_intervals(self):
        with pytest.raises(CalendarError, match="Monday: 09:00-12:00 overlaps 11:00-14:00"):
            office(hours=(("09:00", "12:00"), ("11:00", "14:00")), days=[0])

    def test_inverted_interval_explains_overnight_shifts(self):
        assert check_intervals([(22 * 60, 6 * 60)]) == [
            "22:00-06:00 ends before it starts; split an overnight shift into two intervals "
            "(22:00-00:00, then 00:00-06:00 on the next day)."
        ]

    def test_adjacent_intervals_are_fine_and_merge(self):
        calendar = office(hours=(("09:00", "12:00"), ("12:00", "17:00")), days=[0])
        assert calendar.week[0] == ((540, 1020),)
