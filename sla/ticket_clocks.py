"""The SLA clocks of one ticket, as its writes change them.

A ticket write (tickets.services) holds the ticket's row lock and, on its first clock change,
a `TicketClocks`: the ticket's clock rows, locked in primary-key order (the order the timer
sweep uses), and its policy with targets, each loaded once for the whole write. Transitions
change and save the rows; `summary()` is what the ticket keeps of them for its queues.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from msp.bulk import rows_update
from msp.prepared import PreparedQuery, attnames, instance
from sla import clockstore, selectors
from sla.choices import ClockKind, ClockState, EscalationTrigger
from sla.clock import Clock, MilestoneKey, MilestoneKind
from sla.models import EscalationRule, SLAClock, SLAEvent, SLAPolicy
from sla.rollups import ClockTally, ticket_priority_moved


@dataclass(frozen=True)
class ClockSummary:
    """What the ticket keeps of its clocks for queues: nearest deadline, warning, breach."""

    due_at: datetime | None
    warn_at: datetime | None
    breached: bool


@dataclass(frozen=True)
class FiredMilestone:
    """A milestone recorded by the sweep, for the ticket side to act upon."""

    clock: SLAClock
    key: MilestoneKey
    due_at: datetime
    trigger: str
    percent: int | None


# Every change to a ticket's clocks starts here (msp.prepared: compiled once per process).
_CLOCKS_LOCKED = PreparedQuery(
    lambda *, ticket_id: (
        SLAClock.objects.select_for_update()
        .filter(ticket_id=ticket_id)
        .order_by("pk")
        .values_list(*attnames(SLAClock))
    ),
    locks=True,
)


@dataclass
class TicketClocks:
    """One ticket's clocks during one write. `ticket` is the locked ticket row (its priority
    may change during the write: targets follow it); `policy` comes with its targets."""

    ticket: object
    rows: list[SLAClock]
    policy: SLAPolicy | None = None

    @classmethod
    def lock(cls, ticket) -> "TicketClocks":
        rows = [instance(SLAClock, row) for row in _CLOCKS_LOCKED.rows(ticket_id=ticket.pk)]
        for row in rows:
            SLAClock.ticket.field.set_cached_value(row, ticket)
        return cls(ticket=ticket, rows=rows)

    @classmethod
    def lock_many(cls, tickets: list) -> list["TicketClocks"]:
        """`lock` for several tickets (their rows locked by the caller) in one statement."""
        rows = SLAClock.objects.select_for_update().filter(ticket__in=tickets)
        by_ticket = {ticket.pk: cls(ticket=ticket, rows=[]) for ticket in tickets}
        for row in rows.order_by("ticket_id", "pk"):
            by_ticket[row.ticket_id].rows.append(row)
        return list(by_ticket.values())

    def targets(self) -> selectors.PriorityTargets:
        if self.policy is None:
            self.policy = SLAPolicy.objects.with_targets().get(pk=self.ticket.sla_policy_id)
        return selectors.policy_targets(policy=self.policy, priority=self.ticket.priority)

    def current(self, kind: str) -> SLAClock | None:
        candidates = [row for row in self.rows if row.kind == kind]
        return max(candidates, key=lambda row: row.cycle) if candidates else None

    def summary(self) -> ClockSummary:
        running = [row for row in self.rows if row.is_running and row.due_at is not None]
        nearest = min(running, key=lambda row: row.due_at, default=None)
        return ClockSummary(
            due_at=nearest.due_at if nearest else None,
            warn_at=nearest.warn_at if nearest else None,
            breached=any(row.breached_at is not None for row in self.rows),
        )

    def insert(self) -> None:
        """Save the rows of clocks just started (the ticket saved first)."""
        SLAClock.objects.bulk_create(self.rows)

    def save(self, changes: dict[SLAClock, Clock], *, now: datetime) -> None:
        tally = ClockTally.of(self.ticket, changes)
        for row, clock in changes.items():
            clockstore.row_apply(row, clock, now=now)
            row.save()
        tally.record()

    def transition(self, kind: str, action, *, at: datetime, now: datetime | None = None) -> None:
        """Apply `action` (Clock -> Clock) to the current clock of `kind`, if there is one."""
        row = self.current(kind)
        if row is None:
            return
        clock = clockstore.clock_load(row, _engines_for([row]))
        changed = action(clock)
        if changed is not clock:
            self.save({row: changed}, now=now or at)


def _engines_for(rows: list[SLAClock]):
    ids = set()
    for row in rows:
        ids |= clockstore.history_calendar_ids(row.history)
    return clockstore.calendar_engines(ids)


def _unacknowledged_checks(ticket, policy: SLAPolicy, at: datetime) -> dict[str, str]:
    """Instants of the policy's "not acknowledged for N minutes" rules for a new ticket: from
    the rules a cached policy holds (selectors.policy_with_targets_cached), else read."""
    rules = getattr(policy, selectors.ACTIVE_RULES, None)
    if rules is None:
        rules = EscalationRule.objects.filter(policy_id=policy.pk, is_active=True)
    rules = [rule for rule in rules if rule.trigger == EscalationTrigger.UNACKNOWLEDGED]
    return {
        # In UTC: a local `at` plus minutes would be wall-clock arithmetic across DST.
        str(MilestoneKey.unacknowledged(rule.pk)): (
            at.astimezone(UTC) + timedelta(minutes=rule.minutes)
        ).isoformat()
        for rule in rules
        if rule.applies_to(priority=ticket.priority, clock_kind=ClockKind.RESPONSE)
    }


def sla_clocks_start(*, ticket, policy: SLAPolicy, at: datetime) -> TicketClocks:
    """Start the response and resolution clocks of a ticket being opened (`policy` with its
    targets). The rows are made, not saved: the ticket's INSERT carries their summary, then
    `clocks.insert()` saves them in one statement."""
    clocks = TicketClocks(ticket=ticket, rows=[], policy=policy)
    targets = clocks.targets()
    for kind, target in (
        (ClockKind.RESPONSE, targets.response),
        (ClockKind.RESOLUTION, targets.resolution),
    ):
        clock = Clock.start(at=at, target=target, warning_percents=targets.warning_percents)
        row = SLAClock(ticket=ticket, client_id=ticket.client_id, kind=kind, cycle=1, history={})
        if kind == ClockKind.RESPONSE:
            row.extra_checks = _unacknowledged_checks(ticket, policy, at)
        clockstore.row_apply(row, clock, now=at)
        clocks.rows.append(row)
    return clocks


def sla_response_stop(clocks: TicketClocks, *, at: datetime) -> None:
    """First public reply or acknowledgement by staff: the response clock stops (once)."""
    clocks.transition(ClockKind.RESPONSE, lambda c: c if c.is_stopped else c.stop(at=at), at=at)


def sla_resolution_pause(clocks: TicketClocks, *, at: datetime) -> None:
    clocks.transition(ClockKind.RESOLUTION, lambda c: c.pause(at=at) if c.is_running else c, at=at)


def sla_resolution_pause_since(clocks: TicketClocks, *, since: datetime, now: datetime) -> None:
    """Pause from an instant that may be past (a maintenance window that opened before the
    sweep saw it), but never before the clock last started running."""
    clocks.transition(
        ClockKind.RESOLUTION,
        lambda c: c.pause(at=max(since, c.running[-1].start)) if c.is_running else c,
        at=now,
    )


def sla_resolution_resume(clocks: TicketClocks, *, at: datetime) -> None:
    clocks.transition(ClockKind.RESOLUTION, lambda c: c.resume(at=at) if c.is_paused else c, at=at)


def sla_resolution_stop(clocks: TicketClocks, *, at: datetime) -> None:
    sla_next_update_stop(clocks, at=at)
    clocks.transition(ClockKind.RESOLUTION, lambda c: c if c.is_stopped else c.stop(at=at), at=at)


def sla_resolution_reopen(clocks: TicketClocks, *, at: datetime) -> None:
    clocks.transition(ClockKind.RESOLUTION, lambda c: c.reopen(at=at) if c.is_stopped else c, at=at)


def sla_next_update_start(clocks: TicketClocks, *, at: datetime) -> None:
    """A client message: the next-update clock starts a new cycle (if the policy has one).

    The clock restarts on every client message. A cycle still running is stopped and kept
    (the record is append-only): superseded if it had not breached, breached if it had.
    """
    targets = clocks.targets()
    if targets.next_update is None:
        return
    current = clocks.current(ClockKind.NEXT_UPDATE)
    cycle = 1
    if current is not None:
        cycle = current.cycle + 1
        if current.stopped_at is None:
            _supersede(current, at=at)
    clock = Clock.start(
        at=at, target=targets.next_update, warning_percents=targets.warning_percents
    )
    row = SLAClock(
        ticket=clocks.ticket,
        client_id=clocks.ticket.client_id,
        kind=ClockKind.NEXT_UPDATE,
        cycle=cycle,
        history={},
    )
    clockstore.row_apply(row, clock, now=at)
    row.save()
    clocks.rows.append(row)


def _supersede(row: SLAClock, *, at: datetime) -> None:
    clock = clockstore.clock_load(row).stop(at=at)
    status = clockstore.row_apply(row, clock, now=at)
    if status.breached_at is None:
        row.state = ClockState.SUPERSEDED
    row.save()


def sla_next_update_stop(clocks: TicketClocks, *, at: datetime) -> None:
    clocks.transition(ClockKind.NEXT_UPDATE, lambda c: c if c.is_stopped else c.stop(at=at), at=at)


def sla_clocks_retarget(clocks: TicketClocks, *, at: datetime) -> None:
    """Priority change: every clock not yet stopped takes the new priority's target."""
    ticket_priority_moved(clocks.ticket, clocks.rows)
    targets = clocks.targets()
    new_targets = {
        ClockKind.RESPONSE: targets.response,
        ClockKind.RESOLUTION: targets.resolution,
        ClockKind.NEXT_UPDATE: targets.next_update,
    }
    live = [r for r in clocks.rows if r.stopped_at is None and new_targets[r.kind] is not None]
    engines = _engines_for(live)
    changes = {
        row: clockstore.clock_load(row, engines).retarget(at=at, target=new_targets[row.kind])
        for row in live
    }
    clocks.save(changes, now=at)


