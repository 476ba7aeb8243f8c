from celery import shared_task

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


@shared_task(name="msp.outbox_deliver")
def outbox_deliver_task(*message_ids: int) -> None:
    for message_id in message_ids:
        outbox_deliver(message_id=message_id)


@shared_task(name="msp.outbox_retry")
def outbox_retry_task() -> None:
    outbox_retry_due()
