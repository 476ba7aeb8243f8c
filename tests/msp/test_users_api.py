"""People over the API: administrators invite staff and client users (emailed a link to choose
a password), change roles and deactivate; nobody else may, and the last administrator stays."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client as HttpClient

from msp.choices import UserRole
from msp.models import ApiToken, User
from msp.services import api_token_create, outbox_retry_due

pytestmark = pytest.mark.django_db


def invite(http, **fields):
    return http.post("/api/v1/users/", fields, format="json")


def test_an_invited_technician_chooses_a_password_and_signs_in(admin_user, api_as, mailoutbox):
    response = invite(
        api_as(admin_user),
        email="Sam@MSP.example",
        full_name="Sam Ng",
        role="technician",
        tier="L1",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "sam@msp.example"
    sam = User.objects.get(email="sam@msp.example")
    assert not sam.has_usable_password()
    outbox_retry_due()
    (message,) = mailoutbox
    assert message.to == ["sam@msp.example"]
    link = re.search(r"http://\S+/accounts/reset/\S+/", message.body).group(0)
    browser = HttpClient()
    form = browser.get(urlsplit(link).path, follow=True)
    assert form.status_code == 200
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-long horse battery", "new_password2": "a-long horse battery"},
    )
    assert done.status_code == 302
    sam.refresh_from_db()
    assert sam.check_password("a-long horse battery")


def test_a_client_user_needs_a_client(admin_user, api_as, client_a):
    http = api_as(admin_user)
    response = invite(http, email="cio@a.example", full_name="Ada", role="client")
    assert response.status_code == 400
    assert response.json()["errors"]["client"] == ["A client user must belong to a client."]
    response = invite(
        http, email="cio@a.example", full_name="Ada", role="client", client=client_a.pk
    )
    assert response.status_code == 201 and response.json()["client"] == client_a.pk


def test_a_taken_email_is_a_field_error(admin_user, technician, api_as):
    response = invite(
        api_as(admin_user), email=technician.email, full_name="Twin", role="dispatcher"
    )
    assert response.status_code == 400 and "email" in response.json()["errors"]


@pytest.mark.parametrize("role", ["technician", "dispatcher", "account_manager"])
def test_only_administrators_manage_people(role, api_as, request, technician):
    user = request.getfixturevalue(role)
    http = api_as(user)
    assert invite(http, email="x@msp.example", full_name="X", role="technician").status_code == 403
    response = http.patch(f"/api/v1/users/{technician.pk}/", {"role": "admin"}, format="json")
    assert response.status_code == 403
    technician.refresh_from_db()
    assert technician.role == UserRole.TECHNICIAN


def test_deactivating_ends_sessions_and_tokens(admin_user, technician, api_as):
    token, _ = api_token_create(user=technician, name="script", scope="read")
    response = api_as(admin_user).patch(
        f"/api/v1/users/{technician.pk}/", {"is_active": False}, format="json"
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    technician.refresh_from_db()
    assert technician.sessions_revoked_at is not None
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_the_last_administrator_stays_one(admin_user, api_as):
    http = api_as(admin_user)
    response = http.patch(f"/api/v1/users/{admin_user.pk}/", {"role": "dispatcher"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["role"] == [
        "The last active administrator stays one: make another first."
    ]
    admin_user.refresh_from_db()
    assert admin_user.role == UserRole.ADMIN


def test_staff_list_the_client_users_of_their_clients_only(
    technician, api_as, client_user_a, client_user_b
):
    from tests.factories import StaffFactory, TeamFactory

    pod = TeamFactory(name="Pod A")
    pod.clients.set([client_user_a.client])
    scoped = StaffFactory(role="dispatcher", tier="", teams=[pod])
    listed = api_as(scoped).get("/api/v1/users/", {"role": "client", "page_size": 100}).json()
    assert [row["id"] for row in listed["results"]] == [client_user_a.pk]
    assert api_as(scoped).get(f"/api/v1/users/{client_user_b.pk}/").status_code == 404


def test_notifications_are_each_users_own(technician, dispatcher, client_user_a, api_as):
    from msp.models import Notification

    mine = [Notification.objects.create(recipient=technician, title=f"#{n}") for n in range(3)]
    Notification.objects.create(recipient=dispatcher, title="not yours")
    Notification.objects.create(recipient=client_user_a, title="the client's")
    http = api_as(technician)
    listed = http.get("/api/v1/notifications/").json()["results"]
    assert [row["title"] for row in listed] == ["#2", "#1", "#0"]
    response = http.post("/api/v1/notifications/mark-read/", {"ids": [mine[0].pk]}, format="json")
    assert response.json() == {"marked": 1}
    unread = http.get("/api/v1/notifications/", {"read_at__isnull": "true"}).json()["results"]
    assert [row["title"] for row in unread] == ["#2", "#1"]
    assert http.post("/api/v1/notifications/mark-read/", {}, format="json").json() == {"marked": 2}
    client_view = api_as(client_user_a).get("/api/v1/notifications/").json()["results"]
    assert [row["title"] for row in client_view] == ["the client's"]
    assert Notification.objects.get(recipient=dispatcher).read_at is None