def sla_clocks_stop_all(clocks: TicketClocks, *, at: datetime) -> None:
    """Cancel or merge: every clock still going stops."""
    live = [row for row in clocks.rows if row.stopped_at is None]
    engines = _engines_for(live)
    clocks.save({row: clockstore.clock_load(row, engines).stop(at=at) for row in live}, now=at)


# The timer sweep ---------------------------------------------------------------------------


def _trigger_of(key: MilestoneKey, warning_percents: tuple[int, ...]) -> tuple[str, int | None]:
    if key.kind is MilestoneKind.BREACH:
        return EscalationTrigger.BREACH, 100
    if key.kind is MilestoneKind.UNACKNOWLEDGED:
        return EscalationTrigger.UNACKNOWLEDGED, None
    first = key.number == min(warning_percents)
    trigger = EscalationTrigger.FIRST_WARNING if first else EscalationTrigger.SECOND_WARNING
    return trigger, key.number


# What recording a milestone changes on a clock row (`clockstore.row_apply` and the record).
FIRED_FIELDS = (
    "history",
    "state",
    "target_minutes",
    "started_at",
    "due_at",
    "warn_at",
    "breached_at",
    "stopped_at",
    "spent_seconds",
    "paused_seconds",
    "next_check_at",
    "milestones_fired",
)


