"""Accounting exports: the QuickBooks Online and Xero CSVs field by field against their
published column lists, dates, amounts, tax codes, one row per charge line, credit notes,
exported once (again only on purpose, recorded), the CSV module round trip, the command."""

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from reporting.billing.choices import LineKind
from reporting.billing.exports import accounting_export_create
from reporting.billing.models import AccountingExport, AccountingExportDocument
from reporting.billing.services import credit_note_create
from tests.reporting.billing_world import billed_client, draft_invoice, final_invoice

pytestmark = pytest.mark.django_db

# The official pages are not in the stored search corpus this was checked with, so the lists
# below are written out by hand from what was found (sources named), not read from the code.
#
# QuickBooks Online: Intuit, "Import invoices in batches" (QuickBooks Online help article),
# https://quickbooks.intuit.com/learn-support/en-ca/help-articles/import-invoices-in-batches/01/338729
# (its sample CSV's header row, as public code reproduces it). The fields QuickBooks maps
# without asking, * = mandatory, are listed by Intuit's QuickBooks team in "Do we need to map
# field everytime when import invoices??" (QuickBooks Community, quickbooks.intuit.com),
# https://quickbooks.intuit.com/learn-support/en-ca/sales-and-invoicing/do-we-need-to-map-field-everytime-when-import-invoices/01/394876
QUICKBOOKS_PUBLISHED = [
    "InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Location", "Memo",
    "Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate", "ItemAmount",
    "ItemTaxCode", "ItemTaxAmount", "Currency", "Service Date",
]  # fmt: skip
# Intuit's list (label -> our column); "*" = mandatory.
INTUIT_DEFAULT_FIELDS = {
    "*Invoice number": "InvoiceNo", "*Customer": "Customer", "*Invoice date": "InvoiceDate",
    "*Due date": "DueDate", "Item tax code": "ItemTaxCode", "Terms": "Terms",
    "Service Date": "Service Date", "Item (Product/Service)": "Item(Product/Service)",
    "Item Description": "ItemDescription", "Item Quantity": "ItemQuantity",
    "Item Rate": "ItemRate", "*Item Amount": "ItemAmount", "Memo": "Memo",
}  # fmt: skip
# Xero: "Import invoices" (Xero Central), its template SalesInvoiceTemplate.csv, * = required,
# https://central.xero.com/s/article/Import-or-create-invoices-using-a-CSV-file
# (the header row as public code copies it verbatim from the template).
XERO_PUBLISHED = [
    "*ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3",
    "POAddressLine4", "POCity", "PORegion", "POPostalCode", "POCountry", "*InvoiceNumber",
    "Reference", "*InvoiceDate", "*DueDate", "Total", "InventoryItemCode", "*Description",
    "*Quantity", "*UnitAmount", "Discount", "*AccountCode", "*TaxType", "TaxAmount",
    "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency",
    "BrandingTheme",
]  # fmt: skip
XERO_REQUIRED = [
    "*ContactName", "*InvoiceNumber", "*InvoiceDate", "*DueDate", "*Description", "*Quantity",
    "*UnitAmount", "*AccountCode", "*TaxType",
]  # fmt: skip
CENT = Decimal("0.01")
MONEY = re.compile(r"^-?\d+\.\d{2}$")


def _table(export) -> list[dict]:
    return list(csv.DictReader(io.StringIO(export.content)))


@pytest.fixture
def invoice(admin_user):
    return final_invoice(billed_client(name="Acme, Inc."), admin_user)


