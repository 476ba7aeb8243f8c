"""Business-time arithmetic on a working calendar, with no database.

A `WorkingTime` is a plain object built from an IANA time zone, working intervals per
weekday and holiday dates. The rule: an instant is business time when its wall-clock reading
in the calendar's time zone (local date and time) falls inside a working interval of that
weekday, on a date that is not a holiday. Business time is real elapsed time, so a 00:00-06:00
interval lasts 5 hours on the spring-forward night and 7 on the fall-back night (the repeated
hour is read twice), and a 09:00-17:00 interval is always 8 hours.

Two public operations, exact to the microsecond:

    calendar.add(start, minutes)    -> the due instant: the earliest instant at which
                                       `minutes` of business time have elapsed since `start`
    calendar.between(start, end)    -> the business time between two instants (a timedelta)

How it stays fast: time is cut into fixed stretches of UTC time (365 days); on first use each
stretch's working intervals are converted once to UTC microseconds, sorted, with a running
total. `between` is then two binary searches and `add` one, whatever the number of days spanned.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
ONE_MICROSECOND = timedelta(microseconds=1)
US_PER_MINUTE = 60_000_000
US_PER_DAY = 24 * 60 * US_PER_MINUTE
SECONDS_PER_DAY = 24 * 60 * 60
# Working time is tabulated in fixed stretches of UTC time, built on first use.
CHUNK_SECONDS = 365 * SECONDS_PER_DAY
CHUNK_US = CHUNK_SECONDS * 1_000_000
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
class _Chunk:
    """Working time within one fixed stretch of UTC time, as sorted intervals in UTC
    microseconds since the epoch, with the business time elapsed before each of them."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    before: tuple[int, ...]  # business microseconds before each interval; last item = total

    @property
    def total(self) -> int:
        return self.before[-1]


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


