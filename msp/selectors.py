"""Reads of the core directory, and the health report."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from msp.choices import OutboxStatus
from msp.models import (
    Asset,
    Client,
    Contact,
    Heartbeat,
    Notification,
    OutboxMessage,
    Site,
    Team,
    User,
)
from msp.postgres.base import server_answers

BEAT_HEARTBEAT = "beat"


def client_list(*, user: User) -> QuerySet[Client]:
    # Separate Count subqueries would be cleaner to read but three joins multiply rows;
    # distinct counts keep it one query whatever the page size.
    return (
        Client.objects.for_user(user)
        .select_related("account_manager")
        .annotate(
            site_count=Count("sites", distinct=True),
            contact_count=Count("contacts", distinct=True, filter=Q(contacts__is_active=True)),
            asset_count=Count("assets", distinct=True, filter=Q(assets__is_active=True)),
        )
        .order_by("name")
    )


def client_teams(*, client: Client) -> list[Team]:
    """The teams whose members and leads see the client: those that serve all clients and
    those assigned to it."""
    return list(
        Team.objects.filter(Q(serves_all_clients=True) | Q(clients=client))
        .select_related("lead")
        .distinct()
        .order_by("name")
    )


def client_sites(*, client: Client, user: User) -> QuerySet[Site]:
    return Site.objects.for_user(user).filter(client=client).order_by("name")


def client_contacts(*, client: Client, user: User) -> QuerySet[Contact]:
    return (
        Contact.objects.for_user(user)
        .filter(client=client)
        .select_related("site", "user")
        .order_by("full_name")
    )


def client_assets(*, client: Client, user: User) -> QuerySet[Asset]:
    return (
        Asset.objects.for_user(user).filter(client=client).select_related("site").order_by("name")
    )


@dataclass(frozen=True)
class HealthCheck:
    ok: bool
    detail: dict


# /healthz answers within a second: a hung PostgreSQL is found by a probe on a new connection
# with this deadline, before the app's own connection is used (msp/postgres/base.py).
HEALTH_PROBE_SECONDS = 0.5


def _check_database() -> HealthCheck:
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        params = connection.get_connection_params()
        if not server_answers(params, within=HEALTH_PROBE_SECONDS):
            return HealthCheck(
                False, {"error": f"no answer within {HEALTH_PROBE_SECONDS} s (down or hung)"}
            )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the database is not usable
        return HealthCheck(False, {"error": str(exc)})
    return HealthCheck(True, {"latency_ms": round((time.perf_counter() - started) * 1000, 2)})


def _check_broker() -> HealthCheck:
    from msp.celery import app

    started = time.perf_counter()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises many transport-specific errors
        return HealthCheck(False, {"error": str(exc)})
    return HealthCheck(True, {"latency_ms": round((time.perf_counter() - started) * 1000, 2)})


def _check_beat() -> HealthCheck:
    heartbeat = Heartbeat.objects.filter(name=BEAT_HEARTBEAT).first()
    if heartbeat is None:
        return HealthCheck(False, {"error": "no heartbeat recorded yet"})
    age = timezone.now() - heartbeat.last_run_at
    # Three missed beats before we call it down: a busy worker may delay one or two.
    allowed = timedelta(seconds=3 * settings.HEARTBEAT_INTERVAL_SECONDS)
    return HealthCheck(
        age <= allowed,
        {"last_run_at": heartbeat.last_run_at.isoformat(), "age_seconds": int(age.total_seconds())},
    )


# Alarms: every SLA milestone must be acted on within 60 s; a message waiting 10 minutes means
# delivery is failing or no worker is running.
SWEEP_LAG_LIMIT_SECONDS = 60
OUTBOX_AGE_LIMIT_SECONDS = 600


def health_report(*, sweep_lag: Callable[..., dict] | None = None) -> dict:
    """Database, broker, beat; and, given the SLA side's figures, sweep lag and outbox."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    checks["beat"] = _check_beat() if checks["database"].ok else HealthCheck(False, {})
    if checks["database"].ok:
        now = timezone.now()
        if sweep_lag is not None:
            lag = sweep_lag(now=now)
            checks["sla_sweep"] = HealthCheck(lag["lag_seconds"] <= SWEEP_LAG_LIMIT_SECONDS, lag)
        backlog = outbox_backlog(now=now)
        checks["outbox"] = HealthCheck(
            backlog["oldest_pending_seconds"] <= OUTBOX_AGE_LIMIT_SECONDS, backlog
        )
    return {
        "status": "ok" if all(check.ok for check in checks.values()) else "fail",
        "checks": {name: {"ok": check.ok, **check.detail} for name, check in checks.items()},
    }


def outbox_backlog(*, now) -> dict:
    pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "pending": pending.count(),
        "oldest_pending_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "failed_last_day": OutboxMessage.objects.filter(
            status=OutboxStatus.FAILED, updated_at__gte=now - timedelta(days=1)
        ).count(),
    }


def notification_list(*, user: User):
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
