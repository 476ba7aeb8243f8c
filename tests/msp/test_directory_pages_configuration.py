"""The priority matrix and mailbox pages, and their API: staff read the matrix, administrators
change it; mailboxes are administrators' alone and their password never goes back out."""

import pytest
from django.urls import reverse

from msp.choices import UserRole
from tests.factories import ClientUserFactory, StaffFactory
from tests.helpers import signed_in
from tickets.models import Mailbox, PriorityMatrixCell
from tickets.selectors import priority_from_matrix

pytestmark = pytest.mark.django_db

SECRET = "s3cret-app-password"


@pytest.fixture
def people(client_a):
    return {
        "admin": StaffFactory(role=UserRole.ADMIN, tier=""),
        "dispatcher": StaffFactory(role=UserRole.DISPATCHER, tier=""),
        "technician": StaffFactory(role=UserRole.TECHNICIAN),
        "account_manager": StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier=""),
        "client": ClientUserFactory(client=client_a),
    }


@pytest.fixture
def mailbox():
    return Mailbox.objects.create(
        name="support", host="imap.msp.example", username="support@msp.example", password=SECRET
    )


def _matrix_post(**changes) -> dict:
    data = {
        f"cell_{impact}_{urgency}": "P4"
        for impact in ("high", "medium", "low")
        for urgency in ("high", "medium", "low")
    }
    data.update({"cell_high_high": "P1", "cell_high_medium": "P2", **changes})
    return data


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        ("admin", 200, 302),
        ("dispatcher", 200, 403),
        ("technician", 200, 403),
        ("account_manager", 200, 403),
        ("client", 403, 403),
    ],
)
def test_staff_read_the_matrix_and_administrators_change_it(people, role, read, write):
    http = signed_in(people[role])
    url = reverse("workspace:priority-matrix")
    assert http.get(url).status_code == read
    assert http.post(url, _matrix_post(cell_low_high="P2")).status_code == write
    expected = "P2" if write == 302 else "P3"
    assert priority_from_matrix(impact="low", urgency="high") == expected


def test_an_invalid_priority_is_shown_on_the_matrix(people):
    response = signed_in(people["admin"]).post(
        reverse("workspace:priority-matrix"), _matrix_post(cell_low_low="P9")
    )
    assert response.status_code == 400
    assert "valid choice" in response.content.decode()
    assert not PriorityMatrixCell.objects.exists()


def test_the_matrix_over_the_api(people, api_as):
    cells = {"cells": [{"impact": "low", "urgency": "high", "priority": "P2"}]}
    refused = api_as(people["dispatcher"]).patch("/api/v1/priority-matrix/", cells, format="json")
    assert refused.status_code == 403
    response = api_as(people["admin"]).patch("/api/v1/priority-matrix/", cells, format="json")
    assert response.status_code == 200
    read = api_as(people["technician"], "read").get("/api/v1/priority-matrix/").json()
    assert {"impact": "low", "urgency": "high", "priority": "P2"} in read["cells"]
    assert len(read["cells"]) == 9
    bad = {"cells": [{"impact": "low", "urgency": "high", "priority": "P7"}]}
    assert (
        api_as(people["admin"]).patch("/api/v1/priority-matrix/", bad, format="json").status_code
        == 400
    )


@pytest.mark.parametrize("role", ["dispatcher", "technician", "account_manager", "client"])
def test_mailbox_pages_are_for_administrators_only(people, mailbox, role):
    http = signed_in(people[role])
    for url in (
        reverse("workspace:mailbox-list"),
        reverse("workspace:mailbox-create"),
        reverse("workspace:mailbox-edit", args=[mailbox.pk]),
    ):
        assert http.get(url).status_code == 403
    assert http.post(reverse("workspace:mailbox-deactivate", args=[mailbox.pk])).status_code == 403
    mailbox.refresh_from_db()
    assert mailbox.is_active


def test_an_administrator_adds_edits_and_deactivates_a_mailbox_without_seeing_its_password(
    people, client_a, mailbox
):
    http = signed_in(people["admin"])
    data = {"name": "billing", "host": "imap.msp.example", "port": 993, "use_ssl": "on"}
    data |= {"username": "billing@msp.example", "folder": "INBOX", "default_client": client_a.pk}
    missing = http.post(reverse("workspace:mailbox-create"), data)
    assert missing.status_code == 400 and "password" in missing.context["form"].errors
    assert (
        http.post(reverse("workspace:mailbox-create"), {**data, "password": SECRET}).status_code
        == 302
    )
    billing = Mailbox.objects.get(name="billing")
    assert billing.password == SECRET and billing.default_client == client_a

    edit = reverse("workspace:mailbox-edit", args=[billing.pk])
    page = http.get(edit).content.decode()
    assert SECRET not in page
    assert http.post(edit, {**data, "folder": "Support", "password": ""}).status_code == 302
    billing.refresh_from_db()
    assert billing.folder == "Support" and billing.password == SECRET
    taken = http.post(edit, {**data, "name": "support", "password": ""})
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    assert SECRET not in http.get(reverse("workspace:mailbox-list")).content.decode()

    http.post(reverse("workspace:mailbox-deactivate", args=[billing.pk]))
    billing.refresh_from_db()
    assert not billing.is_active


def test_mailboxes_over_the_api_never_return_the_password(people, mailbox, api_as):
    admin = api_as(people["admin"])
    listed = admin.get("/api/v1/mailboxes/")
    assert listed.status_code == 200 and SECRET not in listed.content.decode()
    assert api_as(people["dispatcher"], "read").get("/api/v1/mailboxes/").status_code == 403
    changed = admin.patch(f"/api/v1/mailboxes/{mailbox.pk}/", {"folder": "Support"}, format="json")
    assert changed.status_code == 200 and "password" not in changed.json()
    mailbox.refresh_from_db()
    assert mailbox.password == SECRET and mailbox.folder == "Support"
    body = {"name": "new", "host": "imap.example", "username": "u"}
    assert admin.post("/api/v1/mailboxes/", body, format="json").status_code == 400
    made = admin.post("/api/v1/mailboxes/", {**body, "password": "pw-1"}, format="json")
    assert made.status_code == 201 and "pw-1" not in made.content.decode()
