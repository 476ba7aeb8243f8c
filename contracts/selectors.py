"""Reads of contracts, and the monthly charges preview."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, When

from contracts.availability import availability_percent
from contracts.choices import ContractStatus, PricingModel
from contracts.models import (
    BreachExemption,
    Contract,
    MaintenanceWindow,
    Outage,
    RemediationPlan,
    ServiceLine,
)
from msp.models import Asset, Contact
from msp.periods import Period
from sla.choices import ClockKind
from sla.models import SLAClock

CENT = Decimal("0.01")
MINUTES_PER_HOUR = Decimal(60)


def _term_covers(on: date) -> Q:
    return Q(start_date__lte=on) & (Q(end_date__isnull=True) | Q(end_date__gte=on))


def _active_on(on: date) -> Q:
    return Q(status=ContractStatus.ACTIVE) & _term_covers(on)


def contract_active_for(*, client_id: int, on: date) -> Contract | None:
    """The client's active contract on a date (there is at most one)."""
    return (
        Contract.objects.filter(_active_on(on), client_id=client_id)
        .select_related("sla_policy")
        .first()
    )


def contracts_active_on(*, on: date):
    """The contracts active on a date (a client has at most one), as a queryset."""
    return Contract.objects.filter(_active_on(on))


def contracts_in_force_on(*, on: date):
    """The contracts whose term covered a date, for reporting a period that has ended: the
    active one, or one that has expired since (a client's last contract month is reported
    with that contract's targets). Ordered so that each client's active one comes first."""
    in_force = Q(status__in=[ContractStatus.ACTIVE, ContractStatus.EXPIRED]) & _term_covers(on)
    active_first = Case(When(status=ContractStatus.ACTIVE, then=0), default=1)
    return Contract.objects.filter(in_force).order_by("client_id", active_first, "-start_date")


def contracts_in_force_for(*, client_ids: list[int], on: date) -> dict[int, Contract]:
    """Each client's contract in force on a date (contracts_in_force_on), with what reports
    read of it (lines, targets, maintenance windows), in a fixed number of queries."""
    contracts = (
        contracts_in_force_on(on=on)
        .filter(client_id__in=client_ids)
        .select_related("client", "sla_policy")
        .prefetch_related("service_lines", "compliance_targets", "maintenance_windows")
    )
    chosen: dict[int, Contract] = {}
    for contract in contracts:
        chosen.setdefault(contract.client_id, contract)
    return chosen


@dataclass(frozen=True)
class Usage:
    """Billable time of the month, in minutes by work type (from the ticket side)."""

    billable_minutes: dict[str, int] = field(default_factory=dict)

    @property
    def total_minutes(self) -> int:
        return sum(self.billable_minutes.values())


@dataclass(frozen=True)
class ChargeLine:
    line: ServiceLine
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    note: str = ""


@dataclass(frozen=True)
class ChargesPreview:
    lines: tuple[ChargeLine, ...]
    base_fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.base_fee + sum((line.amount for line in self.lines), Decimal("0.00"))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def contract_charges_preview(*, contract: Contract, usage: Usage) -> ChargesPreview:
    """What the contract charges for a month: its base fee plus each service line."""
    # Device counts by kind in one grouped query, whatever the number of per-device lines.
    devices_by_kind = dict(
        Asset.objects.filter(client_id=contract.client_id, is_active=True)
        .values_list("kind")
        .annotate(count=Count("pk"))
    )
    seats = Contact.objects.filter(
        client_id=contract.client_id, is_active=True, is_seat=True
    ).count()
    lines = [_charge(line, devices_by_kind, seats, usage) for line in contract.service_lines.all()]
    return ChargesPreview(lines=tuple(lines), base_fee=_money(contract.monthly_fee))


