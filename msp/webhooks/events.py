"""The webhooks of facts recorded above the msp layer (contracts, reporting, intake), each
one call from the service that records the fact. They read the objects they are given by
attribute (msp imports nothing from the apps above it) and carry only client-facing figures."""

from msp.webhooks.choices import WebhookEventType
from msp.webhooks.services import webhook_emit


def webhook_contract_evaluated(*, evaluation) -> int:
    """contract.evaluated: a contract's month measured (contracts.MonthlyEvaluation)."""
    contract = evaluation.contract
    return webhook_emit(
        type=WebhookEventType.CONTRACT_EVALUATED,
        client_id=contract.client_id,
        data={
            "evaluation_id": evaluation.pk,
            "contract": {"id": contract.pk, "number": contract.number},
            "month": evaluation.month,
            "missed_targets": evaluation.missed_targets,
            "consecutive_missed_months": evaluation.consecutive_missed_months,
            "ladder_step": evaluation.ladder_step,
            "credit_percent": evaluation.credit_percent,
            "credit_amount": evaluation.credit_amount,
            "currency": evaluation.currency,
            "exempted_clocks": evaluation.exempted_clocks,
        },
    )


def webhook_breach_exempted(*, exemption, clock) -> int:
    """sla.breach_exempted: a breached clock taken out of compliance (contracts.BreachExemption;
    the reason stays internal, the cause is given)."""
    return webhook_emit(
        type=WebhookEventType.SLA_BREACH_EXEMPTED,
        client_id=clock.client_id,
        at=exemption.granted_at,
        key=f"exemption:{exemption.pk}",
        data={
            "exemption_id": exemption.pk,
            "clock_id": clock.pk,
            "ticket_id": clock.ticket_id,
            "cause": exemption.cause,
            "granted_at": exemption.granted_at,
        },
    )


def webhook_report_sent(*, report, recipients: int) -> int:
    """report.sent: a report emailed to the client's recipients (reporting.Report); once per
    report, however often it is sent."""
    return webhook_emit(
        type=WebhookEventType.REPORT_SENT,
        client_id=report.client_id,
        at=report.sent_at,
        key=f"report-sent:{report.pk}",
        data={
            "report_id": report.pk,
            "kind": report.kind,
            "period_start": report.period_start,
            "version": report.version,
            "sent_at": report.sent_at,
            "recipients": recipients,
        },
    )


def webhook_alert_unrouted(*, alert_id: int, source: str, summary: str, at=None) -> int:
    """alert.unrouted: a monitoring alert kept but matched to no client (no client filter can
    receive it: only endpoints for every client)."""
    return webhook_emit(
        type=WebhookEventType.ALERT_UNROUTED,
        client_id=None,
        at=at,
        key=f"alert-unrouted:{alert_id}",
        data={"alert_id": alert_id, "source": source, "summary": summary[:300]},
    )
