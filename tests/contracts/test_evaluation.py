"""The monthly evaluation: targets measured, the governance ladder, service credits with the
consecutive-month escalation and the cap, breach exemptions."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contracts.choices import (
    ComplianceMetric,
    ContractStatus,
    ExemptionCause,
    LadderStep,
    PricingModel,
    Service,
    TargetKind,
)
from contracts.models import ComplianceTarget, MonthlyEvaluation, Outage, ServiceLine
from contracts.services import (
    breach_exemption_grant,
    breach_exemption_revoke,
    contract_change_status,
    contract_create,
    contract_evaluations_run,
    contract_month_evaluate,
    credit_for,
    ladder_step_for,
    remediation_plan_add,
)
from msp.models import OutboxMessage
from sla.choices import ClockKind
from tests.factories import ContactFactory
from tickets.choices import Impact, Urgency
from tickets.services import ticket_open, ticket_reply

pytestmark = pytest.mark.django_db

AFTER_ALL = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def contract(client_a, account_manager, policy):
    client_a.timezone = "America/New_York"
    client_a.account_manager = account_manager
    client_a.save()
    contract = contract_create(
        client=client_a,
        number="C-7",
        name="Managed IT",
        start_date=date(2026, 1, 1),
        sla_policy=policy,
        monthly_fee=Decimal("2000.00"),
        credit_percent=Decimal("5"),
        escalated_credit_percent=Decimal("10"),
        escalate_after_months=4,
        credit_cap_percent=Decimal("20"),
        remediation_after_months=2,
        credit_after_months=3,
        termination_after_months=5,
    )
    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric=ComplianceMetric.RESPONSE, percent=Decimal("95")
    )
    ServiceLine.objects.create(
        contract=contract,
        service=Service.INFRASTRUCTURE,
        pricing_model=PricingModel.FIXED_RETAINER,
        unit_price=Decimal("100"),
        availability_target=Decimal("99.9"),
    )
    return contract_change_status(contract=contract, status=ContractStatus.ACTIVE)


def late_p1_response(contract, technician, *, opened: datetime):
    """A P1 answered after 20 minutes: its 15-minute response clock breaches at +15 min."""
    ticket = ticket_open(
        client=contract.client,
        contact=ContactFactory(client=contract.client),
        subject="Server down",
        impact=Impact.HIGH,
        urgency=Urgency.HIGH,
        at=opened,
    )
    ticket_reply(ticket=ticket, author=technician, body="On it", at=opened + timedelta(minutes=20))
    return ticket


def outage(contract, start: datetime, hours: int) -> None:
    Outage.objects.create(
        contract=contract,
        service=Service.INFRASTRUCTURE,
        start=start,
        end=start + timedelta(hours=hours),
    )


class TestLadderAndCredits:
    @pytest.mark.parametrize(
        ("months", "step"),
        [
            (0, LadderStep.OK),
            (1, LadderStep.WARNING),
            (2, LadderStep.REMEDIATION),
            (3, LadderStep.CREDIT),
            (4, LadderStep.CREDIT),
            (5, LadderStep.TERMINATION),
            (9, LadderStep.TERMINATION),
        ],
    )
    def test_one_rung_per_consecutive_missed_month(self, contract, months, step):
        assert ladder_step_for(contract=contract, consecutive_missed_months=months) == step

    @pytest.mark.parametrize(
        ("missed", "months", "percent", "amount"),
        [
            (2, 2, "0.00", "0.00"),  # below the credit rung: nothing owed yet
            (1, 3, "5.00", "100.00"),
            (2, 3, "10.00", "200.00"),
            (1, 4, "10.00", "200.00"),  # escalated from the 4th month
            (2, 4, "20.00", "400.00"),
            (3, 4, "20.00", "400.00"),  # 30 % capped at 20 %
            (0, 4, "0.00", "0.00"),
        ],
    )
    def test_credit_per_missed_target_escalated_and_capped(
        self, contract, missed, months, percent, amount
    ):
        assert credit_for(
            contract=contract, missed_targets=missed, consecutive_missed_months=months
        ) == (Decimal(percent), Decimal(amount))

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"credit_cap_percent": Decimal("4")}, "credit_cap_percent"),
            ({"escalated_credit_percent": Decimal("3")}, "escalated_credit_percent"),
            ({"credit_after_months": 1}, "credit_after_months"),
            ({"escalate_after_months": 2}, "escalate_after_months"),
            ({"credit_percent": Decimal("-1")}, "credit_percent"),
        ],
    )
    def test_inconsistent_credit_terms_are_refused(self, contract, fields, field):
        for name, value in fields.items():
            setattr(contract, name, value)
        with pytest.raises(ValidationError) as error:
            contract.full_clean()
        assert field in error.value.message_dict


class TestMonthlyEvaluation:
    def test_missed_months_climb_the_ladder_and_earn_credits(self, contract, technician):
        for month in (6, 7, 8, 9):
            late_p1_response(contract, technician, opened=datetime(2026, month, 10, 14, tzinfo=UTC))
            contract_month_evaluate(contract=contract, month=date(2026, month, 1), now=AFTER_ALL)
        # August also loses 2 h of infrastructure (99.73 % < 99.9 %): two targets missed.
        outage(contract, datetime(2026, 8, 20, 10, tzinfo=UTC), hours=2)
        august = contract_month_evaluate(contract=contract, month=date(2026, 8, 1), now=AFTER_ALL)
        evaluations = list(MonthlyEvaluation.objects.filter(contract=contract).order_by("month"))
        assert [e.ladder_step for e in evaluations] == [
            LadderStep.WARNING,
            LadderStep.REMEDIATION,
            LadderStep.CREDIT,
            LadderStep.CREDIT,
        ]
        assert [e.consecutive_missed_months for e in evaluations] == [1, 2, 3, 4]
        assert august.missed_targets == 2
        # 3rd month: 2 misses x 5 % of 2,000; 4th month: 1 miss x the escalated 10 %.
        assert [e.credit_amount for e in evaluations] == [
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("200.00"),
            Decimal("200.00"),
        ]
        results = {r.label: r for r in august.results.all()}
        assert results["P1 response"].measured_percent == Decimal("0.00")
        assert results["P1 response"].breached_count == 1
        assert not results["P1 response"].met
        availability = results["Managed infrastructure availability"]
        assert availability.kind == TargetKind.AVAILABILITY
        assert availability.measured_percent == Decimal("99.731")  # 2 h of August's 744 h
        assert not availability.met

    def test_a_met_month_resets_the_ladder_and_reevaluation_cascades(self, contract, technician):
        for month in (6, 7):
            late_p1_response(contract, technician, opened=datetime(2026, month, 10, 14, tzinfo=UTC))
        for month in (6, 7, 8):
            contract_month_evaluate(contract=contract, month=date(2026, month, 1), now=AFTER_ALL)
        steps = dict(MonthlyEvaluation.objects.values_list("month__month", "ladder_step"))
        assert steps == {6: LadderStep.WARNING, 7: LadderStep.REMEDIATION, 8: LadderStep.OK}
        # June turns out fine after all (its breach exempted): July is now a first miss.
        june_clock = contract.tickets.get(created_at__month=6).sla_clocks.get(kind="response")
        breach_exemption_grant(
            clock=june_clock,
            user=contract.client.account_manager,
            cause=ExemptionCause.CLIENT,
            reason="Client asked us not to call before 15:00.",
            at=AFTER_ALL,
        )
        june = contract_month_evaluate(contract=contract, month=date(2026, 6, 1), now=AFTER_ALL)
        assert june.ladder_step == LadderStep.OK
        assert june.exempted_clocks == 1
        july = MonthlyEvaluation.objects.get(month=date(2026, 7, 1))
        assert (july.ladder_step, july.consecutive_missed_months) == (LadderStep.WARNING, 1)

    def test_month_with_no_tickets_is_on_target(self, contract):
        evaluation = contract_month_evaluate(
            contract=contract, month=date(2026, 3, 1), now=AFTER_ALL
        )
        assert evaluation.ladder_step == LadderStep.OK
        assert evaluation.results.get(kind=TargetKind.COMPLIANCE).measured_percent is None

    def test_only_finished_months_of_the_contract(self, contract):
        with pytest.raises(ValidationError, match="Only a month that has ended"):
            contract_month_evaluate(
                contract=contract,
                month=date(2026, 6, 1),
                now=datetime(2026, 7, 1, 3, 59, tzinfo=UTC),  # 23:59 on 30 June in New York
            )
        with pytest.raises(ValidationError, match="had not started"):
            contract_month_evaluate(contract=contract, month=date(2025, 12, 1), now=AFTER_ALL)

    def test_account_manager_is_told_once_per_step(self, contract, technician):
        late_p1_response(contract, technician, opened=datetime(2026, 6, 10, 14, tzinfo=UTC))
        for _ in range(2):
            contract_month_evaluate(contract=contract, month=date(2026, 6, 1), now=AFTER_ALL)
        messages = OutboxMessage.objects.filter(key__startswith="evaluation:")
        assert messages.count() == 1
        assert messages.get().subject == ("Contract C-7 (Client A) missed 1 target(s) in June 2026")

    def test_scheduled_run_uses_the_clients_month_and_is_idempotent(self, contract):
        # 03:00 UTC on 1 August is still 31 July in New York: June is the last finished month.
        assert contract_evaluations_run(now=datetime(2026, 8, 1, 3, tzinfo=UTC)).evaluated == [
            "C-7 2026-06"
        ]
        assert contract_evaluations_run(now=datetime(2026, 8, 1, 5, tzinfo=UTC)).evaluated == [
            "C-7 2026-07"
        ]
        assert contract_evaluations_run(now=datetime(2026, 8, 1, 6, tzinfo=UTC)).evaluated == []
        assert MonthlyEvaluation.objects.count() == 2

    def test_beat_runs_the_evaluation_hourly(self):
        from msp.celery import app

        app.loader.import_default_modules()
        entry = app.conf.beat_schedule["contract-evaluations"]
        assert entry["task"] == "contracts.monthly_evaluations"

    def test_remediation_plan_attaches_to_the_month(self, contract, technician):
        late_p1_response(contract, technician, opened=datetime(2026, 6, 10, 14, tzinfo=UTC))
        evaluation = contract_month_evaluate(
            contract=contract, month=date(2026, 6, 1), now=AFTER_ALL
        )
        plan = remediation_plan_add(
            evaluation=evaluation,
            author=contract.client.account_manager,
            summary="P1 pages went to a single phone.",
            actions="Second on-call technician from July.",
            due_date=date(2026, 7, 15),
        )
        contract_month_evaluate(contract=contract, month=date(2026, 6, 1), now=AFTER_ALL)
        assert list(evaluation.plans.all()) == [plan]  # re-evaluating keeps the plan


class TestExemptions:
    def test_grant_revoke_audit(self, contract, technician, account_manager):
        ticket = late_p1_response(
            contract, technician, opened=datetime(2026, 6, 10, 14, tzinfo=UTC)
        )
        clock = ticket.sla_clocks.get(kind=ClockKind.RESPONSE)
        resolution = ticket.sla_clocks.get(kind=ClockKind.RESOLUTION)
        with pytest.raises(ValidationError, match="Only a breached clock"):
            breach_exemption_grant(
                clock=resolution, user=account_manager, cause="client", reason="x", at=AFTER_ALL
            )
        with pytest.raises(ValidationError, match="Write why"):
            breach_exemption_grant(
                clock=clock, user=account_manager, cause="client", reason="  ", at=AFTER_ALL
            )
        exemption = breach_exemption_grant(
            clock=clock,
            user=account_manager,
            cause=ExemptionCause.EXCLUSION,
            reason="Power cut at the client's site, excluded by clause 7.",
            at=AFTER_ALL,
        )
        with pytest.raises(ValidationError, match="exempted already"):
            breach_exemption_grant(
                clock=clock, user=account_manager, cause="client", reason="again", at=AFTER_ALL
            )
        june = contract_month_evaluate(contract=contract, month=date(2026, 6, 1), now=AFTER_ALL)
        assert june.ladder_step == LadderStep.OK
        revoked = breach_exemption_revoke(
            exemption=exemption,
            user=account_manager,
            reason="Clause 7 covers planned cuts only.",
            at=AFTER_ALL + timedelta(hours=1),
        )
        assert (revoked.revoked_by, revoked.revoke_reason) == (
            account_manager,
            "Clause 7 covers planned cuts only.",
        )
        june = contract_month_evaluate(contract=contract, month=date(2026, 6, 1), now=AFTER_ALL)
        assert june.ladder_step == LadderStep.WARNING
        # Revoked, the exemption is still there to read; a new one may be granted.
        assert clock.exemptions.count() == 1
        breach_exemption_grant(
            clock=clock, user=account_manager, cause="client", reason="Agreed.", at=AFTER_ALL
        )
        assert clock.exemptions.count() == 2
