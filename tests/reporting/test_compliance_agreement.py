"""One compliance rule: a client's monthly report and its contract's evaluation count the same
clocks, round the same way and decide "met" alike, and the report's credit is traceable to the
missed targets it shows."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string

from contracts.choices import ComplianceMetric, ContractStatus, TargetKind
from contracts.models import ComplianceTarget, Contract, MonthlyEvaluation
from contracts.services import contract_month_evaluate
from msp.periods import Period
from reporting.figures import period_figures
from reporting.models import Report
from reporting.presentation import ReportContent
from tests.factories import ContractFactory, TicketFactory
from tickets.services import ticket_acknowledge

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
JULY = date(2026, 7, 1)
AFTER_JULY = datetime(2026, 8, 3, tzinfo=UTC)


def as_shown_by_report(content: ReportContent) -> dict:
    """What a report shows against the contract's targets: each target's figure (measured,
    clocks, missed), how many targets were missed, and the credit."""
    targets = {
        row.label: (row.value, row.count, row.below_target)
        for row in content.compliance
        if row.target is not None
    }
    targets.update(
        {
            f"{row.label} availability": (row.value, None, row.below_target)
            for row in content.availability
        }
    )
    credit = content.credit or {}
    return {
        "targets": targets,
        "missed": sum(missed for _, _, missed in targets.values()),
        "credit": credit.get("amount"),
        "credit_missed": credit.get("missed"),
    }


def as_evaluated(evaluation: MonthlyEvaluation) -> dict:
    targets = {}
    for result in evaluation.results.all():
        if result.kind == TargetKind.AVAILABILITY:
            label = f"{result.get_service_display()} availability"
            targets[label] = (result.measured_percent, None, not result.met)
        else:
            label = ReportContent.compliance_label(f"{result.priority}/{result.metric}")
            clocks = result.met_count + result.breached_count
            targets[label] = (result.measured_percent, clocks, not result.met)
    return {
        "targets": targets,
        "missed": evaluation.missed_targets,
        "credit": evaluation.credit_amount,
        "credit_missed": evaluation.missed_targets,
    }


def report_of(client, month: date, now: datetime) -> ReportContent:
    """The month's report figures as the report would store them (computed, not stored)."""
    figures = period_figures(client=client, period=Period("month", month), now=now, store=False)
    return ReportContent(figures)


@pytest.fixture
def contract(client_a):
    """Credits from the first missed month: 5 % of 1,000 per missed target."""
    client_a.timezone = "America/New_York"
    client_a.save()
    return ContractFactory(
        client=client_a,
        number="C-9",
        name="Managed",
        start_date=date(2026, 7, 1),
        monthly_fee=Decimal("1000.00"),
        remediation_after_months=1,
        credit_after_months=1,
        status=ContractStatus.ACTIVE,
    )


def p1(client, technician, *, opened: datetime, answered_after: int):
    """A P1 acknowledged after some minutes: its response clock has a 15-minute target."""
    ticket = TicketFactory(client=client, subject="Down", p1=True, at=opened)
    return ticket_acknowledge(
        ticket=ticket, actor=technician, at=opened + timedelta(minutes=answered_after)
    )


def test_a_share_just_under_its_target_is_missed_in_both_and_the_credit_shows_it(
    contract, technician
):
    """32 of 33 P1 responses in time is 96.9697 %, against a 96.97 % target. The report used to
    round to 96.970 % and show the target met while the evaluation (96.96 %) credited it."""
    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric=ComplianceMetric.RESPONSE, percent=Decimal("96.97")
    )
    first = datetime(2026, 7, 6, 9, tzinfo=NY)
    for n in range(33):  # the first answered late, the others in 5 minutes
        opened = first + timedelta(hours=n)
        p1(contract.client, technician, opened=opened, answered_after=20 if n == 0 else 5)
    evaluation = contract_month_evaluate(contract=contract, month=JULY, now=AFTER_JULY)
    assert (evaluation.missed_targets, evaluation.credit_amount) == (1, Decimal("50.00"))

    content = report_of(contract.client, JULY, AFTER_JULY)
    assert as_shown_by_report(content) == as_evaluated(evaluation)
    assert as_shown_by_report(content)["targets"]["P1 first response"] == (
        Decimal("96.96"),
        33,
        True,
    )
    assert content.credit_traceable


def test_a_ticket_opened_before_the_contract_counts_in_neither(contract, technician):
    """Opened on 30 June, before the contract, under the default policy; its response breaches
    on 1 July. The report used to count it by client (0 % of P1 responses, a target missed)
    while the evaluation, by contract, found nothing to measure."""
    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric=ComplianceMetric.RESPONSE, percent=Decimal("95")
    )
    before = p1(
        contract.client,
        technician,
        opened=datetime(2026, 6, 30, 23, 55, tzinfo=NY),
        answered_after=30,
    )
    assert before.contract_id is None
    under = p1(
        contract.client, technician, opened=datetime(2026, 7, 8, 9, tzinfo=NY), answered_after=5
    )
    assert under.contract_id == contract.pk
    evaluation = contract_month_evaluate(contract=contract, month=JULY, now=AFTER_JULY)
    assert evaluation.missed_targets == 0

    content = report_of(contract.client, JULY, AFTER_JULY)
    assert as_shown_by_report(content) == as_evaluated(evaluation)
    assert content.compliance_overall.count == 1


