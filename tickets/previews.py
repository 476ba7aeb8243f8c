"""Previews of changes that cannot be undone from the page (merge, close, cancel; one ticket
or many): what would happen, and a confirm button carrying a token for exactly that change.
A POST without a valid token draws the preview and changes nothing."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.shortcuts import render

from msp.validators import CONFLICT
from tickets import selectors
from tickets.choices import OPEN_STATUSES, TicketStatus
from tickets.models import Ticket
from tickets.queue_forms import confirmation_token, confirmed

MERGE, CLOSE, CANCEL = "merge", "close", "cancel"
TITLES = {
    MERGE: "Merge tickets?",
    CLOSE: "Close tickets?",
    CANCEL: "Cancel tickets?",
}


@dataclass
class Preview:
    """What the confirm page shows and where its button posts."""

    kind: str
    action_url: str
    tickets: list[Ticket]
    hidden: list[tuple[str, object]]
    token_values: tuple
    target: Ticket | None = None
    cancel_url: str = ""
    htmx_target: str = ""
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return TITLES[self.kind]


def is_confirmed(request, *values) -> bool:
    return confirmed(request.POST.get("confirm"), *values)


def merge_refusal(source: Ticket, target: Ticket) -> str | None:
    """Why `source` cannot be merged into `target`, as the merge service would say it, or
    None. Read before the service runs, so the preview says it rather than a failed merge."""
    if source.pk == target.pk:
        return "A ticket cannot be merged into itself."
    if source.client_id != target.client_id:
        return (
            f"#{source.pk} is {source.client.name}'s and #{target.pk} is "
            f"{target.client.name}'s: only tickets of the same client can be merged."
        )
    if source.status not in OPEN_STATUSES and source.status != TicketStatus.RESOLVED:
        return f"#{source.pk} is {source.get_status_display().lower()}; it cannot be merged."
    if target.status not in OPEN_STATUSES and target.status != TicketStatus.RESOLVED:
        return f"#{target.pk} is {target.get_status_display().lower()}; it cannot take a merge."
    return None


def close_refusal(ticket: Ticket) -> str | None:
    if ticket.status != TicketStatus.RESOLVED:
        status = ticket.get_status_display().lower()
        return f"#{ticket.pk} is {status}: only a resolved ticket can be closed."
    return None


def cancel_refusal(ticket: Ticket) -> str | None:
    if ticket.status not in OPEN_STATUSES:
        return f"#{ticket.pk} is {ticket.get_status_display().lower()}; it cannot be cancelled."
    return None


def preview_tickets(*, user, ticket_ids, target_id: int | None = None):
    """The tickets of a preview with what would move or stop, and the target apart."""
    ids = list(ticket_ids) + ([target_id] if target_id else [])
    rows = {
        ticket.pk: ticket for ticket in selectors.ticket_merge_preview(user=user, ticket_ids=ids)
    }
    target = rows.get(target_id) if target_id else None
    return [rows[pk] for pk in ticket_ids if pk in rows and pk != target_id], target


def single_merge_preview(*, user, source_id: int, target_id: int, **where) -> Preview:
    """The ticket page's merge: both tickets side by side. Refusals raise, as the service
    would, so the page shows them as the form's error."""
    sources, target = preview_tickets(user=user, ticket_ids=[source_id], target_id=target_id)
    if target is None:
        raise ValidationError({"target": f"There is no ticket #{target_id}."})
    if not sources:  # the same ticket twice
        raise ValidationError({"target": "A ticket cannot be merged into itself."})
    refusal = merge_refusal(sources[0], target)
    if refusal:
        raise ValidationError({"target": ValidationError(refusal, code=CONFLICT)})
    return Preview(
        kind=MERGE,
        tickets=sources,
        target=target,
        hidden=[("target", target.pk)],
        token_values=(MERGE, source_id, target.pk),
        **where,
    )


def single_preview(*, user, kind: str, ticket_id: int, hidden=(), **where) -> Preview:
    tickets, _ = preview_tickets(user=user, ticket_ids=[ticket_id])
    refusal = (close_refusal if kind == CLOSE else cancel_refusal)(tickets[0])
    if refusal:
        raise ValidationError(ValidationError(refusal, code=CONFLICT))
    return Preview(
        kind=kind,
        tickets=tickets,
        hidden=list(hidden),
        token_values=(kind, ticket_id),
        **where,
    )


def bulk_preview(*, user, kind: str, ticket_ids, target_id=None, **where) -> Preview:
    """A bulk merge, close or cancel: every chosen ticket, those that would be refused
    marked with why (the others still go ahead when confirmed)."""
    tickets, target = preview_tickets(user=user, ticket_ids=ticket_ids, target_id=target_id)
    if kind == MERGE and target is None:
        raise ValidationError({"target": f"There is no ticket #{target_id}."})
    found = {ticket.pk for ticket in tickets}
    refused = [
        (pk, "not found, or not one of your clients' tickets")
        for pk in ticket_ids
        if pk not in found and pk != target_id
    ]
    for ticket in tickets:
        if kind == MERGE:
            refusal = merge_refusal(ticket, target)
        else:
            refusal = (close_refusal if kind == CLOSE else cancel_refusal)(ticket)
        ticket.refusal = refusal
    return Preview(
        kind=kind,
        tickets=tickets,
        target=target,
        hidden=[],
        token_values=(),
        refused=refused,
        **where,
    )


def render_preview(request, preview: Preview, *, token: str, fragment: bool):
    context = {"preview": preview, "confirm_token": token}
    template = "tickets/merge_confirm_main.html" if fragment else "tickets/merge_confirm.html"
    return render(request, template, context)


def token_for(preview: Preview) -> str:
    return confirmation_token(*preview.token_values)
