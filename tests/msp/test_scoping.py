"""The one scoping rule, as a matrix: users x models -> visible rows."""

import pytest
from django.contrib.auth.models import AnonymousUser

from msp.choices import UserRole
from msp.models import Asset, Client, Contact, Site, User
from tests.factories import AssetFactory, ContactFactory, SiteFactory, StaffFactory

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
def test_staff_see_every_client(world, model, role):
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
