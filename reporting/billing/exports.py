"""Accounting exports: finalised invoices and credit notes as CSV in the import formats of
QuickBooks Online and Xero, one row per charge line (tax lines are not rows: each row carries
its own tax, and the accounting product recomputes the tax lines from the tax code).

Each export is stored (AccountingExport: format, who, when, which documents, the CSV) and a
document is exported once: a later export leaves it out, and naming it again is refused unless
the export says `again` (recorded as a repeat). Drafts and reviewed invoices are never
exported; a void invoice is (it was issued), with the credit note that voided it.

Credit notes go to Xero only: Xero's sales invoice import takes a document whose total is
negative as a credit note, while QuickBooks Online's invoice import makes invoices and nothing
else (a credit note there is a credit memo, entered in QuickBooks). A QuickBooks export
leaves credit notes out, and naming one is refused; they stay "not exported"."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from msp.choices import ContactRole
from msp.models import Client, Contact
from reporting.billing import pricing
from reporting.billing.choices import DocumentKind, InvoiceStatus, LineKind
from reporting.billing.models import (
    AccountingExport,
    AccountingExportDocument,
    Invoice,
    InvoiceLine,
    TaxRate,
)
from reporting.billing.services import billing_permission_check

QUICKBOOKS = "quickbooks"
XERO = "xero"
FORMATS = {QUICKBOOKS: "QuickBooks Online", XERO: "Xero"}
EXPORTABLE_STATUSES = (InvoiceStatus.FINALISED, InvoiceStatus.VOID)

# QuickBooks Online, Settings > Import data > Invoices ("Import invoices in batches", Intuit):
# the sample file's headers, which QuickBooks maps without asking; mandatory there: invoice
# number, customer, invoice date, due date, item amount. Dates MM/DD/YYYY (the importer asks for
# the file's date format; this is its US default). Invoices only: no credit memos.
QUICKBOOKS_COLUMNS = (
    "InvoiceNo",
    "Customer",
    "InvoiceDate",
    "DueDate",
    "Terms",
    "Location",
    "Memo",
    "Item(Product/Service)",
    "ItemDescription",
    "ItemQuantity",
    "ItemRate",
    "ItemAmount",
    "ItemTaxCode",
    "ItemTaxAmount",
    "Currency",
    "Service Date",
)
QUICKBOOKS_DATE = "%m/%d/%Y"

# Xero, Sales > Invoices > Import: the sales invoice template (SalesInvoiceTemplate.csv);
# * marks the columns Xero requires. Dates DD/MM/YYYY. Total and TaxAmount are optional (Xero
# computes them from quantity, unit amount and tax rate); given, they are the PSA's figures.
# A credit note goes in the same template with negative amounts: Xero imports a document
# whose total is negative as a credit note.
XERO_COLUMNS = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "Total",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)
XERO_DATE = "%d/%m/%Y"
QUICKBOOKS_NO_CREDIT_NOTES = (
    "QuickBooks Online's invoice import has no credit memos: enter these in QuickBooks as "
    "credit memos (or export them for Xero): "
)
CONTACT_RANK = {ContactRole.BILLING: 0, ContactRole.PRIMARY: 1}


def xero_account_code() -> str:
    """The revenue account lines are coded to (Xero's default chart: 200, Sales)."""
    return str(getattr(settings, "BILLING_XERO_ACCOUNT_CODE", "200"))


def xero_no_tax() -> str:
    """Xero's tax rate for untaxed lines (its display name differs by region)."""
    return str(getattr(settings, "BILLING_XERO_NO_TAX", "Tax Exempt"))


@dataclass
class Row:
    """One charge line as both formats need it."""

    invoice: Invoice
    line: InvoiceLine
    item: str
    description: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    tax_amount: Decimal
    tax_names: list[str]


def _money(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"


def _number(value: Decimal) -> str:
    """A quantity or unit price without trailing zeros (4 decimals at most)."""
    text = f"{Decimal(value).quantize(Decimal('0.0001')).normalize():f}"
    return "0" if text in ("-0", "") else text


def _rows(invoice: Invoice, tax_names: dict[int, str]) -> list[Row]:
    rows = []
    for line in invoice.lines.all():
        if line.kind == LineKind.TAX:
            continue
        quantity, rate = line.quantity, line.unit_price
        description = line.description
        # The products compute a row's amount as quantity x rate: where the printed quantity
        # (four decimals) times the rate does not give the line's amount to the cent (a device
        # prorated 16/31 of a month), the row is 1 x the amount, with the quantity in words.
        if pricing.round_money(quantity * rate, invoice.currency) != line.amount:
            description = f"{description} ({_number(quantity)} {line.unit} x {_number(rate)})"
            quantity, rate = Decimal(1), line.amount
        rows.append(
            Row(
                invoice=invoice,
                line=line,
                item=LineKind(line.kind).label if line.kind in LineKind.values else line.kind,
                description=description,
                quantity=quantity,
                rate=rate,
                amount=line.amount,
                tax_amount=line.tax_amount,
                tax_names=[tax_names.get(t["tax_rate"], "Tax") for t in line.taxes],
            )
        )
    return rows


def _memo(invoice: Invoice) -> str:
    period = f"{invoice.period_start:%Y-%m-%d} to {invoice.period_end:%Y-%m-%d} (exclusive)"
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        return f"Credit note for {invoice.credited_invoice.number}: {invoice.reason}"[:1000]
    return f"Services {period}"


def _terms(invoice: Invoice) -> str:
    if invoice.issued_on and invoice.due_on:
        return f"Net {(invoice.due_on - invoice.issued_on).days}"
    return ""


def _date(day: date | None, pattern: str) -> str:
    return day.strftime(pattern) if day else ""


def quickbooks_rows(rows: list[Row]) -> list[list[str]]:
    out = []
    for row in rows:
        invoice = row.invoice
        out.append(
            [
                invoice.number,
                invoice.client.name,
                _date(invoice.issued_on, QUICKBOOKS_DATE),
                _date(invoice.due_on, QUICKBOOKS_DATE),
                _terms(invoice),
                "",
                _memo(invoice),
                row.item,
                row.description,
                _number(row.quantity),
                _number(row.rate),
                _money(row.amount),
                # QuickBooks Online (US): TAX or NON per line; the rate comes from the customer.
                "TAX" if row.tax_names else "NON",
                _money(row.tax_amount),
                invoice.currency,
                _date(row.line.service_start, QUICKBOOKS_DATE),
            ]
        )
    return out


def xero_rows(rows: list[Row], emails: dict[int, str]) -> list[list[str]]:
    out = []
    for row in rows:
        invoice = row.invoice
        out.append(
            [
                invoice.client.name,
                emails.get(invoice.client_id, ""),
                *[""] * 8,  # postal address: clients have none in the PSA
                invoice.number,
                _memo(invoice)[:255],
                _date(invoice.issued_on, XERO_DATE),
                _date(invoice.due_on, XERO_DATE),
                _money(invoice.total),
                "",
                row.description,
                _number(row.quantity),
                _number(row.rate),
                "",
                xero_account_code(),
                " + ".join(row.tax_names) if row.tax_names else xero_no_tax(),
                _money(row.tax_amount),
                "",
                "",
                "",
                "",
                invoice.currency,
                "",
            ]
        )
    return out


def render_csv(format: str, invoices: list[Invoice]) -> tuple[str, int]:
    """The CSV of these documents in `format`, and its number of rows (header excluded)."""
    tax_names = dict(TaxRate.objects.values_list("pk", "name"))
    rows = [row for invoice in invoices for row in _rows(invoice, tax_names)]
    if format == QUICKBOOKS:
        header, body = QUICKBOOKS_COLUMNS, quickbooks_rows(rows)
    else:
        client_ids = {invoice.client_id for invoice in invoices}
        # The first billing contact's address, else the primary contact's, else any.
        emails: dict[int, str] = {}
        ranks: dict[int, int] = {}
        contacts = Contact.objects.filter(client_id__in=client_ids, is_active=True).exclude(
            email=""
        )
        for contact in contacts.order_by("pk"):
            rank = CONTACT_RANK.get(contact.role, len(CONTACT_RANK))
            if rank < ranks.get(contact.client_id, len(CONTACT_RANK) + 1):
                ranks[contact.client_id], emails[contact.client_id] = rank, contact.email
        header, body = XERO_COLUMNS, xero_rows(rows, emails)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue(), len(body)


def exported_filter():
    """Invoices already exported (a first, not a repeated, export)."""
    return Exists(AccountingExportDocument.objects.filter(invoice=OuterRef("pk"), repeated=False))


def exportable_documents(
    *, user, client_ids=None, issued_from=None, issued_until=None, format: str = XERO
):
    """Finalised (and void) invoices and credit notes the user may export, not exported yet
    (for QuickBooks Online, invoices only: its import has no credit memos)."""
    documents = Invoice.objects.filter(status__in=EXPORTABLE_STATUSES)
    if format == QUICKBOOKS:
        documents = documents.filter(kind=DocumentKind.INVOICE)
    if user is not None:
        documents = documents.filter(client__in=Client.objects.for_user(user))
    if client_ids:
        documents = documents.filter(client_id__in=list(client_ids))
    if issued_from:
        documents = documents.filter(issued_on__gte=issued_from)
    if issued_until:
        documents = documents.filter(issued_on__lt=issued_until)
    return documents.filter(~exported_filter())


def _with_lines(documents: QuerySet) -> list[Invoice]:
    lines = Prefetch("lines", queryset=InvoiceLine.objects.order_by("position"))
    return list(
        documents.select_related("client", "credited_invoice")
        .prefetch_related(lines)
        .order_by("issued_on", "kind", "number_year", "number_sequence")
    )


@transaction.atomic
def accounting_export_create(
    *,
    format: str,
    by,
    invoice_ids=None,
    client_ids=None,
    issued_from: date | None = None,
    issued_until: date | None = None,
    again: bool = False,
) -> AccountingExport:
    """Export finalised documents as CSV in `format`: those named (invoice_ids), else every
    one not exported yet (of these clients, issued in [issued_from, issued_until)). A named
    document already exported is refused unless `again`; then it is exported and recorded as
    a repeat. The documents are locked while exporting, so two exports at once cannot both
    take the same document."""
    billing_permission_check(user=by)
    if format not in FORMATS:
        raise ValidationError({"format": f"Choose one of: {', '.join(FORMATS)}."})
    if invoice_ids is not None:
        invoice_ids = list(dict.fromkeys(invoice_ids))
        visible = Invoice.objects.filter(pk__in=invoice_ids)
        if by is not None:
            visible = visible.filter(client__in=Client.objects.for_user(by))
        found = {
            invoice.pk: invoice
            for invoice in visible.select_for_update(of=("self",)).annotate(
                exported=exported_filter()
            )
        }
        missing = [pk for pk in invoice_ids if pk not in found]
        if missing:
            raise ValidationError({"invoices": f"No such invoice or credit note: {missing}."})
        unfinished = [pk for pk in invoice_ids if found[pk].status not in EXPORTABLE_STATUSES]
        if unfinished:
            raise ValidationError(
                {"invoices": f"Only finalised documents are exported; not {unfinished}."}
            )
        notes = [found[pk].number for pk in invoice_ids if found[pk].kind != DocumentKind.INVOICE]
        if format == QUICKBOOKS and notes:
            raise ValidationError({"invoices": QUICKBOOKS_NO_CREDIT_NOTES + ", ".join(notes)})
        done = [found[pk].number for pk in invoice_ids if found[pk].exported]
        if done and not again:
            raise ValidationError(
                {
                    "invoices": f"Exported already: {', '.join(done)}. Export them again only "
                    "on purpose (again)."
                }
            )
        repeated = {found[pk].pk for pk in invoice_ids if found[pk].exported}
        documents = _with_lines(Invoice.objects.filter(pk__in=invoice_ids))
    else:
        pending = exportable_documents(
            user=by,
            client_ids=client_ids,
            issued_from=issued_from,
            issued_until=issued_until,
            format=format,
        )
        ids = list(pending.select_for_update(of=("self",)).values_list("pk", flat=True))
        repeated = set()
        # Re-checked under the lock: an export that committed meanwhile took its documents.
        documents = _with_lines(Invoice.objects.filter(pk__in=ids).filter(~exported_filter()))
    if not documents:
        message = "Nothing to export: every document is exported."
        if format == QUICKBOOKS:
            message += " (Credit notes are not in QuickBooks Online's invoice import.)"
        raise ValidationError({"invoices": message})
    content, row_count = render_csv(format, documents)
    export = AccountingExport.objects.create(
        format=format,
        created_by=by,
        again=bool(repeated),
        content=content,
        row_count=row_count,
    )
    AccountingExportDocument.objects.bulk_create(
        AccountingExportDocument(export=export, invoice=doc, repeated=doc.pk in repeated)
        for doc in documents
    )
    return export


def export_filename(export: AccountingExport) -> str:
    return f"{export.format}-invoices-{export.created_at:%Y%m%d-%H%M%S}-{export.pk}.csv"
