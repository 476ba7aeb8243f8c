"""The "my tier and teams" queue: tickets of the user's teams and tier, and nothing to scan
for someone with neither."""

import pytest

from msp.choices import Tier, UserRole
from tests.factories import StaffFactory, TeamFactory, TicketFactory
from tickets.selectors import Queue, ticket_queue

pytestmark = pytest.mark.django_db


def test_my_tier_and_teams(client_a, policy, django_assert_num_queries):
    desk = TeamFactory(name="Desk", tier=Tier.L1, serves_all_clients=True)
    engineers = TeamFactory(name="Engineers", tier=Tier.L2, serves_all_clients=True)
    member = StaffFactory(role=UserRole.TECHNICIAN, tier="", teams=[desk])
    l2 = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L2, teams=[engineers])
    nobody = StaffFactory(role=UserRole.ADMIN, tier="", teams=[])  # sees every client
    at_desk = TicketFactory(client=client_a, team=desk, subject="Desk's")
    at_l2 = TicketFactory(client=client_a, team=engineers, tier=Tier.L2, subject="L2's")

    assert list(ticket_queue(user=member, queue=Queue.MY_TIER)) == [at_desk]
    assert list(ticket_queue(user=l2, queue=Queue.MY_TIER)) == [at_l2]
    nobody.visible_clients()  # read once per request elsewhere
    with django_assert_num_queries(1):  # the teams; no scan of the open tickets
        assert list(ticket_queue(user=nobody, queue=Queue.MY_TIER)) == []
