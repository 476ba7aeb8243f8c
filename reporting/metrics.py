"""A client's figures for a month or a quarter, computed in SQL (grouped queries and window
functions; no Python loop over tickets) and stored as Metric rows, replacing what the period
had. Periods are calendar months and quarters in the client's time zone.

Definitions (the README repeats them for readers of the reports):
- compliance: the clocks that count towards the client's contract (contracts.selectors.
  counted_clocks, the contract evaluation's own scope: response and resolution clocks concluded
  in the period on tickets opened under the contract; all the client's clocks when it has none),
  by priority and metric, met when stopped in time, breached when breached; exempted breaches
  are left out (and counted under exempted_breaches). Shares are cut down to 0.01 %
  (compliance_share), as evaluated. Target: the client's contract's compliance target.
- response_p50/p90, resolution_p50/p90: business time (seconds) spent by the response and
  resolution clocks that stopped in the period, nearest-rank percentiles, by priority and "all".
- mttr: mean wall-clock seconds from opening to resolution of tickets resolved in the period.
- fcr: share of tickets resolved in the period that had exactly one public reply by staff
  (automatic messages do not count), no escalation and no reopening.
- csat: mean rating (1-5) of the satisfaction answers given in the period; csat_response: the
  share of the surveys sent in the period that have been answered.
- volume: tickets opened in the period, by priority, type, source and site.
- backlog: tickets opened before the period's end and not resolved, closed or cancelled by then.
- availability: per service of the contract, against the service line's target.
- maintenance: occurrences (count) and hours (value) of each maintenance window in the period.
- hours_used: billable time logged in the period (hours); block_hours: the block lines' monthly
  hours times the months of the period.
- top_asset, top_category: the five assets and categories with most tickets opened.
- credit / ladder: the contract's monthly evaluations of the period's months: credits summed,
  the ladder step of the last one; credit_month, credit_percent and credit_missed: each month's
  credit with the missed targets (measured, clocks, target) it was computed from, as evaluated.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import NamedTuple

from django.db import transaction
from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from contracts.choices import PricingModel, TargetKind
from contracts.models import Contract, MonthlyEvaluation
from contracts.selectors import (
    ComplianceRow,
    compliance_measured,
    compliance_share,
    concluded_between,
    contracts_availability,
    contracts_in_force_for,
    contracts_in_force_on,
    counted_clocks,
    service_targets,
)
from msp.models import Client
from msp.periods import Period
from reporting.models import Metric
from sla.choices import ClockKind, Priority
from sla.models import SLAClock
from sla.rollups import clock_time_percentiles, clocks_rolled_up
from tickets.choices import EventKind, TicketSource, TicketStatus, TicketType
from tickets.models import SatisfactionSurvey, Ticket, TimeEntry, TimelineEvent

PERCENTILES = (50, 90)
TOP = 5  # recurring assets and categories listed
THREE_PLACES = Decimal("0.001")
UNIQUE_FIELDS = ["client", "period_kind", "period_start", "key", "dimension"]


class Figure(NamedTuple):
    """A figure computed and not (yet) stored: a Metric's values without the model (every
    client's month is tens of thousands of them, so a tuple: made several times faster than a
    frozen dataclass)."""

    key: str
    dimension: str
    value: Decimal | None
    count: int
    target: Decimal | None


class Rows:
    """The figures being computed, per client, and the conditions that select each client's
    rows of its own period (each client's period is in its time zone), so that one query
    serves every client, whatever their zones."""

    def __init__(self, clients: list[Client], period: Period):
        self.client_ids = [client.pk for client in clients]
        self.zones: dict[tuple[datetime, datetime], list[int]] = defaultdict(list)
        for client in clients:
            self.zones[period.bounds(client.timezone)].append(client.pk)
        self.of = defaultdict(list)

    def _each_zone(self, condition, client: str = "client_id") -> Q:
        return Q(
            *[
                Q(**{f"{client}__in": ids}) & condition(start, end)
                for (start, end), ids in self.zones.items()
            ],
            _connector=Q.OR,
        )

    def within(self, field: str) -> Q:
        """Rows whose `field` falls in their client's period."""
        return self._each_zone(
            lambda start, end: Q(**{f"{field}__gte": start, f"{field}__lt": end})
        )

    def concluded(self) -> Q:
        return self._each_zone(concluded_between)

    def open_at_end(self) -> Q:
        """Tickets opened before their client's period ended and not finished by then."""
        return self._each_zone(
            lambda _, end: Q(created_at__lt=end) & ~Q(resolved_at__lt=end) & ~Q(closed_at__lt=end)
        )

    def add(self, client_id, key: str, dimension: str = "", value=None, count=0, target=None):
        if value is not None:
            value = Decimal(value).quantize(THREE_PLACES)
        self.of[client_id].append(Figure(key, dimension, value, count, target))


def _share(part: int, total: int) -> Decimal | None:
    return Decimal(part) * 100 / total if total else None


def compliance_scope(rows: Rows, contracts: dict[int, Contract]) -> dict:
    """Whose clocks count (contracts.selectors.counted_clocks): the contracts' tickets, and
    every clock of the clients without one."""
    return {
        "contracts": list(contracts.values()),
        "clients_without_contract": [pk for pk in rows.client_ids if pk not in contracts],
    }


def compliance_from_clocks(rows: Rows, contracts: dict[int, Contract]) -> tuple[dict, dict]:
    """Met and breached counted clocks per client by (priority, metric), and exempted breaches
    per client, from the clocks themselves (compliance_measured, the evaluation's selector)."""
    scope = compliance_scope(rows, contracts)
    measured = defaultdict(dict)
    for group in compliance_measured(concluded=rows.concluded(), by=("client_id",), **scope):
        key = (group["ticket__priority"], group["kind"])
        measured[group["client_id"]][key] = (group["met"], group["breached"])
    exempted = dict(
        counted_clocks(concluded=rows.concluded(), exempted=True, **scope)
        .values("client_id")
        .annotate(n=Count("pk"))
        .values_list("client_id", "n")
    )
    return measured, exempted


def compliance_from_rollups(
    rows: Rows, contracts: dict[int, Contract], period: Period
) -> tuple[dict, dict]:
    """The same as compliance_from_clocks, read from the clocks' roll-ups per client and
    local month (sla.rollups): the period's months in each client's zone, in one grouped
    query. Tests assert that both agree."""
    grouped = (
        clocks_rolled_up(
            first_day=period.first_day,
            end_day=period.end_day,
            **compliance_scope(rows, contracts),
        )
        .values("client_id", "priority", "kind")
        .annotate(met=Sum("met"), breached=Sum("breached"), exempted=Sum("exempted"))
        .order_by()
    )
    measured, exempted = defaultdict(dict), defaultdict(int)
    for group in grouped:
        if group["met"] or group["breached"]:  # a day's clocks can all have been reopened
            key = (group["priority"], group["kind"])
            measured[group["client_id"]][key] = (group["met"], group["breached"])
        exempted[group["client_id"]] += group["exempted"]
    return measured, {pk: n for pk, n in exempted.items() if n}


def _compliance(rows: Rows, contracts: dict[int, Contract], period: Period) -> None:
    """Per client, the clocks that count towards its contract (counted_clocks: the evaluation's
    scope) by priority and metric, with every target even where nothing concluded, and
    overall; shares at the evaluation's precision (compliance_share). Read from the roll-ups,
    which give the same counts as the clocks."""
    measured, exempted = compliance_from_rollups(rows, contracts, period)
    for client_id in rows.client_ids:
        contract = contracts.get(client_id)
        targets = (
            {(t.priority, t.metric): t for t in contract.compliance_targets.all()}
            if contract
            else {}
        )
        found = measured[client_id]
        met = breached = 0
        for key in sorted(found.keys() | targets.keys()):
            row = ComplianceRow(targets.get(key), *found.get(key, (0, 0)))
            target = row.target.percent if row.target else None
            rows.add(client_id, "compliance", "/".join(key), row.share, row.concluded, target)
            met, breached = met + row.met, breached + row.breached
        rows.add(
            client_id, "compliance", "all", compliance_share(met, met + breached), met + breached
        )
        rows.add(client_id, "exempted_breaches", "", None, exempted.get(client_id, 0))


CLOCKS_TIMED = (ClockKind.RESPONSE, ClockKind.RESOLUTION)


def times_from_rollups(
    rows: Rows,
    period: Period,
    kinds: tuple[str, ...] = CLOCKS_TIMED,
    by_priority: bool = True,
    percents: tuple[int, ...] = PERCENTILES,
) -> None:
    """Nearest-rank percentiles of the business time (spent_seconds) of the response and
    resolution clocks (`kinds`) that stopped in the period, per client and clock, by priority
    (unless `by_priority` is off) and over all priorities, from the clocks' time roll-ups (the
    period's local months of each client): one query per grouping. Tests assert that they equal
    times_from_clocks."""
    for grouped in (True, False) if by_priority else (False,):
        for found in clock_time_percentiles(
            client_ids=rows.client_ids,
            first_day=period.first_day,
            end_day=period.end_day,
            kinds=kinds,
            by_priority=grouped,
            percents=percents,
        ):
            rows.add(
                found["client_id"],
                f"{found['kind']}_p{found['percent']}",
                found["priority"] or "all",
                found["spent_seconds"],
                found["total"],
            )


def times_from_clocks(
    rows: Rows, kinds: tuple[str, ...] = CLOCKS_TIMED, by_priority: bool = True
) -> None:
    """The same percentiles from the clocks themselves, in one query, where windows number the
    rows of each group and only the rows at the wanted ranks return."""
    groups = {
        "priority": [F("client_id"), F("kind"), F("ticket__priority")],
        "all": [F("client_id"), F("kind")],
    }
    if not by_priority:
        del groups["priority"]
    ranked = SLAClock.objects.filter(rows.within("stopped_at"), kind__in=kinds)
    wanted = Q()
    for name, partition in groups.items():
        ranked = ranked.annotate(
            **{
                f"rank_{name}": Window(
                    RowNumber(), partition_by=partition, order_by="spent_seconds"
                ),
                f"total_{name}": Window(Count("pk"), partition_by=partition),
            }
        )
        for percent in PERCENTILES:
            at_rank = ExpressionWrapper(
                (F(f"total_{name}") * percent + 99) / 100, output_field=IntegerField()
            )
            ranked = ranked.annotate(**{f"p{percent}_{name}": at_rank})
            wanted |= Q(**{f"rank_{name}": F(f"p{percent}_{name}")})
    fields = [f"{part}_{name}" for name in groups for part in ("rank", "total")]
    fields += [f"p{percent}_{name}" for name in groups for percent in PERCENTILES]
    priority = ["ticket__priority"] if by_priority else []
    for found in (
        ranked.filter(wanted)
        .values("client_id", "kind", *priority, "spent_seconds", *fields)
        .order_by()  # not the clocks' default order: a sort the loop does not need
    ):
        for name in groups:
            for percent in PERCENTILES:
                if found[f"rank_{name}"] == found[f"p{percent}_{name}"]:
                    rows.add(
                        found["client_id"],
                        f"{found['kind']}_p{percent}",
                        found["ticket__priority"] if name == "priority" else "all",
                        found["spent_seconds"],
                        found[f"total_{name}"],
                    )


def _resolutions(rows: Rows) -> None:
    events = TimelineEvent.objects.filter(ticket=OuterRef("pk"))
    staff_replies = (
        events.filter(kind=EventKind.REPLY, actor__isnull=False, actor__client__isnull=True)
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")
    )
    setbacks = events.filter(kind__in=[EventKind.ESCALATED, EventKind.REOPENED])
    resolved = (
        Ticket.objects.filter(rows.within("resolved_at"))
        .annotate(
            replies=Coalesce(Subquery(staff_replies, output_field=IntegerField()), 0),
            setback=Exists(setbacks),
        )
        .values("client_id")
        .annotate(
            duration=Avg(
                ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())
            ),
            total=Count("pk"),
            first_contact=Count("pk", filter=Q(replies=1, setback=False)),
        )
    )
    found = {group["client_id"]: group for group in resolved}
    for client_id in rows.client_ids:
        group = found.get(client_id, {"duration": None, "total": 0, "first_contact": 0})
        duration = group["duration"]
        seconds = duration.total_seconds() if duration is not None else None
        rows.add(client_id, "mttr", "", seconds, group["total"])
        rows.add(
            client_id, "fcr", "", _share(group["first_contact"], group["total"]), group["total"]
        )


