"""The client's live SLA dashboard: this month so far, with the same figures and definitions
as the monthly report (reporting.metrics), the open tickets' countdowns and the breaches."""

from zoneinfo import ZoneInfo

from django.shortcuts import render
from django.utils import timezone
from django.views import View

from contracts.selectors import month_period
from msp.mixins import ClientUserRequiredMixin, StaffRequiredMixin
from reporting import selectors
from reporting.metrics import client_month_metrics
from sla.models import SLAClock
from tickets.choices import OPEN_STATUSES
from tickets.models import Ticket


class ClientSlaDashboardView(ClientUserRequiredMixin, View):
    template_name = "portal/sla_dashboard.html"

    def get(self, request):
        client = request.user.client
        today = timezone.localtime(timezone.now(), ZoneInfo(client.timezone)).date()
        metrics = client_month_metrics(client=client, year=today.year, month=today.month)
        by_key: dict[str, list] = {}
        for metric in metrics:
            by_key.setdefault(metric.key, []).append(metric)
        single = {m.key: m for m in metrics if m.dimension in ("", "all")}
        period = month_period(year=today.year, month=today.month, timezone_name=client.timezone)
        breaches = (
            SLAClock.objects.filter(
                ticket__client=client, breached_at__gte=period[0], breached_at__lt=period[1]
            )
            .select_related("ticket")
            .prefetch_related("exemptions")
            .order_by("-breached_at")[:50]
        )
        open_tickets = (
            Ticket.objects.for_user(request.user)
            .filter(status__in=OPEN_STATUSES)
            .order_by("sla_due_at", "pk")[:25]
        )
        context = {
            "month": today.strftime("%B %Y"),
            "compliance": sorted(by_key.get("compliance", []), key=lambda m: m.dimension),
            "availability": by_key.get("availability", []),
            "volume": single.get("volume"),
            "backlog": single.get("backlog"),
            "mttr_seconds": _seconds(single.get("mttr")),
            "fcr": single.get("fcr"),
            "response_p50_seconds": _seconds(single.get("response_p50")),
            "breaches": breaches,
            "open_tickets": open_tickets,
            "now": timezone.now(),
        }
        return render(request, self.template_name, context)


def _seconds(metric) -> int | None:
    return int(metric.value) if metric is not None and metric.value is not None else None


class StaffSlaRiskView(StaffRequiredMixin, View):
    """Team leads' and account managers' view: what breaches soon, what breached today, and
    compliance by client this month (UTC month), worst first. ?mine=1: my clients only."""

    def get(self, request):
        now = timezone.now()
        local = timezone.localtime(now)
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        mine = request.GET.get("mine") == "1"
        risk = selectors.sla_risk(
            clients=selectors.clients_of(request.user, mine),
            now=now,
            day_start=day_start,
            month_start=day_start.replace(day=1),
        )
        context = {**risk, "now": now, "mine": mine, "month": local.strftime("%B %Y")}
        return render(request, "reporting/sla_risk.html", context)
