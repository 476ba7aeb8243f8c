from celery import shared_task
from django.utils import timezone

from reporting.models import Report
from reporting.services import REPORT_PDF_DRAW_TASK, report_pdf_ensure, reports_run_scheduled


@shared_task(name="reporting.scheduled_reports")
def scheduled_reports_task() -> int:
    return len(reports_run_scheduled(now=timezone.now()))


@shared_task(name=REPORT_PDF_DRAW_TASK)
def report_pdf_draw_task(report_id: int) -> None:
    """Draw and store a report's PDF once it is generated or its text changed."""
    report = Report.objects.filter(pk=report_id).select_related("client").first()
    if report is not None:
        report_pdf_ensure(report=report)


@shared_task(name="reporting.invoice_run")
def invoice_run_task(month: str | None = None) -> int:
    """Bill the month given (YYYY-MM), or by default the month that ended, in the MSP's time
    zone. Safe to run again: drafts are recomputed, nothing is billed twice."""
    from datetime import date

    from msp.periods import add_months
    from reporting.billing.services import invoice_run_create

    if month:
        first = date.fromisoformat(f"{month}-01")
    else:
        first = add_months(timezone.localdate().replace(day=1), -1)
    run = invoice_run_create(month=first, now=timezone.now())
    return run.created + run.updated
