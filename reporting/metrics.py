"""A client's figures for a period, computed in SQL (grouped queries and window functions; no
Python loop over tickets) and stored as Metric rows, replacing what the period had.

Definitions (the README repeats them for readers of the reports):
- compliance: response and resolution clocks concluded in the period (met when stopped in time,
  breached when breached), by priority and metric; exempted breaches are left out (and counted
  under exempted_breaches). Target: the client's contract's compliance target.
- response_p50/p90, resolution_p50/p90: business time (seconds) spent by the response and
  resolution clocks that stopped in the period, nearest-rank percentiles, by priority and "all".
- mttr: mean wall-clock seconds from opening to resolution of tickets resolved in the period.
- fcr: share of tickets resolved in the period that had exactly one public reply by staff
  (automatic messages do not count), no escalation and no reopening.
- volume: tickets opened in the period, by priority, type, source and site.
- backlog: tickets opened before the period's end and not resolved, closed or cancelled by then.
- availability: per service of the contract, against the service line's target.
- hours_used: billable time logged in the period (hours); block_hours: hours in block lines.
- top_asset: the five assets with most tickets opened in the period.
- credit / ladder: the contract's monthly evaluation of that month, when there is one.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from contracts.choices import PricingModel
from contracts.models import MonthlyEvaluation
from contracts.selectors import (
    concluded_clocks,
    contract_active_for,
    contract_availability,
    met_and_breached,
    month_period,
    service_targets,
)
from msp.models import Client
from reporting.choices import PeriodKind
from reporting.models import Metric
from sla.choices import ClockKind
from sla.models import SLAClock
from tickets.choices import EventKind, TicketStatus
from tickets.models import Ticket, TimeEntry

PERCENTILES = (50, 90)
THREE_PLACES = Decimal("0.001")


def _row(key: str, dimension: str = "", value=None, count: int = 0, target=None) -> dict:
    if value is not None:
        value = Decimal(value).quantize(THREE_PLACES)
    return {"key": key, "dimension": dimension, "value": value, "count": count, "target": target}


def _compliance(client: Client, period, targets: dict) -> list[dict]:
    clocks = concluded_clocks(period=period, ticket__client=client)
    grouped = met_and_breached(clocks, "ticket__priority", "kind")
    rows = []
    seen = set()
    for group in grouped:
        key = (group["ticket__priority"], group["kind"])
        seen.add(key)
        total = group["met"] + group["breached"]
        rows.append(
            _row(
                "compliance",
                f"{key[0]}/{key[1]}",
                Decimal(group["met"]) * 100 / total if total else None,
                total,
                targets.get(key),
            )
        )
    for key, target in targets.items():  # a target with nothing concluded is met, shown empty
        if key not in seen:
            rows.append(_row("compliance", f"{key[0]}/{key[1]}", None, 0, target))
    exempted = concluded_clocks(period=period, exempted=True, ticket__client=client)
    rows.append(_row("exempted_breaches", "", None, exempted.count()))
    return rows


def _percentiles(clocks, key: str) -> list[dict]:
    """Nearest-rank percentiles of spent_seconds, by priority and over all, in one query each:
    a window numbers the rows of each group, and only the rows at the wanted ranks return."""
    rows = []
    for partition, label in (([F("ticket__priority")], "priority"), ([], "all")):
        ranked = clocks.annotate(
            group=F("ticket__priority") if partition else Value("all"),
            rank=Window(RowNumber(), partition_by=partition or None, order_by="spent_seconds"),
            total=Window(Count("pk"), partition_by=partition or None),
        )
        wanted = Q()
        for percent in PERCENTILES:
            at_rank = ExpressionWrapper(
                (F("total") * percent + 99) / 100, output_field=IntegerField()
            )
            ranked = ranked.annotate(**{f"rank_{percent}": at_rank})
            wanted |= Q(rank=F(f"rank_{percent}"))
        for found in ranked.filter(wanted).values(
            "group", "rank", "total", "spent_seconds", *[f"rank_{p}" for p in PERCENTILES]
        ):
            for percent in PERCENTILES:
                if found["rank"] == found[f"rank_{percent}"]:
                    rows.append(
                        _row(
                            f"{key}_p{percent}",
                            found["group"] if label == "priority" else "all",
                            found["spent_seconds"],
                            found["total"],
                        )
                    )
    return rows


def _times(client: Client, period) -> list[dict]:
    start, end = period
    rows = []
    for kind in (ClockKind.RESPONSE, ClockKind.RESOLUTION):
        clocks = SLAClock.objects.filter(
            ticket__client=client, kind=kind, stopped_at__gte=start, stopped_at__lt=end
        )
        rows += _percentiles(clocks, kind)
    return rows


def _resolutions(client: Client, period) -> list[dict]:
    start, end = period
    resolved = Ticket.objects.filter(client=client, resolved_at__gte=start, resolved_at__lt=end)
    mttr = resolved.aggregate(
        duration=Avg(
            ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField()),
            output_field=DurationField(),
        ),
        total=Count("pk"),
    )
    staff_replies = Count(
        "events",
        filter=Q(events__kind=EventKind.REPLY, events__actor__client__isnull=True)
        & Q(events__actor__isnull=False),
        distinct=True,
    )
    setbacks = Count(
        "events",
        filter=Q(events__kind__in=[EventKind.ESCALATED, EventKind.REOPENED]),
        distinct=True,
    )
    first_contact = (
        resolved.annotate(replies=staff_replies, setbacks=setbacks)
        .filter(replies=1, setbacks=0)
        .count()
    )
    total, duration = mttr["total"], mttr["duration"]
    seconds = duration.total_seconds() if duration is not None else None
    return [
        _row("mttr", "", seconds, total),
        _row("fcr", "", Decimal(first_contact) * 100 / total if total else None, total),
    ]


def _volume(client: Client, period) -> list[dict]:
    start, end = period
    opened = Ticket.objects.filter(client=client, created_at__gte=start, created_at__lt=end)
    rows = [_row("volume", "all", None, opened.count())]
    for field in ("priority", "type", "source", "site__name"):
        for group in opened.values(field).annotate(n=Count("pk")).order_by(field):
            label = field.removesuffix("__name")
            rows.append(_row("volume", f"{label}:{group[field] or '-'}", None, group["n"]))
    for group in (
        opened.filter(asset__isnull=False)
        .values("asset__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "asset__name")[:5]
    ):
        rows.append(_row("top_asset", group["asset__name"], None, group["n"]))
    backlog = (
        Ticket.objects.filter(client=client, created_at__lt=end)
        .exclude(resolved_at__lt=end)
        .exclude(closed_at__lt=end)
        .exclude(status__in=[TicketStatus.CANCELLED])
        .count()
    )
    rows.append(_row("backlog", "", None, backlog))
    return rows


def _contract_rows(client: Client, contract, year: int, month: int, first_day: date) -> list[dict]:
    next_month = (first_day + timedelta(days=32)).replace(day=1)
    minutes = (
        TimeEntry.objects.filter(
            ticket__client=client,
            billable=True,
            spent_on__gte=first_day,
            spent_on__lt=next_month,
        ).aggregate(total=Sum("minutes"))["total"]
        or 0
    )
    rows = [_row("hours_used", "", Decimal(minutes) / 60, 0)]
    if contract is None:
        return rows
    lines = list(contract.service_lines.all())
    block = sum(
        (
            line.block_hours or 0
            for line in lines
            if line.pricing_model == PricingModel.BLOCK_OF_HOURS
        ),
        Decimal(0),
    )
    if block:
        rows.append(_row("block_hours", "", block, 0))
    targets = service_targets(contract)
    measured = contract_availability(
        contract=contract, year=year, month=month, services=sorted(targets)
    )
    rows += [_row("availability", s, measured[s], 0, targets[s]) for s in sorted(targets)]
    evaluation = MonthlyEvaluation.objects.filter(contract=contract, month=first_day).first()
    if evaluation is not None:
        rows.append(
            _row("credit", evaluation.currency, evaluation.credit_amount, evaluation.missed_targets)
        )
        rows.append(
            _row("ladder", evaluation.ladder_step, None, evaluation.consecutive_missed_months)
        )
    return rows


def _contract_of(client: Client, first_day: date):
    """The contract that was active at the end of the month (its targets apply)."""
    next_month = (first_day + timedelta(days=32)).replace(day=1)
    return contract_active_for(client_id=client.pk, on=next_month - timedelta(days=1))


def _targets(contract) -> dict:
    if contract is None:
        return {}
    return {(t.priority, t.metric): t.percent for t in contract.compliance_targets.all()}


def client_month_metrics(*, client: Client, year: int, month: int) -> list[Metric]:
    """A client's month (in the client's time zone), computed now and not stored: the live
    dashboard shows the same figures the report will."""
    first_day = date(year, month, 1)
    period = month_period(year=year, month=month, timezone_name=client.timezone)
    contract = _contract_of(client, first_day)
    rows = [
        *_compliance(client, period, _targets(contract)),
        *_times(client, period),
        *_resolutions(client, period),
        *_volume(client, period),
        *_contract_rows(client, contract, year, month, first_day),
    ]
    return [
        Metric(client=client, period_kind=PeriodKind.MONTH, period_start=first_day, **row)
        for row in rows
    ]


@transaction.atomic
def client_month_metrics_compute(
    *, client: Client, year: int, month: int, now: datetime | None = None
):
    """Compute and store a client's month; safe to run again (the month is replaced)."""
    now = now or timezone.now()
    first_day = date(year, month, 1)
    metrics = client_month_metrics(client=client, year=year, month=month)
    for metric in metrics:
        metric.computed_at = now
    stored = Metric.objects.filter(
        client=client, period_kind=PeriodKind.MONTH, period_start=first_day
    )
    stored.exclude(
        Q(*[Q(key=m.key, dimension=m.dimension) for m in metrics], _connector=Q.OR)
    ).delete()
    Metric.objects.bulk_create(
        metrics,
        update_conflicts=True,
        unique_fields=["client", "period_kind", "period_start", "key", "dimension"],
        update_fields=["value", "count", "target", "computed_at"],
    )
    return stored.order_by("key", "dimension")
