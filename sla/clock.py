"""The SLA clock engine: pure functions over a clock's history, no database.

A clock measures business time against one target. Its history is a sequence of transitions
(start, pause, resume, retarget on a priority change, stop, reopen); every transition returns
a new immutable `Clock`, and `Clock.status(now)` derives everything shown or acted upon: due
instant, business time spent and remaining, paused time, state, and the milestones (warning
thresholds and the breach) with their instants. The ticket side only stores a clock and calls
these methods inside the same transaction as the ticket change.

Semantics (SPEC section 4):
- Business time accrues only while running, on the calendar in force at the time.
- A pause stops accrual; on resume the due instant moves by the business time paused.
- A priority change keeps the business time already spent and applies the new target, so the
  due instant is recomputed from the original start (it may lie in the past: then the clock
  is breached as of that instant).
- The due instant is the earliest instant at which the target is used up. A clock stopped at
  or before its due instant is met; one not stopped by then is breached.
- A breach is final: later stops, reopens or a lower priority never undo it. A met clock that
  is reopened (resolution after a reopen) runs again and is decided at its next stop.
"""

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sla.calendar import WorkingTime
from sla.choices import ClockState

DEFAULT_WARNING_PERCENTS = (75, 90)
ZERO = timedelta(0)


class ClockTransitionError(ValueError):
    """A transition that the clock's current state does not allow (e.g. resume when running)."""


class MilestoneKind(enum.StrEnum):
    WARNING = "warning"
    BREACH = "breach"
    UNACKNOWLEDGED = "unack"  # a policy rule's "not acknowledged for N minutes" check


@dataclass(frozen=True, slots=True)
class MilestoneKey:
    """The name under which a milestone is recorded once: "breach", "warning-75" (percent of
    the target) or "unack-3" (escalation rule 3's check). Stored as its text in SLAEvent.key,
    SLAClock.milestones_fired and extra_checks; `parse` reads that text back."""

    kind: MilestoneKind
    number: int | None = None  # the warning's percent, or the unacknowledged rule's id

    @classmethod
    def breach(cls) -> "MilestoneKey":
        return cls(MilestoneKind.BREACH)

    @classmethod
    def warning(cls, percent: int) -> "MilestoneKey":
        return cls(MilestoneKind.WARNING, percent)

    @classmethod
    def unacknowledged(cls, rule_id: int) -> "MilestoneKey":
        return cls(MilestoneKind.UNACKNOWLEDGED, rule_id)

    @classmethod
    def parse(cls, text: str) -> "MilestoneKey":
        if text == MilestoneKind.BREACH:
            return cls.breach()
        kind, _, number = text.partition("-")
        if (
            kind not in (MilestoneKind.WARNING, MilestoneKind.UNACKNOWLEDGED)
            or not number.isdigit()
        ):
            raise ValueError(f"{text!r} is not a milestone key.")
        return cls(MilestoneKind(kind), int(number))

    def __str__(self) -> str:
        return self.kind.value if self.number is None else f"{self.kind.value}-{self.number}"

    @property
    def is_breach(self) -> bool:
        return self.kind is MilestoneKind.BREACH

    @property
    def label(self) -> str:
        """For people: "75 % warning", "not acknowledged", "breach"."""
        if self.kind is MilestoneKind.WARNING:
            return f"{self.number} % warning"
        if self.kind is MilestoneKind.UNACKNOWLEDGED:
            return "not acknowledged"
        return "breach"