def satisfaction_figures(rows: Rows) -> None:
    sent, answered = rows.within("sent_at"), rows.within("answered_at")
    grouped = (
        SatisfactionSurvey.objects.filter(sent | answered)
        .values("client_id")
        .annotate(
            average=Avg("rating", filter=answered),
            answers=Count("pk", filter=answered),
            sent=Count("pk", filter=sent),
            sent_answered=Count("pk", filter=sent & Q(answered_at__isnull=False)),
        )
    )
    found = {group["client_id"]: group for group in grouped}
    for client_id in rows.client_ids:
        group = found.get(client_id, {"average": None, "answers": 0, "sent": 0})
        rows.add(client_id, "csat", "", group["average"], group["answers"])
        rate = _share(group.get("sent_answered", 0), group["sent"])
        rows.add(client_id, "csat_response", "", rate, group["sent"])


def _counts(queryset, *fields: str) -> dict:
    return {
        tuple(group[f] for f in fields): group["n"]
        for group in queryset.values(*fields).annotate(n=Count("pk")).order_by(*fields)
    }


# Volume dimensions with a fixed set of values, counted in one pass by conditional counts.
VOLUME_CHOICES = {"priority": Priority, "type": TicketType, "source": TicketSource}


def _volume(rows: Rows) -> None:
    opened = Ticket.objects.filter(rows.within("created_at"))
    counts = {
        f"{field}:{value}": Count("pk", filter=Q(**{field: value}))
        for field, choices in VOLUME_CHOICES.items()
        for value in choices.values
    }
    volume = {
        found.pop("client_id"): found
        for found in opened.values("client_id").annotate(all=Count("pk"), **counts).order_by()
    }
    for client_id in rows.client_ids:
        for dimension, n in volume.get(client_id, {"all": 0}).items():
            if n or dimension == "all":
                rows.add(client_id, "volume", dimension, None, n)
    for (client_id, site), n in _counts(opened, "client_id", "site__name").items():
        rows.add(client_id, "volume", f"site:{site or '-'}", None, n)
    # The most frequent per client: grouped counts, most first, the top few kept per client
    # (groups are assets or categories, never tickets).
    for field, key in (("asset__name", "top_asset"), ("category", "top_category")):
        recurring = (
            opened.exclude(**{f"{field}__isnull": True})
            .exclude(**{field: ""})
            .values("client_id", field)
            .annotate(n=Count("pk"))
            .order_by("client_id", "-n", field)
        )
        for client_id, groups in groupby(recurring, key=lambda group: group["client_id"]):
            for group in list(groups)[:TOP]:
                rows.add(client_id, key, group[field], None, group["n"])


