"""Reports: generated as immutable snapshots (a new version each time a period is generated
again), their PDF drawn once and stored, annotated by the account manager, sent to the
contacts the account manager chooses (by default the client's report recipients), each email
recorded; and the schedule that does this for every active contract after each month and
quarter."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Q
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
from reporting.models import Report, ReportDelivery
from reporting.presentation import ReportContent
from reporting.rendering import report_filename, report_pdf, report_title
from reporting.selectors import report_recipient_choices

logger = logging.getLogger(__name__)
REPORT_PDF_DRAW_TASK = "reporting.report_pdf_draw"


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
    report = Report.objects.create(
        client=client,
        kind=period.kind,
        period_start=period.first_day,
        version=(latest or 0) + 1,
        figures=figures,
        generated_at=now,
        generated_by=by,
    )
    _draw_pdf_after_commit(report)
    return report


def _draw_pdf_after_commit(report: Report) -> None:
    # By name (services never import tasks), once the row exists; robust: with the broker down
    # the report is still made, and its PDF is drawn on first need instead.
    transaction.on_commit(
        lambda: current_app.send_task(REPORT_PDF_DRAW_TASK, args=[report.pk]), robust=True
    )


def report_pdf_ensure(*, report: Report) -> bytes:
    """The report's PDF: read from storage once drawn, else drawn now and stored, so that
    downloads and every recipient's email read the same file instead of drawing it again.

    Stored with a compare-and-set on the row (the file it had and the text it was drawn
    with), not under a lock held while drawing: two first needs at once may both draw, one
    file is kept and the other deleted, and a PDF drawn from a summary changed meanwhile is
    never stored over the new one."""
    if report.pdf:
        try:
            with report.pdf.open("rb") as stored:
                return stored.read()
        except FileNotFoundError:
            logger.warning("The stored PDF of report %s is missing; drawing it again", report.pk)
    had = report.pdf.name or None
    content = report_pdf(report)
    storage = report.pdf.storage
    name = storage.save(
        report.pdf.field.generate_filename(report, report_filename(report, "pdf")),
        ContentFile(content),
    )
    # Django writes a FileField without a file as "" (NULL only in rows from before it).
    as_it_was = Q(pdf=had) if had else Q(pdf="") | Q(pdf__isnull=True)
    rows = Report.objects.filter(as_it_was, pk=report.pk, annotated_at=report.annotated_at)
    claimed = rows.update(pdf=name)
    if claimed:
        report.pdf.name = name
    else:
        storage.delete(name)
    return content


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
    # The PDF shows the text: the one drawn before is replaced (emails not yet delivered
    # attach the new one; those delivered keep theirs).
    drawn = report.pdf.name
    report.pdf = None
    report.save(update_fields=["summary", "recommendations", "annotated_at", "pdf"])
    if drawn:
        storage = report.pdf.storage
        transaction.on_commit(lambda: storage.delete(drawn), robust=True)
    _draw_pdf_after_commit(report)
    return report


def report_recipients(client: Client):
    """The contacts a report goes to unless the account manager chooses: "receives reports"."""
    return Contact.objects.filter(client=client, receives_reports=True, is_active=True).exclude(
        email=""
    )


def _checked_recipients(report: Report, contacts) -> list[Contact]:
    if contacts is None:
        recipients = list(report_recipients(report.client))
        if not recipients:
            raise ValidationError(
                f'{report.client.name} has no report recipients: tick "receives reports" on a '
                "contact with an email address."
            )
        return recipients
    recipients = list(dict.fromkeys(contacts))  # once each, in the order given
    if not recipients:
        raise ValidationError({"contacts": "Choose at least one contact to send it to."})
    allowed = set(report_recipient_choices(report.client).values_list("pk", flat=True))
    refused = [contact for contact in recipients if contact.pk not in allowed]
    if refused:
        raise ValidationError(
            {
                "contacts": "Only active contacts of "
                f"{report.client.name} with an email address receive its reports."
            }
        )
    return recipients


@transaction.atomic
def report_send(
    *,
    report: Report,
    contacts: list[Contact] | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> int:
    """Email the report (PDF attached) to the contacts chosen, by default the client's report
    recipients; each must be an active contact of the report's client with an address. Once
    per contact and version: a contact who had this version is skipped. Each email is recorded
    (who sent it, to whom, when); the report then shows in the client's portal. Returns how
    many emails were queued."""
    now = now or timezone.now()
    if by is not None and not by.is_msp_staff:
        raise ValidationError("Only MSP staff send reports.")
    recipients = _checked_recipients(report, contacts)
    had_it = set(ReportDelivery.objects.filter(report=report).values_list("contact_id", flat=True))
    title = report_title(report)
    link = settings.SITE_URL + reverse("portal:report-detail", args=[report.pk])
    queued = 0
    for contact in recipients:
        if contact.pk in had_it:
            continue
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
        if message is None:
            continue  # emailed before deliveries were recorded
        ReportDelivery.objects.create(
            report=report, contact=contact, email=contact.email, sent_by=by, sent_at=now
        )
        queued += 1
    if report.sent_at is None:
        report.sent_at = now
        report.save(update_fields=["sent_at"])
    webhook_report_sent(report=report, recipients=queued)
    return queued


def report_attachment(report_id: str) -> tuple[str, bytes, str]:
    """The PDF attached to report emails (outbox attachment kind "report"): the stored one."""
    report = Report.objects.select_related("client").get(pk=int(report_id))
    return report_filename(report, "pdf"), report_pdf_ensure(report=report), "application/pdf"


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
