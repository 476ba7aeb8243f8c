"""Staff overviews across clients: SLA risk for team leads and the accounts of an account
manager, each in a handful of grouped queries whatever the number of clients or tickets; and
whom a report may be sent to."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, Max, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from contracts.choices import PricingModel
from contracts.models import ComplianceTarget, Contract, MonthlyEvaluation, ServiceLine
from contracts.selectors import (
    ComplianceRow,
    compliance_share,
    contracts_active_on,
    contracts_availability,
    contracts_in_force_on,
    target_met,
)
from msp.choices import ContactRole, PeriodKind
from msp.models import Client, Contact
from msp.periods import Period
from reporting.metrics import (
    Figure,
    Rows,
    compliance_from_rollups,
    figures_by_client,
    hours_figures,
    times_from_rollups,
)
from reporting.models import Report, ReportDelivery
from sla.choices import ClockKind
from sla.models import SLAClock
from sla.rollups import clocks_rolled_up
from tickets.choices import TicketStatus
from tickets.models import SatisfactionSurvey, Ticket

BREACHING_SOON = timedelta(hours=2)


AT_RISK_LISTED = 50


def sla_risk_tickets(*, clients):
    """Open tickets of `clients` with a running SLA deadline, the most urgent first: the
    overdue ones (most overdue first), then the rest by due time."""
    return (
        Ticket.objects.open()
        .filter(client__in=clients, sla_due_at__isnull=False)
        .select_related("client", "assignee")
        .order_by("sla_due_at", "pk")
    )


def sla_risk_fingerprint(*, tickets, now: datetime, day_start: datetime) -> tuple:
    """What the SLA risk page shows depends on, in one aggregate over the open ones of
    `tickets` (the viewer's scope): a ticket opened, closed or changed in any way (a reply, an
    assignment, a breach or escalation by the sweep: each moves its `updated_at`), and, as
    time passes, a deadline entering the two-hour window or passing."""
    row = (
        tickets.open()
        .order_by()
        .aggregate(
            rows=Count("pk"),
            latest=Max("updated_at"),
            overdue=Count("pk", filter=Q(sla_due_at__lt=now)),
            at_risk=Count("pk", filter=Q(sla_due_at__lt=now + BREACHING_SOON)),
        )
    )
    return (row["rows"], row["latest"], row["overdue"], row["at_risk"], day_start)


def sla_risk(*, clients, now: datetime, day_start: datetime, month: Period) -> dict:
    """Open tickets already overdue (most overdue first) and then those due within two
    hours, clocks breached since `day_start`, and compliance by client in `month` so far,
    each client's month in its own time zone, as in its report (clocks concluded, exempted
    breaches left out)."""
    at_risk = sla_risk_tickets(clients=clients).filter(sla_due_at__lt=now + BREACHING_SOON)
    counts = at_risk.order_by().aggregate(
        overdue=Count("pk", filter=Q(sla_due_at__lt=now)),
        soon=Count("pk", filter=Q(sla_due_at__gte=now)),
    )
    breached = (
        SLAClock.objects.filter(client__in=clients, breached_at__gte=day_start)
        .select_related("ticket__client", "ticket__assignee")
        .order_by("-breached_at")
    )
    # The report's scope, its contracts found in the same query (as subqueries).
    contracts = contracts_active_on(on=month.end_day - timedelta(days=1)).filter(client__in=clients)
    # Each client's month in its own zone is the same local month for all: the roll-ups,
    # summed per client first and named after (a join before grouping would carry the names
    # through every roll-up row of the month).
    client = Client.objects.filter(pk=OuterRef("client_id")).order_by()
    rolled_up = (
        clocks_rolled_up(
            first_day=month.first_day,
            end_day=month.end_day,
            contracts=contracts.values("pk"),
            clients_without_contract=clients.exclude(pk__in=contracts.values("client_id")).values(
                "pk"
            ),
        )
        .values("client_id")
        .annotate(met=Sum("met"), breached=Sum("breached"))
        .filter(Q(met__gt=0) | Q(breached__gt=0))
        .annotate(slug=Subquery(client.values("slug")), name=Subquery(client.values("name")))
        .order_by("slug", "name")
    )
    compliance = [
        {
            "slug": row["slug"],
            "client": row["name"],
            "met": row["met"],
            "breached": row["breached"],
            "share": compliance_share(row["met"], row["met"] + row["breached"]),
        }
        for row in rolled_up
    ]
    compliance.sort(key=lambda row: (row["share"] is None, row["share"] or 0))
    return {
        "at_risk": list(at_risk[:AT_RISK_LISTED]),
        "overdue_count": counts["overdue"],
        "soon_count": counts["soon"],
        "breached": list(breached[:25]),
        "breached_count": breached.count(),
        "compliance": compliance,
    }


def clients_of(user, mine: bool):
    clients = Client.objects.for_user(user)
    return clients.filter(account_manager=user) if mine else clients


@dataclass
class Account:
    """One client in an account manager's overview."""

    client: Client
    contract: Contract | None = None
    figures: dict[tuple[str, str], Figure] = field(default_factory=dict)
    last_evaluation: MonthlyEvaluation | None = None
    last_reports: dict[str, Report] = field(default_factory=dict)

    def figure(self, key: str, dimension: str = "") -> Figure | None:
        return self.figures.get((key, dimension))

    @property
    def compliance(self) -> Figure | None:
        return self.figure("compliance", "all")

    @property
    def targets_missed(self) -> list[Figure]:
        return [
            metric
            for (key, _), metric in self.figures.items()
            if key in ("compliance", "availability")
            and metric.target is not None
            and not target_met(metric.value, metric.target)
        ]

    @property
    def last_monthly_report(self) -> Report | None:
        return self.last_reports.get(PeriodKind.MONTH)

    @property
    def last_qbr(self) -> Report | None:
        return self.last_reports.get(PeriodKind.QUARTER)


