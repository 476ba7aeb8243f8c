"""Ticket work stays with the staff who serve the ticket's client (their teams serve it): they
alone are assigned its tickets, by a person, on opening or by an escalation rule, and only they
are told about its SLA warnings and breaches."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from msp.choices import Tier, UserRole
from msp.models import OutboxMessage
from sla.choices import EscalationTrigger
from sla.models import EscalationRule
from tests.factories import StaffFactory, TeamFactory, TicketFactory
from tests.tickets.conftest import SUNDAY_NIGHT
from tickets import services
from tickets.models import Ticket
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def outsider(client_b):
    """A technician whose only team serves client B."""
    team = TeamFactory(name="Bravo pod", tier=Tier.L1, serves_all_clients=False)
    team.clients.add(client_b)
    return StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[team])


def test_a_ticket_is_never_assigned_to_staff_who_do_not_serve_its_client(
    client_a, outsider, technician, policy
):
    with pytest.raises(ValidationError) as opened:
        services.ticket_open(client=client_a, subject="Printer", assignee=outsider)
    assert "does not serve" in str(opened.value)
    ticket = TicketFactory(client=client_a)
    with pytest.raises(ValidationError):
        services.ticket_assign(ticket=ticket, actor=technician, assignee=outsider)
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
    services.ticket_assign(ticket=ticket, actor=technician, assignee=technician)  # control


def test_escalation_rules_tell_and_reassign_only_those_who_serve_the_client(p1, outsider, teams):
    teams[Tier.L1].lead = outsider  # a lead whose team was moved to client B's pod
    teams[Tier.L1].save()
    EscalationRule.objects.create(
        policy=p1.sla_policy,
        name="Warn the lead, hand to the outsider",
        trigger=EscalationTrigger.FIRST_WARNING,
        notify_team_lead=True,
        notify_assignee=True,
        reassign_to=outsider,
    )
    sla_sweep(now=SUNDAY_NIGHT + timedelta(minutes=12))
    p1.refresh_from_db()
    assert p1.assignee.full_name == "Night Tech"  # not handed to the outsider
    told = set(OutboxMessage.objects.values_list("recipient__email", flat=True))
    assert p1.assignee.email in told
    assert outsider.email not in told
