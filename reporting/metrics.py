"""A client's figures for a month or a quarter, computed in SQL (grouped queries and window
functions; no Python loop over tickets) and stored as Metric rows, replacing what the period
had. Periods are calendar months and quarters in the client's time zone.

Definitions (the README repeats them for readers of the reports):
- compliance: response and resolution clocks concluded in the period (met when stopped in time,
  breached when breached), by priority and metric; exempted breaches are left out (and counted
  under exempted_breaches). Target: the client's contract's compliance target.
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
  the ladder step of the last one.
"""

from datetime import datetime, timedelta
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

from contracts.availability import window_occurrences
from contracts.choices import PricingModel
from contracts.models import MonthlyEvaluation
from contracts.selectors import (
    concluded_clocks,
    contract_active_for,
    contract_availability,
    met_and_breached,
    service_targets,
)
from msp.models import Client
from reporting.models import Metric
from reporting.periods import Period
from sla.choices import ClockKind
from sla.models import SLAClock
from tickets.choices import EventKind, TicketStatus
from tickets.models import SatisfactionSurvey, Ticket, TimeEntry

PERCENTILES = (50, 90)
TOP = 5  # recurring assets and categories listed
THREE_PLACES = Decimal("0.001")


def _row(key: str, dimension: str = "", value=None, count: int = 0, target=None) -> dict:
    if value is not None:
        value = Decimal(value).quantize(THREE_PLACES)
    return {"key": key, "dimension": dimension, "value": value, "count": count, "target": target}


def _compliance(client: Client, bounds, targets: dict) -> list[dict]:
    clocks = concluded_clocks(period=bounds, ticket__client=client)
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
    met = sum(group["met"] for group in grouped)
    total = met + sum(group["breached"] for group in grouped)
    rows.append(_row("compliance", "all", Decimal(met) * 100 / total if total else None, total))
    exempted = concluded_clocks(period=bounds, exempted=True, ticket__client=client)
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


def _times(client: Client, bounds) -> list[dict]:
    start, end = bounds
    rows = []
    for kind in (ClockKind.RESPONSE, ClockKind.RESOLUTION):
        clocks = SLAClock.objects.filter(
            ticket__client=client, kind=kind, stopped_at__gte=start, stopped_at__lt=end
        )
        rows += _percentiles(clocks, kind)
    return rows


def _resolutions(client: Client, bounds) -> list[dict]:
    start, end = bounds
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


def _volume(client: Client, bounds) -> list[dict]:
    start, end = bounds
    opened = Ticket.objects.filter(client=client, created_at__gte=start, created_at__lt=end)
    rows = [_row("volume", "all", None, opened.count())]
    for field in ("priority", "type", "source", "site__name"):
        for group in opened.values(field).annotate(n=Count("pk")).order_by(field):
            label = field.removesuffix("__name")
            rows.append(_row("volume", f"{label}:{group[field] or '-'}", None, group["n"]))
    for field, key in (("asset__name", "top_asset"), ("category", "top_category")):
        recurring = (
            opened.exclude(**{f"{field}__isnull": True})
            .exclude(**{field: ""})
            .values(field)
            .annotate(n=Count("pk"))
            .order_by("-n", field)[:TOP]
        )
        rows += [_row(key, group[field], None, group["n"]) for group in recurring]
    backlog = (
        Ticket.objects.filter(client=client, created_at__lt=end)
        .exclude(resolved_at__lt=end)
        .exclude(closed_at__lt=end)
        .exclude(status__in=[TicketStatus.CANCELLED])
        .count()
    )
    rows.append(_row("backlog", "", None, backlog))
    return rows


