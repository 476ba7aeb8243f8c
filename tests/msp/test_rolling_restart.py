"""A rolling restart of the Celery side (docs/upgrades.md), for real: worker and beat in their
own processes over Redis and the test database, restarted while SLA milestones fall due.

Eight P1 tickets, two opened before each step, have their response warnings and breaches
fall due during it (24 milestones). A new worker starts and the old one gets SIGTERM (warm
shutdown: it finishes its task), a new beat starts before the old one stops (for a few
seconds two beats send the sweep), and the next worker is killed with SIGKILL as it takes a
task. Every milestone must be recorded once (none skipped, none twice), on time by the SLA's
60 s rule, each escalation and notification must be in the outbox once, and every outbox
email must reach the mail backend.
"""

import email
import os
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from msp.choices import OutboxChannel, OutboxStatus, Tier, UserRole
from msp.models import OutboxMessage
from msp.services import outbox_message_id
from sla.models import SLAClock, SLAEvent, SLATarget
from tests.factories import ClientFactory, StaffFactory, TeamFactory
from tests.msp.celery_processes import WORKER_ARGS, beat_args, celery, celery_env
from tickets.choices import EventKind, Impact, Urgency
from tickets.models import Ticket
from tickets.services import ticket_open

TICKETS = 8
MILESTONES = {"warning-75", "warning-90", "breach"}


def _log_has(log: Path, text: str, after: int = 0) -> bool:
    return log.exists() and text in log.read_text()[after:]


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:g} s for {what}")
        time.sleep(0.1)


