"""Contract forms, the evaluation on demand, remediation plans and breach exemptions, through
the account managers' pages."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from contracts.choices import ContractStatus, LadderStep
from contracts.models import (
    BreachExemption,
    ComplianceTarget,
    Contract,
    MaintenanceWindow,
    MonthlyEvaluation,
    Outage,
    ServiceLine,
)
from contracts.services import contract_create
from tests.factories import AssetFactory
from tests.helpers import signed_in
from tickets.services import ticket_open

pytestmark = pytest.mark.django_db


def contract_fields(client, policy, **changes) -> dict:
    fields = {
        "client": client.pk,
        "number": "C-77",
        "name": "Security services",
        "type": "co_managed",
        "start_date": "2026-07-01",
        "end_date": "2027-06-30",
        "renewal_months": "12",
        "notice_days": "60",
        "billing_cycle": "monthly",
        "monthly_fee": "1500.00",
        "currency": "eur",
        "sla_policy": policy.pk,
        "credit_percent": "5",
        "escalated_credit_percent": "10",
        "escalate_after_months": "3",
        "credit_cap_percent": "20",
        "remediation_after_months": "2",
        "credit_after_months": "3",
        "termination_after_months": "6",
    }
    return {**fields, **changes}


class TestContractForm:
    def test_create_a_draft_contract(self, account_manager, client_a, policy):
        response = signed_in(account_manager).post(
            reverse("contracts:create"), contract_fields(client_a, policy)
        )
        contract = Contract.objects.get(number="C-77")
        assert response.url == reverse("contracts:detail", args=[contract.pk])
        assert (contract.status, contract.currency, contract.monthly_fee) == (
            ContractStatus.DRAFT,
            "EUR",
            Decimal("1500.00"),
        )

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"end_date": "2026-06-01"}, "The contract cannot end before it starts."),
            ({"monthly_fee": "-5"}, "greater than or equal to 0"),
            ({"credit_cap_percent": "2"}, "The cap cannot be below a single credit."),
            ({"currency": "EURO"}, "at most 3 characters"),
            ({"currency": "E1R"}, "three-letter currency code"),
            ({"start_date": "someday"}, "Enter a valid date."),
        ],
    )
    def test_bad_terms_are_form_errors(self, account_manager, client_a, policy, changes, message):
        response = signed_in(account_manager).post(
            reverse("contracts:create"), contract_fields(client_a, policy, **changes)
        )
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Contract.objects.filter(number="C-77").exists()

    def test_edit_terms_keeps_the_client(self, account_manager, contract, client_b, policy):
        response = signed_in(account_manager).post(
            reverse("contracts:edit", args=[contract.pk]),
            contract_fields(client_b, policy, number="C-50", monthly_fee="1250.00"),
        )
        assert response.status_code == 302
        contract.refresh_from_db()
        assert (contract.monthly_fee, contract.client.name) == (Decimal("1250.00"), "Client A")

    @pytest.mark.parametrize(
        "url",
        [
            ("contracts:create", []),
            ("contracts:edit", ["pk"]),
            ("contracts:part-create", ["pk", "lines"]),
            ("contracts:evaluate", ["pk"]),
        ],
    )
    def test_only_account_managers_and_admins(self, technician, client_user_a, contract, url):
        name, args = url
        path = reverse(name, args=[contract.pk if arg == "pk" else arg for arg in args])
        assert signed_in(technician).post(path, {}).status_code == 403
        assert signed_in(client_user_a).post(path, {}).status_code == 403
        assert signed_in(technician).get(path).status_code in (403, 405)


class TestParts:
    def post(self, user, contract, part, data, part_pk=None):
        if part_pk:
            url = reverse("contracts:part-edit", args=[contract.pk, part, part_pk])
        else:
            url = reverse("contracts:part-create", args=[contract.pk, part])
        return signed_in(user).post(url, data)

    def test_service_line_with_hourly_rates(self, account_manager, contract):
        response = self.post(
            account_manager,
            contract,
            "lines",
            {
                "service": "service_desk",
                "pricing_model": "hourly",
                "unit_price": "0",
                "hourly_rates": "remote=95.00, onsite=140",
                "availability_target": "99.5",
            },
        )
        assert response.status_code == 302
        line = ServiceLine.objects.get(contract=contract)
        assert line.hourly_rates == {"remote": "95.00", "onsite": "140"}
        page = signed_in(account_manager).get(
            reverse("contracts:part-edit", args=[contract.pk, "lines", line.pk])
        )
        assert "remote=95.00, onsite=140" in page.content.decode()

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"pricing_model": "per_device", "unit_price": "-1"}, "greater than or equal to 0"),
            ({"pricing_model": "block_of_hours", "unit_price": "900"}, "number of hours"),
            ({"pricing_model": "hourly", "hourly_rates": "remote=lots"}, "is not work_type=price"),
            ({"pricing_model": "hourly", "hourly_rates": ""}, "Give a price per hour"),
        ],
    )
    def test_bad_service_lines(self, account_manager, contract, data, message):
        base = {"service": "network", "unit_price": "10", "availability_target": "99.9"}
        response = self.post(account_manager, contract, "lines", {**base, **data})
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not ServiceLine.objects.exists()

    def test_compliance_target_once_per_priority_and_metric(self, account_manager, contract):
        data = {"priority": "P1", "metric": "response", "percent": "95"}
        assert self.post(account_manager, contract, "targets", data).status_code == 302
        response = self.post(account_manager, contract, "targets", data)
        assert response.status_code == 400
        assert ComplianceTarget.objects.count() == 1

    def test_window_in_the_clients_time_zone(self, account_manager, contract, client_a):
        server = AssetFactory(client=client_a)
        data = {
            "name": "Patch Sunday",
            "asset": server.pk,
            "start": "2026-07-05T02:00",
            "duration_minutes": "120",
            "recurrence": "FREQ=WEEKLY;BYDAY=SU",
            "pauses_sla": "on",
        }
        assert self.post(account_manager, contract, "windows", data).status_code == 302
        window = MaintenanceWindow.objects.get()
        assert window.start == datetime(2026, 7, 5, 0, tzinfo=UTC)  # 02:00 in Berlin (CEST)
        assert window.pauses_sla

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "never occurs"),
            ({"recurrence": "FREQ=HOURLY"}, "recur daily, weekly"),
            ({"recurrence": "nonsense"}, "Not a valid recurrence rule"),
            ({"duration_minutes": "0"}, "greater than or equal to 1"),
        ],
    )
    def test_bad_windows(self, account_manager, contract, changes, message):
        data = {"name": "W", "start": "2026-07-05T02:00", "duration_minutes": "60", **changes}
        response = self.post(account_manager, contract, "windows", data)
        assert response.status_code == 400
        assert message in response.content.decode()

    def test_another_clients_asset_is_not_offered(self, account_manager, contract, client_b):
        foreign = AssetFactory(client=client_b)
        data = {"name": "W", "asset": foreign.pk, "start": "2026-07-05T02:00"}
        response = self.post(
            account_manager, contract, "windows", {**data, "duration_minutes": "60"}
        )
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()

    def test_outage_with_its_ticket(self, account_manager, contract, client_a, client_b):
        ticket = ticket_open(client=client_a, subject="Firewall down")
        foreign = ticket_open(client=client_b, subject="Other")
        data = {"service": "network", "start": "2026-07-01T10:00", "end": "2026-07-01T11:30"}
        response = self.post(
            account_manager, contract, "outages", {**data, "ticket_number": f"#{foreign.pk}"}
        )
        assert "No ticket of this client has that number." in response.content.decode()
        response = self.post(
            account_manager, contract, "outages", {**data, "end": "2026-07-01T09:00"}
        )
        assert "An outage ends after it starts." in response.content.decode()
        response = self.post(
            account_manager, contract, "outages", {**data, "ticket_number": str(ticket.pk)}
        )
        assert response.status_code == 302
        outage = Outage.objects.get()
        assert (outage.ticket, outage.end - outage.start) == (ticket, timedelta(minutes=90))

    def test_edit_and_remove(self, account_manager, contract):
        target = ComplianceTarget.objects.create(
            contract=contract, priority="P2", metric="resolution", percent=Decimal("90")
        )
        data = {"priority": "P2", "metric": "resolution", "percent": "92.5"}
        assert self.post(account_manager, contract, "targets", data, target.pk).status_code == 302
        target.refresh_from_db()
        assert target.percent == Decimal("92.5")
        signed_in(account_manager).post(
            reverse("contracts:part-delete", args=[contract.pk, "targets", target.pk])
        )
        assert not ComplianceTarget.objects.exists()

    def test_unknown_part_and_part_of_another_contract_are_404(
        self, account_manager, contract, client_b, policy
    ):
        other = contract_create(
            client=client_b,
            number="C-99",
            name="Other",
            start_date=date(2026, 1, 1),
            sla_policy=policy,
        )
        target = ComplianceTarget.objects.create(
            contract=other, priority="P1", metric="response", percent=Decimal("90")
        )
        http = signed_in(account_manager)
        assert (
            http.get(reverse("contracts:part-create", args=[contract.pk, "x"])).status_code == 404
        )
        edit = reverse("contracts:part-edit", args=[contract.pk, "targets", target.pk])
        assert http.get(edit).status_code == 404
        delete = reverse("contracts:part-delete", args=[contract.pk, "targets", target.pk])
        assert http.post(delete).status_code == 404
        assert ComplianceTarget.objects.filter(pk=target.pk).exists()


class TestEvaluationPages:
    def test_evaluate_on_demand_and_attach_a_plan(self, account_manager, contract, breached):
        http = signed_in(account_manager)
        http.post(reverse("contracts:evaluate", args=[contract.pk]), {"month": "2026-05"})
        response = http.post(
            reverse("contracts:evaluate", args=[contract.pk]), {"month": "2026-06"}, follow=True
        )
        assert "June 2026 evaluated: Warning." in response.content.decode()
        june = MonthlyEvaluation.objects.get(month=date(2026, 6, 1))
        june.ladder_step = LadderStep.REMEDIATION  # as if May had been missed too
        june.save()
        http.post(
            reverse("contracts:plan-add", args=[contract.pk, june.pk]),
            {
                "summary": "Nobody on call at lunch.",
                "actions": "Stagger lunches.",
                "due_date": "2026-07-31",
            },
        )
        page = http.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
        assert "Stagger lunches." in page
        assert "0 % (target 95 %)" in page

    def test_future_month_is_refused_with_a_message(self, account_manager, contract):
        response = signed_in(account_manager).post(
            reverse("contracts:evaluate", args=[contract.pk]), {"month": "2099-01"}, follow=True
        )
        assert "Only a month that has ended can be evaluated." in response.content.decode()
        response = signed_in(account_manager).post(
            reverse("contracts:evaluate", args=[contract.pk]), {"month": "June"}, follow=True
        )
        assert "Choose a month to evaluate." in response.content.decode()


class TestExemptionPages:
    def test_exempt_from_the_ticket_and_revoke_from_the_contract(
        self, account_manager, contract, breached
    ):
        http = signed_in(account_manager)
        ticket_url = reverse("tickets:detail", args=[breached.ticket_id])
        assert "Exempt this breach" in http.get(ticket_url).content.decode()
        response = http.post(
            reverse("contracts:exempt", args=[breached.pk]),
            {"cause": "client", "reason": "Client's switchboard was off."},
        )
        assert response.url == ticket_url
        page = http.get(ticket_url).content.decode()
        assert "Exempted (caused by the client)" in page
        assert "Exempt this breach" not in page
        exemption = BreachExemption.objects.get()
        http.post(
            reverse("contracts:exemption-revoke", args=[contract.pk, exemption.pk]),
            {"reason": "It was our phone."},
        )
        exemption.refresh_from_db()
        assert exemption.revoke_reason == "It was our phone."

    def test_bad_cause_is_a_message_not_an_exemption(self, account_manager, breached):
        response = signed_in(account_manager).post(
            reverse("contracts:exempt", args=[breached.pk]),
            {"cause": "weather", "reason": "Rain."},
            follow=True,
        )
        assert "is not a valid choice" in response.content.decode()
        assert not BreachExemption.objects.exists()

    def test_technicians_cannot_exempt(self, technician, breached):
        http = signed_in(technician)
        assert (
            "Exempt this breach"
            not in http.get(reverse("tickets:detail", args=[breached.ticket_id])).content.decode()
        )
        response = http.post(
            reverse("contracts:exempt", args=[breached.pk]), {"cause": "client", "reason": "x"}
        )
        assert response.status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_account_manager_sets_up_a_contract_in_a_browser(page, account_manager, client_a, policy):
    from tests.factories.msp import PASSWORD

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(account_manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspace/tickets/")
    page.goto("/workspace/contracts/")
    page.get_by_role("link", name="New contract").click()
    form = page.get_by_test_id("contract-form")
    form.get_by_label("Client").select_option(label="Client A")
    form.get_by_label("Number").fill("C-300")
    form.get_by_label("Name").fill("Managed security")
    form.get_by_label("Type").select_option("fully_managed")
    form.get_by_label("Start date").fill("2026-01-01")
    form.get_by_label("Monthly fee").fill("1800")
    form.get_by_label("Sla policy").select_option(str(policy.pk))
    form.get_by_label("Credit cap percent").fill("1")  # below a single 5 % credit
    page.get_by_role("button", name="Save contract").click()
    assert page.get_by_text("The cap cannot be below a single credit.").is_visible()
    form.get_by_label("Credit cap percent").fill("15")
    page.get_by_role("button", name="Save contract").click()
    assert "C-300 Managed security" in page.get_by_test_id("contract-title").inner_text()

    page.get_by_role("link", name="Add service line").click()
    line = page.get_by_test_id("part-form")
    line.get_by_label("Service", exact=True).select_option("security")
    line.get_by_label("Pricing model").select_option("fixed_retainer")
    line.get_by_label("Unit price").fill("400")
    page.get_by_role("button", name="Save service line").click()
    assert page.get_by_test_id("total").inner_text() == "2200.00 USD"

    page.get_by_role("button", name="Make active").click()
    assert "Active" in page.get_by_test_id("contract-title").inner_text()
    page.get_by_label("Evaluate month").fill("2026-03")
    page.get_by_role("button", name="Evaluate", exact=True).click()
    assert page.get_by_text("March 2026 evaluated: On target.").is_visible()
    assert page.get_by_test_id("evaluation").first.inner_text().startswith("March 2026")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="remove").first.click()
    page.wait_for_url("**/workspace/contracts/*/")
    assert page.get_by_text("The service line is removed.").is_visible()