def test_the_report_lists_the_missed_targets_each_credit_was_computed_from(contract, technician):
    from reporting.services import report_generate

    for priority, metric in (("P1", "response"), ("P1", "resolution")):
        ComplianceTarget.objects.create(
            contract=contract, priority=priority, metric=metric, percent=Decimal("95")
        )
    p1(contract.client, technician, opened=datetime(2026, 7, 8, 9, tzinfo=NY), answered_after=20)
    report = report_generate(client=contract.client, period=Period("month", JULY), now=AFTER_JULY)
    content = ReportContent(report.figures)
    evaluation = contract.evaluations.get(month=JULY)  # made for the report
    assert (evaluation.missed_targets, evaluation.credit_amount) == (1, Decimal("50.00"))
    [credit] = content.credits
    assert (credit["month"], credit["amount"], credit["currency"]) == (
        "July 2026",
        Decimal("50.00"),
        "USD",
    )
    assert [(row.label, row.value, row.count, row.target) for row in credit["missed"]] == [
        ("P1 first response", Decimal("0.00"), 1, Decimal("95"))
    ]
    # The same target is the one the compliance table marks as missed.
    assert [row.label for row in content.compliance if row.below_target] == ["P1 first response"]
    page = render_to_string("reporting/_report_body.html", {"content": content, "report": report})
    credits = page[page.index('data-testid="credits"') :]
    assert "July 2026: 50.00 USD (5 % of the monthly fee)" in credits
    assert "P1 first response, 1 clock</td><td" in credits and "0.00 %" in credits


def test_a_report_generated_after_an_exemption_takes_the_credit_off_with_the_breach(
    contract, technician, account_manager
):
    """The breach is exempted after July was evaluated: generating the report measures July
    again, so the report does not show the target met and a credit for it at once."""
    from contracts.services import breach_exemption_grant
    from reporting.services import report_generate

    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric=ComplianceMetric.RESPONSE, percent=Decimal("95")
    )
    ticket = p1(
        contract.client, technician, opened=datetime(2026, 7, 8, 9, tzinfo=NY), answered_after=20
    )
    assert contract_month_evaluate(contract=contract, month=JULY, now=AFTER_JULY).missed_targets
    breach_exemption_grant(
        clock=ticket.sla_clocks.get(kind="response"),
        user=account_manager,
        cause="client",
        reason="The client asked us to call after 09:15.",
        at=AFTER_JULY,
    )
    report = report_generate(client=contract.client, period=Period("month", JULY), now=AFTER_JULY)
    content = ReportContent(report.figures)
    evaluation = contract.evaluations.get(month=JULY)
    assert as_shown_by_report(content) == as_evaluated(evaluation)
    assert (evaluation.missed_targets, content.credit["amount"]) == (0, Decimal("0.00"))


@pytest.mark.slow  # seeds the whole demo
def test_every_demo_client_and_month_reports_what_its_contract_was_evaluated_at():
    call_command("seed_demo")
    now = datetime.now(UTC)
    checked = 0
    for contract in Contract.objects.filter(status=ContractStatus.ACTIVE).select_related("client"):
        client = contract.client
        for evaluation in contract.evaluations.order_by("month"):
            content = report_of(client, evaluation.month, now)
            assert as_shown_by_report(content) == as_evaluated(evaluation), (client, evaluation)
            assert [c["amount"] for c in content.credits] == [evaluation.credit_amount]
            assert {row.label for c in content.credits for row in c["missed"]} == {
                label
                for label, (_, _, missed) in as_shown_by_report(content)["targets"].items()
                if missed
            }
            checked += 1
        # And the reports the demo sent, as stored: each month as evaluated, and a QBR's
        # credits month by month.
        for report in Report.objects.filter(client=client):
            content = ReportContent(report.figures)
            evaluations = contract.evaluations.filter(
                month__gte=report.period_start, month__lt=report.period.end_day
            ).order_by("month")
            assert [c["amount"] for c in content.credits] == [e.credit_amount for e in evaluations]
            if report.kind == "month":
                assert as_shown_by_report(content) == as_evaluated(evaluations.get()), report
                assert content.credit_traceable
            checked += 1
    assert checked >= 3 * 6
    # The demo's story still holds: Acme owes 250.00 USD for two missed targets.
    acme = MonthlyEvaluation.objects.filter(contract__number="ACME-2026-01").latest("month")
    assert (acme.missed_targets, acme.credit_amount) == (2, Decimal("250.00"))
