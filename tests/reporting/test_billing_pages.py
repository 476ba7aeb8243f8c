"""Billing's workspace pages: who may open them (administrators and account managers; the
others 403 and no nav entry), the invoice list (filters, a fixed number of queries), the
detail (lines by contract, credits with their missed targets and report), every action with
its confirmation and its refusal (400), the invoice run and its summary, spend records
entered and imported from CSV (row errors, never a 500)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.choices import ContractStatus, PricingModel
from contracts.models import MonthlyEvaluation, ServiceLine, TargetResult
from msp.choices import ContactRole, UserRole
from msp.models import OutboxMessage
from reporting.billing import services
from reporting.billing.choices import InvoiceStatus, LineKind
from reporting.billing.models import (
    ClientTaxRate,
    Invoice,
    InvoiceDelivery,
    InvoiceRun,
    SpendRecord,
    TaxRate,
)
from reporting.models import Report
from tests.factories import (
    ClientFactory,
    ContactFactory,
    ContractFactory,
    SiteFactory,
    StaffFactory,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)
AT = datetime(2026, 4, 1, 12, tzinfo=UTC)
FEE = Decimal("1000.00")
CREDIT = Decimal("100.00")
VAT = Decimal("20")


def billed_client(name: str, *, credit=True, report=True):
    """A client on a 1,000.00 monthly fee with 20 % VAT, a billing and a technical contact,
    and (credit) a March service credit of 100.00 for two missed targets, with March's
    monthly report."""
    client = ClientFactory(name=f"{name} Holdings", slug=f"{name.lower()}-holdings", timezone="UTC")
    SiteFactory(client=client, name="Head office", address=f"1 {name} Street\nLondon")
    ContactFactory(
        client=client,
        full_name=f"{name} Payables",
        email=f"ap@{name.lower()}.example",
        role=ContactRole.BILLING,
    )
    ContactFactory(client=client, email=f"it@{name.lower()}.example", role=ContactRole.TECHNICAL)
    contract = ContractFactory(
        client=client,
        number=f"C-{name.upper()}",
        name=f"{name} Managed IT",
        start_date=date(2026, 1, 1),
        monthly_fee=FEE,
        status=ContractStatus.ACTIVE,
    )
    rate, _ = TaxRate.objects.get_or_create(name="VAT", percent=VAT)
    ClientTaxRate.objects.create(client=client, tax_rate=rate)
    if credit:
        evaluation = MonthlyEvaluation.objects.create(
            contract=contract, month=MARCH, missed_targets=2, consecutive_missed_months=3,
            ladder_step="credit", credit_percent=Decimal("10"), credit_amount=CREDIT,
            currency=contract.currency,
        )  # fmt: skip
        TargetResult.objects.create(
            evaluation=evaluation, kind="compliance", priority="P1", metric="response",
            target_percent=Decimal("95"), measured_percent=Decimal("90"), met=False,
        )  # fmt: skip
        TargetResult.objects.create(
            evaluation=evaluation, kind="availability", service="backup",
            target_percent=Decimal("99.9"), measured_percent=Decimal("99.5"), met=False,
        )  # fmt: skip
    if report:
        Report.objects.create(
            client=client, kind="month", period_start=MARCH, figures={}, generated_at=AT
        )
    return client


def expected_total(*amounts: Decimal) -> Decimal:
    """A naive reference: each line's VAT rounded half up to the cent, then summed."""
    tax = sum(
        ((a * VAT / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP") for a in amounts),
        Decimal(0),
    )
    return sum(amounts, Decimal(0)) + tax


def invoice_of(client) -> Invoice:
    return Invoice.objects.get(client=client, kind="invoice")


def run_march(client_ids=None):
    return services.invoice_run_create(month=MARCH, now=AT, client_ids=client_ids)


def finalised(client, by) -> Invoice:
    run_march([client.pk])
    invoice = invoice_of(client)
    services.invoice_review(invoice=invoice, by=by)
    from reporting.billing.documents import invoice_finalise_and_send

    return invoice_finalise_and_send(invoice=invoice, by=by)


@pytest.fixture
def alpha(db):
    return billed_client("Alpha")


@pytest.fixture
def bravo(db):
    return billed_client("Bravo")


@pytest.fixture
def manager(db):
    return StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _url(name, *args):
    return reverse(f"workspace:billing-{name}", args=args)


# Who ---------------------------------------------------------------------------------------


PAGES_WITH_AN_INVOICE = [
    "invoice-detail",
    "invoice-review",
    "invoice-reopen",
    "invoice-finalise",
    "invoice-discard",
    "invoice-resend",
    "invoice-void",
    "credit-note-create",
    "invoice-pdf",
]
PAGES = ["invoice-list", "run", "spend", "spend-import"]


@pytest.mark.parametrize("role", [UserRole.TECHNICIAN, UserRole.DISPATCHER])
def test_technicians_and_dispatchers_are_refused_everywhere(alpha, role):
    run_march()
    invoice = invoice_of(alpha)
    http = signed_in(StaffFactory(role=role))
    for name in PAGES:
        assert http.get(_url(name)).status_code == 403, name
        assert http.post(_url(name), {"month": "2026-03"}).status_code == 403, name
    for name in PAGES_WITH_AN_INVOICE:
        assert http.get(_url(name, invoice.pk)).status_code == 403, name
        assert http.post(_url(name, invoice.pk), {"reason": "x"}).status_code == 403, name
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DRAFT
    home = http.get(reverse("tickets:queue")).content.decode()
    assert 'href="/workspace/billing/"' not in home


def test_account_managers_and_administrators_have_the_billing_entry(manager, admin_user):
    for user in (manager, admin_user):
        page = signed_in(user).get(reverse("tickets:queue")).content.decode()
        assert f'href="{_url("invoice-list")}"' in page
        assert signed_in(user).get(_url("invoice-list")).status_code == 200


def test_a_client_user_is_refused(alpha, client_user_a):
    assert signed_in(client_user_a).get(_url("invoice-list")).status_code == 403


# The list ----------------------------------------------------------------------------------


def _more_clients(count: int, first: int = 0) -> None:
    for index in range(first, first + count):
        billed_client(f"Extra{index}", credit=False, report=False)


def test_the_list_takes_the_same_queries_for_3_and_12_invoices(manager):
    http = signed_in(manager)
    _more_clients(3)
    run_march()
    http.get(_url("invoice-list"))  # warm: the session, content types
    with CaptureQueriesContext(connection) as few:
        assert http.get(_url("invoice-list")).status_code == 200
    _more_clients(9, first=3)
    run_march()
    with CaptureQueriesContext(connection) as many:
        page = http.get(_url("invoice-list"))
    assert page.content.decode().count('data-testid="invoice-row"') == 12
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_filters_by_status_client_period_and_kind(alpha, bravo, manager):
    run_march()
    services.invoice_review(invoice=invoice_of(alpha), by=manager)
    http = signed_in(manager)
    rows = lambda **query: http.get(_url("invoice-list"), query).content.decode()  # noqa: E731
    assert "<td>Alpha Holdings</td>" in rows(status="reviewed")
    assert "<td>Bravo Holdings</td>" not in rows(status="reviewed")
    assert "<td>Alpha Holdings</td>" not in rows(client=bravo.pk)
    assert "<td>Bravo Holdings</td>" in rows(period="2026-03")
    assert 'data-testid="invoice-row"' not in rows(period="2026-04")
    assert 'data-testid="invoice-row"' not in rows(kind="credit_note")


@pytest.mark.parametrize(
    "query", [{"status": "paid"}, {"period": "2026-13"}, {"client": "999999"}, {"kind": "x"}]
)
def test_a_bad_filter_is_a_400_with_the_field_named(alpha, manager, query):
    response = signed_in(manager).get(_url("invoice-list"), query)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


# The detail --------------------------------------------------------------------------------


def test_the_detail_groups_lines_by_contract_and_traces_the_credit(alpha, manager):
    run_march()
    invoice = invoice_of(alpha)
    page = signed_in(manager).get(_url("invoice-detail", invoice.pk)).content.decode()
    assert "Contract C-ALPHA · Alpha Managed IT" in page
    assert "1000.00" in page and "-100.00" in page
    total = expected_total(FEE, -CREDIT)
    assert total == Decimal("1080.00")
    assert f'data-testid="total">{total}<' in page
    assert "P1 response: target 95.000 %, measured 90.000 %" in page
    assert "Backup availability" in page
    report = Report.objects.get(client=alpha)
    assert reverse("reporting:detail", args=[report.pk]) in page
    assert "Draft invoice" in page and "Mark reviewed" in page


def test_another_clients_invoice_is_404_for_an_account_manager_of_one(alpha, bravo):
    from tests.factories import TeamFactory

    team = TeamFactory()
    team.clients.set([alpha])
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
    run_march()
    theirs = invoice_of(bravo)
    http = signed_in(manager)
    for name in PAGES_WITH_AN_INVOICE:
        assert http.get(_url(name, theirs.pk)).status_code == 404, name
        assert http.post(_url(name, theirs.pk), {"reason": "x"}).status_code in (404, 405), name
    assert "Bravo" not in http.get(_url("invoice-list")).content.decode()
    theirs.refresh_from_db()
    assert theirs.status == InvoiceStatus.DRAFT


# Actions -----------------------------------------------------------------------------------


def test_review_reopen_and_finalise_each_ask_first(alpha, manager):
    run_march()
    invoice = invoice_of(alpha)
    http = signed_in(manager)
    confirm = http.get(_url("invoice-review", invoice.pk)).content.decode()
    assert "Mark this draft reviewed?" in confirm
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DRAFT  # asking changes nothing
    assert http.post(_url("invoice-review", invoice.pk)).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.REVIEWED
    assert http.post(_url("invoice-reopen", invoice.pk)).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DRAFT
    http.post(_url("invoice-review", invoice.pk))
    confirm = http.get(_url("invoice-finalise", invoice.pk)).content.decode()
    assert "Its number is given at finalisation" in confirm and "INV-2026-0001" in confirm
    assert "ap@alpha.example" in confirm and "it@alpha.example" not in confirm
    invoice.refresh_from_db()
    assert invoice.number is None
    response = http.post(_url("invoice-finalise", invoice.pk))
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (InvoiceStatus.FINALISED, "INV-2026-0001")
    page = http.get(_url("invoice-detail", invoice.pk)).content.decode()
    assert "Invoice INV-2026-0001" in page and "ap@alpha.example" in page


def test_an_action_in_the_wrong_state_is_a_400_with_the_reason(alpha, manager):
    run_march()
    invoice = invoice_of(alpha)
    http = signed_in(manager)
    response = http.post(_url("invoice-finalise", invoice.pk))
    assert response.status_code == 400
    assert "Only a reviewed invoice can be finalised." in response.content.decode()
    response = http.post(_url("invoice-reopen", invoice.pk))
    assert response.status_code == 400
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None


def test_finalising_emails_the_billing_contacts_only_and_records_it(alpha, manager):
    run_march()
    invoice = invoice_of(alpha)
    http = signed_in(manager)
    http.post(_url("invoice-review", invoice.pk))
    http.post(_url("invoice-finalise", invoice.pk))
    messages = list(OutboxMessage.objects.filter(attachment=f"invoice:{invoice.pk}"))
    assert [m.email for m in messages] == ["ap@alpha.example"]
    assert "INV-2026-0001" in messages[0].subject
    assert [d.email for d in InvoiceDelivery.objects.filter(invoice=invoice)] == [
        "ap@alpha.example"
    ]
    # Sending again: a new email and a new record.
    assert (
        "Email this document again" in http.get(_url("invoice-resend", invoice.pk)).content.decode()
    )
    assert http.post(_url("invoice-resend", invoice.pk)).status_code == 302
    assert OutboxMessage.objects.filter(attachment=f"invoice:{invoice.pk}").count() == 2
    assert InvoiceDelivery.objects.filter(invoice=invoice).count() == 2


def test_discarding_asks_then_frees_the_period(alpha, manager):
    run_march()
    invoice = invoice_of(alpha)
    http = signed_in(manager)
    assert "Discard this invoice?" in http.get(_url("invoice-discard", invoice.pk)).content.decode()
    assert Invoice.objects.filter(pk=invoice.pk).exists()
    response = http.post(_url("invoice-discard", invoice.pk))
    assert response.status_code == 302 and response.url == _url("invoice-list")
    assert not Invoice.objects.filter(pk=invoice.pk).exists()
    run_march()
    assert invoice_of(alpha).total == expected_total(FEE, -CREDIT)


def test_void_needs_a_reason_then_issues_a_credit_note(alpha, manager):
    invoice = finalised(alpha, manager)
    http = signed_in(manager)
    response = http.post(_url("invoice-void", invoice.pk), {"reason": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.FINALISED
    assert (
        http.post(_url("invoice-void", invoice.pk), {"reason": "Wrong client"}).status_code == 302
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID
    note = Invoice.objects.get(kind="credit_note")
    assert (note.number, note.total) == ("CN-2026-0001", -expected_total(FEE, -CREDIT))
    assert OutboxMessage.objects.filter(
        attachment=f"invoice:{note.pk}", email="ap@alpha.example"
    ).exists()
    # A void invoice is voided once.
    assert http.post(_url("invoice-void", invoice.pk), {"reason": "Again"}).status_code == 400


def test_a_credit_note_for_chosen_lines_and_amounts(alpha, manager):
    invoice = finalised(alpha, manager)
    fee = invoice.lines.get(kind=LineKind.FIXED_FEE)
    http = signed_in(manager)
    form = http.get(_url("credit-note-create", invoice.pk)).content.decode()
    assert f'name="line_{fee.pk}"' in form and "1000.00" in form
    bad = [
        ({"reason": "x"}, "Give an amount for at least one line"),
        ({"reason": "x", f"line_{fee.pk}": "1000.01"}, "less than or equal to 1000.00"),
        ({"reason": "x", f"line_{fee.pk}": "-5"}, "greater than or equal to 0.01"),
        ({"reason": "x", f"line_{fee.pk}": "ten"}, "Enter a number."),
        ({"reason": "", f"line_{fee.pk}": "50"}, "This field is required."),
    ]
    for data, error in bad:
        response = http.post(_url("credit-note-create", invoice.pk), data)
        assert response.status_code == 400, data
        assert error in response.content.decode(), data
    assert not Invoice.objects.filter(kind="credit_note").exists()
    response = http.post(
        _url("credit-note-create", invoice.pk), {"reason": "Goodwill", f"line_{fee.pk}": "50.00"}
    )
    note = Invoice.objects.get(kind="credit_note")
    assert response.status_code == 302 and response.url == _url("invoice-detail", note.pk)
    assert note.total == -expected_total(Decimal("50.00"))  # -60.00
    assert note.total == Decimal("-60.00")
    # What is left to credit shrinks.
    form = http.get(_url("credit-note-create", invoice.pk)).content.decode()
    assert "950.00" in form


def test_a_pdf_only_once_finalised(alpha, manager):
    run_march()
    invoice = invoice_of(alpha)
    assert signed_in(manager).get(_url("invoice-pdf", invoice.pk)).status_code == 404


# The invoice run ---------------------------------------------------------------------------


def worker_takes_queued_runs() -> None:
    """What the worker does with the task the run page queues (after its commit)."""
    for run in InvoiceRun.objects.filter(finished_at__isnull=True):
        services.invoice_run_execute(run=run)


def test_the_run_page_runs_a_month_and_summarises(alpha, bravo, manager):
    http = signed_in(manager)
    page = http.get(_url("run")).content.decode()
    assert "quarterly ones when it ends a quarter" in page
    response = http.post(_url("run"), {"month": "2026-03", "clients": [alpha.pk]})
    run = InvoiceRun.objects.get()
    assert response.status_code == 302 and response.url == _url("run-detail", run.pk)
    # Queued for a worker: the page says so and polls until it is done.
    waiting = http.get(response.url).content.decode()
    assert 'data-testid="run-state"' in waiting and "Queued" in waiting
    worker_takes_queued_runs()
    summary = http.get(response.url).content.decode()
    assert 'data-testid="run-state"' not in summary
    assert 'data-testid="created">1<' in summary and "Alpha Holdings" in summary
    assert "Bravo Holdings" not in summary
    assert "Monthly contracts: 1 Mar 2026" in summary
    assert "Quarterly contracts: 1 Jan 2026" in summary
    # Again: the draft is recomputed; once reviewed it is left as it is.
    second = http.post(_url("run"), {"month": "2026-03", "clients": [alpha.pk]})
    worker_takes_queued_runs()
    assert 'data-testid="updated">1<' in http.get(second.url).content.decode()
    services.invoice_review(invoice=invoice_of(alpha), by=manager)
    third = http.post(_url("run"), {"month": "2026-03"})
    worker_takes_queued_runs()
    summary = http.get(third.url).content.decode()
    assert 'data-testid="unchanged">1 ' in summary and 'data-testid="created">1<' in summary


def test_a_run_that_cannot_bill_a_client_says_why(alpha, manager):
    ServiceLine.objects.create(
        contract=alpha.contracts.get(), service="service_desk", pricing_model="block_of_hours",
        block_hours=Decimal("1"), unit_price=Decimal("100"),
    )  # fmt: skip
    from tests.factories.tickets import TicketFactory
    from tickets.models import TimeEntry

    ticket = TicketFactory(client=alpha, subject="Work", at=datetime(2026, 3, 2, tzinfo=UTC))
    TimeEntry.objects.create(
        ticket=ticket, client=alpha, user=manager, minutes=180, spent_on=date(2026, 3, 2),
        state="approved",
    )  # fmt: skip
    http = signed_in(manager)
    response = http.post(_url("run"), {"month": "2026-03"})
    worker_takes_queued_runs()
    summary = http.get(response.url).content.decode()
    assert 'data-testid="run-errors"' in summary and "no overage rate" in summary


@pytest.mark.parametrize(
    ("month", "error"),
    [
        ("2026-13", "Give the month as YYYY-MM."),
        ("", "This field is required."),
        ("2099-01", "Only a month that has ended can be billed."),
    ],
)
def test_a_bad_run_month_is_a_400(manager, month, error):
    response = signed_in(manager).post(_url("run"), {"month": month})
    assert response.status_code == 400 and error in response.content.decode()
    assert not InvoiceRun.objects.exists()


def test_a_run_for_another_managers_client_is_refused(alpha, bravo):
    from tests.factories import TeamFactory

    team = TeamFactory()
    team.clients.set([alpha])
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
    response = signed_in(manager).post(_url("run"), {"month": "2026-03", "clients": [bravo.pk]})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    signed_in(manager).post(_url("run"), {"month": "2026-03"})
    assert not Invoice.objects.filter(client=bravo).exists()


# Spend records -----------------------------------------------------------------------------


@pytest.fixture
def spend_contract(alpha):
    contract = alpha.contracts.get()
    ServiceLine.objects.create(
        contract=contract, service="cloud", pricing_model=PricingModel.PERCENT_OF_SPEND,
        spend_percent=Decimal("10"),
    )  # fmt: skip
    return contract


def test_entering_a_months_spend(spend_contract, manager):
    http = signed_in(manager)
    page = http.get(_url("spend"), {"month": "2026-03"}).content.decode()
    assert "C-ALPHA" in page
    data = {"contract": spend_contract.pk, "service": "cloud", "month": "2026-03",
            "amount": "2500.00", "note": ""}  # fmt: skip
    assert http.post(_url("spend"), data).status_code == 302
    record = SpendRecord.objects.get()
    assert (record.amount, record.month, record.source) == (Decimal("2500.00"), MARCH, "entered")
    assert "2500.00" in http.get(_url("spend"), {"month": "2026-03"}).content.decode()
    for bad, error in [
        ({"amount": "-1"}, "greater than or equal to 0"),
        ({"amount": "1.234"}, "Ensure that there are no more than 2 decimal places."),
        ({"service": "security"}, "The contract bills no percentage of this service."),
        ({"month": "March"}, "Give the month as YYYY-MM."),
    ]:
        response = http.post(_url("spend"), {**data, **bad})
        assert response.status_code == 400, bad
        assert error in response.content.decode(), bad
    assert SpendRecord.objects.get().amount == Decimal("2500.00")


def _csv(text: str):
    return {"file": SimpleUploadedFile("spend.csv", text.encode(), content_type="text/csv")}


def test_importing_spend_from_csv(spend_contract, manager):
    http = signed_in(manager)
    good = (
        "contract,service,month,amount\nC-ALPHA,cloud,2026-03,100.00\nC-ALPHA,cloud,2026-04,200\n"
    )
    assert http.post(_url("spend-import"), _csv(good)).status_code == 302
    assert sorted(SpendRecord.objects.values_list("amount", flat=True)) == [
        Decimal("100.00"),
        Decimal("200.00"),
    ]
    assert {r.source for r in SpendRecord.objects.all()} == {"csv"}


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        (
            "contract,service,month,amount\nC-ALPHA,cloud,2026-05,1\nC-NONE,cloud,2026-05,1\n"
            "C-ALPHA,cloud,May,1\nC-ALPHA,cloud,2026-05,-3\n",
            ["Row 3: no contract 'C-NONE'.", "Row 4: month must be YYYY-MM.", "Row 5: amount"],
        ),
        ("contract,month\nC-ALPHA,2026-05\n", ["Missing columns: service, amount."]),
        ("contract,service,month,amount\nC-ALPHA,cloud\n", ["Row 2: month, amount missing."]),
        ("", ["The submitted file is empty."]),
    ],
)
def test_a_bad_csv_names_each_row_and_imports_nothing(spend_contract, manager, text, errors):
    response = signed_in(manager).post(_url("spend-import"), _csv(text))
    assert response.status_code == 400
    page = response.content.decode().replace("&#x27;", "'")
    assert "Nothing was imported" in page
    for error in errors:
        assert error in page, error
    assert not SpendRecord.objects.exists()


def test_a_binary_file_is_refused_with_a_message(spend_contract, manager):
    upload = {"file": SimpleUploadedFile("spend.csv", b"\xff\xfe\x00\x81garbage")}
    response = signed_in(manager).post(_url("spend-import"), upload)
    assert response.status_code == 400 and "not UTF-8 text" in response.content.decode()


def test_a_csv_naming_another_managers_contract_imports_nothing(spend_contract, bravo):
    from tests.factories import TeamFactory

    team = TeamFactory()
    team.clients.set([spend_contract.client])
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
    ServiceLine.objects.create(
        contract=bravo.contracts.get(), service="cloud",
        pricing_model=PricingModel.PERCENT_OF_SPEND, spend_percent=Decimal("10"),
    )  # fmt: skip
    text = "contract,service,month,amount\nC-ALPHA,cloud,2026-05,1\nC-BRAVO,cloud,2026-05,1\n"
    response = signed_in(manager).post(_url("spend-import"), _csv(text))
    assert response.status_code == 400
    assert not SpendRecord.objects.exists()


# Rates and taxes ---------------------------------------------------------------------------


def test_rates_and_taxes(alpha, bravo, manager, admin_user):
    from reporting.billing.models import HourlyRate

    url = _url("rates")
    admin = signed_in(admin_user)
    assert admin.post(url, {"form": "tax", "name": "GST", "percent": "10"}).status_code == 302
    gst = TaxRate.objects.get(name="GST")
    response = admin.post(url, {"form": "tax", "name": "Bad", "percent": "-1"})
    assert response.status_code == 400 and "greater than or equal to 0" in response.content.decode()
    data = {"form": "rate", "client": "", "work_type": "remote", "currency": "usd", "rate": "95"}
    assert admin.post(url, data).status_code == 302
    assert HourlyRate.objects.get(client=None).rate == Decimal("95.00")
    http = signed_in(manager)
    # Account managers: a client's override and taxes, not the default card nor new taxes.
    assert http.post(url, data).status_code == 403
    assert http.post(url, {"form": "tax", "name": "X", "percent": "1"}).status_code == 403
    override = {**data, "client": alpha.pk, "rate": "80"}
    assert http.post(url, override).status_code == 302
    assert HourlyRate.objects.get(client=alpha).rate == Decimal("80.00")
    assert http.post(url, {**override, "currency": "dollars"}).status_code == 400
    taxes = {"form": "client_taxes", "client": alpha.pk, "tax_rates": [gst.pk]}
    assert http.post(url, taxes).status_code == 302
    assert [t.tax_rate for t in alpha.tax_rates.all()] == [gst]
    page = http.get(url, {"client": alpha.pk}).content.decode()
    assert "80.00 USD" in page and "95.00 USD" in page
    assert http.post(url, {"form": "nonsense"}).status_code == 400
    tech = signed_in(StaffFactory(role=UserRole.TECHNICIAN))
    assert tech.get(url).status_code == 403


def test_rates_of_another_managers_client_are_refused(alpha, bravo):
    from tests.factories import TeamFactory

    team = TeamFactory()
    team.clients.set([alpha])
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[team])
    http = signed_in(manager)
    url = _url("rates")
    data = {"form": "rate", "client": bravo.pk, "work_type": "remote", "currency": "USD",
            "rate": "1"}  # fmt: skip
    response = http.post(url, data)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    taxes = {"form": "client_taxes", "client": bravo.pk, "tax_rates": []}
    assert http.post(url, taxes).status_code == 400
    assert bravo.tax_rates.count() == 1
    assert "Bravo" not in http.get(url, {"client": bravo.pk}).content.decode()
