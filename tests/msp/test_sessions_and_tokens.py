"""Idle sessions end, API tokens expire and record their use sparingly, and a user (or an
administrator for them) signs out everywhere and revokes every token in one click."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from msp.models import ApiToken
from msp.services import api_token_create
from tests.factories.msp import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in_with_password(user) -> HttpClient:
    """A real sign-in (a session carrying the user's session hash), not force_login."""
    http = HttpClient()
    assert (
        http.post(reverse("login"), {"username": user.email, "password": PASSWORD}).status_code
        == 302
    )
    return http


class TestIdleTimeout:
    def test_an_idle_staff_session_ends_and_an_active_one_goes_on(self, technician, settings):
        settings.SESSION_IDLE_MINUTES_STAFF = 30
        queue = reverse("tickets:queue")
        with time_machine.travel(timezone.now(), tick=False) as clock:
            http = signed_in_with_password(technician)
            assert http.get(queue).status_code == 200
            for _ in range(3):  # active every 20 minutes: never idle for 30
                clock.shift(timedelta(minutes=20))
                assert http.get(queue).status_code == 200
            clock.shift(timedelta(minutes=31))
            response = http.get(queue)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert "_auth_user_id" not in http.session

    def test_background_polls_do_not_keep_a_session_alive(self, technician, settings):
        settings.SESSION_IDLE_MINUTES_STAFF = 30
        badge = reverse("workspace:notification-badge")
        with time_machine.travel(timezone.now(), tick=False) as clock:
            http = signed_in_with_password(technician)
            http.get(reverse("tickets:queue"))
            for _ in range(4):
                clock.shift(timedelta(minutes=10))
                http.get(badge)
            assert http.get(reverse("tickets:queue")).status_code == 302

    def test_client_users_have_their_own_idle_time(self, client_user_a, settings):
        settings.SESSION_IDLE_MINUTES_STAFF = 30
        settings.SESSION_IDLE_MINUTES_CLIENT = 120
        home = reverse("portal:home")
        with time_machine.travel(timezone.now(), tick=False) as clock:
            http = signed_in_with_password(client_user_a)
            assert http.get(home).status_code == 200
            clock.shift(timedelta(minutes=90))
            assert http.get(home).status_code == 200
            clock.shift(timedelta(minutes=121))
            assert http.get(home).status_code == 302

    def test_the_session_is_written_at_most_once_a_minute(self, technician):
        queue = reverse("tickets:queue")
        with time_machine.travel(timezone.now(), tick=False) as clock:
            http = signed_in_with_password(technician)
            http.get(queue)
            clock.shift(timedelta(seconds=30))
            with CaptureQueriesContext(connection) as queries:
                http.get(queue)
            assert not [q for q in queries if 'UPDATE "django_session"' in q["sql"]]
            clock.shift(timedelta(seconds=31))
            with CaptureQueriesContext(connection) as queries:
                http.get(queue)
            assert [q for q in queries if 'UPDATE "django_session"' in q["sql"]]


def api_get(secret: str):
    return HttpClient().get(reverse("api:client-list"), HTTP_AUTHORIZATION=f"Bearer {secret}")


class TestTokens:
    def test_an_expired_token_gets_401(self, technician):
        _, secret = api_token_create(
            user=technician,
            name="script",
            scope="read",
            expires_at=timezone.now() + timedelta(days=1),
        )
        assert api_get(secret).status_code == 200
        with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
            assert api_get(secret).status_code == 401

    def test_last_used_is_written_at_most_once_a_minute(self, technician):
        token, secret = api_token_create(user=technician, name="script", scope="read")
        with time_machine.travel(timezone.now(), tick=False) as clock:
            api_get(secret)
            token.refresh_from_db()
            first = token.last_used_at
            assert first == timezone.now()
            clock.shift(timedelta(seconds=30))
            with CaptureQueriesContext(connection) as queries:
                api_get(secret)
            assert not [q for q in queries if q["sql"].startswith('UPDATE "msp_apitoken"')]
            token.refresh_from_db()
            assert token.last_used_at == first
            clock.shift(timedelta(seconds=31))
            api_get(secret)
            token.refresh_from_db()
            assert token.last_used_at == first + timedelta(seconds=61)

    def test_new_tokens_expire_in_the_configured_days_unless_a_date_is_chosen(
        self, client, technician, settings
    ):
        settings.API_TOKEN_EXPIRY_DAYS = 90
        client.force_login(technician)
        page = client.get(reverse("api-tokens")).content.decode()
        default_day = timezone.localdate() + timedelta(days=90)
        assert f'value="{default_day.isoformat()}"' in page and "Blank: in 90 days." in page
        client.post(reverse("api-tokens"), {"name": "a", "scope": "read", "expires_on": ""})
        chosen = timezone.localdate() + timedelta(days=7)
        client.post(reverse("api-tokens"), {"name": "b", "scope": "read", "expires_on": chosen})
        expiry = {t.name: timezone.localtime(t.expires_at).date() for t in ApiToken.objects.all()}
        assert expiry == {"a": default_day, "b": chosen}

    def test_no_default_expiry_when_configured_off(self, client, technician, settings):
        settings.API_TOKEN_EXPIRY_DAYS = 0
        client.force_login(technician)
        client.post(reverse("api-tokens"), {"name": "a", "scope": "read", "expires_on": ""})
        assert ApiToken.objects.get().expires_at is None

    def test_the_token_page_shows_last_use_and_expiry(self, client, technician):
        token, _ = api_token_create(
            user=technician, name="old", scope="read", expires_at=timezone.now() - timedelta(days=1)
        )
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        api_token_create(user=technician, name="unused", scope="read")
        client.force_login(technician)
        page = client.get(reverse("api-tokens")).content.decode()
        used = timezone.localtime(timezone.now()).strftime("%-d %b %Y %H:%M")
        assert used in page and "never" in page and "expired" in page


class TestSignOutEverywhere:
    def test_a_user_ends_their_other_sessions_and_tokens_and_keeps_this_one(self, technician):
        here, elsewhere = (signed_in_with_password(technician) for _ in range(2))
        _, secret = api_token_create(user=technician, name="script", scope="read")
        assert api_get(secret).status_code == 200

        response = here.post(reverse("sign-out-everywhere"), follow=True)
        assert b"1 API token(s) revoked" in response.content

        assert here.get(reverse("api-tokens")).status_code == 200
        assert elsewhere.get(reverse("api-tokens")).status_code == 302
        assert api_get(secret).status_code == 401
        assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
        # Signing in again works as usual.
        assert signed_in_with_password(technician).get(reverse("api-tokens")).status_code == 200

    def test_the_page_offers_it(self, client, technician):
        client.force_login(technician)
        assert b"End all other sessions and tokens" in client.get(reverse("api-tokens")).content

    def test_an_administrator_signs_a_user_out_everywhere(self, admin_user, technician, dispatcher):
        theirs = signed_in_with_password(technician)
        bystander = signed_in_with_password(dispatcher)
        _, secret = api_token_create(user=technician, name="script", scope="read")
        admin = HttpClient()
        admin.force_login(admin_user)
        response = admin.post(
            reverse("admin:msp_user_changelist"),
            {"action": "sign_out_everywhere", "_selected_action": [technician.pk]},
            follow=True,
        )
        assert b"1 user(s) signed out everywhere; 1 API token(s) revoked" in response.content
        assert theirs.get(reverse("api-tokens")).status_code == 302
        assert api_get(secret).status_code == 401
        assert bystander.get(reverse("api-tokens")).status_code == 200
