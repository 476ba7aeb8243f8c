from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from tickets.intake.mailboxes import mailboxes_poll
from tickets.timers.maintenance import maintenance_pauses_apply
from tickets.timers.sweep import sla_sweep


# A sweep that could not reach the database tries again within seconds, not at the next tick.
@shared_task(
    name="tickets.sla_sweep",
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=4,
    retry_backoff=1,
    retry_jitter=False,
)
def sla_sweep_task() -> None:
    sla_sweep()


@shared_task(name="tickets.maintenance_pauses")
def maintenance_pauses_task() -> None:
    maintenance_pauses_apply(now=timezone.now())


@shared_task(name="tickets.poll_mailboxes")
def mailboxes_poll_task() -> None:
    mailboxes_poll()
