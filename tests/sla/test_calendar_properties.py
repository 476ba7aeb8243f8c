"""The calendar engine against a deliberately simple reference that steps minute by minute.

The reference applies the rule literally: a minute is business time when its wall-clock reading
(local date and time) falls in a working interval of its weekday on a non-holiday date.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.calendar import VersionedCalendar, WorkingTime

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC"]
ONE_MINUTE = timedelta(minutes=1)
# Around the 2026 DST changes of New York, Berlin and Sydney, and a New Year.
WINDOWS = [
    datetime(2026, 3, 5, tzinfo=UTC),
    datetime(2026, 3, 26, tzinfo=UTC),
    datetime(2026, 4, 2, tzinfo=UTC),
    datetime(2026, 10, 1, tzinfo=UTC),
    datetime(2026, 10, 22, tzinfo=UTC),
    datetime(2026, 10, 29, tzinfo=UTC),
    datetime(2026, 12, 29, tzinfo=UTC),
]


def reference_is_working(calendar: WorkingTime, week, holidays, instant: datetime) -> bool:
    local = instant.astimezone(calendar.tz)
    if local.date() in holidays:
        return False
    minute_of_day = local.hour * 60 + local.minute
    return any(start <= minute_of_day < end for start, end in week.get(local.weekday(), ()))


def reference_add(calendar, week, holidays, start: datetime, minutes: int) -> datetime:
    instant, left = start, minutes
    while left > 0:
        if reference_is_working(calendar, week, holidays, instant):
            left -= 1
        instant += ONE_MINUTE
    # The due instant is the end of the last counted minute; skip no idle time after it.
    return instant


def reference_between(calendar, week, holidays, start: datetime, end: datetime) -> int:
    count, instant = 0, start
    while instant < end:
        if reference_is_working(calendar, week, holidays, instant):
            count += 1
        instant += ONE_MINUTE
    return count


@st.composite
def day_intervals(draw):
    """Zero to two non-overlapping (start, end) minute intervals of one weekday."""
    points = sorted(draw(st.sets(st.integers(0, 1440), min_size=0, max_size=4)))
    if len(points) % 2:
        points = points[:-1]
    return [(points[i], points[i + 1]) for i in range(0, len(points), 2)]


@st.composite
def calendars(draw):
    zone = draw(st.sampled_from(ZONES))
    week = {day: draw(day_intervals()) for day in range(7)}
    # Keep enough working time per week for the minute-stepping reference to stay quick.
    if sum(end - start for spans in week.values() for start, end in spans) < 600:
        week[draw(st.integers(0, 6))] = [(0, 1440)]
    window = draw(st.sampled_from(WINDOWS))
    holidays = frozenset(
        draw(
            st.sets(
                st.integers(0, 20).map(lambda offset: window.date() + timedelta(days=offset)),
                max_size=3,
            )
        )
    )
    calendar = WorkingTime(timezone=zone, week=week, holidays=holidays)
    return calendar, week, holidays, window


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(case=calendars(), offset=st.integers(0, 7 * 1440), minutes=st.integers(0, 1500))
def test_add_agrees_with_the_reference(case, offset, minutes):
    calendar, week, holidays, window = case
    start = window + timedelta(minutes=offset)
    due = calendar.add(start, minutes)
    assert due == reference_add(calendar, week, holidays, start, minutes)


@PROPERTY_SETTINGS
@given(case=calendars(), offset=st.integers(0, 7 * 1440), length=st.integers(0, 5 * 1440))
def test_between_agrees_with_the_reference(case, offset, length):
    calendar, week, holidays, window = case
    start = window + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    expected = reference_between(calendar, week, holidays, start, end)
    assert calendar.between(start, end) == timedelta(minutes=expected)


@settings(max_examples=300, deadline=None)
@given(
    case=calendars(),
    offset_seconds=st.integers(0, 14 * 86400),
    microseconds=st.integers(0, 999_999),
    amount_seconds=st.integers(0, 60 * 86400),
)
def test_between_inverts_add_to_the_microsecond(case, offset_seconds, microseconds, amount_seconds):
    calendar, _, _, window = case
    start = window + timedelta(seconds=offset_seconds, microseconds=microseconds)
    amount = timedelta(seconds=amount_seconds)
    due = calendar.add(start, amount)
    assert calendar.between(start, due) == amount
    # And it is the earliest such instant: one microsecond earlier is not enough.
    if amount:
        assert calendar.between(start, due - timedelta(microseconds=1)) < amount


@settings(max_examples=200, deadline=None)
@given(
    case=calendars(),
    a=st.integers(0, 30 * 1440),
    b=st.integers(0, 30 * 1440),
    c=st.integers(0, 30 * 1440),
)
def test_between_is_additive(case, a, b, c):
    calendar, _, _, window = case
    first, second, third = (window + timedelta(minutes=value) for value in sorted((a, b, c)))
    assert calendar.between(first, third) == calendar.between(first, second) + calendar.between(
        second, third
    )


def test_reference_sanity():
    """The reference itself, on a case worked by hand: Friday 16:00 + 2 h = Monday 10:00."""
    calendar = WorkingTime(timezone="America/New_York", week={d: [(540, 1020)] for d in range(5)})
    week = {d: [(540, 1020)] for d in range(5)}
    tz = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 20, 16, 0, tzinfo=tz)
    assert reference_add(calendar, week, frozenset(), start, 120) == datetime(
        2026, 11, 23, 10, 0, tzinfo=tz
    )
    assert date(2026, 11, 23).weekday() == 0


@st.composite
def versioned_calendars(draw):
    """Two or three versions (zone, week and holidays may all change), taking effect at whole
    minutes within the window, with the plain reference rule applied per minute to the
    version in force at that minute."""
    first, week, holidays, window = draw(calendars())
    versions = [(None, first, week, holidays)]
    offsets = sorted(draw(st.sets(st.integers(1, 6 * 1440), min_size=1, max_size=2)))
    for offset in offsets:
        calendar, week, holidays, _ = draw(calendars())
        versions.append((window + timedelta(minutes=offset), calendar, week, holidays))
    engine = VersionedCalendar([(at, calendar) for at, calendar, _, _ in versions])
    return engine, versions, window


def versioned_reference_is_working(versions, instant: datetime) -> bool:
    in_force = [v for v in versions if v[0] is None or v[0] <= instant][-1]
    _, calendar, week, holidays = in_force
    return reference_is_working(calendar, week, holidays, instant)


@PROPERTY_SETTINGS
@given(
    case=versioned_calendars(),
    offset=st.integers(0, 7 * 1440),
    length=st.integers(0, 4 * 1440),
    minutes=st.integers(0, 1500),
)
def test_versioned_calendar_agrees_with_the_reference(case, offset, length, minutes):
    engine, versions, window = case
    start = window + timedelta(minutes=offset)
    counted, instant = 0, start
    while instant < start + timedelta(minutes=length):
        counted += versioned_reference_is_working(versions, instant)
        instant += ONE_MINUTE
    assert engine.between(start, start + timedelta(minutes=length)) == counted * ONE_MINUTE
    instant, left = start, minutes
    while left > 0:
        left -= versioned_reference_is_working(versions, instant)
        instant += ONE_MINUTE
    assert engine.add(start, minutes) == instant


@settings(max_examples=100, deadline=None)
@given(
    case=versioned_calendars(),
    offset_seconds=st.integers(0, 14 * 86400),
    amount_seconds=st.integers(0, 30 * 86400),
)
def test_versioned_between_inverts_add(case, offset_seconds, amount_seconds):
    engine, _, window = case
    start = window + timedelta(seconds=offset_seconds)
    amount = timedelta(seconds=amount_seconds)
    due = engine.add(start, amount)
    assert engine.between(start, due) == amount
    if amount:
        assert engine.between(start, due - timedelta(microseconds=1)) < amount
