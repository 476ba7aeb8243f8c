from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from contracts.choices import ComplianceMetric, ContractStatus, PricingModel, Service
from contracts.models import ComplianceTarget, Outage, ServiceLine
from contracts.services import contract_change_status
from tests.factories import AssetFactory, ContactFactory, ContractFactory
from tests.factories.msp import PASSWORD
from tests.helpers import signed_in
from tickets import services as ticket_services
from tickets.choices import Impact, Urgency

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
def contract(client_a):
    contract = ContractFactory(client=client_a, number="C-42", monthly_fee=Decimal("2000.00"))
    ServiceLine.objects.create(
        contract=contract,
        service=Service.INFRASTRUCTURE,
        pricing_model=PricingModel.PER_DEVICE,
        unit_price=Decimal("50.00"),
        availability_target=Decimal("99.900"),
    )
    ServiceLine.objects.create(
        contract=contract,
        service=Service.SERVICE_DESK,
        pricing_model=PricingModel.BLOCK_OF_HOURS,
        unit_price=Decimal("900.00"),
        block_hours=Decimal("10"),
        overage_rate=Decimal("110.00"),
    )
    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric=ComplianceMetric.RESPONSE, percent=Decimal("95")
    )
    return contract_change_status(contract=contract, status=ContractStatus.ACTIVE)


def test_detail_shows_charges_block_hours_availability_and_compliance(
    contract, client_a, account_manager, technician
):
    AssetFactory.create_batch(4, client=client_a)
    Outage.objects.create(
        contract=contract,
        service=Service.INFRASTRUCTURE,
        start=datetime(2026, 6, 3, 10, tzinfo=UTC),
        end=datetime(2026, 6, 3, 12, tzinfo=UTC),
    )
    with time_machine.travel(NOW, tick=False):
        p1 = ticket_services.ticket_open(
            client=client_a,
            contact=ContactFactory(client=client_a),
            subject="Down",
            impact=Impact.HIGH,
            urgency=Urgency.HIGH,
            at=datetime(2026, 6, 10, 9, tzinfo=UTC),
        )
        ticket_services.ticket_reply(
            ticket=p1, author=technician, body="On it", at=datetime(2026, 6, 10, 9, 5, tzinfo=UTC)
        )
        ticket_services.time_entry_log(ticket=p1, user=technician, minutes=11 * 60)
        content = (
            signed_in(account_manager)
            .get(reverse("contracts:detail", args=[contract.pk]))
            .content.decode()
        )
    # 2,000 fee + 4 devices x 50 + block 900 + 1 h over x 110.
    assert "3210.00 USD" in content
    assert "11.00 of 10.00 h used, 1.00 h over" in content
    assert "99.722 %" in content  # 2 h down in June's 720 h
    assert "100.00 %" in content  # the P1 response was met
    assert "Make terminated" in content


def test_list_filters_and_query_count(contract, account_manager, django_assert_num_queries):
    http = signed_in(account_manager)
    assert "C-42" in http.get(reverse("contracts:list")).content.decode()
    assert "C-42" not in http.get(reverse("contracts:list"), {"status": "draft"}).content.decode()
    # session, user, the user's visible clients, count, the page of contracts
    with django_assert_num_queries(5):
        http.get(reverse("contracts:list"))


def test_status_change_by_role(contract, account_manager, technician):
    assert (
        signed_in(technician)
        .post(reverse("contracts:status", args=[contract.pk]), {"status": "terminated"})
        .status_code
        == 403
    )
    response = signed_in(account_manager).post(
        reverse("contracts:status", args=[contract.pk]), {"status": "draft"}, follow=True
    )
    assert "A contract that is active cannot become draft." in response.content.decode()
    signed_in(account_manager).post(
        reverse("contracts:status", args=[contract.pk]), {"status": "terminated"}
    )
    contract.refresh_from_db()
    assert contract.status == ContractStatus.TERMINATED


def test_client_users_cannot_see_contract_pages(contract, client_user_a):
    http = signed_in(client_user_a)
    assert http.get(reverse("contracts:list")).status_code == 403
    assert http.get(reverse("contracts:detail", args=[contract.pk])).status_code == 403


def test_unknown_contract_is_404(account_manager):
    assert (
        signed_in(account_manager).get(reverse("contracts:detail", args=[987654])).status_code
        == 404
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_account_manager_pages_in_a_browser(page, contract, account_manager):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(account_manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspace/tickets/")
    page.get_by_role("link", name="Contracts").click()
    page.get_by_role("link", name="C-42").click()
    assert "Managed IT" in page.get_by_test_id("contract-title").inner_text()
    assert page.get_by_test_id("total").inner_text().endswith("USD")
    page.get_by_role("button", name="Make terminated").click()
    assert "Terminated" in page.get_by_test_id("contract-title").inner_text()


def test_usage_counts_the_clients_local_month_only(contract, client_a, technician):
    from tickets.selectors import contract_usage

    client_a.timezone = "Europe/Berlin"
    client_a.save()
    ticket = ticket_services.ticket_open(
        client=client_a, subject="Hours", at=datetime(2026, 5, 20, 9, tzinfo=UTC)
    )
    ticket_services.time_entry_log(
        ticket=ticket, user=technician, minutes=30, spent_on=date(2026, 5, 31)
    )
    ticket_services.time_entry_log(
        ticket=ticket, user=technician, minutes=45, spent_on=date(2026, 6, 1)
    )
    usage = contract_usage(
        contract_id=contract.pk, first_day=date(2026, 6, 1), next_first_day=date(2026, 7, 1)
    )
    assert usage == {"remote": 45}


@pytest.mark.parametrize("extra_lines", [0, 6])
def test_detail_query_count_does_not_grow_with_lines(
    contract, account_manager, django_assert_num_queries, extra_lines
):
    for _ in range(extra_lines):
        ServiceLine.objects.create(
            contract=contract,
            service=Service.NETWORK,
            pricing_model=PricingModel.PER_DEVICE,
            unit_price=Decimal("5.00"),
            asset_kinds=["server"],
        )
    http = signed_in(account_manager)
    # session, user, the user's visible clients, contract with lines and targets (3), usage,
    # devices by kind, seats, outages (no windows to read for availability: none), compliance,
    # evaluations, exemptions, windows and outages listed: the same with 2 lines or 8.
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(15):
        http.get(reverse("contracts:detail", args=[contract.pk]))