class WorkingTime:
    """Working time of one calendar: time zone, weekly working intervals, holidays.

    `week` maps weekday (0 = Monday) to (start, end) minutes from local midnight; `always_open`
    makes every day 00:00-24:00 (24x7). Holidays are local dates with no working time.
    """

    __slots__ = (
        "_chunks",
        "_holiday_days",
        "_week_us",
        "always_open",
        "holidays",
        "key",
        "tz",
        "week",
        "weekly_minutes",
    )

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
        self._week_us = tuple(
            tuple((s * US_PER_MINUTE, e * US_PER_MINUTE) for s, e in normalised[weekday])
            for weekday in range(7)
        )
        self._holiday_days = frozenset(day.toordinal() - EPOCH_ORDINAL for day in self.holidays)
        self._chunks: dict[int, _Chunk] = {}

    def __repr__(self) -> str:
        return f"<WorkingTime {self.tz.key} {self.weekly_minutes} min/week key={self.key!r}>"

    @classmethod
    def from_hours(
        cls,
        *,
        timezone: str,
        hours: Mapping[int, Sequence[tuple[str, str]]],
        holidays: Iterable[date] = (),
        key: object = None,
    ) -> "WorkingTime":
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
        number, position = self._position(start_us)
        wanted = position + amount
        for _ in range(MAX_SEARCH_YEARS):
            chunk = self._chunk(number)
            if wanted <= chunk.total:
                return _from_us(_instant_in_chunk(chunk, wanted))
            wanted -= chunk.total
            number += 1
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
        start_number, start_position = self._position(start_us)
        end_number, end_position = self._position(end_us)
        total = end_position - start_position
        for number in range(start_number, end_number):
            total += self._chunk(number).total
        return timedelta(microseconds=total)

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes from `start` to `end`, as a float (see `between` for exact time)."""
        return self.between(start, end) / timedelta(minutes=1)

    def is_working(self, instant: datetime) -> bool:
        """Whether `instant` falls inside working time."""
        if self.is_continuous:
            return True
        us = _to_us(instant)
        chunk = self._chunk(us // CHUNK_US)
        index = bisect_right(chunk.starts, us) - 1
        return index >= 0 and us < chunk.ends[index]

    # Internals ---------------------------------------------------------------------------

    def _position(self, us: int) -> tuple[int, int]:
        """(chunk number, business microseconds from the start of that chunk to `us`)."""
        number = us // CHUNK_US
        chunk = self._chunk(number)
        index = bisect_right(chunk.starts, us) - 1
        if index < 0:
            return number, 0
        end = chunk.ends[index]
        return number, chunk.before[index] + (end if us >= end else us) - chunk.starts[index]

    def _chunk(self, number: int) -> _Chunk:
        chunk = self._chunks.get(number)
        if chunk is None:
            chunk = self._chunks[number] = self._build_chunk(number)
        return chunk

    def _build_chunk(self, number: int) -> _Chunk:
        """The working intervals of one chunk of UTC time.

        The chunk is cut where the zone's UTC offset changes. Within a piece of constant offset
        a local date's wall-clock interval is one stretch of real time, so each local date the
        piece touches contributes its intervals, clipped to the piece. Working in UTC order this
        way, a skipped hour holds no working time, a repeated hour counts twice, and a repeated
        hour that straddles midnight (clocks going back at 00:01) gives each date its own
        minutes, interleaved.
        """
        starts: list[int] = []
        ends: list[int] = []
        week, holidays = self._week_us, self._holiday_days
        for piece_start, piece_end, offset in _constant_offsets(self.tz.key, number):
            first_day = (piece_start + offset) // US_PER_DAY
            last_day = (piece_end - 1 + offset) // US_PER_DAY
            for day in range(first_day, last_day + 1):
                # 1 January 1970, day 0, was a Thursday (weekday 3).
                intervals = week[(day + 3) % 7]
                if not intervals or day in holidays:
                    continue
                base = day * US_PER_DAY - offset
                for wall_start, wall_end in intervals:
                    start, end = base + wall_start, base + wall_end
                    if start < piece_start:
                        start = piece_start
                    if end > piece_end:
                        end = piece_end
                    if end <= start:
                        continue
                    if ends and ends[-1] == start:
                        ends[-1] = end
                    else:
                        starts.append(start)
                        ends.append(end)
        before = [0]
        for start, end in zip(starts, ends, strict=True):
            before.append(before[-1] + end - start)
        return _Chunk(tuple(starts), tuple(ends), tuple(before))


class VersionedCalendar:
    """A calendar whose rules changed over time: each instant is measured on the version in
    force at that instant, so an edit moves what is still to come, never what has elapsed.

    `versions` are (effective from, calendar) pairs in order; the first is in force from the
    beginning of time (its instant is ignored). Same operations as `WorkingTime`.
    """

    __slots__ = ("_changes", "_changes_us", "key", "tz", "versions")

    def __init__(
        self, versions: Sequence[tuple[datetime | None, WorkingTime]], *, key: object = None
    ) -> None:
        if not versions:
            raise CalendarError("A versioned calendar needs at least one version.")
        self.versions = tuple(calendar for _, calendar in versions)
        self._changes = tuple(_from_us(_to_us(instant)) for instant, _ in versions[1:])
        self._changes_us = tuple(_to_us(instant) for instant in self._changes)
        if any(b <= a for a, b in pairwise(self._changes_us)):
            raise CalendarError("Calendar versions must take effect in order.")
        self.key = key
        self.tz = self.versions[-1].tz  # the zone in force now, for reading local times

    def __repr__(self) -> str:
        return f"<VersionedCalendar {len(self.versions)} versions key={self.key!r}>"

    @property
    def is_continuous(self) -> bool:
        return all(version.is_continuous for version in self.versions)

    def add(self, start: datetime, minutes: float | int | timedelta) -> datetime:
        """The earliest instant at which `minutes` of business time have elapsed since `start`,
        walking from the version in force at `start` through the later ones."""
        amount = _duration_us(minutes)
        index = self._index(_to_us(start))
        at = start
        while index < len(self._changes):
            change = self._changes[index]
            available = self.versions[index].between(at, change) // ONE_MICROSECOND
            if amount <= available:
                break
            amount -= available
            at = change
            index += 1
        return self.versions[index].add(at, timedelta(microseconds=amount))

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end`, each stretch on its version; negative when
        `end` is before `start`."""
        start_us, end_us = _to_us(start), _to_us(end)
        if end_us < start_us:
            return -self.between(end, start)
        first, last = self._index(start_us), self._index(end_us)
        total = timedelta(0)
        at = start
        for index in range(first, last):
            total += self.versions[index].between(at, self._changes[index])
            at = self._changes[index]
        return total + self.versions[last].between(at, end)

    def minutes_between(self, start: datetime, end: datetime) -> float:
        return self.between(start, end) / timedelta(minutes=1)

    def is_working(self, instant: datetime) -> bool:
        return self.versions[self._index(_to_us(instant))].is_working(instant)

    def _index(self, us: int) -> int:
        """The version in force at `us` (a version is in force from its instant on)."""
        return bisect_right(self._changes_us, us)


@lru_cache(maxsize=1024)
def _constant_offsets(zone: str, number: int) -> tuple[tuple[int, int, int], ...]:
    """Chunk `number` of UTC time cut into (start, end, UTC offset) pieces of constant offset,
    in microseconds. Shared by every calendar in the zone.

    The offset is sampled once a day and each change found by a binary search to the second;
    zones never change their offset twice within a day (the closest changes in tzdata are a
    week apart).
    """
    tz = ZoneInfo(zone)

    def offset_at(seconds: int) -> int:
        return datetime.fromtimestamp(seconds, tz).utcoffset() // ONE_MICROSECOND

    low, high = number * CHUNK_SECONDS, (number + 1) * CHUNK_SECONDS
    pieces = []
    piece_start, offset = low, offset_at(low)
    sample = low
    while sample < high:
        following = min(sample + SECONDS_PER_DAY, high)
        following_offset = offset_at(following)
        if following_offset != offset:
            before, after = sample, following
            while after - before > 1:
                middle = (before + after) // 2
                if offset_at(middle) == offset:
                    before = middle
                else:
                    after = middle
            pieces.append((piece_start * 1_000_000, after * 1_000_000, offset))
            piece_start, offset = after, following_offset
        sample = following
    pieces.append((piece_start * 1_000_000, high * 1_000_000, offset))
    return tuple(pieces)


def _instant_in_chunk(chunk: _Chunk, wanted: int) -> int:
    """The instant at which `wanted` (> 0) business microseconds into the chunk have elapsed."""
    index = bisect_left(chunk.before, wanted, lo=1) - 1
    return chunk.starts[index] + wanted - chunk.before[index]


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
