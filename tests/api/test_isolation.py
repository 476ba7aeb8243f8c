"""Scope isolation over every endpoint: client users' tokens see only their client; staff-only
resources are closed to them; staff roles write only what their role may."""

from decimal import Decimal

import pytest

from contracts.models import MaintenanceWindow, Outage, ServiceLine
from tests.factories import (
    AssetFactory,
    ContactFactory,
    ContractFactory,
    SiteFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

CLIENT_VISIBLE = ["clients", "sites", "contacts", "assets", "tickets"]
STAFF_ONLY = [
    "users",
    "teams",
    "calendars",
    "sla-policies",
    "contracts",
    "service-lines",
    "maintenance-windows",
    "outages",
]


@pytest.fixture
def world(client_a, client_b):
    """One of everything for each client."""
    rows = {}
    for key, client in (("a", client_a), ("b", client_b)):
        contract = ContractFactory(client=client, number=f"C-{key}", name="Managed")
        rows[key] = {
            "clients": client,
            "sites": SiteFactory(client=client),
            "contacts": ContactFactory(client=client),
            "assets": AssetFactory(client=client),
            "tickets": TicketFactory(client=client),
            "contracts": contract,
            "service-lines": ServiceLine.objects.create(
                contract=contract, service="network", pricing_model="fixed_retainer"
            ),
            "maintenance-windows": MaintenanceWindow.objects.create(
                contract=contract,
                name="W",
                start="2026-01-04T02:00:00Z",
                duration_minutes=60,
            ),
            "outages": Outage.objects.create(
                contract=contract, service="network", start="2026-02-01T00:00:00Z"
            ),
        }
    return rows


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("resource", CLIENT_VISIBLE)
@pytest.mark.parametrize("scope", ["read", "write"])
def test_client_user_sees_only_their_client(resource, scope, world, client_user_a, api_as):
    client = api_as(client_user_a, scope)
    own, other = world["a"][resource], world["b"][resource]
    response = client.get(f"/api/v1/{resource}/")
    assert response.status_code == 200
    assert ids(response) == {own.pk}
    assert client.get(f"/api/v1/{resource}/{own.pk}/").status_code == 200
    assert client.get(f"/api/v1/{resource}/{other.pk}/").status_code == 404


@pytest.mark.parametrize(
    "suffix", ["comments/", "reply/", "reopen/", "events/", "time-entries/", "acknowledge/"]
)
def test_client_user_cannot_reach_another_clients_ticket(suffix, world, client_user_a, api_as):
    other = world["b"]["tickets"]
    client = api_as(client_user_a)
    url = f"/api/v1/tickets/{other.pk}/{suffix}"
    method = client.get if suffix in ("comments/", "events/", "time-entries/") else client.post
    assert method(url, {"body": "x", "reason": "x"}, format="json").status_code in (403, 404)
    assert other.comments.count() == 0


@pytest.mark.parametrize("resource", STAFF_ONLY)
def test_staff_only_resources_are_closed_to_client_users(resource, world, client_user_a, api_as):
    response = api_as(client_user_a, "read").get(f"/api/v1/{resource}/")
    assert response.status_code == 403


@pytest.mark.parametrize("resource", CLIENT_VISIBLE + STAFF_ONLY)
def test_staff_read_every_client(resource, world, technician, api_as):
    response = api_as(technician, "read").get(f"/api/v1/{resource}/")
    assert response.status_code == 200
    if resource not in ("users", "teams", "calendars", "sla-policies"):
        assert {world["a"][resource].pk, world["b"][resource].pk} <= ids(response)


@pytest.mark.parametrize("resource", ["sites", "contacts", "assets"])
def test_client_users_cannot_write_the_directory(resource, world, client_user_a, api_as):
    own = world["a"][resource]
    response = api_as(client_user_a).patch(
        f"/api/v1/{resource}/{own.pk}/", {"name": "Mine"}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("user_fixture", "expected"),
    [("technician", 403), ("dispatcher", 403), ("account_manager", 201), ("admin_user", 201)],
)
def test_contract_writes_by_role(user_fixture, expected, world, api_as, request):
    user = request.getfixturevalue(user_fixture)
    contract = world["a"]["contracts"]
    response = api_as(user).post(
        "/api/v1/service-lines/",
        {
            "contract": contract.pk,
            "service": "backup",
            "pricing_model": "per_seat",
            "unit_price": "12.50",
        },
        format="json",
    )
    assert response.status_code == expected


def test_contract_api_validation(world, account_manager, api_as, client_a):
    client = api_as(account_manager)
    contract = world["a"]["contracts"]
    response = client.post(
        "/api/v1/service-lines/",
        {"contract": contract.pk, "service": "backup", "pricing_model": "block_of_hours"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["block_hours"] == ["Give the number of hours in the block."]
    response = client.patch(
        f"/api/v1/contracts/{contract.pk}/", {"credit_cap_percent": "1"}, format="json"
    )
    assert response.json()["errors"]["credit_cap_percent"] == [
        "The cap cannot be below a single credit."
    ]
    response = client.post(
        "/api/v1/maintenance-windows/",
        {
            "contract": contract.pk,
            "name": "Never",
            "start": "2026-01-01T00:00:00Z",
            "duration_minutes": 60,
            "recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
        },
        format="json",
    )
    assert response.json()["errors"]["recurrence"] == ["This recurrence rule never occurs."]
    response = client.post(
        "/api/v1/outages/",
        {
            "contract": contract.pk,
            "service": "network",
            "start": "2026-03-01T10:00:00Z",
            "ticket": world["b"]["tickets"].pk,
        },
        format="json",
    )
    assert response.json()["errors"]["ticket"] == ["It belongs to another client."]
    response = client.patch(
        f"/api/v1/contracts/{contract.pk}/", {"monthly_fee": "1500.00"}, format="json"
    )
    assert response.status_code == 200 and response.json()["monthly_fee"] == "1500.00"
    assert Decimal(response.json()["monthly_fee"]) == Decimal("1500")


def test_duplicate_contract_number_is_a_field_error(
    world, account_manager, api_as, client_a, policy
):
    response = api_as(account_manager).post(
        "/api/v1/contracts/",
        {
            "client": client_a.pk,
            "number": "C-a",
            "name": "Again",
            "type": "project",
            "start_date": "2026-05-01",
            "sla_policy": policy.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["number"] == ["contract with this number already exists."]
