"""Staff overview of SLA risk across clients: a handful of grouped queries, whatever the
number of clients or tickets."""

from datetime import datetime, timedelta

from contracts.selectors import concluded_clocks, met_and_breached
from msp.models import Client
from sla.models import SLAClock
from tickets.models import Ticket

BREACHING_SOON = timedelta(hours=2)


def sla_risk(*, clients, now: datetime, day_start: datetime, month_start: datetime) -> dict:
    """Open tickets due within two hours, clocks breached since `day_start`, and compliance by
    client since `month_start` (clocks concluded, exempted breaches left out)."""
    soon = (
        Ticket.objects.open()
        .filter(
            client__in=clients,
            sla_breached=False,
            sla_due_at__gte=now,
            sla_due_at__lt=now + BREACHING_SOON,
        )
        .select_related("client", "assignee")
        .order_by("sla_due_at")
    )
    breached = (
        SLAClock.objects.filter(client__in=clients, breached_at__gte=day_start)
        .select_related("ticket__client", "ticket__assignee")
        .order_by("-breached_at")
    )
    clocks = concluded_clocks(period=(month_start, now), client__in=clients)
    by_client = met_and_breached(clocks, "client__slug", "client__name")
    compliance = [
        {
            "slug": row["client__slug"],
            "client": row["client__name"],
            "met": row["met"],
            "breached": row["breached"],
            "share": row["met"] * 100 / (row["met"] + row["breached"])
            if row["met"] + row["breached"]
            else None,
        }
        for row in by_client
    ]
    compliance.sort(key=lambda row: (row["share"] is None, row["share"] or 0))
    return {
        "soon": list(soon[:25]),
        "soon_count": soon.count(),
        "breached": list(breached[:25]),
        "breached_count": breached.count(),
        "compliance": compliance,
    }


def clients_of(user, mine: bool):
    clients = Client.objects.for_user(user)
    return clients.filter(account_manager=user) if mine else clients
