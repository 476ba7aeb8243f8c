from celery import shared_task
from django.utils import timezone

from reporting.services import reports_run_scheduled


@shared_task(name="reporting.scheduled_reports")
def scheduled_reports_task() -> int:
    return len(reports_run_scheduled(now=timezone.now()))
