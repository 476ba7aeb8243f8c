"""The SLA timer sweep with a frozen clock: each warning, breach and escalation exactly once."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection

from msp.choices import OutboxChannel, OutboxStatus, Tier, UserRole
from msp.models import Notification, OutboxMessage
from msp.services import outbox_deliver, outbox_retry_due
from sla.choices import ClockKind, ClockState
from sla.models import SLAClock, SLAEvent
from tests.factories import ContactFactory, StaffFactory
from tests.tickets.conftest import SUNDAY_NIGHT
from tickets import services
from tickets.choices import EventKind, Impact, Urgency
from tickets.models import Ticket
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db

OPENED = SUNDAY_NIGHT


def keys(ticket) -> list[str]:
    return list(
        SLAEvent.objects.filter(clock__ticket=ticket)
        .order_by("due_at", "pk")
        .values_list("clock__kind", "key")
    )


def sla_events(ticket) -> list[tuple[str, str]]:
    return list(
        ticket.events.filter(
            kind__in=[EventKind.SLA_WARNING, EventKind.SLA_BREACH, EventKind.ESCALATED]
        )
        .order_by("at", "pk")
        .values_list("kind", "new_value")
    )


class TestSweep:
    def test_nothing_before_the_first_milestone(self, p1):
        assert sla_sweep(now=OPENED + timedelta(minutes=10) - timedelta(seconds=1)).milestones == 0
        assert keys(p1) == []

    def test_each_milestone_at_its_instant_exactly_once(self, p1, teams):
        # P1: response 15 min (warnings at 11:15 and 13:30), "not acknowledged" at 10:00.
        result = sla_sweep(now=OPENED + timedelta(minutes=10))
        assert result.milestones == 1 and keys(p1)[0][1].startswith("unack-")
        sla_sweep(now=OPENED + timedelta(minutes=11, seconds=15))
        assert keys(p1)[-1] == (ClockKind.RESPONSE, "warning-75")
        sla_sweep(now=OPENED + timedelta(minutes=15))  # the due instant: a stop would still be met
        assert keys(p1)[-1] == (ClockKind.RESPONSE, "warning-90")
        assert Ticket.objects.get(pk=p1.pk).tier == Tier.L1
        sla_sweep(now=OPENED + timedelta(minutes=15, seconds=1))
        assert keys(p1)[-1] == (ClockKind.RESPONSE, "breach")
        p1.refresh_from_db()
        assert (p1.tier, p1.team) == (Tier.L2, teams[Tier.L2])
        assert p1.sla_breached
        # Again, and again later: nothing more for the response clock.
        assert sla_sweep(now=OPENED + timedelta(minutes=15, seconds=1)).milestones == 0
        assert sla_sweep(now=OPENED + timedelta(minutes=100)).milestones == 0
        assert list(sla_events(p1)) == [
            (EventKind.SLA_WARNING, keys(p1)[0][1]),
            (EventKind.SLA_WARNING, "warning-75"),
            (EventKind.SLA_WARNING, "warning-90"),
            (EventKind.SLA_BREACH, "breach"),
            (EventKind.ESCALATED, "L2"),
        ]
        clock = SLAClock.objects.get(ticket=p1, kind=ClockKind.RESPONSE)
        assert clock.state == ClockState.BREACHED
        assert clock.next_check_at is None
        # The resolution clock is next: 75 % of 4 h.
        assert SLAClock.objects.get(
            ticket=p1, kind=ClockKind.RESOLUTION
        ).next_check_at == OPENED + timedelta(hours=3)

    def test_notifications_follow_the_rules(self, p1, teams):
        sla_sweep(now=OPENED + timedelta(minutes=11, seconds=15))
        warnings = OutboxMessage.objects.filter(key__contains=":warning-75:")
        assert {(m.channel, m.recipient) for m in warnings} == {
            (OutboxChannel.IN_APP, p1.assignee),
            (OutboxChannel.EMAIL, p1.assignee),
        }
        sla_sweep(now=OPENED + timedelta(minutes=16))
        breach = OutboxMessage.objects.filter(key__contains=":breach:", channel=OutboxChannel.EMAIL)
        # The assignee and lead who had it, the account manager, and the lead of the new tier.
        assert {m.recipient for m in breach} == {
            p1.assignee,
            teams[Tier.L1].lead,
            p1.client.account_manager,
            teams[Tier.L2].lead,
        }
        message = breach.get(recipient=teams[Tier.L1].lead)
        assert message.subject.startswith(f"[#{p1.pk}] Response target breached")
        assert "escalated to L2" in message.body

    def test_a_reply_before_the_warning_means_no_warning(self, p1):
        services.ticket_reply(
            ticket=p1, author=p1.assignee, body="On it", at=OPENED + timedelta(minutes=9)
        )
        sla_sweep(now=OPENED + timedelta(minutes=30))
        assert [k for kind, k in keys(p1) if kind == ClockKind.RESPONSE] == []

    def test_a_late_sweep_fires_every_missed_milestone_once(self, p1):
        # Beat or Redis down for five hours: everything due since fires once, in order.
        result = sla_sweep(now=OPENED + timedelta(hours=5))
        assert [key for _, key in keys(p1)][1:] == [
            "warning-75",
            "warning-90",
            "breach",
            "warning-75",
            "warning-90",
            "breach",
        ]
        assert result.milestones == 7  # unack, 3 response, 3 resolution
        assert max(result.lateness) >= timedelta(hours=4)
        p1.refresh_from_db()
        assert p1.tier == Tier.L3  # both breaches escalated, once each
        assert sla_sweep(now=OPENED + timedelta(hours=6)).milestones == 0

    def test_a_breach_due_at_the_sweeps_instant_waits_for_the_next_sweep(self, p1, monkeypatch):
        # At 15:00 exactly the response breach is due but not yet a breach (a stop now would
        # be met): the sweep leaves it, once, rather than fetching it until its budget ends.
        from tickets.timers import sweep

        sla_sweep(now=OPENED + timedelta(minutes=14))
        visits = []
        original = sweep._sweep_batch
        monkeypatch.setattr(
            sweep, "_sweep_batch", lambda ids, *args: visits.append(ids) or original(ids, *args)
        )
        result = sla_sweep(now=OPENED + timedelta(minutes=15))
        assert visits == [[p1.pk]] and result.milestones == 0
        assert sla_sweep(now=OPENED + timedelta(minutes=15, seconds=1)).milestones == 1

    def test_a_worker_dying_mid_sweep_loses_nothing(self, p1, monkeypatch):
        from tickets.timers import sweep

        original = sweep._act_on
        calls = {"n": 0}

        def dying(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 1:
                raise SystemExit("worker killed")
            return original(*args, **kwargs)

        monkeypatch.setattr(sweep, "_act_on", dying)
        with pytest.raises(SystemExit):
            sla_sweep(now=OPENED + timedelta(minutes=12))
        assert keys(p1) == [] and not OutboxMessage.objects.exists()
        sla_sweep(now=OPENED + timedelta(minutes=12))
        assert len(keys(p1)) == 2  # unack and warning-75, once each

    def test_cost_is_the_due_clocks_not_the_open_tickets(
        self, p1, django_assert_num_queries, client_a
    ):
        for index in range(30):
            services.ticket_open(client=client_a, subject=f"quiet {index}", at=OPENED)
        with django_assert_num_queries(1):  # the index query for due clocks, and nothing else
            sla_sweep(now=OPENED + timedelta(minutes=1))

    def test_manual_escalation_uses_the_same_path(self, p1, teams):
        services.ticket_escalate(ticket=p1, actor=p1.assignee, reason="Needs the network team")
        p1.refresh_from_db()
        assert (p1.tier, p1.team) == (Tier.L2, teams[Tier.L2])


class TestOutbox:
    def test_delivery_sends_once_and_records_it(self, p1):
        sla_sweep(now=OPENED + timedelta(minutes=11, seconds=15))
        for message in OutboxMessage.objects.filter(key__contains=":warning-75:"):
            assert outbox_deliver(message_id=message.pk) == OutboxStatus.SENT
            assert outbox_deliver(message_id=message.pk) is None  # never twice
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == [p1.assignee.email]
        assert Notification.objects.get(recipient=p1.assignee).title.startswith(f"[#{p1.pk}]")

    def test_failures_are_retried_with_backoff_then_marked_failed(self, p1, settings):
        settings.EMAIL_BACKEND = "tests.tickets.failing_mail.FailingBackend"
        sla_sweep(now=OPENED + timedelta(minutes=11, seconds=15))
        message = OutboxMessage.objects.get(
            channel=OutboxChannel.EMAIL, key__contains=":warning-75:"
        )
        outbox_deliver(message_id=message.pk)
        message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
        assert message.last_error == "ConnectionRefusedError: SMTP server refused the connection"
        assert message.next_attempt_at > message.updated_at
        OutboxMessage.objects.exclude(pk=message.pk).delete()
        assert outbox_retry_due() == 0  # not due yet: backoff
        for _ in range(4):
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
            outbox_retry_due()
        message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboxStatus.FAILED, 5)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_record_each_milestone_once(postgres, policy, client_a, teams):
    ticket = services.ticket_open(
        client=client_a,
        contact=ContactFactory(client=client_a),
        subject="Race",
        impact=Impact.HIGH,
        urgency=Urgency.HIGH,
        at=OPENED,
    )
    later = OPENED + timedelta(minutes=20)
    barrier = threading.Barrier(2)
    errors = []

    def sweep():
        try:
            barrier.wait()
            sla_sweep(now=later)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert SLAEvent.objects.filter(clock__ticket=ticket).count() == 4  # unack, 75, 90, breach
    assert ticket.events.filter(kind=EventKind.ESCALATED).count() == 1
    assert ticket.events.filter(kind=EventKind.SLA_BREACH).count() == 1


def test_a_delivery_task_lost_with_redis_is_delivered_by_the_retry_task(p1):
    # The sweep queued tasks that Redis lost (flushed, or down); the rows are in PostgreSQL.
    sla_sweep(now=OPENED + timedelta(minutes=11, seconds=15))
    pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
    assert pending > 0
    assert outbox_retry_due() == pending
    assert not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reply_first", [True, False])
def test_a_reply_racing_the_warning_never_contradicts_it(
    postgres, policy, client_a, teams, reply_first
):
    """The reply and the sweep lock the ticket in the same order: whichever commits first
    wins, and the outcome is consistent either way."""
    technician = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1)
    ticket = services.ticket_open(
        client=client_a,
        contact=ContactFactory(client=client_a),
        subject="Race",
        impact=Impact.HIGH,
        urgency=Urgency.HIGH,
        at=OPENED,
    )
    moment = OPENED + timedelta(minutes=11, seconds=15)  # the 75 % warning of the response
    first_done = threading.Event()

    def reply():
        if not reply_first:
            first_done.wait(10)
        services.ticket_reply(ticket=ticket, author=technician, body="Here", at=moment)
        if reply_first:
            first_done.set()
        connection.close()

    def sweep():
        if reply_first:
            first_done.wait(10)
        sla_sweep(now=moment)
        if not reply_first:
            first_done.set()
        connection.close()

    threads = [threading.Thread(target=reply), threading.Thread(target=sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    response = SLAClock.objects.get(ticket=ticket, kind=ClockKind.RESPONSE)
    warned = SLAEvent.objects.filter(clock=response, key="warning-75").exists()
    assert response.state == ClockState.MET
    assert warned is (not reply_first)
    assert response.next_check_at is None


def test_timeline_labels_of_sla_events(p1):
    sla_sweep(now=OPENED + timedelta(minutes=16))
    labels = [
        event.new_label
        for event in p1.events.filter(kind=EventKind.SLA_WARNING).order_by("at", "pk")
    ]
    assert labels == ["not acknowledged", "75 % warning", "90 % warning"]
    assert p1.events.get(kind=EventKind.SLA_BREACH).new_label == "breach"