def test_quickbooks_header_and_rows(invoice, admin_user):
    export = accounting_export_create(format="quickbooks", by=admin_user)
    header = next(csv.reader(io.StringIO(export.content)))
    assert header == QUICKBOOKS_PUBLISHED
    for position, (ours, published) in enumerate(zip(header, QUICKBOOKS_PUBLISHED, strict=True)):
        assert ours == published, position
    rows = _table(export)
    charges = [line for line in invoice.lines.all() if line.kind != LineKind.TAX]
    assert len(rows) == len(charges) == export.row_count == 2  # the fee and the time
    fee, time = rows
    assert fee["InvoiceNo"] == invoice.number and fee["Customer"] == "Acme, Inc."
    assert fee["InvoiceDate"] == "04/01/2026" and fee["DueDate"] == "05/01/2026"
    assert fee["Terms"] == "Net 30" and fee["Currency"] == invoice.currency
    assert fee["ItemAmount"] == "1000.00" and fee["ItemTaxAmount"] == "200.00"
    assert fee["ItemTaxCode"] == "TAX" and fee["Service Date"] == "03/01/2026"
    # 100 minutes at 90.00 an hour: 150.00 (a naive reference: 100 / 60 x 90).
    assert Decimal(time["ItemAmount"]) == (Decimal(100) / 60 * 90).quantize(Decimal("0.01"))
    for row in rows:
        assert MONEY.match(row["ItemAmount"]) and MONEY.match(row["ItemTaxAmount"])
        # QuickBooks computes quantity x rate, to the cent: it must give the line's amount.
        product = Decimal(row["ItemQuantity"]) * Decimal(row["ItemRate"])
        assert product.quantize(CENT, ROUND_HALF_UP) == Decimal(row["ItemAmount"])
    total = sum(Decimal(r["ItemAmount"]) + Decimal(r["ItemTaxAmount"]) for r in rows)
    assert total == invoice.total == Decimal("1380.00")


def test_xero_header_rows_and_credit_note(invoice, admin_user):
    note = credit_note_create(
        invoice=invoice, by=admin_user, reason="Fee waived", amounts={
            invoice.lines.get(kind=LineKind.FIXED_FEE).pk: Decimal("100.00")
        },
    )  # fmt: skip
    export = accounting_export_create(format="xero", by=admin_user)
    header = next(csv.reader(io.StringIO(export.content)))
    assert header == XERO_PUBLISHED
    for position, (ours, published) in enumerate(zip(header, XERO_PUBLISHED, strict=True)):
        assert ours == published, position
    rows = _table(export)
    assert [r["*InvoiceNumber"] for r in rows] == [invoice.number] * 2 + [note.number]
    first = rows[0]
    assert first["*ContactName"] == "Acme, Inc." and first["EmailAddress"].startswith("ap@")
    assert first["*InvoiceDate"] == "01/04/2026" and first["*DueDate"] == "01/05/2026"
    assert first["*TaxType"] == "VAT" and first["*AccountCode"] == "200"
    assert first["Total"] == "1380.00" and first["TaxAmount"] == "200.00"
    credit = rows[2]
    # A credit note: the same template, negative amounts, naming the invoice it corrects.
    assert Decimal(credit["*Quantity"]) * Decimal(credit["*UnitAmount"]) == Decimal("-100.00")
    assert credit["TaxAmount"] == "-20.00" and credit["Total"] == "-120.00"
    assert invoice.number in credit["Reference"]
    for row in rows:
        assert MONEY.match(row["Total"]) and MONEY.match(row["TaxAmount"])


def test_untaxed_lines_and_prorated_quantities(admin_user):
    # A contract from 17 March: 15/31 of a month's fee, 483.87; printed as 0.4839 months,
    # which times 1000.00 is 483.90, so the row is 1 x 483.87 with the quantity in words.
    client = billed_client(name="Bare", minutes=0, tax=False, start=date(2026, 3, 17))
    final_invoice(client, admin_user)
    (row,) = _table(accounting_export_create(format="quickbooks", by=admin_user))
    exact = (Decimal(1000) * 15 / 31).quantize(Decimal("0.01"))
    assert row["ItemAmount"] == str(exact) == "483.87"
    assert (row["ItemQuantity"], row["ItemRate"]) == ("1", "483.87")
    assert "0.4839 month x 1000" in row["ItemDescription"]
    assert row["ItemTaxCode"] == "NON" and row["ItemTaxAmount"] == "0.00"
    (row,) = _table(accounting_export_create(format="xero", by=admin_user, invoice_ids=[
        AccountingExportDocument.objects.get().invoice_id], again=True))  # fmt: skip
    assert row["*TaxType"] == "Tax Exempt" and row["*UnitAmount"] == "483.87"


