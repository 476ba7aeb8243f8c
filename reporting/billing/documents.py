"""Invoices and credit notes as documents: the PDF (drawn once, when the document is
finalised, with the reports' WeasyPrint machinery, and stored on it), the email to the
client's billing contacts with the PDF attached (through the outbox, each send recorded as an
InvoiceDelivery), and what the page, the PDF and the portal show of a document: its lines
grouped by contract, its taxes, and the missed targets of its service credits."""

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from msp.choices import ContactRole, OutboxChannel, PeriodKind
from msp.metrics.recorder import metric_timer
from msp.models import Contact
from msp.services import outbox_enqueue
from reporting.billing import services
from reporting.billing.choices import DocumentKind, LineKind
from reporting.billing.models import Invoice, InvoiceDelivery, InvoiceLine
from reporting.models import Report

logger = logging.getLogger(__name__)


def issuer() -> dict:
    """Who issues the invoices (settings BILLING_ISSUER_NAME and BILLING_ISSUER_ADDRESS)."""
    return {
        "name": getattr(settings, "BILLING_ISSUER_NAME", "") or "PSA Managed Services",
        "address": getattr(settings, "BILLING_ISSUER_ADDRESS", ""),
    }


def document_title(invoice: Invoice) -> str:
    kind = invoice.get_kind_display()
    return f"{kind} {invoice.number}" if invoice.number else f"Draft {kind.lower()}"


def document_filename(invoice: Invoice) -> str:
    return f"{invoice.client.slug}-{invoice.number or f'draft-{invoice.pk}'}.pdf"


def payment_terms(invoice: Invoice) -> str:
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        return f"This credit note reduces what is owed on {invoice.credited_invoice.number}."
    days = services.payment_days()
    due = f", by {invoice.due_on:%-d %B %Y}" if invoice.due_on else ""
    return f"Payment is due within {days} days of the issue date{due}."


# What a document shows ---------------------------------------------------------------------


@dataclass
class LineGroup:
    """The lines of one contract (or of none: time without a contract, taxes)."""

    contract: object
    lines: list = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return sum((line.tax_amount for line in self.lines), Decimal("0.00"))


@dataclass
class MissedTarget:
    label: str
    target_percent: str
    measured_percent: str | None


@dataclass
class CreditShown:
    """A service credit line's working: the month, the missed targets, the report."""

    month: str
    missed: list[MissedTarget]
    report: Report | None


@dataclass
class DocumentContent:
    invoice: Invoice
    groups: list[LineGroup]
    taxes: list[InvoiceLine]
    client_address: str
    issuer: dict
    terms: str

    @property
    def credits(self) -> list:
        return [line for group in self.groups for line in group.lines if line.credit]


def document_content(invoice: Invoice) -> DocumentContent:
    """The document's lines (two queries: lines with their contracts, the reports the
    service credits come from) and the addresses, for the page, the portal and the PDF."""
    lines = list(
        InvoiceLine.objects.filter(invoice=invoice)
        .select_related("contract", "credited_line")
        .order_by("position")
    )
    months = {_credit_month(line) for line in lines if line.kind == LineKind.SERVICE_CREDIT}
    reports = _monthly_reports(invoice.client_id, months)
    groups: OrderedDict = OrderedDict()
    taxes = []
    for line in lines:
        line.credit = None
        if line.kind == LineKind.TAX:
            taxes.append(line)
            continue
        if line.kind == LineKind.SERVICE_CREDIT:
            month = _credit_month(line)
            line.credit = CreditShown(
                month=month,
                missed=[
                    MissedTarget(
                        label=target.get("label", ""),
                        target_percent=target.get("target_percent", ""),
                        measured_percent=target.get("measured_percent"),
                    )
                    for target in line.detail.get("missed_targets", [])
                ],
                report=reports.get(month),
            )
        groups.setdefault(line.contract_id, LineGroup(contract=line.contract)).lines.append(line)
    site = invoice.client.sites.exclude(address="").order_by("name").first()
    return DocumentContent(
        invoice=invoice,
        groups=list(groups.values()),
        taxes=taxes,
        client_address=site.address if site else "",
        issuer=issuer(),
        terms=payment_terms(invoice),
    )


def _credit_month(line: InvoiceLine) -> str:
    return line.detail.get("month") or line.service_start.strftime("%Y-%m")


def _monthly_reports(client_id: int, months: set[str]) -> dict[str, Report]:
    """The latest monthly report of each month ("YYYY-MM"), in one query."""
    if not months:
        return {}
    firsts = [datetime.strptime(month, "%Y-%m").date() for month in months]  # noqa: DTZ007
    found = {}
    for report in (
        Report.objects.filter(client_id=client_id, kind=PeriodKind.MONTH, period_start__in=firsts)
        .defer("figures")
        .order_by("period_start", "version")
    ):
        found[report.period_start.strftime("%Y-%m")] = report  # the last version wins
    return found


# The PDF ----------------------------------------------------------------------------------