def _sent_emails(directory: Path) -> list[email.message.Message]:
    """Every message the file mail backend wrote (one file per connection, messages separated
    by a line of 79 dashes)."""
    sent = []
    for path in directory.glob("*.log"):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                sent.append(email.message_from_bytes(chunk))
    return sent


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_milestones_fire_once_across_a_rolling_restart_and_a_killed_worker(
    postgres, redis_url, tmp_path, policy
):
    SLATarget.objects.filter(policy=policy, priority="P1").update(response_minutes=1)
    for tier in (Tier.L1, Tier.L2):
        lead = StaffFactory(role=UserRole.TECHNICIAN, tier=tier)
        TeamFactory(name=f"Team {tier}", tier=tier, lead=lead).members.add(lead)
    assignee = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1)
    client = ClientFactory()
    tickets = []

    def open_tickets(count: int, breach_in: int) -> None:
        """`count` P1 tickets whose response breaches `breach_in`, +5 s, ... seconds from now
        (warnings 15 s and 6 s before each): milestones due during the step that follows."""
        now = timezone.now()
        for n in range(count):
            tickets.append(
                ticket_open(
                    client=client,
                    subject=f"Site {len(tickets)} down",
                    impact=Impact.HIGH,
                    urgency=Urgency.HIGH,
                    assignee=assignee,
                    at=now - timedelta(seconds=60 - breach_in - 5 * n),
                )
            )

    open_tickets(2, breach_in=10)  # due while the first worker and beat start
    mail = tmp_path / "mail"
    mail.mkdir()
    redis.Redis.from_url(redis_url).flushdb()
    env = celery_env(
        redis_url,
        tmp_path,
        SLA_SWEEP_INTERVAL_SECONDS="2",
        DJANGO_SETTINGS_MODULE="tests.msp.celery_mail_settings",
        MSP_TEST_EMAIL_DIR=str(mail),
    )
    logs = {name: tmp_path / f"{name}.log" for name in ("worker1", "worker2", "worker3")}
    logs |= {"beat1": tmp_path / "beat1.log", "beat2": tmp_path / "beat2.log"}
    running = {
        "worker1": celery(WORKER_ARGS, env, logs["worker1"]),
        "beat1": celery(beat_args(tmp_path), env, logs["beat1"]),
    }
    restarts = {}
    try:
        _wait_for(SLAEvent.objects.exists, 60, "the first sweep")

        # The workers' rolling restart: the new one is up before the old one leaves.
        open_tickets(2, breach_in=10)
        running["worker2"] = celery(WORKER_ARGS, env, logs["worker2"])
        _wait_for(lambda: _log_has(logs["worker2"], "ready."), 60, "worker 2")
        running["worker1"].send_signal(signal.SIGTERM)  # warm shutdown
        running["worker1"].wait(timeout=60)
        restarts["worker1 stopped (SIGTERM)"] = timezone.now()

        open_tickets(2, breach_in=10)
        # Beat: the new one starts (its own schedule file, as on a new host) before the old
        # one stops, so for a few seconds both send the sweep.
        running["beat2"] = celery(
            ["beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule-2'}"],
            env,
            logs["beat2"],
        )
        _wait_for(lambda: _log_has(logs["beat2"], "Sending due task"), 60, "beat 2")
        running["beat1"].send_signal(signal.SIGTERM)
        running["beat1"].wait(timeout=60)
        restarts["beat1 stopped (SIGTERM)"] = timezone.now()

        # A worker killed outright as it takes a task; the next one starts after.
        open_tickets(2, breach_in=20)
        offset = len(logs["worker2"].read_text())
        _wait_for(lambda: _log_has(logs["worker2"], "received", offset), 60, "a task")
        os.kill(running["worker2"].pid, signal.SIGKILL)
        running["worker2"].wait(timeout=30)
        restarts["worker2 killed (SIGKILL)"] = timezone.now()
        running["worker3"] = celery(WORKER_ARGS, env, logs["worker3"])

        def done() -> bool:
            breached = SLAEvent.objects.filter(key="breach", clock__kind="response").count()
            return (
                breached == TICKETS
                and not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()
            )

        # A message claimed by the killed worker is handed back after the claim timeout.
        _wait_for(done, 240, "every breach and every outbox message delivered")
    finally:
        for process in running.values():
            if process.poll() is None:
                process.terminate()
        for process in running.values():
            process.wait(timeout=60)

    assert len(tickets) == TICKETS
    # The last batch's milestones fell due after the kill, while the next worker started.
    killed = restarts["worker2 killed (SIGKILL)"]
    assert SLAEvent.objects.filter(due_at__gt=killed).exists(), "no milestone after the kill"
    worst = timedelta(0)
    for ticket in tickets:
        events = list(SLAEvent.objects.filter(clock__ticket=ticket))
        keys = Counter(event.key for event in events)
        assert keys == Counter(MILESTONES), (ticket.subject, keys)
        for event in events:
            assert event.lateness < timedelta(seconds=60), (ticket.subject, event.key, event)
            worst = max(worst, event.lateness)
        timeline = Counter(Ticket.objects.get(pk=ticket.pk).events.values_list("kind", flat=True))
        assert timeline[EventKind.SLA_WARNING] == 2, (ticket.subject, timeline)
        assert timeline[EventKind.SLA_BREACH] == 1, (ticket.subject, timeline)
        assert timeline[EventKind.ESCALATED] == 1, (ticket.subject, timeline)
        assert Ticket.objects.get(pk=ticket.pk).tier == Tier.L2

    # Every ticket went through the same milestones and rules, so each has as many SLA
    # notifications (keyed "sla:<clock>:<milestone>:rule<rule>...").
    ticket_of_clock = dict(
        SLAClock.objects.filter(ticket__in=tickets).values_list("pk", "ticket_id")
    )
    per_ticket = Counter(
        ticket_of_clock[int(key.split(":")[1])]
        for key in OutboxMessage.objects.filter(key__startswith="sla:").values_list(
            "key", flat=True
        )
    )
    assert len(per_ticket) == TICKETS and len(set(per_ticket.values())) == 1, per_ticket

    # Every outbox email reached the mail backend; a repeat (same Message-ID) is possible only
    # where a worker died between handing a message over and recording it (at most once here).
    expected = {
        outbox_message_id(key)
        for key in OutboxMessage.objects.filter(channel=OutboxChannel.EMAIL).values_list(
            "key", flat=True
        )
    }
    delivered = Counter(message["Message-ID"] for message in _sent_emails(mail))
    assert set(delivered) == expected
    repeats = sum(count - 1 for count in delivered.values())
    assert repeats <= 1, delivered
    print(
        f"{TICKETS * len(MILESTONES)} milestones, worst lateness {worst.total_seconds():.1f} s, "
        f"{len(expected)} emails, {repeats} repeated; restarts at "
        + ", ".join(f"{what} {at:%H:%M:%S}" for what, at in restarts.items())
    )