def _satisfaction(client: Client, bounds) -> list[dict]:
    start, end = bounds
    sent = Q(sent_at__gte=start, sent_at__lt=end)
    answered = Q(answered_at__gte=start, answered_at__lt=end)
    figures = SatisfactionSurvey.objects.filter(sent | answered, ticket__client=client).aggregate(
        average=Avg("rating", filter=answered),
        answers=Count("pk", filter=answered),
        sent=Count("pk", filter=sent),
        sent_answered=Count("pk", filter=sent & Q(answered_at__isnull=False)),
    )
    rate = Decimal(figures["sent_answered"]) * 100 / figures["sent"] if figures["sent"] else None
    return [
        _row("csat", "", figures["average"], figures["answers"]),
        _row("csat_response", "", rate, figures["sent"]),
    ]


def _contract_rows(client: Client, contract, period: Period) -> list[dict]:
    minutes = (
        TimeEntry.objects.filter(
            ticket__client=client,
            billable=True,
            spent_on__gte=period.first_day,
            spent_on__lt=period.end_day,
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
    if block:  # blocks are monthly allowances
        rows.append(_row("block_hours", "", block * period.months, 0))
    first_day = period.first_day
    targets = service_targets(contract)
    measured = contract_availability(
        contract=contract,
        year=first_day.year,
        month=first_day.month,
        services=sorted(targets),
        months=period.months,
    )
    rows += [_row("availability", s, measured[s], 0, targets[s]) for s in sorted(targets)]
    rows += _maintenance(contract, period.bounds(client.timezone))
    evaluations = list(
        MonthlyEvaluation.objects.filter(
            contract=contract, month__gte=first_day, month__lt=period.end_day
        ).order_by("month")
    )
    if evaluations:
        last = evaluations[-1]
        credit = sum((e.credit_amount for e in evaluations), Decimal(0))
        missed = sum(e.missed_targets for e in evaluations)
        rows.append(_row("credit", last.currency, credit, missed))
        rows.append(_row("ladder", last.ladder_step, None, last.consecutive_missed_months))
    return rows


def _maintenance(contract, bounds) -> list[dict]:
    """Agreed maintenance that took place in the period: occurrences and hours per window."""
    rows = []
    for window in contract.maintenance_windows.order_by("name"):
        duration = timedelta(minutes=window.duration_minutes)
        occurrences = window_occurrences(
            start=window.start, duration=duration, recurrence=window.recurrence, period=bounds
        )
        if occurrences:
            hours = sum(
                ((min(end, bounds[1]) - max(start, bounds[0])) for start, end in occurrences),
                timedelta(),
            ) / timedelta(hours=1)
            rows.append(_row("maintenance", window.name, hours, len(occurrences)))
    return rows


def period_contract(client: Client, period: Period):
    """The contract that was active at the end of the period (its targets apply)."""
    return contract_active_for(client_id=client.pk, on=period.end_day - timedelta(days=1))


def _targets(contract) -> dict:
    if contract is None:
        return {}
    return {(t.priority, t.metric): t.percent for t in contract.compliance_targets.all()}


def client_metrics(*, client: Client, period: Period) -> list[Metric]:
    """A client's month or quarter (in the client's time zone), computed now and not stored:
    the live dashboard shows the same figures the report will."""
    bounds = period.bounds(client.timezone)
    contract = period_contract(client, period)
    rows = [
        *_compliance(client, bounds, _targets(contract)),
        *_times(client, bounds),
        *_resolutions(client, bounds),
        *_satisfaction(client, bounds),
        *_volume(client, bounds),
        *_contract_rows(client, contract, period),
    ]
    return [
        Metric(client=client, period_kind=period.kind, period_start=period.first_day, **row)
        for row in rows
    ]


@transaction.atomic
def client_metrics_compute(*, client: Client, period: Period, now: datetime | None = None):
    """Compute and store a client's period; safe to run again (the period is replaced)."""
    now = now or timezone.now()
    metrics = client_metrics(client=client, period=period)
    for metric in metrics:
        metric.computed_at = now
    stored = Metric.objects.filter(
        client=client, period_kind=period.kind, period_start=period.first_day
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
