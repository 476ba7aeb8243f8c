"""Events that no table records (alerts received and refused, mailbox poll errors) and how long
documents take to generate: counted in the shared cache, so that every web worker and Celery
process adds to the same figures (Redis in production; in development each process has its
own local-memory cache, so there they are per process).

Each metric is declared here with the values its labels may take: a scrape reads a fixed set of
keys in one round trip, and a value nobody declared is counted as "other" instead of growing
the number of series. Recording never fails the work being measured: with the cache down, the
event goes uncounted and a warning is logged (at most once a minute per process).
"""

import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

log = logging.getLogger(__name__)
OTHER = "other"
KEY_PREFIX = "msp:metrics:v1"


@dataclass(frozen=True)
class RecordedCounter:
    name: str  # exposed as msp_<name>_total
    documentation: str
    labels: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class RecordedDuration:
    """A histogram of durations in seconds, exposed as msp_<name>_seconds."""

    name: str
    documentation: str
    labels: dict[str, tuple[str, ...]]
    buckets: tuple[float, ...]


ALERT_ENDPOINTS = ("generic", "alertmanager", "grafana", "zabbix")
COUNTERS = {
    counter.name: counter
    for counter in (
        RecordedCounter(
            "alerts_received",
            "Monitoring alerts accepted by the intake endpoints, by what became of each.",
            {
                "endpoint": ALERT_ENDPOINTS,
                # tickets.intake.alerts.AlertOutcome.action
                "action": (
                    "opened",
                    "repeated",
                    "reopened",
                    "resolved",
                    "noted",
                    "ignored",
                    "unrouted",
                ),
            },
        ),
        RecordedCounter(
            "alerts_refused",
            "Requests to the alert intake endpoints answered with a 4xx status (nothing kept).",
            {
                "endpoint": ALERT_ENDPOINTS,
                "code": ("400", "401", "403", "405", "413", "415", "429"),
            },
        ),
        RecordedCounter(
            "mailbox_poll_errors",
            "IMAP polls of an inbound mailbox that failed (connection, login or folder).",
            {},
        ),
    )
}
DURATIONS = {
    duration.name: duration
    for duration in (
        RecordedDuration(
            "document_generation",
            "Time to generate a document: a report's figures (snapshot) or its PDF.",
            # Billing's invoices are the next document: add "invoice" (and its stages) here
            # and wrap its generation in metric_timer("document_generation", ...).
            {"document": ("report", "invoice"), "stage": ("figures", "pdf")},
            (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
        ),
    )
}


def _label_values(labels: dict[str, tuple[str, ...]], given: dict[str, str]) -> tuple[str, ...]:
    if set(given) != set(labels):
        raise ValueError(f"Labels {sorted(given)} given, {sorted(labels)} declared.")
    return tuple(
        str(given[name]) if str(given[name]) in allowed else OTHER
        for name, allowed in labels.items()
    )


def _key(name: str, values: tuple[str, ...], part: str = "") -> str:
    return ":".join((KEY_PREFIX, name, *values, *([part] if part else [])))


_last_warning = 0.0


def _add(key: str, amount: int) -> None:
    global _last_warning
    try:
        try:
            cache.incr(key, amount)
        except ValueError:  # a key's first event (incr refuses a missing key)
            if not cache.add(key, amount, timeout=None):
                cache.incr(key, amount)
    except Exception:  # the cache is down: the event goes uncounted, the work goes on
        if time.monotonic() - _last_warning > 60:
            _last_warning = time.monotonic()
            log.warning("Metrics: the cache is unreachable; events are not counted", exc_info=True)


def metric_count(name: str, amount: int = 1, **labels: str) -> None:
    """Count `amount` events of a declared counter."""
    counter = COUNTERS[name]
    if amount:
        _add(_key(name, _label_values(counter.labels, labels)), amount)


def metric_observe(name: str, seconds: float, **labels: str) -> None:
    """Record one duration of a declared histogram."""
    duration = DURATIONS[name]
    values = _label_values(duration.labels, labels)
    bucket = next(
        (index for index, bound in enumerate(duration.buckets) if seconds <= bound),
        len(duration.buckets),
    )
    _add(_key(name, values, f"bucket{bucket}"), 1)
    _add(_key(name, values, "sum_us"), round(seconds * 1_000_000))


@contextmanager
def metric_timer(name: str, **labels: str) -> Iterator[None]:
    """Time the block and record it when it succeeds (a failure is not a generation time)."""
    started = time.perf_counter()
    yield
    metric_observe(name, time.perf_counter() - started, **labels)


def _label_sets(labels: dict[str, tuple[str, ...]]) -> list[tuple[str, ...]]:
    return list(itertools.product(*((*allowed, OTHER) for allowed in labels.values())))


def _all_keys() -> list[str]:
    keys = [
        _key(name, values)
        for name, counter in COUNTERS.items()
        for values in _label_sets(counter.labels)
    ]
    for name, duration in DURATIONS.items():
        for values in _label_sets(duration.labels):
            keys.append(_key(name, values, "sum_us"))
            keys.extend(
                _key(name, values, f"bucket{index}") for index in range(len(duration.buckets) + 1)
            )
    return keys


def recorded_families() -> list:
    """Every declared counter and histogram, read from the cache in one round trip (a series
    never counted is 0)."""
    stored = cache.get_many(_all_keys())
    families = []
    for name, counter in COUNTERS.items():
        family = CounterMetricFamily(
            f"msp_{name}", counter.documentation, labels=list(counter.labels)
        )
        for values in _label_sets(counter.labels):
            family.add_metric(list(values), stored.get(_key(name, values), 0))
        families.append(family)
    for name, duration in DURATIONS.items():
        family = HistogramMetricFamily(
            f"msp_{name}_seconds", duration.documentation, labels=list(duration.labels)
        )
        bounds = [*(floatToGoString(bound) for bound in duration.buckets), "+Inf"]
        for values in _label_sets(duration.labels):
            counts = [stored.get(_key(name, values, f"bucket{i}"), 0) for i in range(len(bounds))]
            cumulative = list(zip(bounds, itertools.accumulate(counts), strict=True))
            family.add_metric(
                list(values),
                cumulative,
                sum_value=stored.get(_key(name, values, "sum_us"), 0) / 1_000_000,
            )
        families.append(family)
    return families
