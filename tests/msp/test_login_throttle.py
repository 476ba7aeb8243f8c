"""Failed sign-ins are throttled per account and address and per address, and a burst from
one address alerts the administrators once."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from msp.choices import OutboxChannel
from msp.login_throttle import client_address
from msp.models import OutboxMessage
from tests.factories import StaffFactory
from tests.factories.msp import PASSWORD

pytestmark = pytest.mark.django_db
ATTACKER = "203.0.113.7"


@pytest.fixture(autouse=True)
def _fresh_alert_window():
    cache.clear()
    yield
    cache.clear()


def attempt(client, email, password="wrong", address=ATTACKER):  # noqa: S107
    return client.post(
        reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def spray(client, count: int, address=ATTACKER) -> None:
    """One wrong password on each of `count` accounts (none of them locked on its own)."""
    for n in range(count):
        attempt(client, f"user{n}@victim.example", address=address)


def test_thirty_usernames_from_one_address_lock_the_address(client, technician):
    spray(client, 30)
    response = attempt(client, technician.email, PASSWORD)
    assert response.status_code == 429
    assert b"from your address" in response.content
    assert "_auth_user_id" not in client.session
    # Another address is not concerned.
    assert attempt(client, technician.email, PASSWORD, address="198.51.100.2").status_code == 302


def test_fewer_failures_than_the_address_limit_do_not_lock_it(client, technician):
    spray(client, 29)
    assert attempt(client, technician.email, PASSWORD).status_code == 302


def test_a_good_sign_in_does_not_wipe_the_address_failures_on_other_accounts(
    client, technician, dispatcher
):
    spray(client, 20)
    assert attempt(client, technician.email, PASSWORD).status_code == 302
    client.logout()
    spray(client, 10)
    assert attempt(client, dispatcher.email, PASSWORD).status_code == 429


def test_the_account_limit_is_unchanged(client, technician):
    for _ in range(5):
        attempt(client, technician.email)
    assert attempt(client, technician.email, PASSWORD).status_code == 429


def test_a_burst_alerts_every_administrator_once_in_the_app_and_by_email(client, admin_user):
    other_admin = StaffFactory(role="admin")
    StaffFactory(role="admin", is_active=False)
    spray(client, 45)
    attempt(client, admin_user.email, PASSWORD)
    alerts = OutboxMessage.objects.filter(key__startswith=f"login-burst:{ATTACKER}:")
    assert sorted((m.recipient_id, m.channel) for m in alerts) == sorted(
        (admin.pk, channel)
        for admin in (admin_user, other_admin)
        for channel in (OutboxChannel.IN_APP, OutboxChannel.EMAIL)
    )
    assert ATTACKER in alerts.first().subject
    # Another address bursting is another alert.
    spray(client, 30, address="192.0.2.9")
    assert OutboxMessage.objects.filter(key__startswith="login-burst:192.0.2.9:").count() == 4


def test_failures_under_the_address_limit_alert_nobody(client, admin_user, technician):
    for _ in range(6):
        attempt(client, technician.email)  # one account locked: not a burst
    assert not OutboxMessage.objects.filter(key__startswith="login-burst:").exists()


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.1"),  # no proxy trusted: X-Forwarded-For is the client's word
        (1, "6.6.6.6, 2.2.2.2", "2.2.2.2"),  # the client wrote 6.6.6.6 itself
        (2, "6.6.6.6, 2.2.2.2, 10.0.0.5", "2.2.2.2"),
        (1, "", "10.0.0.1"),
    ],
)
def test_the_client_address_behind_trusted_proxies(settings, proxies, forwarded, expected):
    settings.LOGIN_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
