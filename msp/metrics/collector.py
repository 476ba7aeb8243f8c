"""The scrape: every source of figures read once, each on its own, so that a source that
fails (the database or Redis down) leaves the others standing and shows as
msp_scrape_collector_success{collector="..."} 0."""

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from msp.metrics import figures
from msp.metrics.recorder import recorded_families

log = logging.getLogger(__name__)
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def celery_queue_families(*, now: datetime) -> list:
    """LLEN of each Celery queue on the broker's Redis: tasks waiting for a worker. With a
    broker that is not Redis the figure is left out (not guessed)."""
    from msp.celery import app

    broker_url = app.conf.broker_url or ""
    if not broker_url.startswith(REDIS_SCHEMES):
        return []
    import redis

    queues = [queue.name for queue in app.conf.task_queues]
    client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        pipeline = client.pipeline(transaction=False)
        for queue in queues:
            pipeline.llen(queue)
        lengths = pipeline.execute()
    finally:
        client.close()
    family = GaugeMetricFamily(
        "msp_celery_queue_length",
        "Tasks waiting in a Celery queue (broker LLEN).",
        labels=["queue"],
    )
    for queue, length in zip(queues, lengths, strict=True):
        family.add_metric([queue], length)
    return [family]


def recorded(*, now: datetime) -> list:
    return recorded_families()


SOURCES: dict[str, Callable[..., list]] = {
    "health": figures.health_families,
    "sla": figures.sla_families,
    "intake": figures.intake_families,
    "celery": celery_queue_families,
    "recorded": recorded,
}


class AppCollector(Collector):
    """prometheus-client's custom collector: figures are read when Prometheus scrapes."""

    def collect(self) -> Iterator:
        now = timezone.now()
        success = GaugeMetricFamily(
            "msp_scrape_collector_success",
            "1 when this source of figures was read in this scrape, 0 when it failed.",
            labels=["collector"],
        )
        duration = GaugeMetricFamily(
            "msp_scrape_collector_duration_seconds",
            "Time to read this source of figures in this scrape.",
            labels=["collector"],
        )
        for name, source in SOURCES.items():
            started = time.perf_counter()
            try:
                families = source(now=now)
            except Exception:  # one failing source must not hide the others
                log.warning("Metrics: collector %s failed", name, exc_info=True)
                families, ok = [], 0
            else:
                ok = 1
            yield from families
            success.add_metric([name], ok)
            duration.add_metric([name], time.perf_counter() - started)
        yield success
        yield duration
