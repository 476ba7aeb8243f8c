"""Who works a ticket and how urgent it is: assignment, contact, escalation, priority."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from msp.choices import Tier
from msp.models import Contact, Team, User
from msp.services import outbox_enqueue_many
from msp.validators import CONFLICT
from sla.choices import Priority
from sla.ticket_clocks import sla_clocks_retarget
from tickets import selectors
from tickets.choices import EventKind
from tickets.models import Ticket
from tickets.services import dispatch
from tickets.services.write import TicketWrite, staff_serving

NEXT_TIER = {Tier.L1: Tier.L2, Tier.L2: Tier.L3}


def assign(write: TicketWrite, assignee: User | None, team: Team | None = None) -> None:
    write.require_open("be assigned")
    if assignee is not None and (not assignee.is_msp_staff or not assignee.is_active):
        raise ValidationError({"assignee": "Tickets are assigned to active MSP staff."})
    write.require_serving(assignee)
    ticket = write.ticket
    old = str(ticket.assignee or "nobody")
    ticket.assignee = assignee
    fields = ["assignee"]
    if team is not None and team != ticket.team:
        ticket.team = team
        fields.append("team")
    write.save(*fields)
    write.event(EventKind.ASSIGNED, old_value=old, new_value=str(assignee or "nobody"))


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, actor: User, assignee: User | None, team: Team | None = None, at=None
) -> Ticket:
    write = TicketWrite.begin(ticket, actor, at)
    if actor is not None:  # None: the system, acting on an escalation rule
        write.require_staff()
    assign(write, assignee, team)
    return write.ticket


@transaction.atomic
def ticket_route(
    *,
    ticket: Ticket,
    actor: User,
    team: Team | None = None,
    tier: str = "",
    at: datetime | None = None,
) -> Ticket:
    """Send a ticket to a team and/or a tier (a dispatcher's triage). A new tier leaves the
    ticket unassigned unless its assignee works at that tier, as an escalation does."""
    if team is None and not tier:
        raise ValidationError("Choose a team or a tier.")
    if tier and tier not in Tier.values:
        raise ValidationError({"tier": f"{tier!r} is not a tier."})
    write = TicketWrite.begin(ticket, actor, at)
    write.require_staff()
    write.require_open("be routed")
    ticket = write.ticket
    tier = tier or ticket.tier
    if team is not None and team.tier and team.tier != tier:
        raise ValidationError({"team": f"{team} takes tier {team.tier} tickets, not {tier}."})
    old = f"{ticket.team or 'no team'} / {ticket.tier}"
    if tier != ticket.tier and ticket.assignee is not None and ticket.assignee.tier != tier:
        ticket.assignee = None
    ticket.tier = tier
    ticket.team = team or ticket.team
    write.save("team", "tier", "assignee")
    write.event(
        EventKind.ASSIGNED,
        old_value=old[:200],
        new_value=f"{ticket.team or 'no team'} / {ticket.tier}"[:200],
    )
    return ticket


@transaction.atomic
def ticket_set_contact(
    *, ticket: Ticket, actor: User, contact: Contact | None, at: datetime | None = None
) -> Ticket:
    """Who the client side of the ticket is: public replies are emailed to them."""
    write = TicketWrite.begin(ticket, actor, at)
    write.require_staff()
    write.require_open("change its contact")
    ticket = write.ticket
    if contact is not None and (contact.client_id != ticket.client_id or not contact.is_active):
        raise ValidationError({"contact": "Choose an active contact of this ticket's client."})
    old = str(ticket.contact or "nobody")
    ticket.contact = contact
    write.save("contact")
    write.event(EventKind.CONTACT, old_value=old[:200], new_value=str(contact or "nobody")[:200])
    return ticket


def escalate(write: TicketWrite, reason: str, assignee: User | None = None) -> None:
    """Functional escalation: the next tier up, that tier's team, unassigned unless given."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the ticket is escalated."})
    write.require_open("be escalated")
    ticket = write.ticket
    if ticket.tier not in NEXT_TIER:
        raise ValidationError("This ticket is at the top tier (L3) already.", code=CONFLICT)
    old_tier = ticket.tier
    ticket.tier = NEXT_TIER[old_tier]
    ticket.team = write.team_of_tier(ticket.tier) or ticket.team
    if assignee is not None and assignee.tier != ticket.tier:
        raise ValidationError({"assignee": f"Choose a technician of tier {ticket.tier}."})
    write.require_serving(assignee)
    ticket.assignee = assignee
    write.save("tier", "team", "assignee")
    write.event(
        EventKind.ESCALATED, old_value=old_tier, new_value=ticket.tier, detail=reason.strip()
    )


@transaction.atomic
def ticket_escalate(
    *, ticket: Ticket, actor: User | None, reason: str, assignee: User | None = None, at=None
) -> Ticket:
    write = TicketWrite.begin(ticket, actor, at)
    old_tier = write.ticket.tier
    escalate(write, reason, assignee)
    _dispatchers_tell_escalated(write, old_tier, reason.strip())
    return write.ticket


def _dispatchers_tell_escalated(write: TicketWrite, old_tier: str, reason: str) -> None:
    """The dispatchers of the client hear of every escalation (but the one who made it)."""
    ticket = write.ticket
    everyone = dispatch.dispatchers_active()
    if not everyone:
        return
    people = dispatch.dispatchers_of(everyone, staff_serving(ticket.client_id))
    people = [person for person in people if write.actor is None or person.pk != write.actor.pk]
    if people:
        outbox_enqueue_many(
            dispatch.dispatcher_messages(
                ticket=ticket,
                people=people,
                key=f"dispatch:escalated:{ticket.pk}:{old_tier}-{ticket.tier}:{write.at.isoformat()}",
                escalated=True,
                what=f"Escalated from {old_tier} to {ticket.tier}",
                reason=f"Why: {reason}",
            )
        )


@transaction.atomic
def ticket_change_priority(
    *,
    ticket: Ticket,
    actor: User,
    priority: str | None = None,
    impact: str | None = None,
    urgency: str | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> Ticket:
    """New impact/urgency and/or priority. The clocks keep the business time spent and apply
    the new priority's targets. A priority that differs from the matrix needs a reason."""
    write = TicketWrite.begin(ticket, actor, at)
    write.require_staff()
    write.require_open("change priority")
    ticket = write.ticket
    impact = impact or ticket.impact
    urgency = urgency or ticket.urgency
    matrix_priority = selectors.priority_from_matrix(impact=impact, urgency=urgency)
    priority = priority or matrix_priority
    if priority not in Priority.values:
        raise ValidationError({"priority": f"{priority!r} is not a priority."})
    if priority != matrix_priority and not reason.strip():
        raise ValidationError(
            {"reason": f"The matrix gives {matrix_priority}; say why this ticket is {priority}."}
        )
    old_priority = ticket.priority
    ticket.impact, ticket.urgency, ticket.priority = impact, urgency, priority
    ticket.priority_override_reason = reason.strip() if priority != matrix_priority else ""
    if priority != old_priority:
        sla_clocks_retarget(write.clocks, at=write.at)
    write.save("impact", "urgency", "priority", "priority_override_reason")
    write.event(
        EventKind.PRIORITY, old_value=old_priority, new_value=priority, detail=reason.strip()
    )
    return ticket