def test_exported_once_and_again_on_purpose(invoice, admin_user):
    first = accounting_export_create(format="quickbooks", by=admin_user)
    assert list(first.invoices.all()) == [invoice] and first.created_by == admin_user
    with pytest.raises(ValidationError, match="Nothing to export"):
        accounting_export_create(format="xero", by=admin_user)
    with pytest.raises(ValidationError, match="Exported already"):
        accounting_export_create(format="xero", by=admin_user, invoice_ids=[invoice.pk])
    again = accounting_export_create(
        format="xero", by=admin_user, invoice_ids=[invoice.pk], again=True
    )
    assert again.again is True
    assert AccountingExportDocument.objects.get(export=again).repeated is True
    assert AccountingExport.objects.count() == 2


def test_drafts_are_not_exported(admin_user):
    draft = draft_invoice(billed_client(name="Drafty"))
    with pytest.raises(ValidationError, match="Nothing to export"):
        accounting_export_create(format="xero", by=admin_user)
    with pytest.raises(ValidationError, match="Only finalised"):
        accounting_export_create(format="xero", by=admin_user, invoice_ids=[draft.pk])


def test_only_billing_roles_export(invoice, technician):
    with pytest.raises(PermissionDenied):
        accounting_export_create(format="xero", by=technician)
    assert not AccountingExport.objects.exists()


def test_csv_module_round_trip(invoice, admin_user):
    for format in ("quickbooks", "xero"):
        export = accounting_export_create(
            format=format, by=admin_user, invoice_ids=[invoice.pk], again=True
        )
        rows = list(csv.reader(io.StringIO(export.content)))
        assert len({len(row) for row in rows}) == 1  # every row as wide as the header
        again = io.StringIO()
        csv.writer(again, lineterminator="\r\n").writerows(rows)
        assert again.getvalue() == export.content


def test_command_writes_the_csv_and_records_it(invoice, tmp_path):
    out = tmp_path / "qb.csv"
    call_command("export_invoices", "--format", "quickbooks", "--output", str(out))
    text = out.read_text(encoding="utf-8")
    assert text.startswith("InvoiceNo,Customer,") and invoice.number in text
    assert AccountingExport.objects.get().created_by is None
    with pytest.raises(Exception, match="Nothing to export"):
        call_command("export_invoices", "--format", "xero")


def _waived(invoice, admin_user):
    """A credit note of 100.00 (plus its 20 % VAT) off the fee, issued 15 April 2026."""
    return credit_note_create(
        invoice=invoice, by=admin_user, reason="Fee waived",
        at=datetime(2026, 4, 15, 12, tzinfo=UTC),
        amounts={invoice.lines.get(kind=LineKind.FIXED_FEE).pk: Decimal("100.00")},
    )  # fmt: skip