def _backlog(rows: Rows) -> None:
    backlog = _counts(
        Ticket.objects.filter(rows.open_at_end()).exclude(status=TicketStatus.CANCELLED),
        "client_id",
    )
    for client_id in rows.client_ids:
        rows.add(client_id, "backlog", "", None, backlog.get((client_id,), 0))


def hours_figures(rows: Rows, period: Period) -> None:
    minutes = dict(
        TimeEntry.objects.filter(
            client_id__in=rows.client_ids,
            billable=True,
            spent_on__gte=period.first_day,
            spent_on__lt=period.end_day,
        )
        .values("client_id")
        .annotate(total=Sum("minutes"))
        .values_list("client_id", "total")
    )
    for client_id in rows.client_ids:
        rows.add(client_id, "hours_used", "", Decimal(minutes.get(client_id) or 0) / 60)


def _contract_terms(rows: Rows, contracts: dict[int, Contract], period: Period) -> None:
    """Each contract's block of hours and the availability of its services against their
    targets."""
    targets = {contract: service_targets(contract) for contract in contracts.values()}
    measured = contracts_availability(
        services_of={contract: sorted(found) for contract, found in targets.items()},
        period=period,
    )
    for client_id, contract in contracts.items():
        block = sum(
            (
                line.block_hours or 0
                for line in contract.service_lines.all()
                if line.pricing_model == PricingModel.BLOCK_OF_HOURS
            ),
            Decimal(0),
        )
        if block:  # blocks are monthly allowances
            rows.add(client_id, "block_hours", "", block * period.months)
        for service, target in sorted(targets[contract].items()):
            rows.add(client_id, "availability", service, measured[contract.pk][service], 0, target)


