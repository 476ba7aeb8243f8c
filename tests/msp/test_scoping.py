"""The one scoping rule, as a matrix: users x models -> visible rows."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser

from msp.choices import UserRole
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.querysets import ClientScopedQuerySet
from tests.factories import (
    AssetFactory,
    ClientUserFactory,
    ContactFactory,
    ContractFactory,
    ReportFactory,
    SiteFactory,
    StaffFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [Client, Site, Contact, Asset, User]


@pytest.fixture
def world(client_a, client_b, client_user_a, client_user_b):
    for client in (client_a, client_b):
        SiteFactory(client=client)
        ContactFactory(client=client)
        AssetFactory(client=client)
    return {"a": client_a, "b": client_b}


def _client_ids(model, queryset) -> set[int]:
    if model is Client:
        return set(queryset.values_list("pk", flat=True))
    return set(queryset.values_list("client_id", flat=True))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "role", [UserRole.TECHNICIAN, UserRole.DISPATCHER, UserRole.ACCOUNT_MANAGER, UserRole.ADMIN]
)
def test_staff_of_a_team_serving_all_clients_see_every_client(world, model, role):
    staff = StaffFactory(role=role)
    visible = model.objects.for_user(staff)
    assert visible.count() == model.objects.count()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("who", ["a", "b"])
def test_client_user_sees_only_its_own_client(world, model, who, client_user_a, client_user_b):
    user = {"a": client_user_a, "b": client_user_b}[who]
    visible = model.objects.for_user(user)
    assert visible.exists()
    assert _client_ids(model, visible) == {world[who].pk}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_anonymous_and_inactive_users_see_nothing(world, model, client_user_a):
    assert not model.objects.for_user(AnonymousUser()).exists()
    assert not model.objects.for_user(None).exists()
    client_user_a.is_active = False
    assert not model.objects.for_user(client_user_a).exists()
    inactive_staff = StaffFactory(is_active=False)
    assert not model.objects.for_user(inactive_staff).exists()


# Staff: the clients of their teams (see msp.querysets). Each case: who, and the clients of
# the world ("a", "b") they see.


def _team(*clients, serves_all=False):
    team = TeamFactory(serves_all_clients=serves_all)
    team.clients.set(clients)
    return team


STAFF_CASES = {
    "technician of a team serving A": (
        lambda w: StaffFactory(teams=[_team(w["a"])]),
        {"a"},
    ),
    "technician in no team": (lambda w: StaffFactory(teams=[]), set()),
    "technician of a team serving all clients": (
        lambda w: StaffFactory(teams=[_team(serves_all=True)]),
        {"a", "b"},
    ),
    "technician of two teams, A's and B's": (
        lambda w: StaffFactory(teams=[_team(w["a"]), _team(w["b"])]),
        {"a", "b"},
    ),
    "lead (not member) of a team serving A": (
        lambda w: _lead_of(_team(w["a"])),
        {"a"},
    ),
    "dispatcher of a team serving B": (
        lambda w: StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[_team(w["b"])]),
        {"b"},
    ),
    "dispatcher in no team": (
        lambda w: StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[]),
        set(),
    ),
    "account manager of A, in no team": (
        lambda w: _manager_of(w["a"], teams=[]),
        {"a"},
    ),
    "account manager of A, in a team serving B": (
        lambda w: _manager_of(w["a"], teams=[_team(w["b"])]),
        {"a", "b"},
    ),
    "account manager of nobody, in no team": (
        lambda w: StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[]),
        set(),
    ),
    "administrator in no team": (
        lambda w: StaffFactory(role=UserRole.ADMIN, tier="", teams=[]),
        {"a", "b"},
    ),
}


def _lead_of(team):
    lead = StaffFactory(teams=[])
    team.lead = lead
    team.save()
    return lead


def _manager_of(client, teams):
    manager = StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=teams)
    client.account_manager = manager
    client.save()
    return manager


def _fresh(user):
    """The user as a new request loads it (visible clients not read yet)."""
    return User.objects.get(pk=user.pk)


def _scoped_models():
    """Every model whose rows belong to a client: a new one joins the matrix by itself."""
    return [
        model
        for model in apps.get_models()
        if isinstance(model._default_manager.all(), ClientScopedQuerySet)
    ]


def test_the_matrix_covers_the_directory_and_every_app():
    names = {model._meta.label for model in _scoped_models()}
    assert {"msp.Client", "msp.Site", "tickets.Ticket", "contracts.Contract"} <= names
    assert {"reporting.Report", "tickets.Comment", "tickets.TimelineEvent"} <= names


@pytest.fixture
def every_kind(world, policy, technician):
    """A row of every client-scoped model for each client, through the services."""
    from tickets.services import ticket_note, ticket_open, time_entry_log

    for client in world.values():
        ContractFactory(client=client)
        ticket = ticket_open(client=client, subject="Down")
        ticket_note(ticket=ticket, author=technician, body="Looking")
        time_entry_log(ticket=ticket, user=technician, minutes=5)
        ReportFactory(client=client)
    return world


@pytest.mark.parametrize("case", STAFF_CASES)
def test_staff_see_the_clients_of_their_teams(every_kind, case):
    make, expected = STAFF_CASES[case]
    user = _fresh(make(every_kind))
    expected_ids = {every_kind[key].pk for key in expected}
    for model in _scoped_models():
        queryset = model.objects.for_user(user)
        lookup = queryset.client_lookup
        seen = set(queryset.values_list(lookup, flat=True)) - {None}
        if model is User:
            # Staff also see every staff member (the people they work with).
            assert queryset.filter(client__isnull=True).count() == User.objects.staff().count()
        rows = set(model.objects.values_list(lookup, flat=True)) & expected_ids
        assert seen == rows, model._meta.label


@pytest.mark.parametrize("case", STAFF_CASES)
def test_seeing_client_is_the_same_rule_read_the_other_way(world, case):
    """User.objects.seeing_client (assignee choices) agrees with visible_clients."""
    make, expected = STAFF_CASES[case]
    user = _fresh(make(world))
    for key, client in world.items():
        assert User.objects.seeing_client(client.pk).filter(pk=user.pk).exists() == (
            key in expected
        )
    # Read for many clients at once (the timer sweep), the same answer.
    seeing = User.objects.seeing_clients([client.pk for client in world.values()])
    for key, client in world.items():
        assert (user.pk in seeing[client.pk]) == (key in expected)
        assert seeing[client.pk] == set(
            User.objects.seeing_client(client.pk).values_list("pk", flat=True)
        )


def test_visible_clients_are_read_once_per_user(world, django_assert_num_queries):
    user = _fresh(StaffFactory(teams=[_team(world["a"])]))
    with django_assert_num_queries(1 + 3):  # the clients once; three lists
        list(Client.objects.for_user(user))
        list(Site.objects.for_user(user))
        list(Asset.objects.for_user(user))
    admin = _fresh(StaffFactory(role=UserRole.ADMIN, tier="", teams=[]))
    with django_assert_num_queries(1):  # an administrator's needs no query
        list(Client.objects.for_user(admin))


def test_existing_teams_and_teamless_staff_keep_every_client(world):
    """Migration msp 0011: nothing changes until an administrator narrows a team."""
    migration = importlib.import_module("msp.migrations.0011_teams_serve_all_clients")
    Team.objects.all().delete()
    old_team = TeamFactory(serves_all_clients=False)
    member = StaffFactory(teams=[old_team])
    teamless = StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[])
    client_user = ClientUserFactory(client=world["a"])
    migration.serve_all_clients(apps, None)
    old_team.refresh_from_db()
    assert old_team.serves_all_clients
    assert _fresh(member).visible_clients().every
    assert _fresh(teamless).visible_clients().every
    assert not client_user.teams.exists()
    assert Team.objects.get(name="All clients").serves_all_clients


def test_a_narrowed_team_hides_the_other_clients_at_once(world):
    team = _team(serves_all=True)
    technician = StaffFactory(teams=[team])
    assert set(Client.objects.for_user(_fresh(technician))) == set(world.values())
    team.serves_all_clients = False
    team.save()
    team.clients.set([world["a"]])
    assert list(Client.objects.for_user(_fresh(technician))) == [world["a"]]


def _users_of_every_kind(world):
    users = {case: _fresh(make(world)) for case, (make, _) in STAFF_CASES.items()}
    for key, client in world.items():
        users[f"client user of {key}"] = _fresh(ClientUserFactory(client=client))
    users["inactive technician"] = _fresh(StaffFactory(is_active=False))
    users["anonymous"] = AnonymousUser()
    users["no user"] = None
    return users


def test_a_row_in_hand_is_visible_exactly_when_its_scoped_queryset_holds_it(every_kind):
    """`is_visible` (the API's related ids, told from a row's own columns) gives the answer of
    `for_user` for every user and every row of every scoped model, or None to ask the
    database; `sees` always gives it."""
    users = _users_of_every_kind(every_kind)
    covered = set()
    for model in _scoped_models():
        rows = list(model._base_manager.all())
        if rows:
            covered.add(model._meta.label)
        for name, user in users.items():
            scoped = model.objects.for_user(user)
            held = set(scoped.values_list("pk", flat=True))
            for row in rows:
                where = (model._meta.label, name, row.pk)
                # `sees`, what the API asks: told in hand or by the database, always the answer.
                assert model.objects.all().sees(row, user) == (row.pk in held), where
                verdict = scoped.is_visible(row, user)
                if verdict is None:  # the database answers
                    continue
                assert verdict == (row.pk in held), where
    assert {"msp.Client", "msp.User", "msp.Site", "tickets.Ticket", "tickets.Comment"} <= covered
    assert {"contracts.Contract", "reporting.Report", "tickets.TimelineEvent"} <= covered
    # Told in hand for the directory (the API's usual related ids).
    for model in (Client, Site, Contact, Asset, User):
        row = model._base_manager.first()
        assert model.objects.all().is_visible(row, users["client user of a"]) is not None


@pytest.mark.usefixtures("postgres")
def test_a_users_clients_go_to_the_database_as_one_array(world):
    """However many clients a technician's teams serve, a scoped query carries one parameter
    for them (msp.lookups.any_of), and selects what IN selects."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ClientFactory

    many = [ClientFactory() for _ in range(30)]
    user = _fresh(StaffFactory(teams=[_team(world["a"], *many)]))
    with CaptureQueriesContext(connection) as captured:
        seen = set(Client.objects.for_user(user).values_list("pk", flat=True))
    assert seen == {world["a"].pk, *(client.pk for client in many)}
    assert seen == set(
        Client.objects.filter(pk__in=[world["a"].pk, *(c.pk for c in many)]).values_list(
            "pk", flat=True
        )
    )
    listed = captured.captured_queries[-1]["sql"]
    assert "= ANY(ARRAY[" in listed and " IN (" not in listed
