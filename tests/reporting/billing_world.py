"""Finalised invoices for the billing API and export tests: a client on a monthly fee with
remote time at 90.00/h and 20 % VAT, billed for March 2026 and finalised on 1 April."""

from datetime import UTC, date, datetime
from decimal import Decimal

from contracts.choices import ContractStatus, PricingModel
from contracts.models import ServiceLine
from reporting.billing.models import ClientTaxRate, Invoice, TaxRate
from reporting.billing.services import invoice_finalise, invoice_review, invoice_run_create
from tests.factories import ClientFactory, ContactFactory, ContractFactory, StaffFactory
from tests.factories.tickets import TicketFactory
from tickets.models import TimeEntry

AT = datetime(2026, 4, 1, 12, tzinfo=UTC)
MARCH = date(2026, 3, 1)


def billed_client(
    *, name="Acme", fee="1000.00", minutes=100, tax=True, client=None, start=date(2026, 1, 1)
):
    client = client or ClientFactory(name=name, timezone="UTC")
    ContactFactory(client=client, role="billing", email=f"ap@{client.slug}.example")
    contract = ContractFactory(
        client=client,
        start_date=start,
        monthly_fee=Decimal(fee),
        status=ContractStatus.ACTIVE,
    )
    if tax:
        rate, _ = TaxRate.objects.get_or_create(name="VAT", percent=Decimal("20"))
        ClientTaxRate.objects.create(client=client, tax_rate=rate)
    if minutes:
        ServiceLine.objects.create(
            contract=contract,
            service="service_desk",
            pricing_model=PricingModel.HOURLY,
            hourly_rates={"remote": "90.00"},
        )
        ticket = TicketFactory(client=client, subject="Work", at=datetime(2026, 3, 2, tzinfo=UTC))
        TimeEntry.objects.create(
            ticket=ticket, client=client, user=StaffFactory(), minutes=minutes,
            spent_on=date(2026, 3, 2), state="approved", work_type="remote",
        )  # fmt: skip
    return client


def draft_invoice(client) -> Invoice:
    invoice_run_create(month=MARCH, now=AT, client_ids=[client.pk])
    return Invoice.objects.get(client=client, kind="invoice", status__in=["draft", "reviewed"])


def final_invoice(client, by) -> Invoice:
    invoice = draft_invoice(client)
    invoice_review(invoice=invoice, by=by, at=AT)
    return invoice_finalise(invoice=invoice, by=by, at=AT)
