"""A ticket's status: moves between open statuses, resolve, reopen, close, cancel."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from msp.models import User
from msp.validators import CONFLICT
from sla.ticket_clocks import sla_clocks_stop_all, sla_resolution_stop, sla_response_stop
from tickets.choices import OPEN_STATUSES, STATUS_TRANSITIONS, EventKind, TicketStatus
from tickets.csat import survey_send
from tickets.models import Ticket
from tickets.services.conversation import comment_add, reply
from tickets.services.write import TicketWrite


@transaction.atomic
def ticket_change_status(
    *, ticket: Ticket, actor: User, status: str, note: str = "", at: datetime | None = None
) -> Ticket:
    """Move between open statuses, or cancel. Resolve, reopen and close have their own."""
    write = TicketWrite.begin(ticket, actor, at)
    write.require_staff()
    ticket = write.ticket
    if status == TicketStatus.RESOLVED:
        raise ValidationError({"status": "Resolve the ticket with a resolution note."})
    if status not in STATUS_TRANSITIONS.get(ticket.status, ()):
        wanted = TicketStatus(status).label if status in TicketStatus.values else status
        message = (
            f"A ticket that is {ticket.get_status_display().lower()} cannot become "
            f"{wanted.lower()}."
        )
        raise ValidationError({"status": ValidationError(message, code=CONFLICT)})
    if status == TicketStatus.CLOSED:
        return _close(write)
    write.set_status(status, detail=note.strip())
    if status == TicketStatus.CANCELLED:
        ticket.closed_at = write.at
        sla_clocks_stop_all(write.clocks, at=write.at)
    return write.save("status", "closed_at")


@transaction.atomic
def ticket_resolve(
    *, ticket: Ticket, actor: User, resolution: str, at: datetime | None = None
) -> Ticket:
    """Resolve with a resolution note, sent to the client as a public reply."""
    if not resolution.strip():
        raise ValidationError({"resolution": "Describe the resolution for the client."})
    write = TicketWrite.begin(ticket, actor, at)
    write.require_staff()
    ticket = write.ticket
    if ticket.status not in OPEN_STATUSES:
        raise ValidationError(
            f"A {ticket.get_status_display().lower()} ticket cannot be resolved.", code=CONFLICT
        )
    reply(write, resolution)
    write.set_status(TicketStatus.RESOLVED)
    ticket.resolved_at = write.at
    if ticket.first_response_at is None:
        # Resolving is the response of last resort (a ticket with nobody to write to, such as
        # an alert's): its response clock ends here, met or breached.
        ticket.first_response_at = write.at
        sla_response_stop(write.clocks, at=write.at)
    sla_resolution_stop(write.clocks, at=write.at)
    write.save("status", "resolved_at", "first_response_at")
    write.event(EventKind.RESOLVED, detail=resolution.strip()[:500])
    survey_send(ticket=ticket, at=write.at)
    return ticket


@transaction.atomic
def ticket_resolve_automatically(*, ticket: Ticket, resolution: str, at: datetime | None = None):
    """Resolved by the system (a monitoring alert that cleared): an automatic public comment,
    which counts as no one's response, and every clock stops."""
    write = TicketWrite.begin(ticket, None, at)
    write.require_open("be resolved")
    comment = comment_add(write, resolution, public=True, automatic=True)
    write.event(EventKind.REPLY, comment=comment)
    write.set_status(TicketStatus.RESOLVED)
    write.ticket.resolved_at = write.at
    sla_clocks_stop_all(write.clocks, at=write.at)
    write.save("status", "resolved_at")
    write.event(EventKind.RESOLVED, detail=resolution.strip()[:500])
    return write.ticket


@transaction.atomic
def ticket_reopen(
    *, ticket: Ticket, actor: User, reason: str, at: datetime | None = None
) -> Ticket:
    """Reopen a resolved ticket: the resolution clock resumes with the time already spent."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the ticket is reopened."})
    write = TicketWrite.begin(ticket, actor, at)
    if write.ticket.status != TicketStatus.RESOLVED:
        raise ValidationError("Only a resolved ticket can be reopened.", code=CONFLICT)
    write.reopen(reason.strip())
    return write.save("status", "resolved_at")


@transaction.atomic
def ticket_close(*, ticket: Ticket, actor: User | None, at: datetime | None = None) -> Ticket:
    return _close(TicketWrite.begin(ticket, actor, at))


def _close(write: TicketWrite) -> Ticket:
    if write.ticket.status != TicketStatus.RESOLVED:
        raise ValidationError("Only a resolved ticket can be closed.", code=CONFLICT)
    write.ticket.status = TicketStatus.CLOSED
    write.ticket.closed_at = write.at
    write.save("status", "closed_at")
    write.event(EventKind.CLOSED, old_value=TicketStatus.RESOLVED, new_value="closed")
    return write.ticket
