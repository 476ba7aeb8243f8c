"""Business-time arithmetic on a working calendar, with no database.

A `BusinessCalendar` is a plain object built from an IANA time zone, working intervals per
weekday and holiday dates. The rule: an instant is business time when its wall-clock reading
in the calendar's time zone (local date and time) falls inside a working interval of that
weekday, on a date that is not a holiday. Business time is real elapsed time, so a 00:00-06:00
interval lasts 5 hours on the spring-forward night and 7 on the fall-back night (the repeated
hour is read twice), and a 09:00-17:00 interval is always 8 hours.

Two public operations, exact to the microsecond:

    calendar.add(start, minutes)    -> the due instant: the earliest instant at which
                                       `minutes` of business time have elapsed since `start`
    calendar.between(start, end)    -> the business time between two instants (a timedelta)

How it stays fast: for each local calendar year the working intervals of every date are
converted once to UTC microseconds and summed into a running total per day. `between` is then
two look-ups and `add` a binary search, whatever the number of days spanned.
"""

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
ONE_MICROSECOND = timedelta(microseconds=1)
US_PER_MINUTE = 60_000_000
US_PER_DAY = 24 * 60 * US_PER_MINUTE
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = EPOCH.date().toordinal()
# add() gives up after this many years without enough working time, instead of looping on.
MAX_SEARCH_YEARS = 100
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CalendarError(ValueError):
    """The calendar's definition is unusable (bad interval, unknown time zone)."""


class NoWorkingTimeError(CalendarError):
    """The calendar has no working time in which the requested business time could elapse."""


@dataclass(frozen=True, slots=True)
class _Year:
    """Working intervals of one local calendar year, in UTC microseconds since the epoch."""

    first_ordinal: int
    intervals: tuple[tuple[tuple[int, int], ...], ...]  # per day of the year
    before_day: tuple[int, ...]  # business microseconds before each day; last item = year total

    @property
    def total(self) -> int:
        return self.before_day[-1]


def check_intervals(intervals: Iterable[tuple[int, int]]) -> list[str]:
    """Errors in one weekday's intervals, given as (start, end) minutes from local midnight.

    An end of 1440 means midnight at the end of the day. Overnight shifts are two intervals:
    22:00-24:00 on one day and 00:00-06:00 on the next.
    """
    errors = []
    ordered = sorted(intervals)
    for start, end in ordered:
        if not (0 <= start < MINUTES_PER_DAY and 0 < end <= MINUTES_PER_DAY):
            errors.append(f"{_hhmm(start)}-{_hhmm(end)} is outside the day.")
        elif end <= start:
            errors.append(
                f"{_hhmm(start)}-{_hhmm(end)} ends before it starts; split an overnight shift "
                "into two intervals (22:00-00:00, then 00:00-06:00 on the next day)."
            )
    for (start_a, end_a), (start_b, end_b) in pairwise(ordered):
        if start_b < end_a:
            errors.append(
                f"{_hhmm(start_a)}-{_hhmm(end_a)} overlaps {_hhmm(start_b)}-{_hhmm(end_b)}."
            )
    return errors


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _to_us(instant: datetime) -> int:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("Business-time arithmetic needs aware datetimes, not naive ones.")
    return (instant - EPOCH) // ONE_MICROSECOND


def _from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _duration_us(amount: float | int | timedelta) -> int:
    if isinstance(amount, timedelta):
        us = amount // ONE_MICROSECOND
    else:
        us = round(amount * US_PER_MINUTE)
    if us < 0:
        raise ValueError("Business time to add must not be negative.")
    return us