def sla_milestones_fire(
    batch: list[TicketClocks], *, now: datetime
) -> dict[int, list[FiredMilestone]]:
    """Record every milestone of these tickets' clocks that is due by `now` and not recorded:
    one insert of SLA events and one update of the clock rows for the whole batch. Returns the
    milestones fired, by ticket id (tickets with none are left out).

    The caller holds the tickets' row locks (the same lock order as every ticket service:
    ticket, then its clocks), so a reply racing with the sweep either lands first, and the
    stopped clock has nothing to fire, or after, when the warning has already happened. The
    unique constraint on SLAEvent is the backstop: a second recording fails the transaction.
    """
    due = {
        clocks.ticket.pk: [r for r in clocks.rows if r.next_check_at and r.next_check_at <= now]
        for clocks in batch
    }
    engines = _engines_for([row for rows in due.values() for row in rows])
    tally = ClockTally.take((clocks.ticket, due[clocks.ticket.pk]) for clocks in batch)
    fired: dict[int, list[FiredMilestone]] = {}
    records: list[SLAEvent] = []
    changed: list[SLAClock] = []
    for ticket_id, rows in due.items():
        for row in rows:
            for milestone in _fire_row(row, engines, now):
                key, due_at = str(milestone.key), milestone.due_at
                records.append(SLAEvent(clock=row, key=key, due_at=due_at, recorded_at=now))
                fired.setdefault(ticket_id, []).append(milestone)
            changed.append(row)
    SLAEvent.objects.bulk_create(records)
    rows_update(changed, FIRED_FIELDS)
    tally.record()
    return fired


def _fire_row(row: SLAClock, engines, now: datetime) -> list[FiredMilestone]:
    """The milestones of one due clock row, in order; the row is updated (not saved)."""
    clock = clockstore.clock_load(row, engines)
    status = clock.status(now)
    fired = []
    for key, at in clockstore.pending_checks(row, status):
        # A breach needs the due instant to have passed; at the instant itself a stop would
        # still count as met.
        if at > now or (key.is_breach and at == now):
            break
        row.milestones_fired = [*row.milestones_fired, str(key)]
        trigger, percent = _trigger_of(key, clock.warning_percents)
        fired.append(FiredMilestone(row, key, at, trigger, percent))
        if key.is_breach:
            clock = clock.record_breach(at=now)
    clockstore.row_apply(row, clock, now=now)
    return fired


def sla_due_ticket_ids(*, now: datetime, limit: int, exclude: set[int] = frozenset()) -> list[int]:
    """Tickets with a clock due for a check, most overdue first (the partial index)."""
    due = SLAClock.objects.filter(next_check_at__lte=now)
    if exclude:
        due = due.exclude(ticket_id__in=exclude)
    ids = due.order_by("next_check_at").values_list("ticket_id", flat=True)[:limit]
    return list(dict.fromkeys(ids))
