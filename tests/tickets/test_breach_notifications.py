"""The dispatchers hear of every P1/P2 breach and every escalation, in the app and by email,
exactly once: the dispatchers whose teams serve the ticket's client, or the administrators
when none does; never those of other clients' teams, nor a dispatcher who cannot see the
client; nothing for a P3 breach that escalates no one."""

from datetime import timedelta

import pytest
from django.core import mail

from msp.choices import OutboxChannel, UserRole
from msp.models import Notification, OutboxMessage
from msp.services import outbox_deliver
from sla.choices import EscalationTrigger
from sla.models import EscalationRule
from tests.factories import ContactFactory, StaffFactory, TeamFactory, TicketFactory
from tests.tickets.conftest import SUNDAY_NIGHT
from tickets import services
from tickets.choices import Impact, Urgency
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def pods(client_a, client_b, teams):
    """A dispatcher for each client's pod, and the P1 of client A from Sunday night."""
    pod_a = TeamFactory(name="Pod A", tier="")
    pod_a.clients.set([client_a])
    pod_b = TeamFactory(name="Pod B", tier="")
    pod_b.clients.set([client_b])
    return {
        "a": StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[pod_a], full_name="Dee A"),
        "b": StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[pod_b], full_name="Dee B"),
    }


def told(person) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(recipient=person, key__startswith="dispatch:"))


def deliver(messages) -> None:
    for message in messages:
        outbox_deliver(message_id=message.pk)


def test_a_p1_breach_reaches_the_clients_dispatcher_in_the_app_and_by_email(p1, pods):
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=14))  # warnings only: not told
    assert told(pods["a"]) == []
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=16))  # the response breach, escalated
    messages = told(pods["a"])
    assert {m.channel for m in messages} == {OutboxChannel.IN_APP, OutboxChannel.EMAIL}
    assert told(pods["b"]) == []  # another client's dispatcher
    deliver(messages)
    notification = Notification.objects.get(recipient=pods["a"])
    assert notification.title.startswith(f"[#{p1.pk}] P1 Response target breached")
    assert notification.url.endswith(f"/tickets/{p1.pk}/")
    (email,) = [m for m in mail.outbox if pods["a"].email in m.to]
    # Due 03:15 New York time (the client's: the dispatcher chose no zone), escalated.
    assert "Response target breached (due Sun 22 Nov 03:15 EST). Escalated to L2." in email.body
    assert "Core switch down" in email.subject
    # Exactly once: later sweeps (and the resolution clock's warnings) add nothing for it.
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=30))
    assert len(told(pods["a"])) == 2


def test_the_email_reads_the_due_time_in_the_dispatchers_own_zone(p1, pods):
    pods["a"].timezone = "Europe/Paris"
    pods["a"].save()
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=16))
    email = OutboxMessage.objects.get(recipient=pods["a"], channel=OutboxChannel.EMAIL)
    assert "(due Sun 22 Nov 09:15 CET)" in email.subject


def test_the_administrators_when_no_dispatcher_serves_the_client(p1, client_a, teams):
    lone = StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[])
    elsewhere = TeamFactory(name="Pod elsewhere", tier="")
    other = StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[elsewhere])
    admin = StaffFactory(role=UserRole.ADMIN, tier="", teams=[])
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=16))
    # The ticket's subject never reaches a dispatcher who may not open it.
    assert told(lone) == [] and told(other) == []
    assert len(told(admin)) == 2


def test_a_dispatcher_told_by_a_rule_is_not_told_twice(p1, pods):
    """A dispatcher who also leads the ticket's team hears of the breach once (the rule's)."""
    p1.team.lead = pods["a"]
    p1.team.save()
    p1.team.members.add(pods["a"])
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=16))
    breach = OutboxMessage.objects.filter(recipient=pods["a"], key__contains="breach")
    assert breach.filter(key__startswith="dispatch:").count() == 0
    assert breach.filter(key__startswith="sla:").count() == 2


def test_a_p3_breach_that_escalates_no_one_tells_no_dispatcher(client_a, teams, pods):
    EscalationRule.objects.filter(trigger=EscalationTrigger.BREACH).update(raise_tier=False)
    ticket = TicketFactory(
        client=client_a, contact=ContactFactory(client=client_a), subject="Slow printer",
        impact=Impact.MEDIUM, urgency=Urgency.MEDIUM, at=SUNDAY_NIGHT,
    )  # fmt: skip
    assert ticket.priority == "P3"
    result = sla_sweep(now=SUNDAY_NIGHT + timedelta(days=10))
    assert result.milestones and ticket.sla_clocks.filter(breached_at__isnull=False).exists()
    assert told(pods["a"]) == [] and told(pods["b"]) == []


def test_a_p3_breach_that_escalates_is_told(client_a, teams, pods):
    ticket = TicketFactory(
        client=client_a, contact=ContactFactory(client=client_a), subject="Slow printer",
        impact=Impact.MEDIUM, urgency=Urgency.MEDIUM, at=SUNDAY_NIGHT,
    )  # fmt: skip
    sla_sweep(now=SUNDAY_NIGHT + timedelta(days=10))
    ticket.refresh_from_db()
    assert ticket.tier != "L1"
    assert told(pods["a"]) and told(pods["b"]) == []


def test_an_escalation_by_hand_reaches_the_dispatchers_but_not_the_one_who_made_it(
    p1, pods, client_a
):
    pod_a = pods["a"].teams.get()
    colleague = StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[pod_a])
    services.ticket_escalate(
        ticket=p1, actor=pods["a"], reason="Needs an engineer", at=SUNDAY_NIGHT
    )
    messages = told(colleague)
    assert {m.channel for m in messages} == {OutboxChannel.IN_APP, OutboxChannel.EMAIL}
    assert told(pods["a"]) == [] and told(pods["b"]) == []
    deliver(messages)
    notification = Notification.objects.get(recipient=colleague)
    assert "Escalated from L1 to L2. Why: Needs an engineer" in notification.title


def test_the_sweep_still_writes_a_batch_in_a_fixed_number_of_statements(
    client_a, teams, pods, django_assert_max_num_queries
):
    """Twenty P1s breaching in one batch: the dispatchers' messages ride in the batch's one
    outbox insert, and the dispatchers are read once, not per ticket."""
    for n in range(20):
        TicketFactory(client=client_a, subject=f"Down {n}", p1=True, at=SUNDAY_NIGHT)
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=14))  # warnings out of the way
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=16))
    dispatcher_reads = [q for q in captured if "'dispatcher'" in q["sql"]]
    assert len(dispatcher_reads) == 1
    assert OutboxMessage.objects.filter(recipient=pods["a"]).count() == 40
    inserts = [q for q in captured if q["sql"].startswith('INSERT INTO "msp_outboxmessage"')]
    assert len(inserts) == 1


def test_the_rules_emails_read_times_in_each_staff_members_zone(p1, teams):
    """The assignee chose Europe/Paris: their breach email says 09:15 CET; the team lead, who
    chose none, reads the client's 03:15 EST; the timeline keeps the client's."""
    p1.assignee.timezone = "Europe/Paris"
    p1.assignee.save()
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=16))
    breach = OutboxMessage.objects.filter(key__contains=":breach:", channel=OutboxChannel.EMAIL)
    assert "(due Sun 22 Nov 09:15 CET)" in breach.get(recipient=p1.assignee).subject
    assert "(due Sun 22 Nov 03:15 EST)" in breach.get(recipient=teams["L1"].lead).body
    event = p1.events.get(kind="sla_breach")
    assert event.detail == "Response target breached (due Sun 22 Nov 03:15 EST)."
