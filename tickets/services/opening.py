"""Opening a ticket: its client's contract decides the SLA policy, and its clocks start."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contracts.selectors import contract_active_for
from msp.choices import Tier
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.text import one_line
from sla.models import SLAPolicy
from sla.selectors import default_policy
from sla.ticket_clocks import sla_clocks_start
from tickets import selectors
from tickets.choices import EventKind, Impact, TicketSource, TicketType, Urgency
from tickets.models import Ticket
from tickets.services.write import TicketWrite, user_serves_client


@transaction.atomic
def ticket_open(
    *,
    client: Client,
    subject: str,
    description: str = "",
    contact: Contact | None = None,
    site: Site | None = None,
    asset: Asset | None = None,
    type: str = TicketType.INCIDENT,
    category: str = "",
    source: str = TicketSource.PHONE,
    impact: str = Impact.LOW,
    urgency: str = Urgency.MEDIUM,
    priority: str | None = None,
    priority_override_reason: str = "",
    created_by: User | None = None,
    assignee: User | None = None,
    team: Team | None = None,
    tier: str = Tier.L1,
    parent: Ticket | None = None,
    sla_policy: SLAPolicy | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Open a ticket and start its response and resolution clocks.

    The priority comes from the impact x urgency matrix; a different `priority` needs a reason.
    """
    at = at or timezone.now()
    errors = {}
    for field, value in (
        ("contact", contact),
        ("site", site),
        ("asset", asset),
        ("parent", parent),
    ):
        if value is not None and value.client_id != client.pk:
            errors[field] = f"The {field} belongs to another client."
    matrix_priority = selectors.priority_from_matrix(impact=impact, urgency=urgency)
    if priority and priority != matrix_priority and not priority_override_reason.strip():
        errors["priority_override_reason"] = (
            f"The matrix gives {matrix_priority}; say why this ticket is {priority}."
        )
    # The SLA is the engagement: the client's active contract decides the policy, and both are
    # fixed at creation; without a contract the default policy applies.
    contract = contract_active_for(
        client_id=client.pk, on=timezone.localtime(at, ZoneInfo(client.timezone)).date()
    )
    policy = _policy_with_targets(sla_policy or (contract.sla_policy if contract else None))
    if policy is None:
        errors["sla_policy"] = "No SLA policy applies: create a default SLA policy first."
    if assignee is not None and not assignee.is_msp_staff:
        errors["assignee"] = "Tickets are assigned to MSP staff."
    elif assignee is not None and not user_serves_client(assignee, client.pk):
        errors["assignee"] = f"{assignee} does not serve {client}."
    if errors:
        raise ValidationError(errors)
    ticket = Ticket(
        client=client,
        contact=contact,
        site=site or (asset.site if asset else None),
        asset=asset,
        subject=one_line(subject).strip(),
        description=description,
        type=type,
        category=category.strip(),
        source=source,
        impact=impact,
        urgency=urgency,
        priority=priority or matrix_priority,
        priority_override_reason=priority_override_reason.strip()
        if priority and priority != matrix_priority
        else "",
        tier=tier,
        team=team or Team.objects.filter(tier=tier).order_by("name").first(),
        assignee=assignee,
        created_by=created_by,
        sla_policy=policy,
        contract=contract,
        parent=parent,
        created_at=at,
    )
    # Related rows are objects the caller already holds, and the table's check constraints
    # hold at INSERT: validating fields here is enough (and saves a query per constraint).
    ticket.full_clean(
        exclude=[
            "client",
            "contact",
            "site",
            "asset",
            "team",
            "assignee",
            "created_by",
            "sla_policy",
            "contract",
            "parent",
        ],
        validate_unique=False,
        validate_constraints=False,
    )
    clocks = sla_clocks_start(ticket=ticket, policy=policy, at=at)
    write = TicketWrite.opened(ticket, clocks, created_by, at)
    write.insert()
    write.event(EventKind.CREATED, new_value=ticket.priority, detail=ticket.subject)
    return ticket


def _policy_with_targets(chosen: SLAPolicy | None) -> SLAPolicy | None:
    """The policy, or the default one, with its targets loaded: the clocks start from them."""
    if chosen is None:
        return default_policy()
    return SLAPolicy.objects.with_targets().get(pk=chosen.pk)
