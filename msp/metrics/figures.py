"""The figures each app records, read from the database at scrape time: a fixed number of cheap
queries, each through an index (or over recent rows only, msp.metrics.running), whatever the
number of tickets.

Like the root URLconf, this is wiring that reads every app (the import contract's
ignore_imports lists it): the health report and outbox backlog of msp.selectors, the SLA
sweep's lag from sla.selectors, and the SLA and intake tables.
"""

from datetime import datetime, timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThanOrEqual
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.utils import floatToGoString

from msp.metrics.running import RunningTotals
from msp.selectors import health_report
from sla.choices import ClockState
from sla.clock import MilestoneKey
from sla.models import SLAClock, SLAEvent
from sla.selectors import sweep_lag
from tickets.choices import InboundStatus
from tickets.models import InboundEmail, Mailbox, UnroutedAlert

# Seconds after its due instant by which a milestone was recorded: the SLA promise is 60.
LATENESS_BUCKETS = (5, 15, 30, 60, 120, 300, 900)

# When the milestone's row was really written (the database's clock; rows from before that was
# kept have only the instant the sweep acted as of).
WRITTEN = Coalesce("written_at", "recorded_at")
MILESTONES = RunningTotals(
    "sla_events",
    SLAEvent,
    {
        "count": Count("pk"),
        "lateness": Sum(WRITTEN - F("due_at")),
        **{
            f"le_{bound}": Count(
                "pk", filter=LessThanOrEqual(WRITTEN, F("due_at") + timedelta(seconds=bound))
            )
            for bound in LATENESS_BUCKETS
        },
    },
    group="key",
)
EMAILS = RunningTotals(
    "inbound_emails",
    InboundEmail,
    {"received": Count("pk"), "ignored": Count("pk", filter=Q(status=InboundStatus.IGNORED))},
)


def health_families(*, now: datetime) -> list:
    """The /healthz report as gauges: each check's state, sweep lag, outbox backlog, beat."""
    del now  # the report reads the clock itself
    report = health_report(sweep_lag=sweep_lag)
    checks = report["checks"]
    ok = GaugeMetricFamily(
        "msp_health_check_ok",
        "1 when the /healthz check passes (database, broker, beat, sla_sweep, outbox).",
        labels=["check"],
    )
    for name, check in checks.items():
        ok.add_metric([name], 1 if check["ok"] else 0)
    families = [ok]

    def gauge(name: str, documentation: str, check: str, field: str) -> None:
        if field in checks.get(check, {}):
            families.append(GaugeMetricFamily(name, documentation, value=checks[check][field]))

    gauge(
        "msp_sla_sweep_lag_seconds",
        "Age of the oldest SLA clock check that is due and not yet done (0: none waiting).",
        "sla_sweep",
        "lag_seconds",
    )
    gauge(
        "msp_sla_checks_due",
        "SLA clock checks (warnings, breaches) due now and not yet done by the sweep.",
        "sla_sweep",
        "due_clocks",
    )
    gauge("msp_outbox_pending", "Outbox messages waiting for delivery.", "outbox", "pending")
    gauge(
        "msp_outbox_oldest_pending_seconds",
        "Age of the oldest outbox message waiting for delivery (0: none).",
        "outbox",
        "oldest_pending_seconds",
    )
    gauge(
        "msp_outbox_failed_last_day",
        "Outbox messages that gave up delivery in the last 24 hours.",
        "outbox",
        "failed_last_day",
    )
    gauge(
        "msp_beat_heartbeat_age_seconds",
        "Seconds since Celery beat's last heartbeat task ran.",
        "beat",
        "age_seconds",
    )
    return families


