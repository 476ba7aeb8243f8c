import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from msp.choices import Tier, UserRole
from msp.models import User
from msp.services import contact_portal_login_grant
from tests.factories import ClientFactory, ContactFactory, SiteFactory, StaffFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "role", [UserRole.TECHNICIAN, UserRole.DISPATCHER, UserRole.ACCOUNT_MANAGER, UserRole.ADMIN]
)
def test_every_staff_role_is_msp_staff(role):
    user = StaffFactory(role=role, tier="")
    assert user.is_msp_staff
    assert user.client is None


def test_technicians_carry_a_tier_and_join_teams():
    l2 = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L2, teams=[])
    team = TeamFactory(name="Engineering", tier=Tier.L2, lead=l2)
    team.members.add(l2)
    assert list(l2.teams.all()) == [team]
    assert l2.get_tier_display() == "Tier 2"


def test_email_is_the_login_and_is_case_insensitive():
    user = User.objects.create_user("Mixed.Case@Example.COM", "pw-123456789", full_name="M C")
    assert user.email == "mixed.case@example.com"
    assert User.USERNAME_FIELD == "email"


def test_client_user_must_have_a_client():
    with pytest.raises(ValidationError, match="must belong to a client"):
        User.objects.create_user("c@example.com", "x", full_name="C", role=UserRole.CLIENT, tier="")


def test_staff_may_not_belong_to_a_client():
    client = ClientFactory()
    with pytest.raises(ValidationError, match="Only client users"):
        User.objects.create_user(
            "s@example.com", "x", full_name="S", role=UserRole.ADMIN, client=client
        )


def test_database_enforces_client_role_rule_too():
    client = ClientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(
            email="x@example.com", full_name="X", role=UserRole.TECHNICIAN, client=client
        )


def test_client_users_have_no_tier():
    client = ClientFactory()
    with pytest.raises(ValidationError, match="no tier"):
        User.objects.create_user(
            "t@example.com", "x", full_name="T", role=UserRole.CLIENT, client=client, tier=Tier.L1
        )


def test_contact_portal_login_grant_creates_a_client_user():
    contact = ContactFactory(email="Jane@Client.example", full_name="Jane")
    user = contact_portal_login_grant(contact=contact, password="pw-123456789")
    assert user.role == UserRole.CLIENT
    assert user.client == contact.client
    assert user.check_password("pw-123456789")
    contact.refresh_from_db()
    assert contact.user == user
    assert contact_portal_login_grant(contact=contact) == user  # idempotent


def test_contact_site_must_belong_to_the_same_client():
    contact = ContactFactory(site=SiteFactory())
    with pytest.raises(ValidationError, match="another client"):
        contact.full_clean()


def test_unknown_client_timezone_is_a_field_error():
    client = ClientFactory.build(timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as error:
        client.full_clean()
    assert "timezone" in error.value.message_dict
