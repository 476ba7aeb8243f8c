"""Opening a ticket reads its terms with one query compiled once per process (a shape for each
choice the caller made: a policy given or not, a team given or not): each shape gives the
terms the rules say, and a ticket no policy applies to is refused."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from msp.choices import Tier
from sla.models import SLAPolicy
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_tiers_team_or_the_team_given(client_a, policy, teams):
    second = services.ticket_open(client=client_a, subject="Firewall", tier=Tier.L2)
    assert (second.tier, second.team_id) == (Tier.L2, teams[Tier.L2].pk)
    given = services.ticket_open(
        client=client_a, subject="Firewall", tier=Tier.L2, team=teams[Tier.L3]
    )
    assert given.team_id == teams[Tier.L3].pk
    first = services.ticket_open(client=client_a, subject="Printer")
    assert first.team_id == teams[Tier.L1].pk


def test_without_a_policy_the_ticket_is_refused(client_a, policy, teams):
    SLAPolicy.objects.update(is_default=False)
    count = Ticket.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.ticket_open(client=client_a, subject="Printer")
    assert "sla_policy" in refused.value.message_dict
    assert Ticket.objects.count() == count


@pytest.mark.usefixtures("postgres")
def test_the_query_is_compiled_once_and_run_with_new_values(client_a, client_b, policy):
    services.ticket_open(client=client_a, subject="Warm-up")
    with CaptureQueriesContext(connection) as captured:
        services.ticket_open(client=client_b, subject="Printer")
    terms = next(q["sql"] for q in captured if "SAVEPOINT" not in q["sql"])
    assert terms.startswith('SELECT "sla_slapolicy"."id"')
    assert f'"client_id" = {client_b.pk})' in terms and "\x1f" not in terms