def _contract_rows(rows: Rows, contracts: dict[int, Contract], period: Period) -> None:
    _contract_terms(rows, contracts, period)
    evaluations_of = _evaluations(contracts, period)
    for client_id, contract in contracts.items():
        _maintenance(rows, contract, period.bounds(contract.client.timezone))
        months = evaluations_of.get(contract.pk)
        if months:
            last = months[-1][0]
            credit = sum((e["credit_amount"] for e, _ in months), Decimal(0))
            missed = sum(e["missed_targets"] for e, _ in months)
            rows.add(client_id, "credit", last["currency"], credit, missed)
            rows.add(
                client_id, "ladder", last["ladder_step"], None, last["consecutive_missed_months"]
            )
            for evaluation, results in months:
                _credit_rows(rows, client_id, evaluation, results)


def _credit_rows(rows: Rows, client_id: int, evaluation: dict, results: list[dict]) -> None:
    """A month's credit with the missed targets it was computed from, as evaluated, so that a
    report traces each credit to its figures."""
    month = f"{evaluation['month']:%Y-%m}"
    rows.add(
        client_id, "credit_month", month, evaluation["credit_amount"], evaluation["missed_targets"]
    )
    rows.add(client_id, "credit_percent", month, evaluation["credit_percent"])
    for result in results:
        if result["kind"] == TargetKind.AVAILABILITY:
            dimension, clocks = f"{month} availability {result['service']}", 0
        else:
            dimension = f"{month} compliance {result['priority']}/{result['metric']}"
            clocks = result["met_count"] + result["breached_count"]
        rows.add(
            client_id,
            "credit_missed",
            dimension,
            result["measured_percent"],
            clocks,
            result["target_percent"],
        )


