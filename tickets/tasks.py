from celery import shared_task

from tickets.escalations import sla_sweep


@shared_task(name="tickets.sla_sweep")
def sla_sweep_task() -> None:
    sla_sweep()