@dataclass(frozen=True)
class ContractTerms:
    """What the overview reads of a contract's lines and targets, as plain values (model
    instances through prefetch_related cost more than the whole page's SQL at 500 clients)."""

    compliance_targets: dict[tuple[str, str], Decimal]  # (priority, metric) -> percent
    block_hours: Decimal  # monthly, of the block-of-hours lines
    availability_targets: dict[str, Decimal]  # the strictest per service (service_targets)


def account_contracts(clients: list[Client], period: Period) -> dict[int, Contract]:
    """Each client's contract in force at the period's end (reporting.metrics.period_contracts'
    choice) with the fields the overview shows, and its terms (account_terms). Three
    queries."""
    on = period.end_day - timedelta(days=1)
    by_pk = {client.pk: client for client in clients}
    found = (
        contracts_in_force_on(on=on)
        .filter(client_id__in=list(by_pk))
        .only("pk", "client_id", "number", "end_date", "auto_renew")
    )
    chosen: dict[int, Contract] = {}
    for contract in found:
        if contract.client_id not in chosen:  # ordered: each client's active one first
            contract.client = by_pk[contract.client_id]  # the zone, without a join
            chosen[contract.client_id] = contract
    terms = account_terms([contract.pk for contract in chosen.values()])
    for contract in chosen.values():
        contract.terms = terms[contract.pk]
    return chosen


def account_terms(contract_ids: list[int]) -> dict[int, ContractTerms]:
    targets: dict[int, dict] = defaultdict(dict)
    for contract_id, priority, metric, percent in ComplianceTarget.objects.filter(
        contract_id__in=contract_ids
    ).values_list("contract_id", "priority", "metric", "percent"):
        targets[contract_id][(priority, metric)] = percent
    blocks: dict[int, Decimal] = defaultdict(Decimal)
    services: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for contract_id, service, pricing, hours, target in ServiceLine.objects.filter(
        contract_id__in=contract_ids
    ).values_list("contract_id", "service", "pricing_model", "block_hours", "availability_target"):
        if pricing == PricingModel.BLOCK_OF_HOURS:
            blocks[contract_id] += hours or 0
        held = services[contract_id]
        held[service] = max(held.get(service, Decimal(0)), target)
    return {
        pk: ContractTerms(targets[pk], blocks[pk] or Decimal(0), services[pk])
        for pk in contract_ids
    }


