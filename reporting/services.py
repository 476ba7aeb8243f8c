"""Reports: generated as immutable snapshots (a new version each time a period is generated
again), annotated by the account manager, sent to the client's report recipients; and the
schedule that does this for every active contract after each month and quarter."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from contracts.choices import ContractStatus
from contracts.models import Contract, MonthlyEvaluation
from contracts.services import contract_month_evaluate
from msp.choices import OutboxChannel, PeriodKind
from msp.metrics.recorder import metric_timer
from msp.models import Client, Contact, User
from msp.periods import Period
from msp.services import outbox_enqueue
from msp.webhooks.events import webhook_report_sent
from reporting.figures import period_figures
from reporting.metrics import period_contract
from reporting.models import Report
from reporting.presentation import ReportContent
from reporting.rendering import report_title

logger = logging.getLogger(__name__)


def _require_period_over(client: Client, period: Period, now: datetime) -> None:
    if period.bounds(client.timezone)[1] > now:
        raise ValidationError(
            {"period": f"{period.label} has not ended yet; its live figures are on the dashboard."}
        )


@transaction.atomic
def report_generate(
    *, client: Client, period: Period, by: User | None = None, now: datetime | None = None
) -> Report:
    """Store the period's figures as a new version of its report."""
    now = now or timezone.now()
    _require_period_over(client, period, now)
    # The client row lock makes concurrent generations take consecutive version numbers.
    client = Client.objects.select_for_update().get(pk=client.pk)
    latest = Report.objects.filter(
        client=client, kind=period.kind, period_start=period.first_day
    ).aggregate(version=Max("version"))["version"]
    with metric_timer("document_generation", document="report", stage="figures"):
        figures = _figures_with_their_credits(client, period, now)
    return Report.objects.create(
        client=client,
        kind=period.kind,
        period_start=period.first_day,
        version=(latest or 0) + 1,
        figures=figures,
        generated_at=now,
        generated_by=by,
    )


def _figures_with_their_credits(client: Client, period: Period, now: datetime) -> dict:
    """The period's figures, with credits computed from them: the contract's months not yet
    evaluated are evaluated first, and a month whose evaluation no longer matches the figures
    (a breach exempted or an outage recorded since) is evaluated again."""
    contract = period_contract(client, period)
    if contract is not None:
        _evaluate_if_missing(contract, period, now)
    figures = period_figures(client=client, period=period, now=now)
    if contract is not None and not ReportContent(figures).credit_traceable:
        contract_month_evaluate(contract=contract, month=period.first_day, now=now)
        figures = period_figures(client=client, period=period, now=now)
    return figures


def report_ensure(*, client: Client, period: Period, now: datetime) -> tuple[Report, bool]:
    """The period's latest report, generated (as version 1) only if there is none yet: the
    schedule calls this, so running it twice makes one report."""
    existing = (
        Report.objects.filter(client=client, kind=period.kind, period_start=period.first_day)
        .order_by("-version")
        .first()
    )
    if existing is not None:
        return existing, False
    return report_generate(client=client, period=period, now=now), True


def report_annotate(
    *, report: Report, summary: str, recommendations: str, by: User, now: datetime | None = None
) -> Report:
    """The account manager's summary and recommendations; the figures stay as generated."""
    if not by.is_msp_staff:
        raise ValidationError("Only MSP staff annotate reports.")
    report.summary = summary.strip()
    report.recommendations = recommendations.strip()
    report.annotated_at = now or timezone.now()
    report.save(update_fields=["summary", "recommendations", "annotated_at"])
    return report


def report_recipients(client: Client):
    return Contact.objects.filter(client=client, receives_reports=True, is_active=True).exclude(
        email=""
    )


@transaction.atomic
def report_send(*, report: Report, now: datetime | None = None) -> int:
    """Email the report (PDF attached) to each of the client's report recipients, once per
    recipient and version; it then shows in the client's portal. Returns how many emails
    were queued."""
    now = now or timezone.now()
    recipients = list(report_recipients(report.client))
    if not recipients:
        raise ValidationError(
            f'{report.client.name} has no report recipients: tick "receives reports" on a '
            "contact with an email address."
        )
    title = report_title(report)
    link = settings.SITE_URL + reverse("portal:report-detail", args=[report.pk])
    queued = 0
    for contact in recipients:
        message = outbox_enqueue(
            key=f"report:{report.pk}:{contact.pk}",
            channel=OutboxChannel.EMAIL,
            email=contact.email,
            subject=f"{report.client.name}: {title}",
            body=render_to_string(
                "email/report.txt",
                {"report": report, "contact": contact, "title": title, "link": link},
            ),
            headers={"Auto-Submitted": "auto-generated"},
            attachment=f"report:{report.pk}",
        )
        queued += message is not None
    if report.sent_at is None:
        report.sent_at = now
        report.save(update_fields=["sent_at"])
    webhook_report_sent(report=report, recipients=queued)
    return queued


def _evaluate_if_missing(contract: Contract, period: Period, now: datetime) -> None:
    """Credits and the ladder come from the contract's monthly evaluations: make sure the
    report's months have theirs (the hourly evaluation may not have run yet)."""
    evaluated = set(
        MonthlyEvaluation.objects.filter(
            contract=contract, month__gte=period.first_day, month__lt=period.end_day
        ).values_list("month", flat=True)
    )
    first_month = Period(PeriodKind.MONTH, period.first_day)
    for index in range(period.months):
        month = first_month.shifted(index).first_day
        if month not in evaluated and month >= contract.start_date.replace(day=1):
            contract_month_evaluate(contract=contract, month=month, now=now)


def reports_run_scheduled(*, now: datetime | None = None) -> list[Report]:
    """For every client with an active contract: last month's report and, after a quarter,
    its QBR, each generated once and sent to the report recipients. Runs hourly; what exists
    already is skipped, so a missed hour or a second run changes nothing."""
    now = now or timezone.now()
    made = []
    contracts = Contract.objects.filter(status=ContractStatus.ACTIVE).select_related("client")
    for contract in contracts.order_by("client_id"):
        client = contract.client
        today = timezone.localtime(now, ZoneInfo(client.timezone)).date()
        for kind in (PeriodKind.MONTH, PeriodKind.QUARTER):
            period = Period.last_finished(kind, today)
            if contract.start_date >= period.end_day:
                continue  # the contract began after the period
            try:
                with transaction.atomic():
                    report, created = report_ensure(client=client, period=period, now=now)
                    if created and report_recipients(client).exists():
                        report_send(report=report, now=now)
            except Exception:  # one client's failure must not stop the others' reports
                logger.exception("Report of %s for %s failed", client, period.label)
                continue
            if created:
                made.append(report)
    return made
