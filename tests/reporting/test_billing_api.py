"""The billing API: who reads and acts (a matrix over every billing endpoint and role), client
users' finalised documents only, scoped account managers, the actions through the services,
filters, 400 with field details, spend records sent over the API and imported, exports that
answer with the CSV and record it, and list queries that do not grow with the page."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.choices import PricingModel
from contracts.models import ServiceLine
from msp.models import OutboxMessage
from reporting.billing import services
from reporting.billing.api import BILLING_ROUTES
from reporting.billing.models import (
    AccountingExport,
    HourlyRate,
    Invoice,
    InvoiceRun,
    SpendRecord,
    TaxRate,
)
from reporting.billing.services import invoice_run_create
from tests.factories import ClientUserFactory, StaffFactory, TeamFactory
from tests.reporting.billing_world import billed_client, final_invoice

pytestmark = pytest.mark.django_db

LISTS = [prefix for prefix, _ in BILLING_ROUTES]


@pytest.fixture
def world(admin_user):
    a = billed_client(name="Alpha")
    b = billed_client(name="Beta")
    final_a, final_b = final_invoice(a, admin_user), final_invoice(b, admin_user)
    team = TeamFactory(name="Pod A")
    team.clients.set([a])
    HourlyRate.objects.create(work_type="remote", currency="USD", rate=Decimal("95.00"))
    return {"a": a, "b": b, "final_a": final_a, "final_b": final_b, "team": team}


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("resource", LISTS)
@pytest.mark.parametrize(
    ("role", "expected"),
    [("technician", 403), ("dispatcher", 403), ("account_manager", 200), ("admin", 200)],
)
def test_staff_roles_read_matrix(resource, role, expected, world, api_as):
    user = StaffFactory(role=role, tier="L1" if role == "technician" else "")
    assert api_as(user, "read").get(f"/api/v1/{resource}/").status_code == expected


@pytest.mark.parametrize("resource", [r for r in LISTS if r != "invoices"])
def test_client_users_reach_invoices_only(resource, world, api_as):
    user = ClientUserFactory(client=world["a"])
    assert api_as(user, "read").get(f"/api/v1/{resource}/").status_code == 403


def test_client_users_see_their_finalised_documents_only(world, api_as, admin_user):
    user = ClientUserFactory(client=world["a"])
    invoice_run_create(month=date(2026, 4, 1), client_ids=[world["a"].pk])
    draft = Invoice.objects.get(client=world["a"], status="draft")
    client = api_as(user, "read")
    listed = client.get("/api/v1/invoices/")
    assert ids(listed) == {world["final_a"].pk}
    detail = client.get(f"/api/v1/invoices/{world['final_a'].pk}/").json()
    assert detail["number"] == world["final_a"].number and len(detail["lines"]) >= 2
    assert client.get(f"/api/v1/invoices/{world['final_b'].pk}/").status_code == 404
    assert client.get(f"/api/v1/invoices/{draft.pk}/").status_code == 404
    writer = api_as(user, "write")
    for path in ("void/", "credit-note/", "review/", "finalise/"):
        answer = writer.post(f"/api/v1/invoices/{world['final_a'].pk}/{path}", {"reason": "x"})
        assert answer.status_code == 403, path
    assert writer.post("/api/v1/invoices/run/", {"month": "2026-03"}).status_code == 403


def test_scoped_account_manager_sees_and_acts_on_their_clients_only(world, api_as):
    manager = StaffFactory(role="account_manager", tier="", teams=[world["team"]])
    client = api_as(manager)
    assert ids(client.get("/api/v1/invoices/")) == {world["final_a"].pk}
    other = world["final_b"]
    for path in ("void/", "credit-note/", "review/", "finalise/", "reopen/"):
        answer = client.post(f"/api/v1/invoices/{other.pk}/{path}", {"reason": "x"})
        assert answer.status_code == 404, path
    other.refresh_from_db()
    assert other.status == "finalised" and not other.credit_notes.exists()
    answer = client.post(
        "/api/v1/accounting-exports/",
        {"format": "xero", "invoices": [other.pk]},
        format="json",
    )
    assert answer.status_code == 400 and "invoices" in answer.json()["errors"]
    answer = client.post("/api/v1/accounting-exports/", {"format": "xero"}, format="json")
    assert answer.status_code == 201
    assert AccountingExport.objects.get().invoices.get() == world["final_a"]


def emailed(document_id: int) -> list[str]:
    """The clients whose billing contacts were sent the document (by their address)."""
    return [
        message.email.removeprefix("ap@").removesuffix(".example")
        for message in OutboxMessage.objects.filter(attachment=f"invoice:{document_id}")
    ]


def test_run_review_finalise_credit_note_and_void(admin_user, api_as):
    customer = billed_client(name="Gamma")
    client = api_as(admin_user)
    answer = client.post(
        "/api/v1/invoices/run/", {"month": "2026-03", "clients": [customer.pk]}, format="json"
    )
    assert answer.status_code == 202
    queued = answer.json()
    assert (queued["state"], queued["client_ids"]) == ("queued", [customer.pk])
    run_url = f"/api/v1/invoices/runs/{queued['id']}/"
    assert client.get(run_url).json()["state"] == "queued"
    services.invoice_run_execute(run=InvoiceRun.objects.get(pk=queued["id"]))  # the worker
    done = client.get(run_url).json()
    assert (done["state"], done["created"], done["errors"]) == ("finished", 1, [])
    invoice = Invoice.objects.get(client=customer)
    assert client.post(f"/api/v1/invoices/{invoice.pk}/finalise/").status_code == 409
    assert client.post(f"/api/v1/invoices/{invoice.pk}/review/").json()["status"] == "reviewed"
    final = client.post(f"/api/v1/invoices/{invoice.pk}/finalise/").json()
    assert final["status"] == "finalised" and final["number"].startswith("INV-")
    # Finalised over the API, it is emailed to the billing contacts like one from the page.
    assert emailed(invoice.pk) == [customer.slug]
    fee = next(line for line in final["lines"] if line["kind"] == "fixed_fee")
    answer = client.post(
        f"/api/v1/invoices/{invoice.pk}/credit-note/",
        {"reason": "Goodwill", "amounts": {str(fee["id"]): "100.00"}},
        format="json",
    )
    assert answer.status_code == 201
    note = answer.json()
    assert note["kind"] == "credit_note" and Decimal(note["total"]) == Decimal("-120.00")
    assert emailed(note["id"]) == [customer.slug]
    answer = client.post(f"/api/v1/invoices/{invoice.pk}/void/", {"reason": ""}, format="json")
    assert answer.status_code == 400 and "reason" in answer.json()["errors"]
    answer = client.post(f"/api/v1/invoices/{invoice.pk}/void/", {"reason": "Wrong"}, format="json")
    assert answer.status_code == 201
    assert Decimal(answer.json()["total"]) == -(Decimal(final["total"]) - Decimal("120.00"))
    assert emailed(answer.json()["id"]) == [customer.slug]
    assert client.get(f"/api/v1/invoices/{invoice.pk}/").json()["status"] == "void"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("invoices/run/", {"month": "March"}, "month"),
        ("invoices/run/", {"month": "2026-03", "clients": [999999]}, "clients"),
        ("invoices/run/", {"month": "2999-01"}, "month"),
        ("accounting-exports/", {"format": "sage"}, "format"),
        ("accounting-exports/", {"format": "xero", "invoices": [0]}, "invoices"),
        ("spend-records/", {"contract": 999999, "service": "x", "month": "2026-03"}, "contract"),
    ],
)
def test_bad_input_is_400_with_field_details(path, body, field, world, admin_user, api_as):
    answer = api_as(admin_user).post(f"/api/v1/{path}", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["errors"]


def test_credit_note_amounts_are_checked(world, admin_user, api_as):
    invoice = world["final_a"]
    client = api_as(admin_user)
    for amounts in ({"abc": "1.00"}, {"1": "-5"}, {str(invoice.lines.first().pk): "999999"}):
        answer = client.post(
            f"/api/v1/invoices/{invoice.pk}/credit-note/",
            {"reason": "x", "amounts": amounts},
            format="json",
        )
        assert answer.status_code == 400, amounts
        assert "amounts" in answer.json()["errors"]
    assert not invoice.credit_notes.exists()


def test_filters_and_ordering(world, admin_user, api_as):
    client = api_as(admin_user)
    a, b = world["final_a"], world["final_b"]
    assert ids(client.get("/api/v1/invoices/", {"client": world["a"].pk})) == {a.pk}
    assert ids(client.get("/api/v1/invoices/", {"period": "2026-03"})) == {a.pk, b.pk}
    assert ids(client.get("/api/v1/invoices/", {"period": "2026-02"})) == set()
    assert client.get("/api/v1/invoices/", {"period": "soon"}).status_code == 400
    assert ids(client.get("/api/v1/invoices/", {"kind": "credit_note"})) == set()
    assert ids(client.get("/api/v1/invoices/", {"status": "finalised"})) == {a.pk, b.pk}
    client.post(
        "/api/v1/accounting-exports/", {"format": "quickbooks", "invoices": [a.pk]}, format="json"
    )
    assert ids(client.get("/api/v1/invoices/", {"exported": "true"})) == {a.pk}
    assert ids(client.get("/api/v1/invoices/", {"exported": "false"})) == {b.pk}
    assert client.get("/api/v1/invoices/", {"exported": "maybe"}).status_code == 400
    numbers = [
        r["number"] for r in client.get("/api/v1/invoices/?ordering=-number").json()["results"]
    ]
    assert numbers == sorted(numbers, reverse=True)


def test_export_answers_with_the_csv_and_records_it(world, admin_user, api_as):
    client = api_as(admin_user)
    answer = client.post("/api/v1/accounting-exports/", {"format": "xero"}, format="json")
    assert answer.status_code == 201 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert {row["*InvoiceNumber"] for row in rows} == {
        world["final_a"].number,
        world["final_b"].number,
    }
    export = AccountingExport.objects.get()
    assert answer["Location"] == f"/api/v1/accounting-exports/{export.pk}/"
    listed = client.get("/api/v1/accounting-exports/").json()["results"]
    assert listed[0]["documents"] == sorted(listed[0]["documents"]) or listed[0]["documents"]
    assert client.get(f"/api/v1/accounting-exports/{export.pk}/csv/").content == answer.content
    again = client.post("/api/v1/accounting-exports/", {"format": "xero"}, format="json")
    assert again.status_code == 400 and "invoices" in again.json()["errors"]
    named = {"format": "xero", "invoices": [world["final_a"].pk]}
    assert client.post("/api/v1/accounting-exports/", named, format="json").status_code == 400
    named["again"] = True
    assert client.post("/api/v1/accounting-exports/", named, format="json").status_code == 201
    assert AccountingExport.objects.filter(again=True).count() == 1


def test_spend_records_sent_over_the_api_and_imported(world, admin_user, api_as):
    contract = world["a"].contracts.get()
    ServiceLine.objects.create(
        contract=contract,
        service="cloud",
        pricing_model=PricingModel.PERCENT_OF_SPEND,
        spend_percent=Decimal("10"),
    )
    client = api_as(admin_user)
    body = {"contract": contract.pk, "service": "cloud", "month": "2026-04", "amount": "1234.50"}
    answer = client.post("/api/v1/spend-records/", body, format="json")
    assert answer.status_code == 201, answer.json()
    record = answer.json()
    assert record["source"] == "api" and record["month"] == "2026-04"
    assert record["client"] == world["a"].pk
    answer = client.patch(
        f"/api/v1/spend-records/{record['id']}/", {"amount": "1300.00"}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["amount"] == "1300.00"
    answer = client.post("/api/v1/spend-records/", {**body, "service": "backup"}, format="json")
    assert answer.status_code == 400 and "service" in answer.json()["errors"]
    answer = client.post("/api/v1/spend-records/", {**body, "amount": "-1"}, format="json")
    assert answer.status_code == 400 and "amount" in answer.json()["errors"]
    text = f"contract,service,month,amount\n{contract.number},cloud,2026-05,99.99\n"
    answer = client.post("/api/v1/spend-records/import/", {"csv": text}, format="json")
    assert answer.status_code == 201 and answer.json()[0]["source"] == "csv"
    bad = "contract,service,month,amount\nNOPE,cloud,2026-05,1\n"
    answer = client.post("/api/v1/spend-records/import/", {"csv": bad}, format="json")
    assert answer.status_code == 400 and "file" in answer.json()["errors"]
    assert SpendRecord.objects.count() == 2
    assert SpendRecord.objects.get(month=date(2026, 4, 1)).amount == Decimal("1300.00")


def test_rates_and_taxes_read(world, account_manager, api_as):
    client = api_as(account_manager, "read")
    taxes = client.get("/api/v1/tax-rates/").json()["results"]
    assert [t["name"] for t in taxes] == [t.name for t in TaxRate.objects.all()]
    rates = client.get("/api/v1/hourly-rates/").json()["results"]
    assert [(r["work_type"], r["rate"], r["client"]) for r in rates] == [("remote", "95.00", None)]
    assert client.post("/api/v1/tax-rates/", {"name": "x"}).status_code in (403, 405)


def test_invoice_list_queries_do_not_grow_with_the_page(world, admin_user, api_as):
    client = api_as(admin_user, "read")
    client.get("/api/v1/invoices/")  # warm the token and caches
    with CaptureQueriesContext(connection) as two:
        client.get("/api/v1/invoices/")
    for n in range(4):
        final_invoice(billed_client(name=f"More {n}"), admin_user)
    with CaptureQueriesContext(connection) as six:
        assert len(client.get("/api/v1/invoices/").json()["results"]) == 6
    assert len(six) == len(two)
