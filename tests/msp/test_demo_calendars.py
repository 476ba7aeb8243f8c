"""The demo seeded at instants where the clients' time zones disagree on the month."""

import pytest
from django.core.management import call_command

from msp.models import Client

pytestmark = [pytest.mark.slow, pytest.mark.django_db]  # each test seeds the whole demo


@pytest.mark.parametrize(
    "instant",
    [
        # The 1st just after midnight UTC: New York and Chicago are still in November.
        "2026-12-01T00:30:00+00:00",
        # The 31st just before midnight UTC, summer time begun: Berlin is already in April.
        "2027-03-31T23:30:00+00:00",
        # The 2nd at noon: two days back is last month (this month's outage stays in it).
        "2026-12-02T12:00:00+00:00",
        # The 1st, half an hour into it in New York, Chicago still in November: this month's
        # outage has no room yet, and each client is billed for its own ended months.
        "2026-12-01T05:30:00+00:00",
    ],
)
def test_demo_holds_together_where_the_clients_calendars_disagree_on_the_month(instant):
    """The demo's contracts, history, evaluations and invoices are dated in each client's
    calendar: seeded at an instant when the clients' zones are in different months, every
    history ticket is under its contract, Acme's last month still misses two targets, and two
    months of invoices are finalised for every client."""
    import time_machine
    from django.utils.dateparse import parse_datetime

    from contracts.models import MonthlyEvaluation
    from reporting.billing.choices import DocumentKind, InvoiceStatus, LineKind
    from reporting.billing.models import Invoice
    from tickets.models import Ticket

    with time_machine.travel(parse_datetime(instant), tick=True):
        call_command("seed_demo", "--no-logins")
    assert not Ticket.objects.filter(contract__isnull=True).exists()
    acme = MonthlyEvaluation.objects.filter(contract__number="ACME-2026-01").latest("month")
    assert (acme.ladder_step, acme.missed_targets) == ("credit", 2)
    invoices = Invoice.objects.filter(kind=DocumentKind.INVOICE, status=InvoiceStatus.FINALISED)
    months_by_client = {}
    for invoice in invoices:
        months_by_client.setdefault(invoice.client_id, set()).add(invoice.period_start)
    assert set(months_by_client) == set(Client.objects.values_list("pk", flat=True))
    assert all(len(months) == 2 for months in months_by_client.values())
    # Acme's missed month is on its invoice as a service credit.
    assert invoices.filter(client__slug="acme", lines__kind=LineKind.SERVICE_CREDIT).exists()
