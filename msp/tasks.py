from celery import shared_task

from msp.selectors import BEAT_HEARTBEAT
from msp.services import heartbeat_record


@shared_task(name="msp.heartbeat")
def heartbeat_task() -> None:
    heartbeat_record(name=BEAT_HEARTBEAT)
