"""Every IANA zone's offset changes from 1990 to 2037, against a minute-stepping reference.

For each zone the changes are found by scanning it (offset sampled every few days, each change
then found to the second). Around each sampled change, calendars whose working intervals touch
the change are checked against a reference that applies the rule literally: step through UTC
minute by minute, read the local wall clock, and count the minute when its date is not a
holiday and its time of day lies in an interval of its weekday.

Comparing cumulative business time at every minute where the reference switches between
working and idle (and nowhere else) is a complete check of the working time in the window:
time counted up to each switch can only agree if every working stretch is counted whole and
every idle stretch not at all.
"""

import random
import zlib
from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pytest

from sla.calendar import WorkingTime

SCAN_FROM = int(datetime(1990, 1, 1, tzinfo=UTC).timestamp())
SCAN_TO = int(datetime(2038, 1, 1, tzinfo=UTC).timestamp())
# Shorter than the shortest gap between two changes of one zone in that range (7 days:
# Brazil, October 2000), so that no change hides between two samples.
SCAN_STEP = 6 * 86400
ONE_MINUTE = timedelta(minutes=1)
# Changes that are not the everyday "one hour at 01:00-03:00" kind, tested per zone on top of
# one change that every zone gets.
UNUSUAL_PER_ZONE = 3
CALENDARS_PER_CHANGE = 3
ZONES = sorted(available_timezones())


def _offset(tz: ZoneInfo, seconds: int) -> timedelta:
    return datetime.fromtimestamp(seconds, tz).utcoffset()


@cache
def zone_changes(name: str) -> list[tuple[datetime, timedelta, timedelta]]:
    """(instant, offset before, offset after) of every offset change from 1990 to 2037."""
    tz = ZoneInfo(name)
    changes = []
    sample, offset = SCAN_FROM, _offset(tz, SCAN_FROM)
    while sample < SCAN_TO:
        following = min(sample + SCAN_STEP, SCAN_TO)
        following_offset = _offset(tz, following)
        if following_offset != offset:
            low, high = sample, following
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(tz, middle) == offset:
                    low = middle
                else:
                    high = middle
            changes.append((datetime.fromtimestamp(high, UTC), offset, following_offset))
        sample, offset = following, following_offset
    return changes


def _is_unusual(change) -> bool:
    instant, before, after = change
    wall = (instant + before).time()
    return abs(after - before) != timedelta(hours=1) or wall.hour not in (1, 2, 3) or wall.minute


