"""Demo billing: the technicians' time submitted and approved, a rate card and taxes, the cloud
spend Globex's percentage-of-spend line bills, and invoices for the two months before each
client's current one (in its own calendar: at 05:30 UTC on the 1st New York has a month more
behind it than Chicago), reviewed and finalised as the account manager would on the 1st
(numbered), one corrected by a credit note. Idempotent: a client whose months are invoiced is
left as it is. PDFs are not drawn here: the invoice's page draws (and stores) its PDF on
first view."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from contracts.choices import PricingModel
from contracts.models import Contract
from msp.choices import UserRole
from msp.models import Client, User
from msp.periods import add_months
from reporting.billing.choices import DocumentKind, InvoiceStatus, LineKind
from reporting.billing.models import ClientTaxRate, HourlyRate, Invoice, TaxRate
from reporting.billing.services import (
    credit_note_create,
    invoice_finalise,
    invoice_review,
    invoice_run_create,
    spend_record_set,
)
from tickets.choices import TimeEntryState
from tickets.models import TimeEntry

RATE_CARD = {  # (currency, work type): hourly rate
    **{("USD", k): Decimal(v) for k, v in [("remote", "120"), ("onsite", "160"),
       ("project", "140"), ("travel", "70"), ("admin", "90")]},
    **{("EUR", k): Decimal(v) for k, v in [("remote", "105"), ("onsite", "140"),
       ("project", "125"), ("travel", "60"), ("admin", "80")]},
}  # fmt: skip
TAXES = {"acme": ("Sales tax (NY)", Decimal("8.875")), "globex": ("VAT (DE)", Decimal("19"))}
CLOUD_SPEND = (Decimal("8120.40"), Decimal("8655.15"))  # Globex's Azure bill, month by month


def _demo_admin() -> User:
    return User.objects.filter(role=UserRole.ADMIN, is_active=True).order_by("pk").first()


def _approve_time(admin: User, client_ids: list[int], before: date, now: datetime) -> int:
    """The clients' time before `before` as their technicians submitted it and the
    administrator approved it. One UPDATE, not the services' save per entry (and audit entry
    per save), which took 16 s of the demo's seeding for 210 entries: this is history being
    seeded, not someone approving."""
    return TimeEntry.objects.filter(
        client_id__in=client_ids,
        state__in=[TimeEntryState.DRAFT, TimeEntryState.SUBMITTED],
        spent_on__lt=before,
    ).update(
        state=TimeEntryState.APPROVED,
        submitted_at=now,
        decided_by=admin,
        decided_at=now,
        updated_at=now,
    )


def _rates_and_taxes() -> None:
    for (currency, work_type), rate in RATE_CARD.items():
        HourlyRate.objects.get_or_create(
            client=None, currency=currency, work_type=work_type, defaults={"rate": rate}
        )
    for slug, (name, percent) in TAXES.items():
        client = Client.objects.filter(slug=slug).first()
        if client is None:
            continue
        tax, _ = TaxRate.objects.get_or_create(name=name, defaults={"percent": percent})
        ClientTaxRate.objects.get_or_create(client=client, tax_rate=tax)


def _spend(client_ids: list[int], months: list[date], admin: User) -> None:
    contracts = Contract.objects.filter(client_id__in=client_ids)
    for contract in contracts.prefetch_related("service_lines"):
        for line in contract.service_lines.all():
            if line.pricing_model != PricingModel.PERCENT_OF_SPEND:
                continue
            for month, amount in zip(months, CLOUD_SPEND, strict=True):
                if contract.start_date < add_months(month, 1):
                    spend_record_set(
                        contract=contract, service=line.service, month=month, amount=amount,
                        note="Azure invoice", by=admin,
                    )  # fmt: skip


def _on_the_first(month: date, now: datetime) -> datetime:
    """9:00 UTC on the 1st of the month after, when the account manager finalises, or now if
    that has not come yet."""
    return min(datetime.combine(add_months(month, 1), time(9), tzinfo=ZoneInfo("UTC")), now)


def _clients_by_month(now: datetime) -> dict[date, list[int]]:
    """Each client's current month (in its own zone): the months before it have ended for it."""
    by_month: dict[date, list[int]] = {}
    for pk, zone in Client.objects.order_by("pk").values_list("pk", "timezone"):
        this_month = now.astimezone(ZoneInfo(zone)).date().replace(day=1)
        by_month.setdefault(this_month, []).append(pk)
    return by_month


@transaction.atomic
def seed_invoices(*, now: datetime | None = None) -> int:
    """Invoices for the two months before each client's current one; how many were
    finalised."""
    now = now or timezone.now()
    admin = _demo_admin()
    if admin is None:
        return 0
    unbilled = {}
    for this_month, client_ids in _clients_by_month(now).items():
        invoiced = Invoice.objects.filter(
            kind=DocumentKind.INVOICE,
            period_start__gte=add_months(this_month, -2),
            client_id__in=client_ids,
        ).values_list("client_id", flat=True)
        if pending := sorted(set(client_ids) - set(invoiced)):
            unbilled[this_month] = pending
    if unbilled:
        _rates_and_taxes()
    finalised = []
    for this_month, client_ids in sorted(unbilled.items()):
        months = [add_months(this_month, -2), add_months(this_month, -1)]
        _approve_time(admin, client_ids, this_month, now)
        _spend(client_ids, months, admin)
        for month in months:
            at = _on_the_first(month, now)
            run = invoice_run_create(month=month, now=at, by=admin, client_ids=client_ids)
            for invoice in Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT).order_by(
                "pk"
            ):
                invoice_review(invoice=invoice, by=admin, at=at)
                finalised.append(invoice_finalise(invoice=invoice, by=admin, at=at))
    if finalised:
        _credit_note(admin, finalised, now)
    return len(finalised)


def _credit_note(admin: User, finalised: list[Invoice], now: datetime) -> None:
    """The earliest month's largest invoice corrected: a device counted that had been
    retired."""
    first_month = min(i.period_start for i in finalised)
    invoice = max((i for i in finalised if i.period_start == first_month), key=lambda i: i.total)
    line = invoice.lines.exclude(kind__in=[LineKind.TAX, LineKind.SERVICE_CREDIT]).first()
    if line is not None and line.amount > 0:
        credit = min(line.amount, Decimal("45.00"))
        credit_note_create(
            invoice=invoice, by=admin, reason="A server retired before the month began "
            "was counted.", amounts={line.pk: credit}, at=_on_the_first(first_month, now),
        )  # fmt: skip