def account_backlogs(rows: Rows, now: datetime) -> dict[int, int]:
    """The report's backlog (tickets opened before the period's end and not resolved, closed
    or cancelled by then) per client. Before the period's end those are the open tickets:
    resolving sets resolved_at and closing, cancelling and merging set closed_at (none of them
    is an open status), reopening clears resolved_at, and nothing is opened in the future. So
    a running period counts open tickets through their partial index per client, an
    index-only count instead of a read of every ticket. Periods already ended (the viewer's
    month behind a client's zone) are counted as the report counts them."""
    running = [pk for (_, end), ids in rows.zones.items() if end > now for pk in ids]
    ended = [(end, ids) for (_, end), ids in rows.zones.items() if end <= now]
    queries = [Ticket.objects.open().filter(client_id__in=running)] if running else []
    if ended:
        finished = Q(
            *[
                Q(client_id__in=ids, created_at__lt=end)
                & ~Q(resolved_at__lt=end)
                & ~Q(closed_at__lt=end)
                for end, ids in ended
            ],
            _connector=Q.OR,
        )
        queries.append(Ticket.objects.filter(finished).exclude(status=TicketStatus.CANCELLED))
    counts: dict[int, int] = {}
    for tickets in queries:
        grouped = tickets.order_by().values("client_id").annotate(n=Count("pk"))
        counts.update(grouped.values_list("client_id", "n"))
    return counts


def account_satisfaction(rows: Rows) -> None:
    """The report's CSAT (reporting.metrics.satisfaction_figures: the mean rating of the answers
    given in the period, and their count) from the period's answers alone: the share of the
    surveys sent that were answered is not shown here, and reading the surveys sent too cost
    the page a pass over every survey of the month under conditions per time zone."""
    answered = (
        SatisfactionSurvey.objects.filter(rows.within("answered_at"))
        .values("client_id")
        .annotate(average=Avg("rating"), answers=Count("pk"))
        .order_by()
        .values_list("client_id", "average", "answers")
    )
    found = {client_id: (average, answers) for client_id, average, answers in answered}
    for client_id in rows.client_ids:
        average, answers = found.get(client_id, (None, 0))
        rows.add(client_id, "csat", "", average, answers)


def account_figures(
    *, clients: list[Client], period: Period, contracts: dict[int, Contract], now: datetime
) -> dict[int, list[Figure]]:
    """What the overview shows of each client's period so far, as the report computes it
    (the report's figures of the same period: reporting.metrics.clients_metrics):
    compliance against the contract's targets (from the clocks' roll-ups), the median first
    response, the backlog (account_backlogs, through the open tickets' index), CSAT, hours
    against the block and availability against targets. `contracts`: account_contracts."""
    rows = Rows(clients, period)
    measured, exempted = compliance_from_rollups(rows, contracts, period)
    for client_id in rows.client_ids:
        contract = contracts.get(client_id)
        targets = contract.terms.compliance_targets if contract else {}
        found = measured[client_id]
        met = breached = 0
        for key in sorted(found.keys() | targets.keys()):
            row = ComplianceRow(None, *found.get(key, (0, 0)))
            rows.add(
                client_id, "compliance", "/".join(key), row.share, row.concluded, targets.get(key)
            )
            met, breached = met + row.met, breached + row.breached
        rows.add(
            client_id, "compliance", "all", compliance_share(met, met + breached), met + breached
        )
        rows.add(client_id, "exempted_breaches", "", None, exempted.get(client_id, 0))
    # The median first response alone: the page shows no other percentile.
    times_from_rollups(rows, period, kinds=(ClockKind.RESPONSE,), by_priority=False, percents=(50,))
    account_satisfaction(rows)
    backlog = account_backlogs(rows, now)
    for client_id in rows.client_ids:
        rows.add(client_id, "backlog", "", None, backlog.get(client_id, 0))
    hours_figures(rows, period)
    availability = contracts_availability(
        services_of={
            contract: sorted(contract.terms.availability_targets) for contract in contracts.values()
        },
        period=period,
    )
    for client_id, contract in contracts.items():
        if contract.terms.block_hours:  # blocks are monthly allowances
            rows.add(client_id, "block_hours", "", contract.terms.block_hours * period.months)
        for service, target in sorted(contract.terms.availability_targets.items()):
            rows.add(
                client_id, "availability", service, availability[contract.pk][service], 0, target
            )
    return figures_by_client(rows)


