"""Celery for real: a worker and beat in their own processes, Redis as broker, PostgreSQL."""

import time
from datetime import timedelta

import pytest
from celery import Celery
from django.utils import timezone

from msp.choices import OutboxStatus, Tier, UserRole
from msp.models import Heartbeat, OutboxMessage
from msp.selectors import BEAT_HEARTBEAT
from msp.tasks import heartbeat_task
from sla.models import SLAEvent, SLATarget
from tests.factories import ClientFactory, StaffFactory, TeamFactory
from tests.msp.celery_processes import heartbeat_after, worker_and_beat
from tickets.choices import EventKind, Impact, Urgency
from tickets.models import Ticket
from tickets.services import ticket_open


def test_heartbeat_task_records_its_run(db):
    heartbeat_task()
    first = Heartbeat.objects.get(name=BEAT_HEARTBEAT).last_run_at
    heartbeat_task()
    assert Heartbeat.objects.get(name=BEAT_HEARTBEAT).last_run_at >= first
    assert Heartbeat.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_beat_heartbeat_runs_on_a_real_worker_over_redis(postgres, redis_url, tmp_path):
    with worker_and_beat(redis_url, tmp_path, HEARTBEAT_INTERVAL_SECONDS="1"):
        runs = []
        while len(runs) < 2 and (run := heartbeat_after(runs[-1] if runs else None)):
            runs.append(run)
    worker_log = (tmp_path / "worker.log").read_text()
    assert len(runs) == 2, f"beat's heartbeat never ran twice.\nworker:\n{worker_log[-3000:]}"
    assert "msp.heartbeat" in worker_log and "succeeded" in worker_log
    assert "Sending due task heartbeat" in (tmp_path / "beat.log").read_text()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sla_warning_breach_and_escalation_happen_once_on_a_real_worker(
    postgres, redis_url, tmp_path, policy
):
    """A P1 ticket with a one-minute response target, left alone: beat and a real worker warn,
    breach and escalate it to L2, each once and within 60 s of its time. It was opened 50 s
    before the worker started, so that the first warning is already due, the second and the
    breach seconds ahead (and the test does not wait a whole minute)."""
    SLATarget.objects.filter(policy=policy, priority="P1").update(response_minutes=1)
    for tier in (Tier.L1, Tier.L2):
        lead = StaffFactory(role=UserRole.TECHNICIAN, tier=tier)
        TeamFactory(name=f"Team {tier}", tier=tier, lead=lead).members.add(lead)
    assignee = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1)
    with worker_and_beat(redis_url, tmp_path, SLA_SWEEP_INTERVAL_SECONDS="2"):
        ticket = ticket_open(
            client=ClientFactory(),
            subject="Firewall down",
            impact=Impact.HIGH,
            urgency=Urgency.HIGH,
            assignee=assignee,
            at=timezone.now() - timedelta(seconds=50),
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ticket.refresh_from_db()
            if (
                ticket.tier == Tier.L2
                and not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists()
            ):
                break
            time.sleep(0.5)
    log = (tmp_path / "worker.log").read_text()
    assert ticket.tier == Tier.L2, f"not escalated in time.\n{log[-3000:]}"
    events = {
        e.key: e for e in SLAEvent.objects.filter(clock__ticket=ticket, clock__kind="response")
    }
    assert set(events) == {"warning-75", "warning-90", "breach"}
    for event in events.values():
        assert event.lateness.total_seconds() < 60, event
    timeline = list(Ticket.objects.get(pk=ticket.pk).events.values_list("kind", flat=True))
    assert timeline.count(EventKind.SLA_BREACH) == 1
    assert timeline.count(EventKind.ESCALATED) == 1
    assert timeline.count(EventKind.SLA_WARNING) == 2
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() >= 6
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sla_timers_are_not_held_up_behind_a_backlog_of_emails(postgres, redis_url, tmp_path):
    """Two thousand emails waiting in the default queue: beat's heartbeat (routed like the SLA
    sweep) still runs within seconds, long before the emails are all delivered."""
    backlog = [
        OutboxMessage.objects.create(
            key=f"backlog-{n}", channel="email", email="ops@client.example", subject="Backlog"
        ).pk
        for n in range(2000)
    ]
    with worker_and_beat(redis_url, tmp_path, HEARTBEAT_INTERVAL_SECONDS="1"):
        producer = Celery(broker=redis_url)
        with producer.connection_for_write() as conn:
            for message_id in backlog:
                producer.send_task("msp.outbox_deliver", args=[message_id], connection=conn)
        ran = heartbeat_after(timezone.now())
        pending_at_heartbeat = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
    log = (tmp_path / "worker.log").read_text()
    assert ran is not None, f"no heartbeat within 60 s.\n{log[-3000:]}"
    assert pending_at_heartbeat > 500, "the heartbeat waited for the emails to be delivered"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_invoice_run_asked_for_on_a_page_is_carried_out_by_a_real_worker(
    postgres, redis_url, tmp_path, monkeypatch, admin_user
):
    """The run page's request goes over Redis to a real worker after its commit, and the
    worker bills the month once."""
    from datetime import date

    from reporting.billing import services
    from reporting.billing.models import Invoice, InvoiceRun
    from tests.reporting.billing_world import billed_client

    customer = billed_client()
    # This process sends over the test's Redis (its own app's broker is memory://).
    monkeypatch.setattr(services, "current_app", Celery(broker=redis_url))
    with worker_and_beat(redis_url, tmp_path):
        run = services.invoice_run_request(
            month=date(2026, 3, 1), by=admin_user, client_ids=[customer.pk]
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.state != "finished":
            time.sleep(0.2)
            run = InvoiceRun.objects.get(pk=run.pk)
    worker_log = (tmp_path / "worker.log").read_text()
    assert run.state == "finished", f"no worker took the run.\nworker:\n{worker_log[-3000:]}"
    assert (run.created, run.errors) == (1, [])
    assert Invoice.objects.filter(client=customer).count() == 1
    assert "reporting.invoice_run" in worker_log and "succeeded" in worker_log