def sample_changes(name: str, changes: list) -> list:
    """One change chosen by the zone's name, plus unusual ones spread over the range."""
    if not changes:
        return []
    chosen = {zlib.crc32(name.encode()) % len(changes)}
    unusual = [index for index, change in enumerate(changes) if _is_unusual(change)]
    if unusual:
        step = max(1, len(unusual) // UNUSUAL_PER_ZONE)
        chosen.update(unusual[::step][:UNUSUAL_PER_ZONE])
    return [changes[index] for index in sorted(chosen)]


class Reference:
    """Local wall-clock readings of every UTC minute of a window, read once per window."""

    def __init__(self, tz: ZoneInfo, first: datetime, last: datetime) -> None:
        self.first = first
        self.readings = []
        for seconds in range(int(first.timestamp()), int(last.timestamp()), 60):
            local = datetime.fromtimestamp(seconds, tz)
            self.readings.append((local.date(), local.weekday(), local.hour * 60 + local.minute))

    def counted(self, week, holidays) -> list[bool]:
        """Whether each minute is business time: the rule, literally."""
        working = [bytearray(1440) for _ in range(7)]
        for weekday, intervals in week.items():
            for start, end in intervals:
                working[weekday][start:end] = b"\x01" * (end - start)
        return [
            day not in holidays and working[weekday][minute] == 1
            for day, weekday, minute in self.readings
        ]


def window_around(change) -> tuple[datetime, datetime]:
    """From an hour before the first local date the change touches to an hour after the last."""
    _, before, after = change
    days = _days_touched(change)
    midnights = [datetime.combine(day, time(0), UTC) for day in (days[0], days[-1])]
    first = min(midnights[0] - before, midnights[0] - after) - timedelta(hours=1)
    last = max(midnights[1] - before, midnights[1] - after) + timedelta(hours=25)
    return first, last


def _days_touched(change) -> list[date]:
    instant, before, after = change
    readings = [(instant + before).replace(tzinfo=None), (instant + after).replace(tzinfo=None)]
    return sorted({r.date() for r in readings} | {(r - ONE_MINUTE).date() for r in readings})


def _relative_minutes(reading: datetime, day: date) -> int:
    return int((reading - datetime.combine(day, datetime.min.time())) / ONE_MINUTE)


def _intervals(points) -> list[tuple[int, int]]:
    ordered = sorted({min(max(point, 0), 1440) for point in points})
    if len(ordered) % 2:
        ordered = ordered[:-1]
    return [(ordered[i], ordered[i + 1]) for i in range(0, len(ordered), 2)]


def calendars_touching(change, rng: random.Random):
    """(week, holidays, always_open) of calendars whose intervals start or end near the change,
    on the weekdays of the local dates it touches, including 00:00 starts and 24:00 ends."""
    instant, before, after = change
    # The wall-clock readings just before and just after the change (naive local times).
    readings = [(instant + before).replace(tzinfo=None), (instant + after).replace(tzinfo=None)]
    days = _days_touched(change)
    near = {
        day: [m for r in readings if 0 <= (m := _relative_minutes(r, day)) <= 1440] for day in days
    }
    made = []
    for kind in range(CALENDARS_PER_CHANGE):
        week: dict[int, list[tuple[int, int]]] = {}
        always_open = False
        for day in days:
            points = near[day]
            if kind == 0:  # intervals starting and ending around the change
                deltas = (-120, -60, -30, -1, 0, 1, 30, 60, 120)
                candidates = sorted({p + d for p in points for d in deltas} | {0, 1440})
                chosen = rng.sample(candidates, k=min(len(candidates), rng.choice((2, 3, 4))))
                week[day.weekday()] = _intervals(chosen)
            elif kind == 1:  # an overnight shift: 00:00 up to the change, from it to 24:00
                middle = rng.choice(points) if points else rng.randrange(1, 1440)
                low, high = middle - rng.choice((0, 30, 60)), middle + rng.choice((0, 1, 90))
                week[day.weekday()] = _intervals([0, max(low, 1), min(high, 1439), 1440])
            else:
                always_open = True
        holidays = set()
        if kind == 2 or rng.random() < 0.3:
            holidays.add(rng.choice([*days, days[0] - timedelta(days=1)]))
        if always_open:
            week = {weekday: [(0, 1440)] for weekday in range(7)}
        made.append((week, frozenset(holidays), always_open))
    return made


def check_window(name: str, reference: Reference, week, holidays, always_open, rng) -> list[str]:
    engine = WorkingTime(timezone=name, week=week, holidays=holidays, always_open=always_open)
    counted = reference.counted(week, holidays)
    cumulative = [0]
    for working in counted:
        cumulative.append(cumulative[-1] + working)
    size = len(counted)
    first = reference.first

    def at(index: int) -> datetime:
        return first + index * ONE_MINUTE

    label = f"{name} week={week} holidays={sorted(holidays)} 24x7={always_open}"
    problems = []
    switches = [0, *(i for i in range(1, size) if counted[i] != counted[i - 1]), size]
    for index in switches:
        got = engine.between(first, at(index))
        if got != cumulative[index] * ONE_MINUTE:
            problems.append(f"{label}: between({first}, {at(index)}) = {got}")
    starts = sorted({*switches[:-1], *(rng.randrange(size) for _ in range(4))})
    for start in starts:
        if engine.is_working(at(start) + timedelta(seconds=30)) != counted[start]:
            problems.append(f"{label}: is_working({at(start)} + 30 s) != {counted[start]}")
        available = cumulative[size] - cumulative[start]
        amounts = {0, 1, available, rng.randint(0, available)} if available else {0}
        for amount in sorted(amounts):
            due = bisect_left(cumulative, cumulative[start] + amount, lo=start)
            got = engine.add(at(start), amount)
            if got != at(due):
                problems.append(f"{label}: add({at(start)}, {amount}) = {got}, not {at(due)}")
        end = rng.randrange(size + 1)
        expected = (cumulative[end] - cumulative[start]) * ONE_MINUTE
        if engine.between(at(start), at(end)) != expected:
            problems.append(f"{label}: between({at(start)}, {at(end)}) != {expected}")
    return problems


def test_every_zone_is_scanned_and_most_change():
    changes = {name: zone_changes(name) for name in ZONES}
    assert len(changes) > 400
    # Santiago changes at local midnight: 6 Sep 2026 00:00 -04 -> 01:00 -03, at 04:00 UTC.
    assert (datetime(2026, 9, 6, 4, 0, tzinfo=UTC), timedelta(hours=-4), timedelta(hours=-3)) in (
        changes["America/Santiago"]
    )
    assert sum(1 for found in changes.values() if found) > 300


@pytest.mark.parametrize("name", ZONES)
def test_zone_changes_agree_with_the_reference(name):
    tz = ZoneInfo(name)
    rng = random.Random(name)
    problems = []
    # A zone with no change in the range still gets one ordinary window.
    changes = sample_changes(name, zone_changes(name)) or [
        (datetime(2026, 7, 1, tzinfo=UTC), timedelta(0), timedelta(0))
    ]
    for change in changes:
        reference = Reference(tz, *window_around(change))
        for week, holidays, always_open in calendars_touching(change, rng):
            problems += check_window(name, reference, week, holidays, always_open, rng)
    assert not problems, "\n".join(problems[:10])
