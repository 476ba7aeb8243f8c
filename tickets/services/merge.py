"""Tickets that belong together: merging a duplicate, parent and child."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from msp.models import User
from sla.ticket_clocks import sla_clocks_stop_all
from tickets.choices import EventKind, TicketStatus
from tickets.models import Alert, Attachment, Comment, Ticket, TimeEntry, TimelineEvent
from tickets.services.write import TicketWrite


@transaction.atomic
def ticket_merge(
    *, source: Ticket, target: Ticket, actor: User, at: datetime | None = None
) -> Ticket:
    """Merge a duplicate into another ticket of the same client: its conversation, time and
    files move over, and the duplicate is closed with its clocks stopped."""
    at = at or timezone.now()
    if actor is None or not actor.is_msp_staff:
        raise ValidationError("Only MSP staff may do this.")
    if source.pk == target.pk:
        raise ValidationError({"target": "A ticket cannot be merged into itself."})
    # Lock both in primary-key order so that two opposite merges cannot deadlock.
    first, second = sorted([source.pk, target.pk])
    writes = {pk: TicketWrite.begin(pk, actor, at) for pk in (first, second)}
    duplicate, surviving = writes[source.pk], writes[target.pk]
    if duplicate.ticket.client_id != surviving.ticket.client_id:
        raise ValidationError({"target": "Only tickets of the same client can be merged."})
    duplicate.require_open("be merged")
    surviving.require_open("take a merge")
    Comment.objects.filter(ticket_id=source.pk).update(ticket_id=target.pk)
    TimeEntry.objects.filter(ticket_id=source.pk).update(ticket_id=target.pk)
    Attachment.objects.filter(ticket_id=source.pk).update(ticket_id=target.pk)
    # Alerts still firing for the duplicate repeat and resolve on the surviving ticket.
    Alert.objects.filter(ticket_id=source.pk, resolved_at__isnull=True).update(ticket_id=target.pk)
    sla_clocks_stop_all(duplicate.clocks, at=at)
    old_status = duplicate.ticket.status
    duplicate.ticket.status = TicketStatus.CLOSED
    duplicate.ticket.closed_at = at
    duplicate.ticket.merged_into = surviving.ticket
    duplicate.save("status", "closed_at", "merged_into")
    duplicate.event(EventKind.MERGED, old_value=old_status, new_value=surviving.ticket.number)
    surviving.event(
        EventKind.LINKED, new_value=duplicate.ticket.number, detail="Merged into this ticket."
    )
    return surviving.ticket


@transaction.atomic
def ticket_link_parent(
    *, ticket: Ticket, parent: Ticket | None, actor: User, at: datetime | None = None
) -> Ticket:
    """Make `ticket` a child of `parent` (same client; no cycles), or unlink it with None."""
    write = TicketWrite.begin(ticket, actor, at)
    write.require_staff()
    ticket = write.ticket
    if parent is not None:
        if parent.client_id != ticket.client_id:
            raise ValidationError({"parent": "The parent ticket belongs to another client."})
        ancestor_id = parent.pk
        while ancestor_id is not None:  # walk the stored chain, not in-memory instances
            if ancestor_id == ticket.pk:
                raise ValidationError({"parent": "A ticket cannot be its own ancestor."})
            ancestor_id = Ticket.objects.filter(pk=ancestor_id).values_list("parent_id", flat=True)[
                0
            ]
    old = ticket.parent.number if ticket.parent_id else ""
    ticket.parent = parent
    write.save("parent")
    write.event(EventKind.LINKED, old_value=old, new_value=parent.number if parent else "")
    return ticket


@transaction.atomic
def tickets_group_under(*, ticket_ids: list[int], parent: Ticket, at: datetime, detail: str):
    """The system's grouping of tickets under an incident (an alert storm). Not a person's
    action, as `ticket_link_parent` is: it must not count as touching the tickets (an alert's
    ticket untouched by people resolves when its alert clears)."""
    Ticket.objects.filter(pk__in=ticket_ids).update(parent=parent, updated_at=at)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(ticket_id=pk, kind=EventKind.LINKED, actor=None, at=at, detail=detail)
        for pk in sorted(ticket_ids)
    )
