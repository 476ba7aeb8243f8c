from celery import shared_task
from django.db import InterfaceError, OperationalError

from msp.selectors import BEAT_HEARTBEAT
from msp.services import heartbeat_record, outbox_deliver, outbox_retry_due

# Registered with the worker by import: the webhook tasks live beside their services.
from msp.webhooks.tasks import (  # noqa: F401
    webhook_deliver_task,
    webhook_prune_task,
    webhook_retry_task,
)


@shared_task(name="msp.heartbeat")
def heartbeat_task() -> None:
    heartbeat_record(name=BEAT_HEARTBEAT)


# Lost the database mid-chunk: the claim was handed back (outbox_deliver); go again shortly.
@shared_task(
    name="msp.outbox_deliver",
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=4,
    retry_backoff=2,
    retry_jitter=False,
)
def outbox_deliver_task(*message_ids: int) -> None:
    for message_id in message_ids:
        outbox_deliver(message_id=message_id)


@shared_task(name="msp.outbox_retry")
def outbox_retry_task() -> None:
    outbox_retry_due()
