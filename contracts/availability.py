"""Availability arithmetic, pure: maintenance windows from recurrence rules, and the share of a
period a service was up.

availability = 1 - unplanned outage time outside maintenance windows / time in the period.
Overlapping outages count once; planned outages and time inside maintenance windows never
count against the service.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache

from dateutil.rrule import DAILY, rrule, rrulestr

Interval = tuple[datetime, datetime]
# A rule that has not occurred within this horizon is treated as one that never occurs; the
# bound also keeps impossible rules (30 February) from iterating to the year 9999.
RULE_HORIZON = timedelta(days=366 * 10)


class RecurrenceError(ValueError):
    """A recurrence rule that cannot be read, or that never occurs."""


def parse_recurrence(text: str, *, start: datetime) -> rrule:
    """An RFC 5545 RRULE (e.g. "FREQ=WEEKLY;BYDAY=SU") starting at `start`, checked to occur."""
    body = text.strip().removeprefix("RRULE:")
    try:
        rule = rrulestr(body, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"Not a valid recurrence rule: {exc}.") from None
    if not isinstance(rule, rrule):
        raise RecurrenceError("Give a single RRULE, not a set of rules.")
    # Maintenance recurs daily at most. Finer rules are refused: dateutil walks impossible
    # rules to the year 9999, which for minutely ones would take minutes.
    if rule._freq > DAILY:
        raise RecurrenceError("Maintenance windows recur daily, weekly, monthly or yearly.")
    if next(iter(_bounded(rule, start, start + RULE_HORIZON)), None) is None:
        raise RecurrenceError("This recurrence rule never occurs.")
    return rule


def _bounded(rule: rrule, start: datetime, end: datetime) -> rrule:
    until = rule._until  # the rule's own end, if any
    bound = min(until, end) if until else end
    return rule.replace(count=None, until=bound) if rule._count is None else rule


def window_occurrences(
    *, start: datetime, duration: timedelta, recurrence: str, period: Interval
) -> tuple[Interval, ...]:
    """The occurrences of a maintenance window that overlap `period`; the rule is read in
    `start`'s time zone."""
    return _occurrences(start, str(start.tzinfo), duration, recurrence, period)


# Cached: availability and the report's maintenance ask for the same window and month, and
# dateutil walks a rule from its start each time. The zone is part of the key because equal
# instants in two zones compare equal but recur differently.
@lru_cache(maxsize=4096)
def _occurrences(
    start: datetime, zone: str, duration: timedelta, recurrence: str, period: Interval
) -> tuple[Interval, ...]:
    period_start, period_end = period
    if not recurrence:
        starts: Iterable[datetime] = [start]
    else:
        rule = parse_recurrence(recurrence, start=start)
        starts = _bounded(rule, start, period_end).between(
            period_start - duration, period_end, inc=True
        )
    # In UTC: adding a duration to a local time would be wall-clock arithmetic across DST.
    spans = [(begin.astimezone(UTC), begin.astimezone(UTC) + duration) for begin in starts]
    return tuple((begin, end) for begin, end in spans if begin < period_end and end > period_start)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begin, end in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _utc(interval: Interval) -> Interval:
    # Python subtracts two datetimes of the same zone by wall clock; in UTC it is real time.
    return interval[0].astimezone(UTC), interval[1].astimezone(UTC)


def _clip(intervals: Iterable[Interval], period: Interval) -> list[Interval]:
    start, end = _utc(period)
    clipped = []
    for interval in intervals:
        begin, finish = _utc(interval)
        if finish > start and begin < end:
            clipped.append((max(begin, start), min(finish, end)))
    return clipped


def downtime(*, outages: Iterable[Interval], maintenance: Iterable[Interval], period: Interval):
    """Unplanned outage time within the period and outside maintenance windows."""
    down = _merge(_clip(outages, period))
    excluded = _merge(_clip(maintenance, period))
    total = timedelta(0)
    for begin, end in down:
        total += end - begin
        for m_begin, m_end in excluded:
            overlap = min(end, m_end) - max(begin, m_begin)
            if overlap > timedelta(0):
                total -= overlap
    return total


def availability_percent(
    *, outages: Iterable[Interval], maintenance: Iterable[Interval], period: Interval
) -> Decimal:
    """Availability over the period as a percentage, cut down to three decimals (99.931): like
    compliance, never read above what was measured, so 99.4995 % misses a 99.5 % target."""
    start, end = _utc(period)
    length = end - start
    down = downtime(outages=outages, maintenance=maintenance, period=period)
    share = Decimal(1) - Decimal(down / timedelta(microseconds=1)) / Decimal(
        length / timedelta(microseconds=1)
    )
    return (share * 100).quantize(Decimal("0.001"), rounding=ROUND_DOWN)