class BusinessCalendar:
    """Working time of one calendar: time zone, weekly working intervals, holidays.

    `week` maps weekday (0 = Monday) to (start, end) minutes from local midnight; `always_open`
    makes every day 00:00-24:00 (24x7). Holidays are local dates with no working time.
    """

    __slots__ = ("_years", "always_open", "holidays", "key", "tz", "week", "weekly_minutes")

    def __init__(
        self,
        *,
        timezone: str,
        week: Mapping[int, Sequence[tuple[int, int]]] | None = None,
        holidays: Iterable[date] = (),
        always_open: bool = False,
        key: object = None,
    ) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (KeyError, ValueError) as exc:
            raise CalendarError(f"{timezone!r} is not a known IANA time zone.") from exc
        if always_open:
            week = {weekday: [(0, MINUTES_PER_DAY)] for weekday in range(7)}
        week = week or {}
        normalised: dict[int, tuple[tuple[int, int], ...]] = {}
        for weekday in range(7):
            intervals = sorted((int(s), int(e)) for s, e in week.get(weekday, ()))
            errors = check_intervals(intervals)
            if errors:
                raise CalendarError(f"{WEEKDAY_NAMES[weekday]}: {' '.join(errors)}")
            normalised[weekday] = _merge_adjacent(intervals)
        self.week = normalised
        self.weekly_minutes = sum(e - s for day in normalised.values() for s, e in day)
        self.always_open = always_open
        self.holidays = frozenset(holidays)
        self.key = key  # lets callers cache and compare calendars by their own identity
        self._years: dict[int, _Year] = {}

    def __repr__(self) -> str:
        return f"<BusinessCalendar {self.tz.key} {self.weekly_minutes} min/week key={self.key!r}>"

    @classmethod
    def from_hours(
        cls,
        *,
        timezone: str,
        hours: Mapping[int, Sequence[tuple[str, str]]],
        holidays: Iterable[date] = (),
        key: object = None,
    ) -> "BusinessCalendar":
        """Build from "HH:MM" strings, e.g. {0: [("09:00", "17:00")]}; "24:00" ends the day."""
        week = {
            weekday: [(_parse_hhmm(start), _parse_hhmm(end)) for start, end in intervals]
            for weekday, intervals in hours.items()
        }
        return cls(timezone=timezone, week=week, holidays=holidays, key=key)

    @property
    def is_continuous(self) -> bool:
        """Every instant is business time: 24x7 with no holidays."""
        return self.weekly_minutes == 7 * MINUTES_PER_DAY and not self.holidays

    # Public operations -------------------------------------------------------------------

    def add(self, start: datetime, minutes: float | int | timedelta) -> datetime:
        """The earliest instant at which `minutes` of business time have elapsed since `start`.

        A target used up exactly at closing time is due at closing time. Adding zero returns
        `start` itself. The result is an aware datetime in UTC.
        """
        amount = _duration_us(minutes)
        start_us = _to_us(start)
        if amount == 0:
            return _from_us(start_us)
        if self.is_continuous:
            return _from_us(start_us + amount)
        if self.weekly_minutes == 0:
            raise NoWorkingTimeError("This calendar has no working time at all.")
        year_number, position = self._position(start_us)
        wanted = position + amount
        for _ in range(MAX_SEARCH_YEARS):
            year = self._year(year_number)
            if wanted <= year.total:
                return _from_us(_instant_in_year(year, wanted))
            wanted -= year.total
            year_number += 1
        raise NoWorkingTimeError(
            f"Not enough working time in {MAX_SEARCH_YEARS} years to add {amount // US_PER_MINUTE}"
            " business minutes (is every working day a holiday?)."
        )

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end`; negative when `end` is before `start`."""
        start_us, end_us = _to_us(start), _to_us(end)
        if end_us < start_us:
            return -self.between(end, start)
        if self.is_continuous:
            return timedelta(microseconds=end_us - start_us)
        start_year, start_position = self._position(start_us)
        end_year, end_position = self._position(end_us)
        total = end_position - start_position
        for year_number in range(start_year, end_year):
            total += self._year(year_number).total
        return timedelta(microseconds=total)

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes from `start` to `end`, as a float (see `between` for exact time)."""
        return self.between(start, end) / timedelta(minutes=1)

    def is_working(self, instant: datetime) -> bool:
        """Whether `instant` falls inside working time."""
        if self.is_continuous:
            return True
        us = _to_us(instant)
        year_number, day_index, _ = self._locate(us)
        return any(s <= us < e for s, e in self._year(year_number).intervals[day_index])

    # Internals ---------------------------------------------------------------------------

    def _locate(self, us: int) -> tuple[int, int, date]:
        local_date = _from_us(us).astimezone(self.tz).date()
        year = self._year(local_date.year)
        return local_date.year, local_date.toordinal() - year.first_ordinal, local_date

    def _position(self, us: int) -> tuple[int, int]:
        """(local year, business microseconds from the start of that year to `us`)."""
        year_number, day_index, _ = self._locate(us)
        year = self._year(year_number)
        position = year.before_day[day_index]
        for s, e in year.intervals[day_index]:
            if us <= s:
                break
            position += (e if us >= e else us) - s
        return year_number, position

    def _year(self, year_number: int) -> _Year:
        year = self._years.get(year_number)
        if year is None:
            year = self._years[year_number] = self._build_year(year_number)
        return year

    def _build_year(self, year_number: int) -> _Year:
        first = date(year_number, 1, 1).toordinal()
        last = date(year_number, 12, 31).toordinal()
        per_day = []
        before_day = [0]
        running = 0
        for ordinal in range(first, last + 1):
            day = date.fromordinal(ordinal)
            intervals = () if day in self.holidays else self._day_intervals(day)
            per_day.append(intervals)
            running += sum(e - s for s, e in intervals)
            before_day.append(running)
        return _Year(first, tuple(per_day), tuple(before_day))

    def _day_intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        """The real instants (UTC microseconds) whose wall-clock reading on `day` is working time.

        Within one UTC offset a wall-clock interval maps to one real interval. On a DST change
        day the offset differs before and after the change instant, so each interval is mapped
        with both offsets and cut at the change: the spring-forward gap then holds no working
        time, and the repeated fall-back hour counts twice where the interval covers it.
        """
        local_midnight_us = (day.toordinal() - EPOCH_ORDINAL) * US_PER_DAY
        # Naive on purpose: the offset of a local wall-clock reading (midnight) is looked up.
        offset_before = self._offset_us(datetime.combine(day, time(0)))
        offset_after = self._offset_us(datetime.combine(day + timedelta(days=1), time(0)))
        result: list[tuple[int, int]] = []
        if offset_before == offset_after:
            for start, end in self.week[day.weekday()]:
                result.append(
                    (
                        local_midnight_us + start * US_PER_MINUTE - offset_before,
                        local_midnight_us + end * US_PER_MINUTE - offset_before,
                    )
                )
            return tuple(result)
        change_us = self._offset_change_us(
            local_midnight_us - offset_before, local_midnight_us + US_PER_DAY - offset_after
        )
        for start, end in self.week[day.weekday()]:
            for offset, low, high in (
                (offset_before, None, change_us),
                (offset_after, change_us, None),
            ):
                piece_start = local_midnight_us + start * US_PER_MINUTE - offset
                piece_end = local_midnight_us + end * US_PER_MINUTE - offset
                if low is not None:
                    piece_start = max(piece_start, low)
                if high is not None:
                    piece_end = min(piece_end, high)
                if piece_end > piece_start:
                    result.append((piece_start, piece_end))
        result.sort()
        return _merge_adjacent(result)

    def _offset_us(self, local: datetime) -> int:
        return self.tz.utcoffset(local) // ONE_MICROSECOND

    def _offset_us_at(self, us: int) -> int:
        return _from_us(us).astimezone(self.tz).utcoffset() // ONE_MICROSECOND

    def _offset_change_us(self, low: int, high: int) -> int:
        """The instant in [low, high] at which the offset switches (a binary search by second)."""
        offset_low = self._offset_us_at(low)
        low_s, high_s = low // 1_000_000, -(-high // 1_000_000)
        while high_s - low_s > 1:
            middle = (low_s + high_s) // 2
            if self._offset_us_at(middle * 1_000_000) == offset_low:
                low_s = middle
            else:
                high_s = middle
        return high_s * 1_000_000


def _instant_in_year(year: _Year, wanted: int) -> int:
    """The instant at which `wanted` (> 0) business microseconds into the year have elapsed."""
    day_index = bisect_left(year.before_day, wanted, lo=1) - 1
    remaining = wanted - year.before_day[day_index]
    for s, e in year.intervals[day_index]:
        if remaining <= e - s:
            return s + remaining
        remaining -= e - s
    raise AssertionError("running totals and intervals disagree")  # pragma: no cover


def _merge_adjacent(intervals: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in intervals:
        if merged and merged[-1][1] >= start:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _parse_hhmm(value: str) -> int:
    hours, _, minutes = value.partition(":")
    try:
        return int(hours) * 60 + int(minutes or 0)
    except ValueError:
        raise CalendarError(f"{value!r} is not a time of day (HH:MM).") from None