def invoice_pdf(invoice: Invoice) -> bytes:
    """The document drawn as a PDF (WeasyPrint, fetching nothing, as reports are)."""
    from weasyprint import HTML  # slow to import: only when a PDF is drawn

    from reporting.rendering import FETCH_NOTHING

    with metric_timer("document_generation", document="invoice", stage="pdf"):
        html = render_to_string(
            "billing/invoice_pdf.html",
            {"content": document_content(invoice), "title": document_title(invoice)},
        )
        return HTML(string=html, url_fetcher=FETCH_NOTHING).write_pdf()


def invoice_pdf_ensure(*, invoice: Invoice) -> bytes:
    """The finalised document's PDF: read from storage once drawn, else drawn now and stored
    (compare-and-set on the row, as reports are: two first needs at once keep one file)."""
    if not invoice.is_final:
        raise ValidationError("A draft has no PDF: it is drawn when the invoice is finalised.")
    if invoice.pdf:
        try:
            with invoice.pdf.open("rb") as stored:
                return stored.read()
        except FileNotFoundError:
            logger.warning("The stored PDF of invoice %s is missing; drawing it again", invoice.pk)
    had = invoice.pdf.name or None
    content = invoice_pdf(invoice)
    storage = invoice.pdf.storage
    name = storage.save(
        invoice.pdf.field.generate_filename(invoice, document_filename(invoice)),
        ContentFile(content),
    )
    as_it_was = Q(pdf=had) if had else Q(pdf="") | Q(pdf__isnull=True)
    if Invoice.objects.filter(as_it_was, pk=invoice.pk).update(pdf=name):
        invoice.pdf.name = name
    else:
        storage.delete(name)
    return content


def invoice_attachment(invoice_id: str) -> tuple[str, bytes, str]:
    """The PDF attached to invoice emails (outbox attachment kind "invoice"): the stored one."""
    invoice = Invoice.objects.select_related("client", "credited_invoice").get(pk=int(invoice_id))
    return document_filename(invoice), invoice_pdf_ensure(invoice=invoice), "application/pdf"


def _draw_pdf_after_commit(invoice: Invoice) -> None:
    """Drawn once the finalisation commits (not while its number's sequence is locked); if
    that fails, the first download or email draws it."""

    def draw():
        fresh = Invoice.objects.select_related("client", "credited_invoice").get(pk=invoice.pk)
        invoice_pdf_ensure(invoice=fresh)

    transaction.on_commit(draw, robust=True)


# Email ------------------------------------------------------------------------------------


def billing_contacts(client_id: int):
    """Whom invoices go to: the client's active billing contacts with an address."""
    return Contact.objects.filter(
        client_id=client_id, role=ContactRole.BILLING, is_active=True
    ).exclude(email="")


@transaction.atomic
def invoice_send(*, invoice: Invoice, by, now: datetime | None = None, again: bool = False) -> int:
    """Email a finalised invoice or credit note (its PDF attached) to each of the client's
    billing contacts, each send recorded. Sent once per contact when finalised; `again`
    (the resend action) sends a new email to each. Returns how many were queued."""
    services.billing_permission_check(user=by, client_id=invoice.client_id)
    if not invoice.is_final:
        raise ValidationError("Only a finalised invoice or credit note is emailed.")
    now = now or timezone.now()
    title = document_title(invoice)
    link = settings.SITE_URL + reverse("portal:invoice-detail", args=[invoice.pk])
    queued = 0
    for contact in billing_contacts(invoice.client_id):
        key = f"invoice:{invoice.pk}:{contact.pk}" + (f":{now.isoformat()}" if again else "")
        message = outbox_enqueue(
            key=key,
            channel=OutboxChannel.EMAIL,
            email=contact.email,
            subject=f"{invoice.client.name}: {title}",
            body=render_to_string(
                "billing/email_invoice.txt",
                {
                    "invoice": invoice,
                    "contact": contact,
                    "title": title,
                    "link": link,
                    "issuer": issuer(),
                    "terms": payment_terms(invoice),
                },
            ),
            headers={"Auto-Submitted": "auto-generated"},
            attachment=f"invoice:{invoice.pk}",
        )
        if message is None:
            continue
        InvoiceDelivery.objects.create(
            invoice=invoice, contact=contact, email=contact.email, sent_by=by, sent_at=now
        )
        queued += 1
    return queued


@transaction.atomic
def invoice_finalise_and_send(*, invoice: Invoice, by) -> Invoice:
    """Finalise (numbered then), email the billing contacts, and draw the PDF once committed."""
    final = services.invoice_finalise(invoice=invoice, by=by)
    invoice_send(invoice=final, by=by)
    _draw_pdf_after_commit(final)
    return final


@transaction.atomic
def credit_note_create_and_send(
    *, invoice: Invoice, by, reason: str, amounts: dict | None = None
) -> Invoice:
    note = services.credit_note_create(invoice=invoice, by=by, reason=reason, amounts=amounts)
    invoice_send(invoice=note, by=by)
    _draw_pdf_after_commit(note)
    return note


@transaction.atomic
def invoice_void_and_send(*, invoice: Invoice, by, reason: str) -> Invoice:
    """Void the invoice; the credit note that cancels it is emailed like any other."""
    note = services.invoice_void(invoice=invoice, by=by, reason=reason)
    invoice_send(invoice=note, by=by)
    _draw_pdf_after_commit(note)
    return note