def _charge(
    line: ServiceLine, devices_by_kind: dict[str, int], seats: int, usage: Usage
) -> ChargeLine:
    price = line.unit_price
    if line.pricing_model == PricingModel.PER_DEVICE:
        kinds = line.asset_kinds or devices_by_kind.keys()
        quantity = Decimal(sum(devices_by_kind.get(kind, 0) for kind in kinds))
        return ChargeLine(line, quantity, price, _money(quantity * price), "devices")
    if line.pricing_model == PricingModel.PER_SEAT:
        quantity = Decimal(seats)
        return ChargeLine(line, quantity, price, _money(quantity * price), "seats")
    if line.pricing_model == PricingModel.FIXED_RETAINER:
        return ChargeLine(line, Decimal(1), price, _money(price), "retainer")
    if line.pricing_model == PricingModel.BLOCK_OF_HOURS:
        used = Decimal(usage.total_minutes) / MINUTES_PER_HOUR
        over = max(used - line.block_hours, Decimal(0))
        amount = price + over * (line.overage_rate or Decimal(0))
        note = f"{_money(used)} of {line.block_hours} h used, {_money(over)} h over"
        return ChargeLine(line, _money(used), price, _money(amount), note)
    if line.pricing_model == PricingModel.HOURLY:
        amount = Decimal(0)
        hours = Decimal(0)
        for work_type, minutes in usage.billable_minutes.items():
            rate = Decimal(str(line.hourly_rates.get(work_type, 0)))
            hours += Decimal(minutes) / MINUTES_PER_HOUR
            amount += Decimal(minutes) / MINUTES_PER_HOUR * rate
        return ChargeLine(line, _money(hours), Decimal(0), _money(amount), "hours by work type")
    # Percentage of managed spend.
    amount = line.managed_spend * line.spend_percent / Decimal(100)
    return ChargeLine(line, Decimal(1), line.spend_percent, _money(amount), "of managed spend")


def contract_availability(
    *, contract: Contract, period: Period, services: list[str] | None = None
) -> dict[str, Decimal]:
    """Availability of services (default: those with a line in the contract) over a period in
    the client's time zone: two queries (outages, windows) whatever the number of services."""
    if services is None:
        services = [line.service for line in contract.service_lines.all()]
    return contracts_availability(services_of={contract: services}, period=period)[contract.pk]


def contracts_availability(
    *, services_of: dict[Contract, list[str]], period: Period
) -> dict[int, dict[str, Decimal]]:
    """Availability of each contract's services over a period in its client's time zone, in
    two queries (outages, maintenance windows) whatever the number of contracts. Windows are
    read and expanded only for contracts with an outage: without one a service is up 100 %."""
    if not services_of:
        return {}
    periods = {contract.pk: period.bounds(contract.client.timezone) for contract in services_of}
    earliest = min(start for start, _ in periods.values())
    latest = max(end for _, end in periods.values())
    outages: dict[int, dict[str, list]] = {}
    for outage in Outage.objects.filter(
        Q(end__isnull=True) | Q(end__gt=earliest),
        contract__in=list(services_of),
        planned=False,
        start__lt=latest,
    ):
        start, end = periods[outage.contract_id]
        if outage.start < end and (outage.end is None or outage.end > start):
            outages.setdefault(outage.contract_id, {}).setdefault(outage.service, []).append(
                (outage.start, outage.end or end)
            )
    windows: dict[int, list] = {}
    if outages:
        for window in MaintenanceWindow.objects.filter(
            contract__in=list(outages), asset__isnull=True
        ).select_related("contract__client"):
            windows.setdefault(window.contract_id, []).append(window)
    measured = {}
    for contract, services in services_of.items():
        period = periods[contract.pk]
        maintenance = [
            occurrence
            for window in windows.get(contract.pk, [])
            for occurrence in window.occurrences(period)
        ]
        down = outages.get(contract.pk, {})
        measured[contract.pk] = {
            service: availability_percent(
                outages=down.get(service, []), maintenance=maintenance, period=period
            )
            for service in services
        }
    return measured


def service_targets(contract: Contract) -> dict[str, Decimal]:
    """Availability target per service; a service sold on several lines is held to the
    strictest of their targets."""
    targets: dict[str, Decimal] = {}
    for line in contract.service_lines.all():
        targets[line.service] = max(targets.get(line.service, Decimal(0)), line.availability_target)
    return targets


def client_zone(contract: Contract) -> ZoneInfo:
    return ZoneInfo(contract.client.timezone)


def _exemption_in_force():
    return Exists(BreachExemption.objects.filter(clock=OuterRef("pk"), revoked_at__isnull=True))


def concluded_between(start: datetime, end: datetime) -> Q:
    """Clocks concluded between two instants: met (stopped in time) or breached."""
    return Q(state="met", stopped_at__gte=start, stopped_at__lt=end) | Q(
        breached_at__gte=start, breached_at__lt=end
    )


def concluded_clocks(*, where: Q, exempted: bool = False):
    """Response and resolution clocks concluded as `where` says (built from concluded_between,
    per client where periods differ by client): met (stopped in time) or breached. Breaches
    exempted (and not revoked) count as neither; `exempted=True` gives just those instead."""
    clocks = SLAClock.objects.filter(where, kind__in=[ClockKind.RESPONSE, ClockKind.RESOLUTION])
    return clocks.filter(_exemption_in_force() if exempted else ~_exemption_in_force())


