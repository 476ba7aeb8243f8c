"""The demo's billing: two months of finalised, numbered invoices (the two before the current
one), one with a service credit, one credit note, the time behind them approved; seeding
twice adds nothing."""

import time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from msp.models import Client
from msp.periods import add_months
from reporting.billing.choices import DocumentKind, InvoiceStatus, LineKind
from reporting.billing.demo import seed_invoices
from reporting.billing.models import Invoice
from tickets.choices import TimeEntryState
from tickets.models import TimeEntry

pytestmark = pytest.mark.django_db


def test_demo_has_two_months_of_invoices(capsys):
    started = time.perf_counter()
    call_command("seed_demo", "--no-logins")
    total = time.perf_counter() - started
    # The two months before the current one in the calendar furthest behind (New York's just
    # after midnight UTC on the 1st): months that have ended for every client.
    this_month = min(
        timezone.localtime(timezone.now(), ZoneInfo(zone)).date()
        for zone in Client.objects.values_list("timezone", flat=True)
    ).replace(day=1)
    months = {add_months(this_month, -2), add_months(this_month, -1)}
    invoices = Invoice.objects.filter(kind=DocumentKind.INVOICE)
    assert {i.period_start for i in invoices} == months
    assert all(i.status == InvoiceStatus.FINALISED and i.number for i in invoices)
    assert invoices.count() >= 6  # three demo clients, two months
    credited = Invoice.objects.filter(lines__kind=LineKind.SERVICE_CREDIT).distinct()
    assert credited.exists()
    note = Invoice.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert note.number.startswith("CN-") and note.total < 0
    assert note.credited_invoice.period_start == min(months)
    for invoice in invoices:
        assert invoice.total == sum(line.amount for line in invoice.lines.all())
    assert not TimeEntry.objects.filter(
        spent_on__lt=this_month, state__in=[TimeEntryState.DRAFT, TimeEntryState.SUBMITTED]
    ).exists()
    started = time.perf_counter()
    assert seed_invoices() == 0  # idempotent
    again = time.perf_counter() - started
    print(f"\nseed_demo {total:.1f} s; seed_invoices again {again:.2f} s")
