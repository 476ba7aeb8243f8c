from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from msp.tasks import heartbeat_task
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_without_a_heartbeat_health_fails_with_503(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["beat"] == {"ok": False, "error": "no heartbeat recorded yet"}


def test_recent_heartbeat_is_healthy(client):
    heartbeat_task()
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["beat"]["age_seconds"] == 0


def test_stale_heartbeat_fails(client, settings):
    heartbeat_task()
    later = timezone.now() + timedelta(seconds=3 * settings.HEARTBEAT_INTERVAL_SECONDS + 5)
    with time_machine.travel(later):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["ok"] is False


def test_unreachable_broker_fails(client, settings):
    from msp.celery import app

    heartbeat_task()
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get(reverse("healthz"))
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_health_needs_no_login_and_only_answers_get(client):
    assert client.post(reverse("healthz")).status_code == 405


def test_overdue_clock_checks_show_as_sweep_lag(client, policy_ticket_overdue):
    heartbeat_task()
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "fail"
    assert body["checks"]["sla_sweep"]["ok"] is False
    assert body["checks"]["sla_sweep"]["due_clocks"] >= 1
    assert body["checks"]["sla_sweep"]["lag_seconds"] > 60


def test_old_pending_outbox_message_fails_health(client):
    from msp.choices import OutboxChannel
    from msp.models import OutboxMessage

    heartbeat_task()
    message = OutboxMessage.objects.create(
        key="k", channel=OutboxChannel.EMAIL, email="a@example.com", subject="s", body="b"
    )
    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    body = client.get(reverse("healthz")).json()
    assert body["checks"]["outbox"] == {
        "ok": False,
        "pending": 1,
        "oldest_pending_seconds": 3600,
        "failed_last_day": 0,
    }


def test_sla_status_command(capsys):
    from django.core.management import call_command

    heartbeat_task()
    call_command("sla_status")
    assert '"sla_sweep"' in capsys.readouterr().out


@pytest.fixture
def policy_ticket_overdue(db, client_a):
    return TicketFactory(client=client_a, at=timezone.now() - timedelta(days=10))
