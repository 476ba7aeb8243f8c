from celery import shared_task
from django.utils import timezone

from contracts.services import contract_evaluations_run, contract_renewals_run


@shared_task(name="contracts.renewals")
def contract_renewals_task() -> None:
    contract_renewals_run(today=timezone.localdate())


@shared_task(name="contracts.monthly_evaluations")
def contract_evaluations_task() -> None:
    contract_evaluations_run(now=timezone.now())
