"""The contract lifecycle, monthly evaluations, remediation plans and breach exemptions over
the API: the same services, rules and messages as the contract pages."""

from datetime import date

import pytest

from contracts.choices import ContractStatus, LadderStep
from contracts.models import BreachExemption, MonthlyEvaluation

pytestmark = pytest.mark.django_db


class TestLifecycle:
    def test_a_draft_is_activated_then_terminated(self, contract, account_manager, api_as):
        http = api_as(account_manager)
        url = f"/api/v1/contracts/{contract.pk}/status/"
        response = http.post(url, {"status": "active"}, format="json")
        assert response.status_code == 200 and response.json()["status"] == "active"
        response = http.post(url, {"status": "draft"}, format="json")
        assert response.status_code == 409
        assert response.json()["message"] == "A contract that is active cannot become draft."
        response = http.post(url, {"status": "terminated"}, format="json")
        assert response.json()["status"] == "terminated"
        contract.refresh_from_db()
        assert contract.status == ContractStatus.TERMINATED

    def test_an_unknown_status_is_a_field_error(self, contract, account_manager, api_as):
        response = api_as(account_manager).post(
            f"/api/v1/contracts/{contract.pk}/status/", {"status": "paused"}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"]["status"] == ['"paused" is not a valid choice.']

    @pytest.mark.parametrize("role", ["technician", "dispatcher"])
    def test_only_service_managers_change_it(self, role, contract, api_as, request):
        user = request.getfixturevalue(role)
        response = api_as(user).post(
            f"/api/v1/contracts/{contract.pk}/status/", {"status": "active"}, format="json"
        )
        assert response.status_code == 403
        contract.refresh_from_db()
        assert contract.status == ContractStatus.DRAFT


class TestEvaluations:
    def test_evaluate_read_and_plan(self, contract, breached, account_manager, api_as):
        http = api_as(account_manager)
        response = http.post(
            f"/api/v1/contracts/{contract.pk}/evaluate/", {"month": "2026-06"}, format="json"
        )
        assert response.status_code == 201
        june = response.json()
        assert (june["month"], june["ladder_step"], june["missed_targets"]) == (
            "2026-06-01",
            LadderStep.WARNING,
            1,
        )
        assert june["results"] == [
            {
                "kind": "compliance",
                "priority": "P1",
                "metric": "response",
                "service": "",
                "target_percent": "95.000",
                "measured_percent": "0.000",
                "met_count": 0,
                "breached_count": 1,
                "met": False,
            }
        ]
        listed = http.get("/api/v1/evaluations/", {"contract": contract.pk}).json()
        assert [row["id"] for row in listed["results"]] == [june["id"]]
        response = http.post(
            f"/api/v1/evaluations/{june['id']}/plans/",
            {
                "summary": "Nobody on call at lunch.",
                "actions": "Stagger lunches.",
                "due_date": "2026-07-31",
            },
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["author"] == account_manager.pk
        detail = http.get(f"/api/v1/evaluations/{june['id']}/").json()
        assert [plan["actions"] for plan in detail["plans"]] == ["Stagger lunches."]

    def test_a_month_not_over_is_refused(self, contract, account_manager, api_as):
        response = api_as(account_manager).post(
            f"/api/v1/contracts/{contract.pk}/evaluate/", {"month": "2099-01"}, format="json"
        )
        assert response.status_code == 400
        assert "Only a month that has ended can be evaluated." in str(response.json())
        assert not MonthlyEvaluation.objects.exists()

    def test_a_plan_needs_its_fields(self, contract, breached, account_manager, api_as):
        http = api_as(account_manager)
        june = http.post(
            f"/api/v1/contracts/{contract.pk}/evaluate/", {"month": "2026-06"}, format="json"
        ).json()
        response = http.post(f"/api/v1/evaluations/{june['id']}/plans/", {}, format="json")
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"summary", "actions", "due_date"}


class TestExemptions:
    def test_grant_then_revoke(self, breached, account_manager, api_as):
        http = api_as(account_manager)
        body = {"clock": breached.pk, "cause": "client", "reason": "Site closed for lunch."}
        response = http.post("/api/v1/breach-exemptions/", body, format="json")
        assert response.status_code == 201
        granted = response.json()
        assert (granted["ticket"], granted["granted_by"], granted["revoked_at"]) == (
            breached.ticket_id,
            account_manager.pk,
            None,
        )
        again = http.post("/api/v1/breach-exemptions/", body, format="json")
        assert again.status_code == 400
        assert "exempted already" in str(again.json())
        url = f"/api/v1/breach-exemptions/{granted['id']}/revoke/"
        assert http.post(url, {}, format="json").json()["errors"] == {
            "reason": ["This field is required."]
        }
        revoked = http.post(url, {"reason": "It was our fault."}, format="json")
        assert revoked.status_code == 200
        assert revoked.json()["revoke_reason"] == "It was our fault."
        assert http.post(url, {"reason": "Twice"}, format="json").status_code == 400
        assert BreachExemption.objects.get().revoked_by == account_manager

    def test_a_clock_not_breached_cannot_be_exempted(self, breached, account_manager, api_as):
        resolution = breached.ticket.sla_clocks.get(kind="resolution")
        response = api_as(account_manager).post(
            "/api/v1/breach-exemptions/",
            {"clock": resolution.pk, "cause": "client", "reason": "No"},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["errors"]["clock"] == ["Only a breached clock can be exempted."]

    def test_technicians_read_but_do_not_grant(self, breached, technician, api_as):
        http = api_as(technician)
        response = http.post(
            "/api/v1/breach-exemptions/",
            {"clock": breached.pk, "cause": "client", "reason": "x"},
            format="json",
        )
        assert response.status_code == 403
        assert http.get("/api/v1/breach-exemptions/").status_code == 200
        assert not BreachExemption.objects.exists()

    def test_a_clock_of_a_client_out_of_scope_is_unknown(
        self, breached, api_as, client_b, account_manager
    ):
        from tests.factories import StaffFactory, TeamFactory

        pod_b = TeamFactory(name="Pod B")
        pod_b.clients.set([client_b])
        manager_b = StaffFactory(role="account_manager", tier="", teams=[pod_b])
        response = api_as(manager_b).post(
            "/api/v1/breach-exemptions/",
            {"clock": breached.pk, "cause": "client", "reason": "x"},
            format="json",
        )
        assert response.status_code == 400
        assert "clock" in response.json()["errors"]
        assert not BreachExemption.objects.exists()


def test_the_evaluated_month_is_stored_in_the_clients_month(
    contract, breached, account_manager, api_as
):
    response = api_as(account_manager).post(
        f"/api/v1/contracts/{contract.pk}/evaluate/", {"month": "2026-06-17"}, format="json"
    )
    assert response.status_code == 201
    assert MonthlyEvaluation.objects.get().month == date(2026, 6, 1)


def test_compliance_targets_are_edited_like_the_contract_page(contract, account_manager, api_as):
    http = api_as(account_manager)
    body = {"contract": contract.pk, "priority": "P1", "metric": "response", "percent": "95"}
    response = http.post("/api/v1/compliance-targets/", body, format="json")
    assert response.status_code == 201
    target = response.json()
    assert http.post("/api/v1/compliance-targets/", body, format="json").status_code == 400
    response = http.patch(
        f"/api/v1/compliance-targets/{target['id']}/", {"percent": "120"}, format="json"
    )
    assert response.status_code == 400 and "percent" in response.json()["errors"]
    assert http.delete(f"/api/v1/compliance-targets/{target['id']}/").status_code == 204
    assert not contract.compliance_targets.exists()
