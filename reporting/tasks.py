from datetime import date

from celery import shared_task
from django.utils import timezone

from msp.periods import add_months
from reporting.billing.models import InvoiceRun
from reporting.billing.services import (
    INVOICE_RUN_TASK,
    invoice_run_create,
    invoice_run_execute,
    invoice_runs_resume,
)
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


# A run over hundreds of clients can take minutes: beyond the default task limits.
@shared_task(name=INVOICE_RUN_TASK, soft_time_limit=3600, time_limit=3900)
def invoice_run_task(month: str | None = None, run_id: int | None = None) -> int:
    """Carry out a run asked for on a page or over the API (`run_id`), or bill the month given
    (YYYY-MM), by default the month that ended in the MSP's time zone (the schedule). Safe to
    run again: drafts are recomputed, nothing is billed twice."""
    if run_id is not None:
        run = InvoiceRun.objects.filter(pk=run_id).first()
        if run is None:
            return 0
        run = invoice_run_execute(run=run)
    else:
        if month:
            first = date.fromisoformat(f"{month}-01")
        else:
            first = add_months(timezone.localdate().replace(day=1), -1)
        run = invoice_run_create(month=first, now=timezone.now())
    return run.created + run.updated


@shared_task(name="reporting.invoice_runs_resume", soft_time_limit=3600, time_limit=3900)
def invoice_runs_resume_task() -> int:
    return invoice_runs_resume()
