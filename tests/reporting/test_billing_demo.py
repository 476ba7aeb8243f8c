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
    # The two months before the current one in each client's own calendar (at 05:30 UTC on
    # the 1st New York has one more month behind it than Chicago).
    expected = {}
    for client in Client.objects.all():
        this_month = timezone.localtime(timezone.now(), ZoneInfo(client.timezone)).date()
        this_month = this_month.replace(day=1)
        expected[client.pk] = {add_months(this_month, -2), add_months(this_month, -1)}
    invoices = Invoice.objects.filter(kind=DocumentKind.INVOICE)
    billed = {}
    for invoice in invoices:
        billed.setdefault(invoice.client_id, set()).add(invoice.period_start)
    assert billed == expected
    months = set().union(*expected.values())
    assert all(i.status == InvoiceStatus.FINALISED and i.number for i in invoices)
    assert invoices.count() >= 6  # three demo clients, two months
    credited = Invoice.objects.filter(lines__kind=LineKind.SERVICE_CREDIT).distinct()
    assert credited.exists()
    note = Invoice.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert note.number.startswith("CN-") and note.total < 0
    assert note.credited_invoice.period_start == min(months)
    for invoice in invoices:
        assert invoice.total == sum(line.amount for line in invoice.lines.all())
    for client_id, client_months in expected.items():
        assert not TimeEntry.objects.filter(
            client_id=client_id,
            spent_on__lt=add_months(max(client_months), 1),
            state__in=[TimeEntryState.DRAFT, TimeEntryState.SUBMITTED],
        ).exists()
    started = time.perf_counter()
    assert seed_invoices() == 0  # idempotent
    again = time.perf_counter() - started
    print(f"\nseed_demo {total:.1f} s; seed_invoices again {again:.2f} s")
