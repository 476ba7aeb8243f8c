"""Celery tasks of the webhook delivery outbox (thin: they take ids and call one service).

Registered on the worker by `msp/tasks.py` importing this module; the retry and the pruning
run from the beat schedule in `msp/celery.py` ("webhook-retry", "webhook-prune")."""

from celery import shared_task

from msp.webhooks.services import (
    DELIVER_TASK,
    TASK_CHUNK,
    webhook_deliver,
    webhook_deliveries_prune,
    webhook_retry_due,
)


@shared_task(name=DELIVER_TASK)
def webhook_deliver_task(*delivery_ids: int) -> None:
    for delivery_id in delivery_ids:
        webhook_deliver(delivery_id=delivery_id)


@shared_task(name="msp.webhook_retry")
def webhook_retry_task() -> None:
    """Deliveries whose next attempt is due, and those whose task was lost: handed to the
    delivery task in chunks, so that one slow receiver does not hold up this beat task."""
    due = webhook_retry_due()
    for start in range(0, len(due), TASK_CHUNK):
        webhook_deliver_task.delay(*due[start : start + TASK_CHUNK])


@shared_task(name="msp.webhook_prune")
def webhook_prune_task() -> None:
    webhook_deliveries_prune()
