"""The invoice and credit note PDFs (read back with pypdf: number, parties, dates, lines,
credits with their missed targets, taxes, totals, payment terms), drawn once when finalised
and stored, and the email to the billing contacts with the PDF attached."""

import io
from decimal import Decimal

import pytest
from django.core import mail
from pypdf import PdfReader

from msp.models import OutboxMessage
from msp.services import outbox_deliver
from reporting.billing import documents
from reporting.billing.models import Invoice
from tests.reporting.test_billing_pages import (  # noqa: F401 - fixtures
    CREDIT,
    FEE,
    alpha,
    billed_client,
    expected_total,
    finalised,
    manager,
    media,
)

pytestmark = pytest.mark.django_db


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def invoice(alpha, manager, settings):  # noqa: F811
    settings.BILLING_ISSUER_NAME = "Northwind Managed Services"
    settings.BILLING_ISSUER_ADDRESS = "9 Harbour Road\nBristol"
    return finalised(alpha, manager)


def test_the_invoice_pdf_reads_as_the_invoice(invoice):
    text = text_of(documents.invoice_pdf_ensure(invoice=invoice))
    assert "Invoice INV-2026-0001" in text
    assert "Northwind Managed Services" in text and "9 Harbour Road" in text
    assert "Alpha Holdings" in text and "1 Alpha Street" in text
    assert f"{invoice.issued_on:%-d %B %Y}" in text and f"{invoice.due_on:%-d %B %Y}" in text
    assert "USD" in text
    assert "Contract C-ALPHA" in text
    assert "1000.00" in text and "-100.00" in text
    # VAT per line (200.00 and -20.00), and the total against the naive reference.
    assert "VAT (20 %)" in text and "180.00" in text
    assert expected_total(FEE, -CREDIT) == Decimal("1080.00")
    assert "Total USD 1080.00" in text
    assert "Service credit" in text
    assert "P1 response: target 95.000 %, measured 90.000 %" in text
    assert "Backup availability" in text
    assert "Payment is due within 30 days" in text


def test_drawn_once_then_read_from_storage(invoice, monkeypatch):
    first = documents.invoice_pdf_ensure(invoice=invoice)
    stored = Invoice.objects.get(pk=invoice.pk)
    assert stored.pdf.name.endswith(".pdf")

    def never(_):
        raise AssertionError("drawn again")

    monkeypatch.setattr(documents, "invoice_pdf", never)
    assert documents.invoice_pdf_ensure(invoice=stored) == first


def test_finalising_draws_the_pdf_once_committed(
    alpha,  # noqa: F811
    manager,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = finalised(alpha, manager)
    stored = Invoice.objects.get(pk=invoice.pk)
    assert stored.pdf
    with stored.pdf.open("rb") as pdf:
        assert "INV-2026-0001" in text_of(pdf.read())


def test_a_credit_note_has_its_own_pdf(invoice, manager):  # noqa: F811
    fee = invoice.lines.get(kind="fixed_fee")
    note = documents.credit_note_create_and_send(
        invoice=invoice, by=manager, reason="Goodwill on the March fee",
        amounts={fee.pk: Decimal("50.00")},
    )  # fmt: skip
    text = text_of(documents.invoice_pdf_ensure(invoice=note))
    assert "Credit note CN-2026-0001" in text
    assert "INV-2026-0001" in text and "Goodwill on the March fee" in text
    assert "-50.00" in text and "-10.00" in text and "-60.00" in text
    assert note.pdf.name != Invoice.objects.get(pk=invoice.pk).pdf.name


def test_a_draft_has_no_pdf(alpha):  # noqa: F811
    from django.core.exceptions import ValidationError

    from tests.reporting.test_billing_pages import invoice_of, run_march

    run_march([alpha.pk])
    with pytest.raises(ValidationError):
        documents.invoice_pdf_ensure(invoice=invoice_of(alpha))


def test_the_email_goes_to_billing_contacts_only_with_the_pdf(invoice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    messages = OutboxMessage.objects.filter(attachment=f"invoice:{invoice.pk}")
    assert [m.email for m in messages] == ["ap@alpha.example"]
    for message in messages:
        outbox_deliver(message_id=message.pk)
    sent = [m for m in mail.outbox if "INV-2026-0001" in m.subject]
    assert len(sent) == 1
    email = sent[0]
    assert email.to == ["ap@alpha.example"]
    assert "Alpha Holdings" in email.subject
    assert "/portal/invoices/" in email.body and "Payment is due within 30 days" in email.body
    ((name, content, kind),) = email.attachments
    assert kind == "application/pdf" and name == "alpha-holdings-INV-2026-0001.pdf"
    assert "INV-2026-0001" in text_of(content)


def test_a_client_without_billing_contacts_is_told_on_the_page(manager):  # noqa: F811
    from msp.models import Contact
    from tests.helpers import signed_in
    from tests.reporting.test_billing_pages import _url

    client = billed_client("Echo")
    Contact.objects.filter(client=client, role="billing").update(is_active=False)
    invoice = finalised(client, manager)
    assert not OutboxMessage.objects.filter(attachment=f"invoice:{invoice.pk}").exists()
    page = signed_in(manager).get(_url("invoice-detail", invoice.pk)).content.decode()
    assert 'data-testid="no-billing-contacts"' in page
