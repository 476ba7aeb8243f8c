"""Opening a ticket: its client's contract decides the SLA policy, and its clocks start.

`ticket_open` opens one ticket; `tickets_open` opens many at once (a group of monitoring
alerts) by the same rules, with the same number of statements whatever their number.
"""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import IntegerField, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from contracts.selectors import contracts_active_on
from msp.choices import Tier
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.prepared import PreparedQuery
from msp.text import one_line
from sla import selectors as sla_selectors
from sla.models import SLAClock, SLAPolicy
from sla.ticket_clocks import TicketClocks, sla_clocks_start
from tickets import selectors
from tickets.choices import EventKind, Impact, TicketSource, TicketType, Urgency
from tickets.models import PriorityMatrixCell, Ticket, TimelineEvent
from tickets.services.write import TicketWrite, rows_insert, user_serves_client
from tickets.webhooks import ticket_events_emit

# Related rows are objects the caller already holds, and the table's check constraints hold
# at INSERT: validating the ticket's own fields is enough (and saves a query per constraint).
RELATED_FIELDS = [
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
]


@dataclass(frozen=True)
class Terms:
    """What a new ticket of a client is opened under: the active contract, the SLA policy
    (the contract's, else the default one) with its targets, and the tier's default team."""

    contract_id: int | None
    policy: SLAPolicy | None
    team_id: int | None


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
    The ticket comes back with its new clocks in hand (as if prefetched): showing it reads
    nothing more.
    """
    at = at or timezone.now()
    errors = _related_errors(client, contact=contact, site=site, asset=asset, parent=parent)
    terms, matrix_priority = _terms_of_one(
        client, at, sla_policy=sla_policy, tier=None if team else tier, cell=(impact, urgency)
    )
    if priority and priority != matrix_priority and not priority_override_reason.strip():
        errors["priority_override_reason"] = (
            f"The matrix gives {matrix_priority}; say why this ticket is {priority}."
        )
    if terms.policy is None:
        errors["sla_policy"] = "No SLA policy applies: create a default SLA policy first."
    if assignee is not None and not assignee.is_msp_staff:
        errors["assignee"] = "Tickets are assigned to MSP staff."
    elif assignee is not None and not user_serves_client(assignee, client.pk):
        errors["assignee"] = f"{assignee} does not serve {client}."
    if errors:
        raise ValidationError(errors)
    overridden = bool(priority) and priority != matrix_priority
    ticket = _ticket(
        client=client,
        subject=subject,
        description=description,
        contact=contact,
        site=site,
        asset=asset,
        type=type,
        category=category,
        source=source,
        impact=impact,
        urgency=urgency,
        priority=priority if overridden else matrix_priority,
        priority_override_reason=priority_override_reason.strip() if overridden else "",
        tier=tier,
        team_id=team.pk if team else terms.team_id,
        assignee=assignee,
        created_by=created_by,
        terms=terms,
        parent=parent,
        at=at,
    )
    clocks = sla_clocks_start(ticket=ticket, policy=terms.policy, at=at)
    write = TicketWrite.opened(ticket, clocks, created_by, at)
    write.insert()
    write.event(EventKind.CREATED, new_value=ticket.priority, detail=ticket.subject)
    selectors.ticket_clocks_keep(ticket, clocks.rows)
    return ticket


@dataclass(frozen=True)
class NewTicket:
    """One ticket of a `tickets_open` batch: what `ticket_open` takes, less the choices that
    only a person makes (assignee, team, priority override, another policy)."""

    client: Client
    subject: str
    description: str = ""
    contact: Contact | None = None
    site: Site | None = None
    asset: Asset | None = None
    type: str = TicketType.INCIDENT
    category: str = ""
    source: str = TicketSource.PHONE
    impact: str = Impact.LOW
    urgency: str = Urgency.MEDIUM
    tier: str = Tier.L1
    created_by: User | None = None
    parent: Ticket | None = None


@transaction.atomic
def tickets_open(*, new: list[NewTicket], at: datetime | None = None) -> list[Ticket]:
    """Open many tickets by the rules of `ticket_open`, in a fixed number of statements: the
    terms of all their clients read at once, the tickets, their clocks and their timeline
    entries each inserted in one statement. A ticket that breaks a rule fails them all (with a
    ValidationError), since they are one write."""
    at = at or timezone.now()
    if not new:
        return []
    terms = _terms_of_many({item.client for item in new}, at, {item.tier for item in new})
    matrix = _matrix()
    tickets = []
    started: dict[tuple[int, str], TicketClocks] = {}
    writes = []
    for item in new:
        errors = _related_errors(
            item.client, contact=item.contact, site=item.site, asset=item.asset, parent=item.parent
        )
        client_terms = terms[item.client.pk]
        if client_terms.policy is None:
            errors["sla_policy"] = "No SLA policy applies: create a default SLA policy first."
        if errors:
            raise ValidationError(errors)
        ticket = _ticket(
            client=item.client,
            subject=item.subject,
            description=item.description,
            contact=item.contact,
            site=item.site,
            asset=item.asset,
            type=item.type,
            category=item.category,
            source=item.source,
            impact=item.impact,
            urgency=item.urgency,
            priority=matrix[(item.impact, item.urgency)],
            priority_override_reason="",
            tier=item.tier,
            team_id=client_terms.team_id.get(item.tier),
            assignee=None,
            created_by=item.created_by,
            terms=Terms(client_terms.contract_id, client_terms.policy, None),
            parent=item.parent,
            at=at,
        )
        # Clocks started at one instant under one policy and priority are the same clocks:
        # started once per policy and priority, copied for the others.
        key = (client_terms.policy.pk, ticket.priority)
        if key not in started:
            clocks = started[key] = sla_clocks_start(
                ticket=ticket, policy=client_terms.policy, at=at
            )
        else:
            clocks = _clocks_like(started[key], ticket)
        write = TicketWrite.opened(ticket, clocks, item.created_by, at)
        # The summary of the clocks goes into the ticket's INSERT, as in TicketWrite.insert().
        write.summarise()
        tickets.append(ticket)
        writes.append(write)
    rows_insert(Ticket, tickets)
    for write in writes:
        for row in write.clocks.rows:
            row.ticket = write.ticket  # now with its id
    rows_insert(SLAClock, [row for write in writes for row in write.clocks.rows])
    created = [
        TimelineEvent(
            ticket=ticket,
            kind=EventKind.CREATED,
            actor=write.actor,
            at=at,
            new_value=ticket.priority,
            detail=ticket.subject,
        )
        for ticket, write in zip(tickets, writes, strict=True)
    ]
    rows_insert(TimelineEvent, created)
    ticket_events_emit(created)
    return tickets


# Steps ---------------------------------------------------------------------------------------


def _related_errors(client: Client, **related) -> dict[str, str]:
    return {
        field: f"The {field} belongs to another client."
        for field, value in related.items()
        if value is not None and value.client_id != client.pk
    }


def _ticket(*, client, subject, site, asset, category, terms: Terms, team_id, at, **fields):
    ticket = Ticket(
        client=client,
        site=site,
        asset=asset,
        subject=one_line(subject).strip(),
        category=category.strip(),
        sla_policy=terms.policy,
        contract_id=terms.contract_id,
        team_id=team_id,
        created_at=at,
        **fields,
    )
    if site is None and asset is not None:
        ticket.site_id = asset.site_id  # the asset's site, without reading it
    ticket.full_clean(exclude=RELATED_FIELDS, validate_unique=False, validate_constraints=False)
    return ticket


def _clocks_like(started: TicketClocks, ticket: Ticket) -> TicketClocks:
    """Rows equal to `started`'s, for another ticket. They share their JSON values (history,
    checks): `tickets_open` inserts them and lets them go, and nothing changes them."""
    rows = [
        SLAClock(
            ticket=ticket,
            client_id=ticket.client_id,
            **{name: getattr(row, name) for name in _CLOCK_VALUES},
        )
        for row in started.rows
    ]
    return TicketClocks(ticket=ticket, rows=rows, policy=started.policy)


_CLOCK_VALUES = [
    field.attname
    for field in SLAClock._meta.concrete_fields
    if not field.primary_key and field.name not in ("ticket", "client")
]


def _local_date(client: Client, at: datetime) -> date:
    return timezone.localtime(at, ZoneInfo(client.timezone)).date()


def _default_policy_id():
    return SLAPolicy.objects.filter(is_default=True).order_by("name").values("pk")[:1]


def _terms_of_one(
    client: Client,
    at: datetime,
    *,
    sla_policy: SLAPolicy | None,
    tier: str | None,
    cell: tuple[str, str],
) -> tuple[Terms, str]:
    """The terms of one client's new ticket and the matrix's priority for its impact and
    urgency: one query for the policy's id and digest with everything else as subqueries; the
    policy with its targets comes from the process's cache while its digest holds (else two
    more queries). The SLA is the engagement: the client's active contract decides the policy,
    and both are fixed at creation; without a contract the default policy applies."""
    if connection.vendor != "postgresql":  # the digest needs PostgreSQL (sla.selectors)
        return _terms_of_one_orm(client, at, sla_policy=sla_policy, tier=tier, cell=cell)
    impact, urgency = cell
    values = {
        "client_id": client.pk,
        "on": _local_date(client, at),
        "policy_id": sla_policy.pk if sla_policy is not None else None,
        "tier": tier,
        "impact": impact,
        "urgency": urgency,
    }
    row = _TERMS.first(**values)
    if row is None:  # no policy applies: the ticket is refused, so this is rare
        return _terms_of_one_orm(client, at, sla_policy=sla_policy, tier=tier, cell=cell)
    policy_id, digest, contract_id, team_id, priority = row
    policy = sla_selectors.policy_with_targets_cached(policy_id=policy_id, digest=digest)
    matrix_priority = priority or selectors.DEFAULT_MATRIX[(impact, urgency)]
    return Terms(contract_id, policy, team_id), matrix_priority


def _terms_of_one_orm(
    client: Client,
    at: datetime,
    *,
    sla_policy: SLAPolicy | None,
    tier: str | None,
    cell: tuple[str, str],
) -> tuple[Terms, str]:
    """`_terms_of_one` through the ORM: one query for the policy with everything else as
    subqueries, one for its targets. On databases other than PostgreSQL (SQLite), and when no
    policy applies."""
    impact, urgency = cell
    contract = contracts_active_on(on=_local_date(client, at)).filter(client_id=client.pk)
    chosen = Coalesce(
        Subquery(contract.values("sla_policy_id")[:1]), Subquery(_default_policy_id())
    )
    if sla_policy is not None:
        chosen = Value(sla_policy.pk)
    team = Team.objects.filter(tier=tier).order_by("name").values("pk")[:1] if tier else None
    cells = PriorityMatrixCell.objects.filter(impact=impact, urgency=urgency)
    policy = (
        SLAPolicy.objects.with_targets()
        .filter(pk=chosen)
        .annotate(
            opening_contract_id=Subquery(contract.values("pk")[:1]),
            opening_team_id=(
                Subquery(team) if team is not None else Value(None, output_field=IntegerField())
            ),
            opening_priority=Subquery(cells.values("priority")[:1]),
        )
        .first()
    )
    if policy is None:  # no policy applies: the ticket is refused, so this is rare
        terms = Terms(
            contract_id=contract.values_list("pk", flat=True).first(),
            policy=None,
            team_id=next(iter(team), {}).get("pk") if team is not None else None,
        )
        return terms, selectors.priority_from_matrix(impact=impact, urgency=urgency)
    matrix_priority = policy.opening_priority or selectors.DEFAULT_MATRIX[(impact, urgency)]
    return Terms(policy.opening_contract_id, policy, policy.opening_team_id), matrix_priority


def _terms_query(*, client_id, on, policy_id, tier, impact, urgency):
    """The policy (its id and digest), contract, team and matrix cell of a new ticket."""
    contract = contracts_active_on(on=on).filter(client_id=client_id)
    chosen = Coalesce(
        Subquery(contract.values("sla_policy_id")[:1]), Subquery(_default_policy_id())
    )
    if policy_id is not None:
        chosen = Value(policy_id)
    team = Team.objects.filter(tier=tier).order_by("name").values("pk")[:1] if tier else None
    cells = PriorityMatrixCell.objects.filter(impact=impact, urgency=urgency)
    return (
        SLAPolicy.objects.filter(pk=chosen)
        .annotate(
            opening_digest=sla_selectors.policy_digest('"sla_slapolicy"."id"'),
            opening_contract_id=Subquery(contract.values("pk")[:1]),
            opening_team_id=(
                Subquery(team) if team is not None else Value(None, output_field=IntegerField())
            ),
            opening_priority=Subquery(cells.values("priority")[:1]),
        )
        .values_list(
            "pk", "opening_digest", "opening_contract_id", "opening_team_id", "opening_priority"
        )
        .order_by()[:1]
    )


_TERMS = PreparedQuery(_terms_query)


@dataclass(frozen=True)
class _ClientTerms:
    contract_id: int | None
    policy: SLAPolicy | None
    team_id: dict[str, int]


def _terms_of_many(clients: set[Client], at: datetime, tiers: set[str]) -> dict[int, _ClientTerms]:
    """The terms of several clients' new tickets: their active contracts (one query per local
    date, so one or two), the policies with their targets (two), the tiers' teams (one)."""
    by_date: dict[date, list[int]] = {}
    for client in clients:
        by_date.setdefault(_local_date(client, at), []).append(client.pk)
    contracts = {}
    for on, client_ids in by_date.items():
        rows = contracts_active_on(on=on).filter(client_id__in=client_ids)
        for client_id, pk, policy_id in rows.values_list("client_id", "pk", "sla_policy_id"):
            contracts.setdefault(client_id, (pk, policy_id))
    policy_ids = {policy_id for _, policy_id in contracts.values() if policy_id}
    policies = list(
        SLAPolicy.objects.with_targets()
        .filter(Q(pk__in=policy_ids) | Q(is_default=True))
        .order_by("name")
    )
    by_pk = {policy.pk: policy for policy in policies}
    default = next((policy for policy in policies if policy.is_default), None)
    teams: dict[str, int] = {}
    for tier, pk in Team.objects.filter(tier__in=tiers).order_by("name").values_list("tier", "pk"):
        teams.setdefault(tier, pk)
    terms = {}
    for client in clients:
        contract_id, policy_id = contracts.get(client.pk, (None, None))
        policy = by_pk.get(policy_id) or default
        terms[client.pk] = _ClientTerms(contract_id, policy, teams)
    return terms


def _matrix() -> dict[tuple[str, str], str]:
    """The whole priority matrix (nine cells), the configured cells over ITIL's defaults."""
    configured = {
        (impact, urgency): priority
        for impact, urgency, priority in PriorityMatrixCell.objects.values_list(
            "impact", "urgency", "priority"
        )
    }
    return {**selectors.DEFAULT_MATRIX, **configured}