def accounts_overview(*, clients, period: Period, now: datetime | None = None) -> list[Account]:
    """Each client's period so far (the report's figures that the page shows, not stored), its
    contract, the latest governance ladder step and its latest monthly report and QBR, in a
    fixed number of queries whatever the number of clients."""
    now = now or timezone.now()
    scope = clients
    # What the page and the figures read of a client (its zone for the period's bounds).
    clients = list(clients.order_by("name").only("pk", "name", "slug", "timezone"))
    contracts = account_contracts(clients, period)
    metrics = account_figures(clients=clients, period=period, contracts=contracts, now=now)
    latest_month = MonthlyEvaluation.objects.filter(contract=OuterRef("contract")).order_by(
        "-month"
    )
    evaluations = {
        evaluation.contract_id: evaluation
        for evaluation in MonthlyEvaluation.objects.filter(
            contract_id__in=[contract.pk for contract in contracts.values()],
            pk=Subquery(latest_month.values("pk")[:1]),
        )
    }
    latest_report = Report.objects.filter(
        client=OuterRef("client"), kind=OuterRef("kind")
    ).order_by("-period_start", "-version")
    reports = defaultdict(dict)
    for report in Report.objects.filter(
        client__in=scope.values("pk"), pk=Subquery(latest_report.values("pk")[:1])
    ).defer("figures"):
        reports[report.client_id][report.kind] = report
    accounts = []
    for client in clients:
        contract = contracts.get(client.pk)
        accounts.append(
            Account(
                client=client,
                contract=contract,
                figures={(m.key, m.dimension): m for m in metrics[client.pk]},
                last_evaluation=evaluations.get(contract.pk) if contract else None,
                last_reports=reports[client.pk],
            )
        )
    return accounts


def report_recipient_choices(client: Client):
    """The contacts a report may be sent to: the client's active contacts with an address."""
    return Contact.objects.filter(client=client, is_active=True).exclude(email="")


@dataclass(frozen=True)
class RecipientOption:
    contact: Contact
    default: bool  # ticked when the account manager opens the send step
    delivery: ReportDelivery | None  # this version already went to them


def report_recipient_options(report: Report) -> list[RecipientOption]:
    """Each contact the report may go to, whether it is ticked by default (the client's report
    recipients, or its executive and primary contacts when it has none) and whether this
    version went to them already. Two queries."""
    contacts = list(report_recipient_choices(report.client).order_by("full_name", "pk"))
    deliveries = {
        delivery.contact_id: delivery
        for delivery in ReportDelivery.objects.filter(report=report).select_related("sent_by")
    }
    chosen = {contact.pk for contact in contacts if contact.receives_reports}
    if not chosen:
        leading = {ContactRole.EXECUTIVE, ContactRole.PRIMARY}
        chosen = {contact.pk for contact in contacts if contact.role in leading}
    return [
        RecipientOption(contact, contact.pk in chosen, deliveries.get(contact.pk))
        for contact in contacts
    ]
