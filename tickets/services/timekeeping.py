"""Time worked on a ticket, its approval, and the running timer.

An entry is the technician's draft until they submit their week; a manager then approves it
(locked from then on: billing reads approved time) or rejects it with a reason, and the
technician fixes a rejected entry (back to draft) and submits it again. Only the author
changes, deletes, submits or recalls an entry, and only while it is a draft or rejected
(recall: while submitted). No service changes an approved entry.

Approvers are the service managers (msp.choices.SERVICE_MANAGER_ROLES: administrators and
account managers), for the clients they see. Nobody approves or rejects their own time except
an administrator (someone has to approve the administrators' time).

Start and end: minutes = end - start, rounded up to the whole minute (at least 1); the entry
counts on the local day it started (the current time zone); it may run past midnight, never
beyond 24 hours. The audit trail records every change of an entry (tickets/apps.py registers
TimeEntry), so each state change is there with who made it.
"""

import math
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from msp.choices import SERVICE_MANAGER_ROLES, UserRole
from msp.models import User
from msp.validators import CONFLICT
from tickets.choices import (
    TIME_ENTRY_EDITABLE_STATES,
    EventKind,
    TicketStatus,
    TimeEntryState,
    WorkType,
)
from tickets.models import RunningTimer, Ticket, TimeEntry
from tickets.services.write import TicketWrite

MAX_ENTRY_MINUTES = 24 * 60
# Fields of an entry its author may change while it is theirs to change.
EDITABLE_FIELDS = ("minutes", "billable", "work_type", "note", "spent_on", "started_at", "ended_at")


def week_of(day: date) -> date:
    """The Monday of the week `day` is in: a timesheet week runs Monday to Sunday."""
    return day - timedelta(days=day.weekday())


def minutes_between(started_at: datetime, ended_at: datetime) -> int:
    """end - start in whole minutes, rounded up (a timer stopped after 61 s is 2 minutes)."""
    seconds = (ended_at - started_at).total_seconds()
    return max(1, math.ceil(seconds / 60))


def may_approve_time(user: User) -> bool:
    return user.is_authenticated and user.is_msp_staff and user.role in SERVICE_MANAGER_ROLES


def _span(
    *,
    started_at: datetime | None,
    ended_at: datetime | None,
    minutes: int | None,
    spent_on: date | None,
) -> tuple[int, date | None]:
    """The minutes and day of an entry from what was given: minutes alone, or a start and an
    end (then the minutes, if given too, must agree)."""
    if (started_at is None) != (ended_at is None):
        missing = "ended_at" if ended_at is None else "started_at"
        raise ValidationError({missing: "Give both the start and the end, or neither."})
    if started_at is None:
        if not minutes:
            raise ValidationError({"minutes": "Give the minutes, or a start and an end."})
        return minutes, spent_on
    if ended_at <= started_at:
        raise ValidationError({"ended_at": "The end must be after the start."})
    worked = minutes_between(started_at, ended_at)
    if worked > MAX_ENTRY_MINUTES:
        raise ValidationError({"ended_at": "An entry lasts at most 24 hours: split it by day."})
    if minutes and minutes != worked:
        raise ValidationError(
            {"minutes": f"From the start to the end is {worked} min, not {minutes}."}
        )
    day = timezone.localdate(started_at)
    if spent_on is not None and spent_on != day:
        raise ValidationError({"spent_on": f"The entry starts on {day:%Y-%m-%d}: its day."})
    return worked, day


@transaction.atomic
def time_entry_log(
    *,
    ticket: Ticket,
    user: User,
    minutes: int | None = None,
    billable: bool = True,
    work_type: str = WorkType.REMOTE,
    note: str = "",
    spent_on: date | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    at: datetime | None = None,
) -> TimeEntry:
    """A draft entry of the user's time on the ticket."""
    write = TicketWrite.begin(ticket, user, at)
    write.require_staff()
    minutes, spent_on = _span(
        started_at=started_at, ended_at=ended_at, minutes=minutes, spent_on=spent_on
    )
    entry = TimeEntry(
        ticket=write.ticket,
        client_id=write.ticket.client_id,
        user=user,
        minutes=minutes,
        billable=billable,
        work_type=work_type,
        note=note.strip(),
        spent_on=spent_on or timezone.localdate(write.at),
        started_at=started_at,
        ended_at=ended_at,
        state=TimeEntryState.DRAFT,
    )
    entry.full_clean()
    entry.save()
    detail = (
        f"{minutes} min {WorkType(work_type).label.lower()}{'' if billable else ' (not billable)'}"
    )
    write.event(EventKind.TIME_LOGGED, new_value=str(minutes), detail=detail)
    return entry


