from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from msp.choices import Tier, UserRole
from sla.services import default_policy_ensure
from tests.factories import ContactFactory, StaffFactory, TeamFactory

NY = ZoneInfo("America/New_York")


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def policy(db):
    """The default policy: P1 24x7; others on New York business hours 08-18 with US holidays."""
    return default_policy_ensure()


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