def counted_clocks(*, concluded: Q, contracts, clients_without_contract=(), exempted=False):
    """The clocks that count towards compliance, the one scope rule that evaluations, reports,
    dashboards and credits share: response and resolution clocks concluded in the client's
    period (`concluded`, from concluded_between) whose ticket was opened under the contract
    measured, exempted breaches left out (`exempted=True`: just those). A client with no
    contract for the period (`clients_without_contract`) counts all its clocks: it has no
    targets and no credits. `contracts` and the clients may be lists or querysets."""
    scope = Q(ticket__contract__in=contracts) | Q(client__in=clients_without_contract)
    return concluded_clocks(where=concluded, exempted=exempted).filter(scope)


def met_and_breached(clocks, *group_by: str):
    """Met and breached clocks per group, in one grouped query."""
    return (
        clocks.values(*group_by)
        .annotate(
            met=Count("pk", filter=Q(state="met")),
            breached=Count("pk", filter=Q(breached_at__isnull=False)),
        )
        .order_by(*group_by)
    )


def compliance_measured(
    *, concluded: Q, contracts, clients_without_contract=(), by: tuple[str, ...] = ()
) -> list[dict]:
    """The one compliance selector: met and breached counted clocks by `by` (e.g. client_id),
    priority and metric, in one grouped query however many contracts and time zones."""
    clocks = counted_clocks(
        concluded=concluded, contracts=contracts, clients_without_contract=clients_without_contract
    )
    return list(met_and_breached(clocks, *by, "ticket__priority", "kind"))


def contract_compliance(*, contract_id: int, period: tuple[datetime, datetime]) -> list[dict]:
    """Counted clocks of a contract's month, met and breached, by priority and metric."""
    return compliance_measured(concluded=concluded_between(*period), contracts=[contract_id])


def contract_exemptions(*, contract_id: int, period: tuple[datetime, datetime]):
    """Exemptions (in force or revoked) of breaches in the period, with their tickets."""
    return (
        BreachExemption.objects.filter(
            clock__ticket__contract_id=contract_id,
            clock__breached_at__gte=period[0],
            clock__breached_at__lt=period[1],
        )
        .select_related("clock__ticket", "granted_by", "revoked_by")
        .order_by("-granted_at")
    )


def compliance_share(met: int, concluded: int) -> Decimal | None:
    """The one precision of a compliance share: % to 0.01, cut down (integer arithmetic, so
    exact), never read above what was measured. Targets have two decimals, so a cut share meets
    its target exactly when the true share does: 32 of 33 (96.9697 %) reads 96.96 % and misses
    96.97 %. None: nothing concluded."""
    if not concluded:
        return None
    return Decimal(met * 10000 // concluded).scaleb(-2)


def target_met(measured: Decimal | None, target: Decimal) -> bool:
    """The one test of a target (compliance or availability), on the figure as measured and
    shown: at or above the target; nothing to measure counts as met."""
    return measured is None or measured >= target


@dataclass(frozen=True)
class ComplianceRow:
    target: object  # a ComplianceTarget, or None where none is set
    met: int
    breached: int

    @property
    def concluded(self) -> int:
        return self.met + self.breached

    @property
    def share(self) -> Decimal | None:
        return compliance_share(self.met, self.concluded)

    @property
    def ok(self) -> bool:
        return self.target is None or target_met(self.share, self.target.percent)


def compliance_rows(*, contract: Contract, measured: list[dict]) -> list[ComplianceRow]:
    """Each compliance target with the period's met and breached clocks (a share of None:
    nothing concluded, which counts as met)."""
    by_key = {(row["ticket__priority"], row["kind"]): row for row in measured}
    rows = []
    for target in contract.compliance_targets.all():
        row = by_key.get((target.priority, target.metric), {"met": 0, "breached": 0})
        rows.append(ComplianceRow(target, row["met"], row["breached"]))
    return rows


def contract_month_compliance(*, contract: Contract, period: Period) -> list[ComplianceRow]:
    bounds = period.bounds(contract.client.timezone)
    return compliance_rows(
        contract=contract, measured=contract_compliance(contract_id=contract.pk, period=bounds)
    )


def contract_evaluations(*, contract: Contract, limit: int = 12):
    """The latest monthly evaluations with their results and plans: three queries."""
    plans = Prefetch("plans", queryset=RemediationPlan.objects.select_related("author"))
    return contract.evaluations.prefetch_related("results", plans).order_by("-month")[:limit]
