"""Time worked on a ticket."""

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from msp.models import User
from tickets.choices import EventKind, WorkType
from tickets.models import Ticket, TimeEntry
from tickets.services.write import TicketWrite


@transaction.atomic
def time_entry_log(
    *,
    ticket: Ticket,
    user: User,
    minutes: int,
    billable: bool = True,
    work_type: str = WorkType.REMOTE,
    note: str = "",
    spent_on: date | None = None,
    at: datetime | None = None,
) -> TimeEntry:
    write = TicketWrite.begin(ticket, user, at)
    write.require_staff()
    entry = TimeEntry(
        ticket=write.ticket,
        client_id=write.ticket.client_id,
        user=user,
        minutes=minutes,
        billable=billable,
        work_type=work_type,
        note=note.strip(),
        spent_on=spent_on or timezone.localdate(write.at),
    )
    entry.full_clean()
    entry.save()
    detail = (
        f"{minutes} min {WorkType(work_type).label.lower()}{'' if billable else ' (not billable)'}"
    )
    write.event(EventKind.TIME_LOGGED, new_value=str(minutes), detail=detail)
    return entry
