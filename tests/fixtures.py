"""Shared fixtures, registered once through pytest_plugins in tests/conftest.py."""

import pytest

from msp.choices import Tier, UserRole
from tests.factories import (
    AssetFactory,
    ClientFactory,
    ClientUserFactory,
    StaffFactory,
    the_default_policy,
)


@pytest.fixture
def policy(db):
    """The default SLA policy, made once with the test database (tests/conftest.py): P1 round
    the clock; the others on New York business hours 08-18 with US public holidays."""
    return the_default_policy()


@pytest.fixture
def technician(db):
    return StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1)


@pytest.fixture
def dispatcher(db):
    return StaffFactory(role=UserRole.DISPATCHER)


@pytest.fixture
def account_manager(db):
    return StaffFactory(role=UserRole.ACCOUNT_MANAGER)


@pytest.fixture
def admin_user(db):
    return StaffFactory(role=UserRole.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def client_a(db):
    return ClientFactory(name="Client A")


@pytest.fixture
def client_b(db):
    return ClientFactory(name="Client B")


@pytest.fixture
def client_user_a(client_a):
    return ClientUserFactory(client=client_a)


@pytest.fixture
def client_user_b(client_b):
    return ClientUserFactory(client=client_b)


@pytest.fixture
def api_as(db):
    """An API client authenticated with a real token of `user` and `scope`."""
    from rest_framework.test import APIClient

    from msp.services import api_token_create

    def make(user, scope: str = "write") -> APIClient:
        _, secret = api_token_create(user=user, name="test", scope=scope)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return make


@pytest.fixture
def server(client_a):
    """Client A's database server as monitoring knows it: host name and RMM id."""
    return AssetFactory(client=client_a, hostname="db-01.acme.local", rmm_id="RMM-77")


@pytest.fixture
def rmm(technician, api_as):
    """An RMM or monitoring system: an API client with a technician's alerts-only token."""
    return api_as(technician, "alerts")
