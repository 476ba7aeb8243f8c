"""The billing journey in a real browser: a technician logs time on a ticket and submits the
week; an account manager approves it, runs October's invoices, reviews and finalises the
client's invoice; the client's user finds it in the portal and downloads its PDF. And axe-core
finds no serious WCAG 2.1 AA violation on the invoice list and the invoice page."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from contracts.choices import ContractStatus, PricingModel
from contracts.models import ServiceLine
from msp.choices import ContactRole, UserRole
from reporting.billing.models import ClientTaxRate, Invoice, InvoiceRun, TaxRate
from reporting.billing.services import invoice_run_execute
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import serious_violations
from tests.factories import (
    ClientFactory,
    ClientUserFactory,
    ContactFactory,
    ContractFactory,
    SiteFactory,
    StaffFactory,
)
from tickets import services
from tickets.models import TimeEntry

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FEE = Decimal("500.00")
RATE = Decimal("90.00")
MINUTES = 90


@pytest.fixture
def journey(policy, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    client = ClientFactory(name="Acme Corp", slug="acme-corp", timezone="UTC")
    SiteFactory(client=client, name="Head office", address="1 Main Street\nSpringfield")
    ContactFactory(client=client, full_name="Paula Payables", email="ap@acme.example",
                   role=ContactRole.BILLING)  # fmt: skip
    contract = ContractFactory(
        client=client, number="C-100", name="Acme Managed IT", start_date=date(2026, 1, 1),
        monthly_fee=FEE, status=ContractStatus.ACTIVE,
    )  # fmt: skip
    ServiceLine.objects.create(
        contract=contract, service="service_desk", pricing_model=PricingModel.HOURLY,
        hourly_rates={"remote": str(RATE)},
    )  # fmt: skip
    vat, _ = TaxRate.objects.get_or_create(name="VAT", percent=Decimal("20"))
    ClientTaxRate.objects.create(client=client, tax_rate=vat)
    technician = StaffFactory(role=UserRole.TECHNICIAN, full_name="Tess Technician")
    ticket = services.ticket_open(
        client=client, subject="Printer offline", at=datetime(2026, 10, 20, 9, tzinfo=UTC)
    )
    assert ticket.contract_id == contract.pk
    return {
        "client": client,
        "ticket": ticket,
        "technician": technician,
        "manager": StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", full_name="Alma Accounts"),
        "client_user": ClientUserFactory(client=client, full_name="Carla Client"),
    }


def _context(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, reduced_motion="reduce"
    )
    context.set_default_timeout(30_000)
    return context


def axe_problems(page, name: str) -> list[str]:
    """serious_violations in the light and the dark scheme, as the accessibility run does."""
    found = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_function(
            "scheme => document.documentElement.dataset.bsTheme === scheme", arg=scheme
        )
        found += [f"{name} [{scheme}]: {v}" for v in serious_violations(page)]
    page.emulate_media(color_scheme="light")
    return found


def test_time_to_invoice_to_the_portals_pdf(browser, live_server, journey):
    ticket = journey["ticket"]

    # The technician logs 90 minutes on 28 October on the ticket, then submits that week.
    context = _context(browser, live_server)
    page = context.new_page()
    sign_in(page, journey["technician"])
    page.goto(f"/workspace/tickets/{ticket.pk}/")
    panel = page.locator('details[data-action="time_form"]')
    panel.locator("summary").click()
    panel.get_by_label("Day").fill("2026-10-28")
    panel.get_by_label("Minutes").fill(str(MINUTES))
    panel.get_by_role("button", name="Log time").click()
    page.wait_for_function(
        "() => document.body.innerText.includes('1 h 30') || "
        "document.body.innerText.includes('90 min')"
    )
    entry = TimeEntry.objects.get(ticket=ticket)
    assert (entry.minutes, entry.spent_on, entry.state) == (MINUTES, date(2026, 10, 28), "draft")
    page.goto("/workspace/time/?week=2026-10-26")
    page.get_by_role("button", name="Submit week").click()
    page.wait_for_load_state()
    entry.refresh_from_db()
    assert entry.state == "submitted"
    context.close()

    # The account manager approves the week, runs October, reviews and finalises.
    context = _context(browser, live_server)
    page = context.new_page()
    sign_in(page, journey["manager"])
    page.goto("/workspace/time/approval/")
    page.get_by_test_id("approve-week").click()
    page.wait_for_load_state()
    entry.refresh_from_db()
    assert entry.state == "approved"

    page.get_by_role("list", name="Main").get_by_role("link", name="Billing").click()
    page.get_by_role("link", name="Invoice run").click()
    page.get_by_label("Month").fill("2026-10")
    page.get_by_label("Acme Corp").check()
    page.get_by_role("button", name="Run invoices").click()
    page.wait_for_url("**/billing/runs/**")
    # Queued for a worker; the page polls and shows the invoices once the worker is done.
    expect(page.get_by_test_id("run-state")).to_contain_text("Queued")
    invoice_run_execute(run=InvoiceRun.objects.get())
    expect(page.get_by_test_id("created")).to_have_text("1", timeout=10_000)
    expect(page.get_by_test_id("run-state")).to_have_count(0)
    page.get_by_test_id("run-invoices").get_by_role("link", name="Acme Corp").click()
    page.wait_for_url("**/billing/invoices/**")
    hours = Decimal(MINUTES) / 60
    subtotal = FEE + hours * RATE  # 635.00
    total = (
        subtotal
        + (FEE * Decimal("0.2")).quantize(Decimal("0.01"))
        + (hours * RATE * Decimal("0.2")).quantize(Decimal("0.01"))
    )
    assert page.get_by_test_id("total").inner_text() == f"{total:.2f}" == "762.00"
    problems = axe_problems(page, "draft invoice")

    page.get_by_role("link", name="Mark reviewed…").click()
    page.get_by_role("button", name="Mark reviewed").click()
    page.get_by_role("link", name="Finalise…").click()
    assert "INV-2026-0001" in page.get_by_test_id("number-note").inner_text()
    page.get_by_role("button", name="Finalise and send").click()
    page.wait_for_function("() => document.body.innerText.includes('Invoice INV-2026-0001')")
    assert "ap@acme.example" in page.get_by_test_id("deliveries").inner_text()
    problems += axe_problems(page, "finalised invoice")
    page.get_by_role("link", name="Billing").first.click()
    page.wait_for_url("**/workspace/billing/")
    assert "INV-2026-0001" in page.get_by_test_id("invoices").inner_text()
    problems += axe_problems(page, "invoice list")
    context.close()
    assert not problems, "\n".join(problems)
    invoice = Invoice.objects.get(client=journey["client"])
    assert (invoice.number, invoice.total) == ("INV-2026-0001", total)

    # The client's user finds it in the portal and downloads the PDF.
    context = _context(browser, live_server)
    page = context.new_page()
    sign_in(page, journey["client_user"])
    page.get_by_role("list", name="Main").get_by_role("link", name="Invoices").click()
    page.get_by_role("link", name="Invoice INV-2026-0001").click()
    assert page.get_by_test_id("total").inner_text() == "762.00"
    assert not axe_problems(page, "portal invoice")
    with page.expect_download() as download:
        page.get_by_test_id("pdf").click()
    pdf = open(download.value.path(), "rb").read()  # noqa: SIM115
    context.close()
    assert pdf.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "INV-2026-0001" in text and "762.00" in text