def test_quickbooks_every_field_of_an_invoice_with_tax(invoice, admin_user):
    """One real invoice (a fee and time, 20 % VAT), every cell of every row; Intuit's default
    fields all present and the mandatory ones filled."""
    _waived(invoice, admin_user)
    export = accounting_export_create(format="quickbooks", by=admin_user)
    assert set(INTUIT_DEFAULT_FIELDS.values()) <= set(QUICKBOOKS_PUBLISHED)
    time_line = invoice.lines.get(kind=LineKind.TIME)
    common = {
        "InvoiceNo": invoice.number, "Customer": "Acme, Inc.", "InvoiceDate": "04/01/2026",
        "DueDate": "05/01/2026", "Terms": "Net 30", "Location": "",
        "Memo": "Services 2026-03-01 to 2026-04-01 (exclusive)", "ItemTaxCode": "TAX",
        "Currency": "USD",
    }  # fmt: skip
    assert _table(export) == [
        common | {
            "Item(Product/Service)": "Monthly fee", "ItemDescription": "Managed IT: monthly fee",
            "ItemQuantity": "1", "ItemRate": "1000", "ItemAmount": "1000.00",
            "ItemTaxAmount": "200.00", "Service Date": "03/01/2026",
        },
        common | {
            "Item(Product/Service)": "Time and materials",
            "ItemDescription": time_line.description, "ItemQuantity": "1.6667",
            "ItemRate": "90", "ItemAmount": "150.00", "ItemTaxAmount": "30.00",
            "Service Date": "",
        },
    ]  # fmt: skip
    assert time_line.description.startswith("Remote support: 1 time entries")
    for row in _table(export):
        for label, column in INTUIT_DEFAULT_FIELDS.items():
            assert not label.startswith("*") or row[column], label


def test_quickbooks_leaves_credit_notes_out(invoice, admin_user):
    """QuickBooks Online's invoice import makes invoices only: a credit note is not written
    as a negative invoice; it stays "not exported", and naming it is refused."""
    note = _waived(invoice, admin_user)
    export = accounting_export_create(format="quickbooks", by=admin_user)
    assert list(export.invoices.all()) == [invoice]
    assert {row["InvoiceNo"] for row in _table(export)} == {invoice.number}
    assert all(Decimal(row["ItemAmount"]) > 0 for row in _table(export))
    with pytest.raises(ValidationError, match=f"no credit memos.*{note.number}"):
        accounting_export_create(format="quickbooks", by=admin_user, invoice_ids=[note.pk])
    with pytest.raises(ValidationError, match="Credit notes are not in QuickBooks"):
        accounting_export_create(format="quickbooks", by=admin_user)
    xero = accounting_export_create(format="xero", by=admin_user)
    assert list(xero.invoices.all()) == [note]


def test_xero_every_field_of_an_invoice_with_tax_and_its_credit_note(invoice, admin_user):
    """The same invoice and a credit note of 100.00 + 20.00 VAT, every cell of every row: the
    credit note is the same template with negative amounts, naming the invoice it corrects."""
    note = _waived(invoice, admin_user)
    export = accounting_export_create(format="xero", by=admin_user)
    blank = dict.fromkeys(XERO_PUBLISHED, "")
    contact = {
        "*ContactName": "Acme, Inc.", "EmailAddress": f"ap@{invoice.client.slug}.example",
        "*AccountCode": "200", "*TaxType": "VAT", "Currency": "USD",
    }  # fmt: skip
    on_invoice = blank | contact | {
        "*InvoiceNumber": invoice.number, "*InvoiceDate": "01/04/2026", "*DueDate": "01/05/2026",
        "Reference": "Services 2026-03-01 to 2026-04-01 (exclusive)", "Total": "1380.00",
    }  # fmt: skip
    assert _table(export) == [
        on_invoice | {
            "*Description": "Managed IT: monthly fee", "*Quantity": "1", "*UnitAmount": "1000",
            "TaxAmount": "200.00",
        },
        on_invoice | {
            "*Description": invoice.lines.get(kind=LineKind.TIME).description,
            "*Quantity": "1.6667", "*UnitAmount": "90", "TaxAmount": "30.00",
        },
        blank | contact | {
            "*InvoiceNumber": note.number, "*InvoiceDate": "15/04/2026",
            "*DueDate": "15/05/2026", "Total": "-120.00",
            "Reference": f"Credit note for {invoice.number}: Fee waived",
            "*Description": "Credit: Managed IT: monthly fee", "*Quantity": "1",
            "*UnitAmount": "-100", "TaxAmount": "-20.00",
        },
    ]  # fmt: skip
    for row in _table(export):
        assert all(row[column] for column in XERO_REQUIRED)