@dataclass(frozen=True, slots=True)
class Target:
    """A business-time target on its calendar."""

    minutes: int
    calendar: WorkingTime

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise ValueError("An SLA target must be a positive number of minutes.")

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.minutes)


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of wall-clock time measured on one calendar; `end` None means still open."""

    start: datetime
    end: datetime | None
    calendar: WorkingTime

    def business_time(self, now: datetime) -> timedelta:
        end = self.end if self.end is not None else max(now, self.start)
        return self.calendar.between(self.start, end)


@dataclass(frozen=True, slots=True)
class Milestone:
    kind: MilestoneKind
    percent: int  # 100 for the breach
    at: datetime

    @property
    def key(self) -> MilestoneKey:
        """The name under which this milestone is recorded once it has fired."""
        if self.kind is MilestoneKind.BREACH:
            return MilestoneKey.breach()
        return MilestoneKey.warning(self.percent)


@dataclass(frozen=True, slots=True)
class ClockStatus:
    state: ClockState
    target: timedelta
    spent: timedelta
    paused: timedelta
    due_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None
    milestones: tuple[Milestone, ...]

    @property
    def remaining(self) -> timedelta:
        """Business time left; negative once overdue."""
        return self.target - self.spent

    @property
    def overdue(self) -> timedelta:
        """How late a breached clock is, in business time (keeps growing until stopped)."""
        return max(self.spent - self.target, ZERO)

    def next_milestone(self, after: datetime) -> Milestone | None:
        """The first milestone strictly after `after`, if the clock is running."""
        for milestone in self.milestones:
            if milestone.at > after:
                return milestone
        return None


@dataclass(frozen=True, slots=True)
class Clock:
    """One SLA clock (response, resolution or next update) as an immutable value."""

    started_at: datetime
    target: Target
    running: tuple[Span, ...]
    pauses: tuple[Span, ...] = ()
    stopped_at: datetime | None = None
    breached_at: datetime | None = None
    warning_percents: tuple[int, ...] = DEFAULT_WARNING_PERCENTS

    # Transitions ------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        at: datetime,
        target: Target,
        warning_percents: tuple[int, ...] = DEFAULT_WARNING_PERCENTS,
    ) -> "Clock":
        for percent in warning_percents:
            if not 1 <= percent <= 99:
                raise ValueError("Warning thresholds must be between 1 and 99 percent.")
        return cls(
            started_at=at,
            target=target,
            running=(Span(at, None, target.calendar),),
            warning_percents=tuple(sorted(set(warning_percents))),
        )

    @property
    def is_running(self) -> bool:
        return bool(self.running) and self.running[-1].end is None

    @property
    def is_paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None

    @property
    def is_stopped(self) -> bool:
        return self.stopped_at is not None

    def pause(self, *, at: datetime) -> "Clock":
        if self.is_paused:
            return self
        self._require_running("pause", at)
        return (
            self._record_breach(at)
            ._close_running(at)
            ._replace(pauses=(*self.pauses, Span(at, None, self.target.calendar)))
        )

    def resume(self, *, at: datetime) -> "Clock":
        if not self.is_paused:
            raise ClockTransitionError("Only a paused clock can resume.")
        self._require_not_before(at, self.pauses[-1].start)
        return self._close_pause(at)._replace(
            running=(*self.running, Span(at, None, self.target.calendar))
        )

    def stop(self, *, at: datetime) -> "Clock":
        if self.is_stopped:
            raise ClockTransitionError("The clock is already stopped.")
        clock = self._close_pause(at) if self.is_paused else self._record_breach(at)
        return clock._close_running(at)._replace(stopped_at=at)

    def reopen(self, *, at: datetime) -> "Clock":
        if not self.is_stopped:
            raise ClockTransitionError("Only a stopped clock can be reopened.")
        self._require_not_before(at, self.stopped_at)
        return self._replace(
            stopped_at=None, running=(*self.running, Span(at, None, self.target.calendar))
        )

    def retarget(self, *, at: datetime, target: Target) -> "Clock":
        """Apply a new target (priority change) from `at`, keeping the business time spent."""
        clock = self._record_breach(at)
        if clock.is_running:
            closed = clock._close_running(at)
            clock = closed._replace(running=(*closed.running, Span(at, None, target.calendar)))
        elif clock.is_paused:
            closed = clock._close_pause(at)
            clock = closed._replace(pauses=(*closed.pauses, Span(at, None, target.calendar)))
        clock = clock._replace(target=target)
        # The new target may already be used up: then it was breached when it ran out.
        return clock._record_breach(at)

    def record_breach(self, *, at: datetime) -> "Clock":
        """Write a breach that has happened by `at` into the history (the sweep acting on it),
        so that no later recomputation, on any calendar version, can move or undo it."""
        return self._record_breach(at)

    # Derived figures --------------------------------------------------------------------

    def status(self, now: datetime) -> ClockStatus:
        spent = sum((span.business_time(now) for span in self.running), ZERO)
        paused = sum((span.business_time(now) for span in self.pauses), ZERO)
        due_at = self._instant_spent(self.target.duration)
        milestones: tuple[Milestone, ...] = ()
        if self.is_running:
            milestones = self._milestones(due_at)
        breached_at = self.breached_at
        if breached_at is None and due_at is not None and self.is_running and now > due_at:
            breached_at = due_at
        if breached_at is not None:
            state = ClockState.BREACHED
        elif self.is_stopped:
            state = ClockState.MET
        elif self.is_paused:
            state = ClockState.PAUSED
        else:
            state = ClockState.RUNNING
        return ClockStatus(
            state=state,
            target=self.target.duration,
            spent=spent,
            paused=paused,
            due_at=due_at,
            breached_at=breached_at,
            stopped_at=self.stopped_at,
            milestones=milestones,
        )

    def _milestones(self, due_at: datetime | None) -> tuple[Milestone, ...]:
        result = []
        target_us = self.target.duration // timedelta(microseconds=1)
        for percent in self.warning_percents:
            at = self._instant_spent(timedelta(microseconds=target_us * percent // 100))
            if at is not None:
                result.append(Milestone(MilestoneKind.WARNING, percent, at))
        if due_at is not None:
            result.append(Milestone(MilestoneKind.BREACH, 100, due_at))
        return tuple(result)

    def _instant_spent(self, amount: timedelta) -> datetime | None:
        """When `amount` of business time is (or was) used up, walking the running spans.

        None when the clock is paused or stopped before reaching it. For a stopped clock the
        due instant is projected from the stop, as if it had kept running on its calendar,
        so that a met clock still shows the deadline it met.
        """
        spent = ZERO
        for span in self.running:
            if span.end is None:
                return span.calendar.add(span.start, amount - spent)
            in_span = span.calendar.between(span.start, span.end)
            if spent + in_span >= amount:
                return span.calendar.add(span.start, amount - spent)
            spent += in_span
        if self.is_stopped:
            return self.target.calendar.add(self.stopped_at, amount - spent)
        return None

    # Helpers ----------------------------------------------------------------------------

    def _replace(self, **changes) -> "Clock":
        return replace(self, **changes)

    def _require_running(self, action: str, at: datetime) -> None:
        if not self.is_running:
            raise ClockTransitionError(f"Only a running clock can {action}.")
        self._require_not_before(at, self.running[-1].start)

    @staticmethod
    def _require_not_before(at: datetime, earlier: datetime) -> None:
        if at < earlier:
            raise ClockTransitionError("Clock transitions must not go back in time.")

    def _close_running(self, at: datetime) -> "Clock":
        if not self.is_running:
            return self
        self._require_not_before(at, self.running[-1].start)
        last = self.running[-1]
        return self._replace(running=(*self.running[:-1], replace(last, end=at)))

    def _close_pause(self, at: datetime) -> "Clock":
        if not self.is_paused:
            return self
        last = self.pauses[-1]
        return self._replace(pauses=(*self.pauses[:-1], replace(last, end=at)))

    def _record_breach(self, at: datetime) -> "Clock":
        """Make a breach that has happened by `at` permanent (breaches are final)."""
        if self.breached_at is not None or not (self.is_running or self.is_paused):
            return self
        due_at = self._instant_spent(self.target.duration)
        if due_at is not None and due_at < at:
            return self._replace(breached_at=due_at)
        return self
