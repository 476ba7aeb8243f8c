"""Invoices in the client portal: a client user sees their own client's finalised invoices and
credit notes (never drafts, never another client's, whatever the URL), and downloads the PDF;
staff are refused; the portal's Invoices entry."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from reporting.billing import services
from reporting.billing.documents import credit_note_create_and_send
from tests.factories import ClientUserFactory
from tests.helpers import signed_in
from tests.reporting.test_billing_pages import (  # noqa: F401 - fixtures
    billed_client,
    finalised,
    invoice_of,
    manager,
    media,
    run_march,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(manager):  # noqa: F811
    alpha, bravo, charlie = (billed_client(n) for n in ("Alpha", "Bravo", "Charlie"))
    mine = finalised(alpha, manager)
    fee = mine.lines.get(kind="fixed_fee")
    note = credit_note_create_and_send(
        invoice=mine, by=manager, reason="Goodwill", amounts={fee.pk: "50.00"}
    )
    theirs = finalised(bravo, manager)
    run_march([charlie.pk])
    return {
        "user": ClientUserFactory(client=alpha),
        "mine": mine,
        "note": note,
        "theirs": theirs,
        "their_note": credit_note_create_and_send(invoice=theirs, by=manager, reason="x"),
        "alpha": alpha,
        "charlie": charlie,
    }


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_list_shows_our_finalised_invoices_and_credit_notes_only(world):
    http = signed_in(world["user"])
    page = http.get(reverse("portal:invoice-list")).content.decode()
    assert "Invoice INV-2026-0001" in page and "Credit note CN-2026-0001" in page
    assert world["theirs"].number not in page and "CN-2026-0002" not in page
    assert page.count('data-testid="invoice-row"') == 2
    assert 'href="/portal/invoices/"' in page  # the nav entry


def test_a_draft_of_our_own_is_not_shown(world, manager):  # noqa: F811
    draft = billed_client("Delta")
    user = ClientUserFactory(client=draft)
    run_march([draft.pk])
    invoice = invoice_of(draft)
    http = signed_in(user)
    assert (
        'data-testid="invoice-row"' not in http.get(reverse("portal:invoice-list")).content.decode()
    )
    assert http.get(reverse("portal:invoice-detail", args=[invoice.pk])).status_code == 404
    assert http.get(reverse("portal:invoice-pdf", args=[invoice.pk])).status_code == 404
    services.invoice_review(invoice=invoice, by=manager)  # reviewed is not final either
    assert http.get(reverse("portal:invoice-detail", args=[invoice.pk])).status_code == 404


def test_our_invoice_and_its_pdf(world):
    http = signed_in(world["user"])
    mine = world["mine"]
    page = http.get(reverse("portal:invoice-detail", args=[mine.pk])).content.decode()
    assert "Invoice INV-2026-0001" in page and "1080.00" in page
    assert "P1 response: target 95.000 %" in page
    assert world["note"].number in page  # its credit note
    # The service credit leads to the portal's report, not the workspace's.
    assert "/portal/reports/" in page and "/workspace/" not in page.split("<main")[1]
    response = http.get(reverse("portal:invoice-pdf", args=[mine.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment;" in response["Content-Disposition"]
    assert "private" in response["Cache-Control"]
    assert "INV-2026-0001" in _text(response.getvalue())


@pytest.mark.parametrize("what", ["theirs", "their_note"])
@pytest.mark.parametrize("name", ["portal:invoice-detail", "portal:invoice-pdf"])
def test_another_clients_invoice_is_404_by_url_guessing(world, name, what):
    http = signed_in(world["user"])
    response = http.get(reverse(name, args=[world[what].pk]))
    assert response.status_code == 404
    assert b"Bravo" not in response.content


def test_another_clients_draft_is_404(world):
    draft = invoice_of(world["charlie"])
    http = signed_in(world["user"])
    for name in ("portal:invoice-detail", "portal:invoice-pdf"):
        assert http.get(reverse(name, args=[draft.pk])).status_code == 404


@pytest.mark.parametrize(
    "name", ["portal:invoice-list", "portal:invoice-detail", "portal:invoice-pdf"]
)
def test_staff_are_refused_in_the_portal(world, manager, name):  # noqa: F811
    args = [] if name == "portal:invoice-list" else [world["mine"].pk]
    assert signed_in(manager).get(reverse(name, args=args)).status_code == 403


def test_signed_out_is_sent_to_sign_in(world):
    from django.test import Client

    response = Client().get(reverse("portal:invoice-pdf", args=[world["mine"].pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_list_takes_a_fixed_number_of_queries(world, manager, django_assert_max_num_queries):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    http = signed_in(world["user"])
    http.get(reverse("portal:invoice-list"))
    with CaptureQueriesContext(connection) as few:
        http.get(reverse("portal:invoice-list"))
    for _ in range(3):
        credit_note_create_and_send(
            invoice=world["mine"], by=manager, reason="More",
            amounts={world["mine"].lines.get(kind="fixed_fee").pk: "1.00"},
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        page = http.get(reverse("portal:invoice-list")).content.decode()
    assert page.count('data-testid="invoice-row"') == 5
    assert len(many) == len(few)