def sla_families(*, now: datetime) -> list:
    due_soon = GaugeMetricFamily(
        "msp_sla_clocks_due_next_hour",
        "Running SLA clocks whose due instant falls within the next hour.",
        labels=["kind"],
    )
    # A running clock due within the hour has its next check (a warning or the breach) by
    # then too, so the sweep's index on next_check_at bounds the rows read: two hours of checks.
    # A check more than an hour overdue (the sweep stopped: msp_sla_checks_due and the sweep
    # lag say so) is left out rather than reading every overdue row at each scrape.
    horizon = now + timedelta(hours=1)
    counts = dict(
        SLAClock.objects.filter(
            next_check_at__gt=now - timedelta(hours=1),
            next_check_at__lte=horizon,
            state=ClockState.RUNNING,
            due_at__gt=now,
            due_at__lte=horizon,
        )
        .values_list("kind")
        .order_by()
        .annotate(n=Count("pk"))
    )
    for kind in SLAClock._meta.get_field("kind").choices:
        due_soon.add_metric([kind[0]], counts.get(kind[0], 0))

    fired = CounterMetricFamily(
        "msp_sla_milestones",
        "SLA milestones recorded (each once): warnings, breaches, unacknowledged checks.",
        labels=["kind"],
    )
    lateness = HistogramMetricFamily(
        "msp_sla_milestone_lateness_seconds",
        "Seconds between a milestone's due instant and when the sweep wrote it down.",
        labels=["kind"],
    )
    by_kind: dict[str, dict[str, int]] = {}
    for key, totals in MILESTONES.totals(now=now).items():
        try:
            kind = MilestoneKey.parse(key).kind.value
        except ValueError:
            kind = "other"
        merged = by_kind.setdefault(kind, {})
        for name, value in totals.items():
            merged[name] = merged.get(name, 0) + value
    kinds = ("warning", "breach", "unack")
    for kind in (*kinds, *sorted(set(by_kind) - set(kinds))):
        totals = by_kind.get(kind, {})
        fired.add_metric([kind], totals.get("count", 0))
        # le as Prometheus writes floats ("60.0"), so that rules match it whatever the version.
        buckets = [
            (floatToGoString(bound), totals.get(f"le_{bound}", 0)) for bound in LATENESS_BUCKETS
        ]
        lateness.add_metric(
            [kind],
            [*buckets, ("+Inf", totals.get("count", 0))],
            sum_value=totals.get("lateness", 0),
        )
    return [due_soon, fired, lateness]


def intake_families(*, now: datetime) -> list:
    emails = EMAILS.totals(now=now).get("", {})
    families = [
        CounterMetricFamily(
            "msp_emails_received",
            "Inbound emails stored (each Message-ID once), whatever became of them.",
            value=emails.get("received", 0),
        ),
        CounterMetricFamily(
            "msp_emails_ignored",
            "Inbound emails deliberately not acted on: auto-replies, bounces, mail loops.",
            value=emails.get("ignored", 0),
        ),
        GaugeMetricFamily(
            "msp_emails_quarantined",
            "Inbound emails in quarantine now (could not be placed; retried from the admin).",
            value=InboundEmail.objects.filter(status=InboundStatus.QUARANTINED).count(),
        ),
        GaugeMetricFamily(
            "msp_alerts_unrouted",
            "Alerts kept because their client or asset is unknown, waiting to be routed.",
            value=UnroutedAlert.objects.filter(routed_at__isnull=True).count(),
        ),
    ]
    failing = GaugeMetricFamily(
        "msp_mailbox_poll_failing",
        "1 when the last IMAP poll of an active mailbox failed.",
        labels=["mailbox"],
    )
    polled = GaugeMetricFamily(
        "msp_mailbox_last_poll_timestamp_seconds",
        "When an active mailbox was last polled (Unix time; absent: never).",
        labels=["mailbox"],
    )
    mailboxes = Mailbox.objects.filter(is_active=True).values_list(
        "name", "last_polled_at", "last_error"
    )
    for name, last_polled_at, last_error in mailboxes.order_by("name"):
        failing.add_metric([name], 1 if last_error else 0)
        if last_polled_at is not None:
            polled.add_metric([name], last_polled_at.timestamp())
    return [*families, failing, polled]
