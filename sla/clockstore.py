"""Storing engine clocks: Clock <-> JSON history, and the derived fields of an SLAClock row."""

from datetime import datetime, timedelta

from sla import selectors
from sla.clock import Clock, ClockStatus, MilestoneKey, MilestoneKind, Span, Target
from sla.models import SLAClock

ONE_SECOND = timedelta(seconds=1)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _text(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def clock_to_history(clock: Clock) -> dict:
    def spans(items: tuple[Span, ...]) -> list:
        return [[_text(s.start), _text(s.end), s.calendar.key] for s in items]

    return {
        "started_at": _text(clock.started_at),
        "target": [clock.target.minutes, clock.target.calendar.key],
        "running": spans(clock.running),
        "pauses": spans(clock.pauses),
        "stopped_at": _text(clock.stopped_at),
        "breached_at": _text(clock.breached_at),
        "warnings": list(clock.warning_percents),
    }


def calendar_engines(ids: set[int]) -> dict[int, selectors.CalendarEngine]:
    # Each calendar's engine measures every span on the version in force at the time.
    return selectors.calendar_engines(ids)


def history_calendar_ids(history: dict) -> set[int]:
    ids = {history["target"][1]}
    ids.update(span[2] for span in history["running"] + history["pauses"])
    return ids


def clock_from_history(history: dict, engines: dict[int, selectors.CalendarEngine]) -> Clock:
    def spans(items: list) -> tuple[Span, ...]:
        return tuple(Span(_instant(s), _instant(e), engines[key]) for s, e, key in items)

    minutes, calendar_id = history["target"]
    return Clock(
        started_at=_instant(history["started_at"]),
        target=Target(minutes, engines[calendar_id]),
        running=spans(history["running"]),
        pauses=spans(history["pauses"]),
        stopped_at=_instant(history["stopped_at"]),
        breached_at=_instant(history["breached_at"]),
        warning_percents=tuple(history["warnings"]),
    )


def clock_load(row: SLAClock, engines: dict[int, selectors.CalendarEngine] | None = None) -> Clock:
    if engines is None:
        engines = calendar_engines(history_calendar_ids(row.history))
    return clock_from_history(row.history, engines)


def row_apply(row: SLAClock, clock: Clock, *, now: datetime) -> ClockStatus:
    """Write the clock and the figures derived from it onto the row (not saved)."""
    status = clock.status(now)
    row.history = clock_to_history(clock)
    row.state = status.state.value
    row.target_minutes = clock.target.minutes
    row.started_at = clock.started_at
    row.due_at = status.due_at
    row.breached_at = status.breached_at
    row.stopped_at = status.stopped_at
    row.spent_seconds = int(status.spent // ONE_SECOND)
    row.paused_seconds = int(status.paused // ONE_SECOND)
    warnings = [m for m in status.milestones if m.kind == MilestoneKind.WARNING]
    row.warn_at = warnings[0].at if warnings else None
    row.next_check_at = min((at for _, at in pending_checks(row, status)), default=None)
    return status


def pending_checks(row: SLAClock, status: ClockStatus) -> list[tuple[MilestoneKey, datetime]]:
    """Milestones and extra checks of the row not acted upon yet, by instant."""
    fired = set(row.milestones_fired)
    pending = [(m.key, m.at) for m in status.milestones if str(m.key) not in fired]
    # A breach concluded by a reply, resolve, pause or priority change before the sweep came
    # stays due until the sweep has recorded it and run its escalation rules.
    breach = MilestoneKey.breach()
    if (
        status.breached_at is not None
        and str(breach) not in fired
        and all(key != breach for key, _ in pending)
    ):
        pending.append((breach, status.breached_at))
    if status.stopped_at is None:
        pending += [
            (MilestoneKey.parse(key), datetime.fromisoformat(at))
            for key, at in row.extra_checks.items()
            if key not in fired
        ]
    return sorted(pending, key=lambda item: item[1])