def _locked(entry: TimeEntry) -> TimeEntry:
    return TimeEntry.objects.select_for_update().get(pk=entry.pk)


def _require_author(entry: TimeEntry, user: User) -> None:
    if entry.user_id != user.pk:
        raise PermissionDenied("Only the person who logged this time may change it.")


def _require_editable(entry: TimeEntry, action: str) -> None:
    if entry.state not in TIME_ENTRY_EDITABLE_STATES:
        raise ValidationError(
            f"This entry is {entry.get_state_display().lower()}; it cannot be {action}.",
            code=CONFLICT,
        )


@transaction.atomic
def time_entry_update(*, entry: TimeEntry, user: User, **changes) -> TimeEntry:
    """The author changes a draft or rejected entry; a rejected one becomes a draft again (to
    be submitted again). A start and end given recompute the minutes and the day; minutes
    given alone clear the start and end."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    entry = _locked(entry)
    _require_author(entry, user)
    _require_editable(entry, "changed")
    if "started_at" in changes or "ended_at" in changes:
        started_at = changes.get("started_at", entry.started_at)
        ended_at = changes.get("ended_at", entry.ended_at)
        spanned = started_at is not None or ended_at is not None
        minutes = changes.get("minutes") if spanned else changes.get("minutes", entry.minutes)
    elif "minutes" in changes:
        started_at = ended_at = None
        minutes = changes["minutes"]
    else:
        started_at, ended_at, minutes = entry.started_at, entry.ended_at, entry.minutes
    minutes, spent_on = _span(
        started_at=started_at,
        ended_at=ended_at,
        minutes=minutes,
        spent_on=changes.get("spent_on", None if started_at else entry.spent_on),
    )
    entry.minutes, entry.started_at, entry.ended_at = minutes, started_at, ended_at
    entry.spent_on = spent_on or entry.spent_on
    for name in ("billable", "work_type"):
        if name in changes:
            setattr(entry, name, changes[name])
    if "note" in changes:
        entry.note = (changes["note"] or "").strip()
    if entry.state == TimeEntryState.REJECTED:
        _back_to_draft(entry)
    entry.full_clean()
    entry.save()
    return entry


def _back_to_draft(entry: TimeEntry) -> None:
    entry.state = TimeEntryState.DRAFT
    entry.submitted_at = entry.decided_at = entry.decided_by = None
    entry.rejection_reason = ""


@transaction.atomic
def time_entry_delete(*, entry: TimeEntry, user: User) -> None:
    """The author deletes a draft or rejected entry (the ticket's timeline keeps the line
    that time was logged; the audit trail keeps the entry)."""
    entry = _locked(entry)
    _require_author(entry, user)
    _require_editable(entry, "deleted")
    entry.delete()


@transaction.atomic
def time_entries_submit(*, user: User, week_start: date, at: datetime | None = None) -> int:
    """Submit every draft of the user's week (Monday to Sunday around `week_start`) for
    approval; how many were submitted."""
    monday = week_of(week_start)
    drafts = list(
        TimeEntry.objects.select_for_update()
        .filter(
            user=user,
            state=TimeEntryState.DRAFT,
            spent_on__gte=monday,
            spent_on__lt=monday + timedelta(days=7),
        )
        .order_by("pk")
    )
    at = at or timezone.now()
    for entry in drafts:  # one save each, so that the audit trail records each change
        entry.state, entry.submitted_at = TimeEntryState.SUBMITTED, at
        entry.save(update_fields=["state", "submitted_at", "updated_at"])
    return len(drafts)


@transaction.atomic
def time_entry_recall(*, entry: TimeEntry, user: User) -> TimeEntry:
    """The author takes a submitted entry back to draft, before a manager decides."""
    entry = _locked(entry)
    _require_author(entry, user)
    if entry.state != TimeEntryState.SUBMITTED:
        raise ValidationError(
            f"This entry is {entry.get_state_display().lower()}; only submitted time can be"
            " recalled.",
            code=CONFLICT,
        )
    _back_to_draft(entry)
    entry.save()
    return entry


def _require_approver(entry: TimeEntry, by: User) -> None:
    if not may_approve_time(by):
        raise PermissionDenied("Only administrators and account managers approve time.")
    if entry.client_id not in by.visible_clients():
        # As if it did not exist: the manager does not see this client.
        raise TimeEntry.DoesNotExist(f"No time entry {entry.pk}.")
    if entry.user_id == by.pk and by.role != UserRole.ADMIN:
        raise PermissionDenied("Your own time is approved by someone else.")
    if entry.state != TimeEntryState.SUBMITTED:
        raise ValidationError(
            f"Entry {entry.pk} is {entry.get_state_display().lower()}; only submitted time is"
            " approved or rejected.",
            code=CONFLICT,
        )


@transaction.atomic
def time_entries_approve(
    *, entries: Iterable[TimeEntry | int], by: User, at: datetime | None = None
) -> list[TimeEntry]:
    """Approve submitted entries, all or none: one that may not be approved refuses the lot."""
    ids = sorted({entry if isinstance(entry, int) else entry.pk for entry in entries})
    if not ids:
        raise ValidationError({"entries": "Choose the time to approve."})
    locked = list(TimeEntry.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(ids):
        raise TimeEntry.DoesNotExist("Some of these time entries do not exist.")
    at = at or timezone.now()
    for entry in locked:
        _require_approver(entry, by)
    for entry in locked:
        entry.state, entry.decided_by, entry.decided_at = TimeEntryState.APPROVED, by, at
        entry.save(update_fields=["state", "decided_by", "decided_at", "updated_at"])
    return locked


@transaction.atomic
def time_entry_reject(
    *, entry: TimeEntry, by: User, reason: str, at: datetime | None = None
) -> TimeEntry:
    """Send a submitted entry back to its author with the reason, which they see on their
    timesheet."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the time is rejected."})
    entry = _locked(entry)
    _require_approver(entry, by)
    entry.state, entry.rejection_reason = TimeEntryState.REJECTED, reason[:500]
    entry.decided_by, entry.decided_at = by, at or timezone.now()
    entry.save()
    return entry


