from celery import shared_task
from django.utils import timezone

from contracts.services import contract_renewals_run


@shared_task(name="contracts.renewals")
def contract_renewals_task() -> None:
    contract_renewals_run(today=timezone.localdate())
