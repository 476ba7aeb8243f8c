from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from msp.choices import Tier, UserRole
from tests.factories import ContactFactory, StaffFactory, TeamFactory, TicketFactory

NY = ZoneInfo("America/New_York")


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def teams(db):
    leads = {tier: StaffFactory(role=UserRole.TECHNICIAN, tier=tier) for tier in Tier.values}
    result = {}
    for tier, name in (
        (Tier.L1, "Service desk"),
        (Tier.L2, "Engineering"),
        (Tier.L3, "Architects"),
    ):
        result[tier] = TeamFactory(name=name, tier=tier, lead=leads[tier])
        result[tier].members.add(leads[tier])
    return result


@pytest.fixture
def contact_a(client_a):
    return ContactFactory(client=client_a)


SUNDAY_NIGHT = ny(2026, 11, 22, 3, 0)  # P1 runs round the clock; the other priorities do not


@pytest.fixture
def p1(policy, client_a, teams):
    """A P1 opened on Sunday night, assigned to an L1 technician, with a contact to reply to
    and an account manager to tell."""
    technician = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, full_name="Night Tech")
    client_a.account_manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="")
    client_a.save()
    return TicketFactory(
        client=client_a,
        contact=ContactFactory(client=client_a),
        subject="Core switch down",
        p1=True,
        assignee=technician,
        at=SUNDAY_NIGHT,
    )


@pytest.fixture
def paula(client_a):
    """Client A's contact who writes in by email from the client's own domain."""
    client_a.email_domains = "acme.example"
    client_a.save()
    return ContactFactory(client=client_a, email="paula@acme.example", full_name="Paula Smith")
