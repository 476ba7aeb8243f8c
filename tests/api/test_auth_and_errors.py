"""Tokens, scopes, throttling and the error shape of the API."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from msp.models import ApiToken
from msp.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def test_no_credentials_is_401_with_a_message():
    response = APIClient().get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "errors": {},
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer a b", "Token psa_unknown"])
def test_bad_tokens_are_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/tickets/").status_code == 401


def test_revoked_and_expired_tokens_stop_working(technician):
    token, secret = api_token_create(user=technician, name="script", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/tickets/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    api_token_revoke(token=token)
    assert client.get("/api/v1/tickets/").status_code == 401
    _, other = api_token_create(
        user=technician,
        name="old",
        scope="read",
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other}")
    assert client.get("/api/v1/tickets/").status_code == 401


def test_only_a_hash_is_stored(technician):
    token, secret = api_token_create(user=technician, name="script", scope="read")
    assert secret.startswith("psa_") and len(secret) > 40
    assert secret not in token.key_hash and token.prefix == secret[:12]


def test_read_tokens_only_read(technician, api_as, client_a):
    response = api_as(technician, "read").post(
        "/api/v1/tickets/", {"client": client_a.pk, "subject": "x"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["message"] == "This token may only read."


def test_alert_tokens_call_nothing_else(technician, api_as):
    client = api_as(technician, "alerts")
    for path in ("/api/v1/tickets/", "/api/v1/clients/", "/api/v1/contracts/"):
        assert client.get(path).status_code == 403


@override_settings(API_THROTTLE_RATES={"default": "3/min", "alerts": "3/min"})
def test_throttled_per_token_with_429(technician, api_as):
    from django.core.cache import cache

    cache.clear()
    client, other = api_as(technician, "read"), api_as(technician, "read")
    codes = [client.get("/api/v1/teams/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert other.get("/api/v1/teams/").status_code == 200  # its own budget
    response = client.get("/api/v1/teams/")
    assert "throttled" in response.json()["message"].lower()
    assert "Retry-After" in response


def test_validation_errors_have_field_details(technician, api_as):
    response = api_as(technician).post("/api/v1/tickets/", {"subject": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("Invalid input")
    assert set(body["errors"]) >= {"subject"}


def test_malformed_json_and_wrong_content_type(technician, api_as):
    client = api_as(technician)
    response = client.post("/api/v1/tickets/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["message"]
    response = client.post("/api/v1/tickets/", "subject=x", content_type="text/plain")
    assert response.status_code == 415


def test_unknown_ticket_is_404_json(technician, api_as):
    response = api_as(technician).get("/api/v1/tickets/987654/")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "errors": {}}


def test_etag_gives_304_for_an_unchanged_page(technician, api_as):
    client = api_as(technician, "read")
    first = client.get("/api/v1/teams/")
    again = client.get("/api/v1/teams/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_schema_and_docs(technician):
    client = APIClient()
    client.force_login(technician)
    schema = client.get(reverse("api:schema"), {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/tickets/",
        "/api/v1/tickets/{id}/reply/",
        "/api/v1/tickets/{id}/log-time/",
        "/api/v1/clients/",
        "/api/v1/contracts/",
        "/api/v1/outages/",
        "/api/v1/sla-policies/",
    ):
        assert path in paths, path
    assert "tokenAuth" in schema.json()["components"]["securitySchemes"]
    assert client.get(reverse("api:docs")).status_code == 200


class TestTokenPage:
    def test_make_and_revoke_a_token_in_the_browser_pages(self, client, technician):
        client.force_login(technician)
        response = client.post(
            reverse("api-tokens"), {"name": "RMM", "scope": "alerts", "expires_on": ""}
        )
        assert response["Cache-Control"] == "no-store"
        content = response.content.decode()
        assert "Copy it now" in content
        token = ApiToken.objects.get(user=technician)
        assert token.scope == "alerts" and token.prefix in content
        client.post(reverse("api-token-revoke", args=[token.pk]))
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_past_expiry_is_a_form_error(self, client, technician):
        client.force_login(technician)
        response = client.post(
            reverse("api-tokens"), {"name": "x", "scope": "read", "expires_on": "2000-01-01"}
        )
        assert response.status_code == 400
        assert "Choose a date in the future." in response.content.decode()

    def test_nobody_revokes_anothers_token(self, client, technician, dispatcher):
        token, _ = api_token_create(user=dispatcher, name="x", scope="read")
        client.force_login(technician)
        assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_make_use_and_revoke_a_token_in_a_browser(page, live_server, dispatcher):
    import urllib.error
    import urllib.request

    from tests.factories.msp import PASSWORD

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(dispatcher.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspace/tickets/?queue=unassigned")  # a dispatcher's start
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Accounting export")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Make token").click()
    secret = page.get_by_test_id("secret").inner_text().strip()
    assert "Accounting export" in page.get_by_test_id("tokens").inner_text()

    def call() -> int:
        request = urllib.request.Request(  # noqa: S310 - the test server's http URL
            f"{live_server.url}/api/v1/teams/", headers={"Authorization": f"Bearer {secret}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert call() == 200
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/accounts/api-tokens/")
    assert "revoked" in page.get_by_test_id("tokens").inner_text()
    assert call() == 401


def test_the_api_keeps_working_when_the_throttle_cache_is_down(technician, api_as, settings):
    """Throttle counters live in Redis in production: with Redis down, requests (and alerts)
    go through unthrottled instead of failing."""
    from tests.factories import AssetFactory

    AssetFactory(rmm_id="RMM-1")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    client = api_as(technician)
    assert client.get("/api/v1/tickets/").status_code == 200
    alert = {
        "source": "zabbix",
        "fingerprint": "f1",
        "severity": "critical",
        "summary": "Disk full",
        "asset": "RMM-1",
    }
    response = api_as(technician, "alerts").post("/api/v1/alerts/", alert, format="json")
    assert response.status_code == 202
    assert response.json()["results"][0]["action"] == "opened"
