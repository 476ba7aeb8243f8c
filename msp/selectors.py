"""Reads of the core directory, and the health report."""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from msp.models import Asset, Client, Contact, Heartbeat, Site, User

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


def _check_database() -> HealthCheck:
    started = time.perf_counter()
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


def health_report() -> dict:
    checks = {"database": _check_database(), "broker": _check_broker()}
    checks["beat"] = _check_beat() if checks["database"].ok else HealthCheck(False, {})
    return {
        "status": "ok" if all(check.ok for check in checks.values()) else "fail",
        "checks": {name: {"ok": check.ok, **check.detail} for name, check in checks.items()},
    }
