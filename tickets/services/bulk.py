"""One change to many tickets chosen in the queue: assign, route to a team and tier, status,
priority, merge, close.

Each ticket goes through the same service as the single action on its page (same checks,
same timeline entry, same SLA clock effects), in its own transaction: a ticket refused (out of
the user's scope, the wrong state, an assignee who does not serve its client) is listed with
the reason and the others keep their change. Deliberately not atomic as a whole.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from msp.models import Team, User
from tickets.choices import TicketStatus
from tickets.models import Ticket
from tickets.services.merge import ticket_merge
from tickets.services.routing import ticket_assign, ticket_change_priority, ticket_route
from tickets.services.status import ticket_change_status, ticket_close

# A page of the queue holds at most 100 rows; a bulk change is one page's selection at most.
BULK_LIMIT = 200
NOT_FOUND = "not found, or not one of your clients' tickets"


@dataclass
class BulkOutcome:
    """What a bulk change did: the tickets changed and those refused, with why."""

    verb: str
    changed: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        parts = []
        if self.changed:
            numbers = ", ".join(f"#{pk}" for pk in self.changed)
            parts.append(f"{self.verb}: {len(self.changed)} ticket(s) ({numbers}).")
        else:
            parts.append(f"{self.verb}: no ticket changed.")
        if self.refused:
            reasons = "; ".join(f"#{pk}: {reason}" for pk, reason in self.refused)
            parts.append(f"Refused {len(self.refused)}: {reasons}.")
        return " ".join(parts)


def _reason(error: ValidationError) -> str:
    return " ".join(error.messages).rstrip(".")


def _each(
    *,
    actor: User,
    ticket_ids: Iterable[int],
    verb: str,
    change: Callable[[Ticket], object],
    skip: int | None = None,
) -> BulkOutcome:
    """Apply `change` to each ticket of `ticket_ids` the actor sees, in primary-key order,
    one transaction per ticket."""
    ids = sorted({int(pk) for pk in ticket_ids} - {skip})
    if len(ids) > BULK_LIMIT:
        raise ValidationError(f"Choose at most {BULK_LIMIT} tickets at a time.")
    # The scope check of the single action's page (`for_user`), for every ticket at once.
    visible = {
        ticket.pk: ticket
        for ticket in Ticket.objects.for_user(actor).filter(pk__in=ids).only("pk", "client_id")
    }
    outcome = BulkOutcome(verb)
    for pk in ids:
        ticket = visible.get(pk)
        if ticket is None:
            outcome.refused.append((pk, NOT_FOUND))
            continue
        try:
            with transaction.atomic():
                change(ticket)
        except ValidationError as error:
            outcome.refused.append((pk, _reason(error)))
        except Ticket.DoesNotExist:
            outcome.refused.append((pk, NOT_FOUND))
        else:
            outcome.changed.append(pk)
    return outcome


def tickets_bulk_assign(
    *, actor: User, ticket_ids: Iterable[int], assignee: User | None
) -> BulkOutcome:
    verb = f"Assigned to {assignee.full_name}" if assignee else "Unassigned"
    return _each(
        actor=actor,
        ticket_ids=ticket_ids,
        verb=verb,
        change=lambda ticket: ticket_assign(ticket=ticket, actor=actor, assignee=assignee),
    )


def tickets_bulk_route(
    *, actor: User, ticket_ids: Iterable[int], team: Team | None, tier: str
) -> BulkOutcome:
    where = " / ".join(str(part) for part in (team, tier) if part)
    return _each(
        actor=actor,
        ticket_ids=ticket_ids,
        verb=f"Routed to {where}",
        change=lambda ticket: ticket_route(ticket=ticket, actor=actor, team=team, tier=tier),
    )


def tickets_bulk_set_status(
    *, actor: User, ticket_ids: Iterable[int], status: str, note: str = ""
) -> BulkOutcome:
    label = TicketStatus(status).label if status in TicketStatus.values else status
    return _each(
        actor=actor,
        ticket_ids=ticket_ids,
        verb=f"Status set to {label.lower()}",
        change=lambda ticket: ticket_change_status(
            ticket=ticket, actor=actor, status=status, note=note
        ),
    )


def tickets_bulk_change_priority(
    *, actor: User, ticket_ids: Iterable[int], priority: str, reason: str
) -> BulkOutcome:
    """A priority set by hand on many tickets: the reason is required (it is kept on each
    ticket and its timeline), even where the matrix would give the same priority."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why these tickets change priority."})
    return _each(
        actor=actor,
        ticket_ids=ticket_ids,
        verb=f"Priority set to {priority}",
        change=lambda ticket: ticket_change_priority(
            ticket=ticket, actor=actor, priority=priority, reason=reason
        ),
    )


def tickets_bulk_merge(*, actor: User, ticket_ids: Iterable[int], target_id: int) -> BulkOutcome:
    """Merge each selected ticket into the target (itself skipped if selected)."""
    target = Ticket.objects.for_user(actor).filter(pk=target_id).first()
    if target is None:
        raise ValidationError({"target": f"There is no ticket #{target_id}."})
    return _each(
        actor=actor,
        ticket_ids=ticket_ids,
        verb=f"Merged into #{target.pk}",
        change=lambda ticket: ticket_merge(source=ticket, target=target, actor=actor),
        skip=target.pk,
    )


def tickets_bulk_close(*, actor: User, ticket_ids: Iterable[int]) -> BulkOutcome:
    return _each(
        actor=actor,
        ticket_ids=ticket_ids,
        verb="Closed",
        change=lambda ticket: ticket_close(ticket=ticket, actor=actor),
    )