# The running timer -----------------------------------------------------------------------------

TIMER_FINISHED = (TicketStatus.CLOSED, TicketStatus.CANCELLED)


@transaction.atomic
def timer_start(
    *, ticket: Ticket, user: User, at: datetime | None = None
) -> tuple[RunningTimer, TimeEntry | None]:
    """Start the user's timer on the ticket. One timer per person: a timer running on another
    ticket is stopped first and logged (returned with the new timer)."""
    if not user.is_msp_staff:
        raise ValidationError("Only MSP staff may do this.")
    if ticket.status in TIMER_FINISHED:
        raise ValidationError(
            f"Ticket {ticket.number} is {ticket.get_status_display().lower()}; no timer on it.",
            code=CONFLICT,
        )
    at = at or timezone.now()
    running = RunningTimer.objects.select_for_update().filter(user=user).first()
    logged = None
    if running is not None:
        if running.ticket_id == ticket.pk:
            raise ValidationError("Your timer is already running on this ticket.", code=CONFLICT)
        logged = timer_stop(user=user, at=at)
    timer = RunningTimer.objects.create(user=user, ticket=ticket, started_at=at)
    return timer, logged


@transaction.atomic
def timer_stop(*, user: User, at: datetime | None = None) -> TimeEntry:
    """Stop the user's timer: a draft entry from its start to now, rounded up to the whole
    minute (at least one)."""
    timer = RunningTimer.objects.select_for_update().filter(user=user).first()
    if timer is None:
        raise ValidationError("No timer is running.", code=CONFLICT)
    ended_at = at or timezone.now()
    if ended_at <= timer.started_at:  # a clock set back: the shortest entry there is
        ended_at = timer.started_at + timedelta(seconds=1)
    if minutes_between(timer.started_at, ended_at) > MAX_ENTRY_MINUTES:
        raise ValidationError(
            "The timer has run for more than 24 hours: discard it and log the time by hand.",
            code=CONFLICT,
        )
    entry = time_entry_log(
        ticket=timer.ticket, user=user, started_at=timer.started_at, ended_at=ended_at, at=at
    )
    timer.delete()
    return entry


@transaction.atomic
def timer_discard(*, user: User) -> None:
    """Throw the running timer away, logging nothing."""
    deleted, _ = RunningTimer.objects.filter(user=user).delete()
    if not deleted:
        raise ValidationError("No timer is running.", code=CONFLICT)
