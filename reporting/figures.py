"""The figures of a report, as plain data: what a report stores when generated (its snapshot)
and what the live dashboard shows for the month so far, built the same way."""

from datetime import datetime

from django.db.models import OuterRef, Subquery

from contracts.models import BreachExemption
from msp.models import Client
from msp.periods import Period
from reporting.metrics import client_metrics, client_metrics_compute, period_contract
from reporting.models import Metric
from sla.models import SLAClock

TREND_LENGTH = {"month": 6, "quarter": 4}  # periods shown in trends, the report's own included
BREACHES_LISTED = 100
TREND_FIGURES = {  # trend name -> (metric key, dimension, "value" or "count")
    "compliance": ("compliance", "all", "value"),
    "clocks": ("compliance", "all", "count"),
    "volume": ("volume", "all", "count"),
    "backlog": ("backlog", "", "count"),
    "mttr": ("mttr", "", "value"),
    "response_p50": ("response_p50", "all", "value"),
    "fcr": ("fcr", "", "value"),
    "csat": ("csat", "", "value"),
}
SCHEMA = 1


def _plain(value):
    return None if value is None else str(value)


def _metric_rows(metrics) -> list[dict]:
    return [
        {
            "key": metric.key,
            "dimension": metric.dimension,
            "value": _plain(metric.value),
            "count": metric.count,
            "target": _plain(metric.target),
        }
        for metric in metrics
    ]


def _trend_point(period: Period, rows: list[dict]) -> dict:
    found = {(row["key"], row["dimension"]): row for row in rows}
    point = {"period": period.short_label, "first_day": period.first_day.isoformat()}
    for name, (key, dimension, part) in TREND_FIGURES.items():
        row = found.get((key, dimension))
        point[name] = row[part] if row else None
    return point


def _earlier_periods(
    client: Client, period: Period, now: datetime, compute_missing: bool
) -> list[tuple[Period, list]]:
    """The periods before this one in the trend, from the figures stored when they were
    reported; those never reported are computed and stored now, or left empty."""
    earlier = [period.shifted(-n) for n in range(TREND_LENGTH[period.kind] - 1, 0, -1)]
    stored: dict = {}
    for metric in Metric.objects.filter(
        client=client,
        period_kind=period.kind,
        period_start__in=[p.first_day for p in earlier],
        key__in={key for key, _, _ in TREND_FIGURES.values()},
    ):
        stored.setdefault(metric.period_start, []).append(metric)
    result = []
    for previous in earlier:
        metrics = stored.get(previous.first_day)
        if metrics is None:
            metrics = (
                list(client_metrics_compute(client=client, period=previous, now=now))
                if compute_missing
                else []
            )
        result.append((previous, _metric_rows(metrics)))
    return result


def _breaches(client: Client, bounds, contract) -> dict:
    """The period's breaches, of the tickets whose clocks count towards the contract (as in
    compliance, contracts.selectors.counted_clocks), exempted ones with their reason."""
    start, end = bounds
    in_force = BreachExemption.objects.filter(clock=OuterRef("pk"), revoked_at__isnull=True)
    clocks = SLAClock.objects.filter(client=client, breached_at__gte=start, breached_at__lt=end)
    if contract is not None:
        clocks = clocks.filter(ticket__contract=contract)
    listed = (
        clocks.annotate(exemption=Subquery(in_force.values("reason")[:1]))
        .order_by("breached_at", "pk")
        .values(
            "kind",
            "breached_at",
            "exemption",
            "ticket_id",
            "ticket__subject",
            "ticket__priority",
        )[:BREACHES_LISTED]
    )
    rows = [
        {
            "ticket_id": row["ticket_id"],
            "ticket": f"#{row['ticket_id']}",
            "subject": row["ticket__subject"],
            "priority": row["ticket__priority"],
            "clock": row["kind"],
            "breached_at": row["breached_at"].isoformat(),
            "exemption": row["exemption"],
        }
        for row in listed
    ]
    total = len(rows) if len(rows) < BREACHES_LISTED else clocks.count()
    return {"total": total, "rows": rows}


def period_figures(*, client: Client, period: Period, now: datetime, store: bool = True) -> dict:
    """Everything a report shows for a client's period. `store=False` (the live dashboard)
    computes the period's own figures without storing anything, and its trend shows the
    earlier months as reported."""
    if store:
        metrics = list(client_metrics_compute(client=client, period=period, now=now))
    else:
        metrics = client_metrics(client=client, period=period)
    rows = _metric_rows(metrics)
    bounds = period.bounds(client.timezone)
    contract = period_contract(client, period)
    earlier = _earlier_periods(client, period, now, compute_missing=store)
    trend = [_trend_point(p, r) for p, r in earlier]
    trend.append(_trend_point(period, rows))
    return {
        "schema": SCHEMA,
        "client": {"name": client.name, "timezone": client.timezone},
        "contract": None
        if contract is None
        else {
            "number": contract.number,
            "name": contract.name,
            "currency": contract.currency,
            "sla_policy": contract.sla_policy.name,
        },
        "period": {
            "kind": period.kind,
            "first_day": period.first_day.isoformat(),
            "label": period.label,
            "start": bounds[0].isoformat(),
            "end": bounds[1].isoformat(),
        },
        "metrics": rows,
        "trend": trend,
        "breaches": _breaches(client, bounds, contract),
        "computed_at": now.isoformat(),
    }