MISSED_FIELDS = (
    "kind",
    "priority",
    "metric",
    "service",
    "measured_percent",
    "target_percent",
    "met_count",
    "breached_count",
)


def _evaluations(contracts: dict[int, Contract], period: Period) -> dict[int, list]:
    """The period's monthly evaluations of each contract, each with its missed targets, in one
    query (a left join on the missed results)."""
    found = (
        MonthlyEvaluation.objects.filter(
            contract__in=list(contracts.values()),
            month__gte=period.first_day,
            month__lt=period.end_day,
        )
        .annotate(missed=FilteredRelation("results", condition=Q(results__met=False)))
        .values(
            "contract_id",
            "month",
            "missed_targets",
            "consecutive_missed_months",
            "ladder_step",
            "credit_percent",
            "credit_amount",
            "currency",
            *(f"missed__{name}" for name in MISSED_FIELDS),
        )
        .order_by("contract_id", "month", "missed__kind", "missed__priority", "missed__metric")
    )
    evaluations: dict[int, list] = defaultdict(list)
    for (contract_id, _), joined in groupby(found, key=lambda e: (e["contract_id"], e["month"])):
        joined = list(joined)
        results = [
            {name: row[f"missed__{name}"] for name in MISSED_FIELDS}
            for row in joined
            if row["missed__kind"] is not None
        ]
        evaluations[contract_id].append((joined[0], results))
    return evaluations


def _maintenance(rows: Rows, contract: Contract, bounds) -> None:
    """Agreed maintenance that took place in the period: occurrences and hours per window."""
    for window in sorted(contract.maintenance_windows.all(), key=lambda w: w.name):
        occurrences = window.occurrences(bounds)
        if occurrences:
            spans = (min(end, bounds[1]) - max(start, bounds[0]) for start, end in occurrences)
            hours = sum(spans, timedelta()) / timedelta(hours=1)
            rows.add(contract.client_id, "maintenance", window.name, hours, len(occurrences))


def period_contract(client: Client, period: Period) -> Contract | None:
    """The contract in force at the end of the period (its targets apply), even if it has
    expired since."""
    on = period.end_day - timedelta(days=1)
    return contracts_in_force_on(on=on).filter(client=client).select_related("sla_policy").first()


def period_contracts(client_ids: list[int], period: Period) -> dict[int, Contract]:
    return contracts_in_force_for(client_ids=client_ids, on=period.end_day - timedelta(days=1))


def clients_metrics(*, clients: list[Client], period: Period) -> dict[int, list[Figure]]:
    """The month or quarter of many clients (each in its own time zone), computed now and not
    stored, in a fixed number of grouped queries whatever the number of clients. The live
    dashboard shows the same figures the report will."""
    contracts = period_contracts([client.pk for client in clients], period)
    rows = Rows(clients, period)
    _compliance(rows, contracts, period)
    times_from_rollups(rows, period)
    _resolutions(rows)
    satisfaction_figures(rows)
    _volume(rows)
    _backlog(rows)
    hours_figures(rows, period)
    _contract_rows(rows, contracts, period)
    return figures_by_client(rows)


def figures_by_client(rows: Rows) -> dict[int, list[Figure]]:
    return {client_id: rows.of[client_id] for client_id in rows.client_ids}


def client_metrics(*, client: Client, period: Period) -> list[Figure]:
    """One client's month or quarter, computed now and not stored."""
    return clients_metrics(clients=[client], period=period)[client.pk]


@transaction.atomic
def client_metrics_compute(*, client: Client, period: Period, now: datetime | None = None):
    """Compute and store one client's period; safe to run again: figures are upserted, and
    those the period no longer has (not touched by this run) are removed. Returns the stored
    figures."""
    now = now or timezone.now()
    metrics = [
        Metric(
            client=client,
            period_kind=period.kind,
            period_start=period.first_day,
            computed_at=now,
            key=figure.key,
            dimension=figure.dimension,
            value=figure.value,
            count=figure.count,
            target=figure.target,
        )
        for figure in client_metrics(client=client, period=period)
    ]
    Metric.objects.bulk_create(
        metrics,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=UNIQUE_FIELDS,
        update_fields=["value", "count", "target", "computed_at"],
    )
    stored = Metric.objects.filter(
        client=client, period_kind=period.kind, period_start=period.first_day
    )
    stored.exclude(computed_at=now).delete()
    return stored.order_by("key", "dimension")
