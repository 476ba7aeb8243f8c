"""Scope isolation over every endpoint: client users' tokens see only their client; staff-only
resources are closed to them; staff roles write only what their role may."""

from decimal import Decimal

import pytest

from contracts.models import (
    BreachExemption,
    ComplianceTarget,
    MaintenanceWindow,
    MonthlyEvaluation,
    Outage,
    ServiceLine,
)
from tests.factories import (
    AssetFactory,
    ContactFactory,
    ContractFactory,
    SiteFactory,
    StaffFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

CLIENT_VISIBLE = ["clients", "sites", "contacts", "assets", "tickets"]
STAFF_ONLY = [
    "users",
    "teams",
    "calendars",
    "sla-policies",
    "escalation-rules",
    "contracts",
    "service-lines",
    "compliance-targets",
    "maintenance-windows",
    "outages",
    "evaluations",
    "breach-exemptions",
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
            "compliance-targets": ComplianceTarget.objects.create(
                contract=contract, priority="P1", metric="response", percent=95
            ),
            "evaluations": MonthlyEvaluation.objects.create(
                contract=contract, month="2026-01-01", ladder_step="ok", currency="USD"
            ),
        }
        clock = rows[key]["tickets"].sla_clocks.first()
        rows[key]["breach-exemptions"] = BreachExemption.objects.create(
            clock=clock,
            cause="client",
            reason="Site closed",
            granted_by=StaffFactory(role="admin", tier=""),
            granted_at="2026-01-05T00:00:00Z",
        )
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
    if resource not in CONFIGURATION:
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


# Staff scoped to their teams' clients: a technician, dispatcher or account manager whose
# only team serves client A, over every resource of the router (a new one must be classified).

CONFIGURATION = {"users", "teams", "calendars", "sla-policies", "escalation-rules"}
CLIENT_DATA = set(CLIENT_VISIBLE) | (set(STAFF_ONLY) - CONFIGURATION) | {"reports"}


def test_the_staff_matrix_covers_every_registered_resource():
    from msp.api.urls import router

    assert {prefix for prefix, _, _ in router.registry} == (
        CLIENT_DATA | CONFIGURATION | ADMIN_ONLY | OWN_ROWS | DISPATCH | BILLING | TIME_ENTRIES
    )


# Administrators' settings, closed to every other role.
ADMIN_ONLY = {"webhook-endpoints", "mailboxes"}
# Alerts no client claimed: dispatchers and administrators (tests/api/test_ticket_actions.py).
DISPATCH = {"unrouted-alerts"}
# Each user's own rows, whatever their role (tested in tests/msp/test_users_api.py).
OWN_ROWS = {"notifications", "canned-responses"}
# A person's own time, and for managers the time of the clients they see; client users none
# (tests/tickets/test_time_api.py).
TIME_ENTRIES = {"time-entries"}
# Billing: administrators and account managers (their teams' clients), other staff refused,
# client users their client's finalised invoices (tests/reporting/test_billing_api.py).
BILLING = {"invoices", "accounting-exports", "spend-records", "tax-rates", "hourly-rates"}


@pytest.mark.parametrize("resource", sorted(ADMIN_ONLY))
@pytest.mark.parametrize(
    ("user_fixture", "expected"),
    [
        ("client_user_a", 403),
        ("technician", 403),
        ("dispatcher", 403),
        ("account_manager", 403),
        ("admin_user", 200),
    ],
)
def test_admin_only_resources(resource, user_fixture, expected, api_as, request):
    user = request.getfixturevalue(user_fixture)
    assert api_as(user, "read").get(f"/api/v1/{resource}/").status_code == expected


@pytest.fixture
def scoped_world(world):
    from tests.factories import ReportFactory, TeamFactory

    for key in ("a", "b"):
        world[key]["reports"] = ReportFactory(client=world[key]["clients"])
    team = TeamFactory(name="Pod A")
    team.clients.set([world["a"]["clients"]])
    world["team"] = team
    return world


@pytest.fixture(params=["technician", "dispatcher", "account_manager"])
def scoped_staff(request, scoped_world):
    from msp.choices import UserRole
    from tests.factories import StaffFactory

    role = UserRole(request.param)
    tier = "L1" if role == UserRole.TECHNICIAN else ""
    return StaffFactory(role=role, tier=tier, teams=[scoped_world["team"]])


def _viewset(resource):
    from msp.api.urls import router

    return next(viewset for prefix, viewset, _ in router.registry if prefix == resource)


@pytest.mark.parametrize("resource", sorted(CLIENT_DATA))
def test_scoped_staff_see_only_their_teams_clients(resource, scoped_world, scoped_staff, api_as):
    client = api_as(scoped_staff)
    own, other = scoped_world["a"][resource], scoped_world["b"][resource]
    listed = client.get(f"/api/v1/{resource}/", {"page_size": 100})
    assert listed.status_code == 200
    assert own.pk in ids(listed) and other.pk not in ids(listed)
    assert client.get(f"/api/v1/{resource}/{own.pk}/").status_code == 200
    assert client.get(f"/api/v1/{resource}/{other.pk}/").status_code == 404
    for method in ("patch", "put", "delete"):
        answer = getattr(client, method)(
            f"/api/v1/{resource}/{other.pk}/", {"name": "Mine"}, format="json"
        )
        assert answer.status_code in (403, 404, 405), method
    for extra in _viewset(resource).get_extra_actions():
        if not extra.detail:
            continue
        url = f"/api/v1/{resource}/{other.pk}/{extra.url_path}/"
        for method in extra.mapping:
            answer = getattr(client, method)(url, {"body": "x", "reason": "x"}, format="json")
            assert answer.status_code in (403, 404, 405), (url, method)
    assert scoped_world["b"]["tickets"].comments.count() == 0


@pytest.mark.parametrize(
    ("resource", "body"),
    [
        ("sites", {"name": "Mine"}),
        ("contacts", {"full_name": "Mine", "email": "mine@b.example"}),
        ("assets", {"name": "MINE", "kind": "server"}),
        ("tickets", {"subject": "Mine"}),
        (
            "contracts",
            {"number": "C-NEW", "name": "New", "type": "project", "start_date": "2026-05-01"},
        ),
    ],
)
def test_scoped_staff_create_nothing_for_another_client(
    resource, body, scoped_world, scoped_staff, api_as
):
    other = scoped_world["b"]["clients"]
    before = {
        name: model.objects.filter(client=other).count() for name, model in _client_models().items()
    }
    answer = api_as(scoped_staff).post(
        f"/api/v1/{resource}/", {"client": other.pk, **body}, format="json"
    )
    assert answer.status_code in (400, 403)
    if answer.status_code == 400:
        assert "client" in answer.json()["errors"]
    after = {
        name: model.objects.filter(client=other).count() for name, model in _client_models().items()
    }
    assert after == before


def _client_models():
    from contracts.models import Contract
    from msp.models import Asset, Contact, Site
    from tickets.models import Ticket

    return {"sites": Site, "contacts": Contact, "assets": Asset, "tickets": Ticket, "c": Contract}


def test_scoped_staff_attach_no_part_to_another_clients_contract(scoped_world, api_as):
    from tests.factories import StaffFactory

    manager = StaffFactory(role="account_manager", tier="", teams=[scoped_world["team"]])
    answer = api_as(manager).post(
        "/api/v1/service-lines/",
        {
            "contract": scoped_world["b"]["contracts"].pk,
            "service": "backup",
            "pricing_model": "per_seat",
            "unit_price": "1",
        },
        format="json",
    )
    assert answer.status_code == 400 and "contract" in answer.json()["errors"]


def test_assignee_must_serve_the_tickets_client(scoped_world, scoped_staff, api_as):
    from tests.factories import StaffFactory, TeamFactory

    elsewhere = StaffFactory(teams=[TeamFactory()])
    ticket = scoped_world["a"]["tickets"]
    client = api_as(scoped_staff)
    answer = client.post(
        f"/api/v1/tickets/{ticket.pk}/assign/", {"assignee": elsewhere.pk}, format="json"
    )
    assert answer.status_code == 400 and "assignee" in answer.json()["errors"]
    answer = client.post(
        f"/api/v1/tickets/{ticket.pk}/assign/", {"assignee": scoped_staff.pk}, format="json"
    )
    assert answer.status_code == 200


def test_administrators_and_all_client_teams_see_both(scoped_world, admin_user, api_as):
    """Compatibility: staff of a team that serves all clients (every team before teams had
    clients) and administrators see every client."""
    from tests.factories import StaffFactory

    for user in (admin_user, StaffFactory()):  # the factories' team serves every client
        listed = ids(api_as(user).get("/api/v1/clients/"))
        assert {scoped_world["a"]["clients"].pk, scoped_world["b"]["clients"].pk} <= listed


def test_teams_carry_their_clients_and_administrators_set_them(scoped_world, admin_user, api_as):
    team = scoped_world["team"]
    client_b = scoped_world["b"]["clients"]
    answer = api_as(admin_user).patch(
        f"/api/v1/teams/{team.pk}/",
        {"clients": [scoped_world["a"]["clients"].pk, client_b.pk]},
        format="json",
    )
    assert answer.status_code == 200
    assert set(answer.json()["clients"]) == {scoped_world["a"]["clients"].pk, client_b.pk}
    assert answer.json()["serves_all_clients"] is False


def test_scoped_staff_read_no_other_clients_ids_from_teams(scoped_world, scoped_staff, api_as):
    from tests.factories import TeamFactory

    pod_b = TeamFactory(name="Pod B")
    pod_b.clients.set([scoped_world["b"]["clients"]])
    teams = api_as(scoped_staff).get("/api/v1/teams/").json()["results"]
    shown = {team["name"]: team["clients"] for team in teams}
    assert shown["Pod A"] == [scoped_world["a"]["clients"].pk]
    assert shown["Pod B"] == []  # the team is listed (configuration), its client is not
