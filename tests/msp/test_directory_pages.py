"""The directory in the workspace (clients, sites, contacts, assets, people, teams): who may
open which page, search, create, edit and deactivate with valid and invalid input, the client
scope of staff narrowed to their teams' clients, and the query count of each list."""

import pytest
from django.urls import reverse

from msp.choices import ClientStatus, UserRole
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.services import contact_portal_login_grant, outbox_retry_due
from tests.factories import (
    AssetFactory,
    ClientFactory,
    ClientUserFactory,
    ContactFactory,
    SiteFactory,
    StaffFactory,
    TeamFactory,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

ROLES = ["admin", "dispatcher", "technician", "account_manager", "client"]


@pytest.fixture
def people(client_a):
    """One signed-in browser per role; staff see every client, the client user is client A's."""
    users = {
        "admin": StaffFactory(role=UserRole.ADMIN, tier=""),
        "dispatcher": StaffFactory(role=UserRole.DISPATCHER, tier=""),
        "technician": StaffFactory(role=UserRole.TECHNICIAN),
        "account_manager": StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier=""),
        "client": ClientUserFactory(client=client_a),
    }
    return users


@pytest.fixture
def rows(client_a):
    site = SiteFactory(client=client_a, name="Head office")
    contact = ContactFactory(client=client_a, full_name="Paula Reyes", site=site)
    asset = AssetFactory(client=client_a, name="ACME-FS01", site=site)
    team = TeamFactory(name="Service desk")
    person = StaffFactory(full_name="Kim Tran")
    return {
        "client": client_a,
        "site": site,
        "contact": contact,
        "asset": asset,
        "team": team,
        "person": person,
    }


def _pages(rows):
    """(URL, who may open it) for every directory page: lists read by all staff, forms by
    their editors."""
    editors = {"admin", "dispatcher"}
    admins = {"admin"}
    staff = {"admin", "dispatcher", "technician", "account_manager"}
    return [
        (reverse("workspace:client-list"), staff),
        (reverse("workspace:client-detail", args=[rows["client"].slug]), staff),
        (reverse("workspace:client-create"), editors),
        (reverse("workspace:client-edit", args=[rows["client"].slug]), editors),
        (reverse("workspace:site-list"), staff),
        (reverse("workspace:site-create"), editors),
        (reverse("workspace:site-edit", args=[rows["site"].pk]), editors),
        (reverse("workspace:contact-list"), staff),
        (reverse("workspace:contact-create"), editors),
        (reverse("workspace:contact-edit", args=[rows["contact"].pk]), editors),
        (reverse("workspace:asset-list"), staff),
        (reverse("workspace:asset-create"), editors),
        (reverse("workspace:asset-edit", args=[rows["asset"].pk]), editors),
        (reverse("workspace:person-list"), staff),
        (reverse("workspace:person-create"), admins),
        (reverse("workspace:person-edit", args=[rows["person"].pk]), admins),
        (reverse("workspace:team-list"), staff),
        (reverse("workspace:team-create"), admins),
        (reverse("workspace:team-edit", args=[rows["team"].pk]), admins),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_the_role_matrix_of_every_directory_page(people, rows, role):
    http = signed_in(people[role])
    for url, allowed in _pages(rows):
        status = http.get(url).status_code
        assert status == (200 if role in allowed else 403), (role, url, status)


DEACTIVATIONS = {
    "client-deactivate": ("client", {"admin", "dispatcher"}),
    "contact-deactivate": ("contact", {"admin", "dispatcher"}),
    "asset-deactivate": ("asset", {"admin", "dispatcher"}),
    "person-deactivate": ("person", {"admin"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(DEACTIVATIONS))
def test_who_may_deactivate(people, rows, role, name):
    key, allowed = DEACTIVATIONS[name]
    row = rows[key]
    arg = row.slug if key == "client" else row.pk
    response = signed_in(people[role]).post(reverse(f"workspace:{name}", args=[arg]))
    row.refresh_from_db()
    active = row.status != ClientStatus.INACTIVE if key == "client" else row.is_active
    if role in allowed:
        assert response.status_code == 302 and not active
    else:
        assert response.status_code == 403 and active


# Create, edit, search, deactivate --------------------------------------------------------------


def test_a_dispatcher_creates_edits_searches_and_deactivates_a_client(people):
    http = signed_in(people["dispatcher"])
    data = {"name": "Acme Manufacturing", "slug": "acme", "timezone": "America/New_York"}
    data |= {"status": "onboarding", "email_domains": "acme.example"}
    response = http.post(reverse("workspace:client-create"), data)
    acme = Client.objects.get(slug="acme")
    assert response.status_code == 302
    assert response.url == reverse("workspace:client-detail", args=["acme"])
    assert acme.status == ClientStatus.ONBOARDING

    edit = reverse("workspace:client-edit", args=["acme"])
    response = http.post(edit, {**data, "status": "active", "notes": "RMM rolled out."})
    acme.refresh_from_db()
    assert response.status_code == 302 and acme.status == "active"
    assert acme.notes == "RMM rolled out."

    listed = http.get(reverse("workspace:client-list"), {"q": "acme.exa"}).content.decode()
    assert "Acme Manufacturing" in listed
    assert "Acme" not in http.get(reverse("workspace:client-list"), {"q": "zzz"}).content.decode()

    http.post(reverse("workspace:client-deactivate", args=["acme"]), follow=True)
    acme.refresh_from_db()
    assert acme.status == ClientStatus.INACTIVE
    assert "Acme" not in http.get(reverse("workspace:client-list")).content.decode()
    every = http.get(reverse("workspace:client-list"), {"show": "all"}).content.decode()
    assert "Acme Manufacturing" in every
    http.post(reverse("workspace:client-reactivate", args=["acme"]))
    acme.refresh_from_db()
    assert acme.status == ClientStatus.ACTIVE


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "time zone"),
        ({"slug": "client-a-taken"}, "slug", "already exists"),
        ({"name": ""}, "name", "required"),
        ({"status": "gone"}, "status", "valid choice"),
    ],
)
def test_an_invalid_client_is_shown_on_the_form(people, client_a, change, field, message):
    client_a.slug = "client-a-taken"
    client_a.save()
    data = {"name": "Acme", "slug": "acme", "timezone": "UTC", "status": "active", **change}
    response = signed_in(people["admin"]).post(reverse("workspace:client-create"), data)
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field]).lower()
    assert not Client.objects.filter(slug="acme").exists()


def test_an_invalid_edit_keeps_the_page_about_the_row_as_it_is(people, client_a):
    edit = reverse("workspace:client-edit", args=[client_a.slug])
    data = {"name": "", "slug": "not a slug!", "timezone": "UTC", "status": "active"}
    response = signed_in(people["admin"]).post(edit, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Edit {client_a.name}" in html
    assert reverse("workspace:client-deactivate", args=[client_a.slug]) in html
    assert {"name", "slug"} <= set(response.context["form"].errors)


def test_only_administrators_set_a_clients_two_factor_rule(people, client_a):
    edit = reverse("workspace:client-edit", args=[client_a.slug])
    assert "require_mfa" in signed_in(people["admin"]).get(edit).context["form"].fields
    assert "require_mfa" not in signed_in(people["dispatcher"]).get(edit).context["form"].fields
    data = {"name": client_a.name, "slug": client_a.slug, "timezone": "UTC", "status": "active"}
    signed_in(people["dispatcher"]).post(edit, {**data, "require_mfa": "on"})
    client_a.refresh_from_db()
    assert client_a.require_mfa is False


def test_sites_are_created_and_edited_and_their_names_unique_per_client(people, client_a):
    http = signed_in(people["dispatcher"])
    data = {"client": client_a.pk, "name": "Plant 2", "address": "40 River Rd", "timezone": ""}
    assert http.post(reverse("workspace:site-create"), data).status_code == 302
    site = Site.objects.get(name="Plant 2")
    again = http.post(reverse("workspace:site-create"), data)
    assert again.status_code == 400
    assert "already exists" in again.content.decode()
    edit = reverse("workspace:site-edit", args=[site.pk])
    response = http.post(edit, {**data, "client": "", "timezone": "Nowhere/Land"})
    assert response.status_code == 400 and "timezone" in response.context["form"].errors
    assert http.post(edit, {**data, "address": "12 Canal St"}).status_code == 302
    site.refresh_from_db()
    assert site.address == "12 Canal St" and site.client == client_a
    assert "Plant 2" in http.get(reverse("workspace:site-list"), {"q": "canal"}).content.decode()


def test_a_contact_with_another_clients_site_is_refused(people, client_a, client_b):
    other_site = SiteFactory(client=client_b)
    data = {"client": client_a.pk, "site": other_site.pk, "full_name": "Paula Reyes"}
    data |= {"email": "paula@acme.example", "role": "primary", "is_seat": "on"}
    response = signed_in(people["admin"]).post(reverse("workspace:contact-create"), data)
    assert response.status_code == 400
    assert "another client" in response.content.decode()
    assert not Contact.objects.filter(full_name="Paula Reyes").exists()


def test_a_contact_is_created_edited_searched_and_deactivated_with_their_login(people, client_a):
    http = signed_in(people["dispatcher"])
    data = {"client": client_a.pk, "full_name": "Paula Reyes", "email": "paula@acme.example"}
    data |= {"role": "primary", "is_seat": "on", "receives_reports": "on"}
    assert http.post(reverse("workspace:contact-create"), data).status_code == 302
    contact = Contact.objects.get(email="paula@acme.example")
    assert contact.receives_reports and contact.client == client_a
    duplicate = http.post(reverse("workspace:contact-create"), {**data, "full_name": "P. R."})
    assert duplicate.status_code == 400
    assert "Another contact of this client has this email" in duplicate.content.decode()
    edit = reverse("workspace:contact-edit", args=[contact.pk])
    assert http.post(edit, {**data, "job_title": "IT coordinator"}).status_code == 302
    found = http.get(reverse("workspace:contact-list"), {"q": "coordinator"}).content.decode()
    assert "Paula Reyes" in found

    login = contact_portal_login_grant(contact=contact, password="x-long-password-1")
    http.post(reverse("workspace:contact-deactivate", args=[contact.pk]), follow=True)
    contact.refresh_from_db()
    login.refresh_from_db()
    assert not contact.is_active and not login.is_active
    assert "Paula" not in http.get(reverse("workspace:contact-list")).content.decode()


def test_an_asset_is_created_edited_searched_and_deactivated(people, client_a):
    http = signed_in(people["dispatcher"])
    data = {"client": client_a.pk, "kind": "server", "name": "ACME-FS01"}
    data |= {"hostname": "acme-fs01.acme.local", "rmm_id": "rmm-acme-002"}
    assert http.post(reverse("workspace:asset-create"), data).status_code == 302
    asset = Asset.objects.get(rmm_id="rmm-acme-002")
    taken = http.post(reverse("workspace:asset-create"), {**data, "name": "Other"})
    assert taken.status_code == 400
    assert "Another asset of this client has this RMM id" in taken.content.decode()
    bad_kind = http.post(reverse("workspace:asset-create"), {**data, "kind": "toaster"})
    assert bad_kind.status_code == 400 and "kind" in bad_kind.context["form"].errors
    edit = reverse("workspace:asset-edit", args=[asset.pk])
    assert http.post(edit, {**data, "serial_number": "CZ20310X7Q"}).status_code == 302
    found = http.get(reverse("workspace:asset-list"), {"q": "cz2031"}).content.decode()
    assert "ACME-FS01" in found
    http.post(reverse("workspace:asset-deactivate", args=[asset.pk]), follow=True)
    asset.refresh_from_db()
    assert not asset.is_active
    assert "ACME-FS01" not in http.get(reverse("workspace:asset-list")).content.decode()
    assert (
        "ACME-FS01" in http.get(reverse("workspace:asset-list"), {"show": "all"}).content.decode()
    )


def test_an_administrator_invites_a_person_into_teams_and_changes_them(people, mailoutbox):
    http = signed_in(people["admin"])
    desk = TeamFactory(name="Service desk")
    data = {"email": "kim@msp.example", "full_name": "Kim Tran", "role": "technician"}
    data |= {"tier": "L1", "teams": [desk.pk]}
    assert http.post(reverse("workspace:person-create"), data).status_code == 302
    kim = User.objects.get(email="kim@msp.example")
    assert list(kim.teams.all()) == [desk]
    assert not kim.has_usable_password()
    outbox_retry_due()
    assert [message.to for message in mailoutbox] == [["kim@msp.example"]]

    edit = reverse("workspace:person-edit", args=[kim.pk])
    assert http.post(edit, {**data, "tier": "L2", "teams": []}).status_code == 302
    kim.refresh_from_db()
    assert kim.tier == "L2" and not kim.teams.exists()
    found = http.get(reverse("workspace:person-list"), {"q": "kim@"}).content.decode()
    assert "Kim Tran" in found


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": "client"}, "client"),  # a client user needs a client
        ({"role": "client", "client": "CLIENT", "tier": ""}, "teams"),  # and is in no team
        ({"email": "not-an-email"}, "email"),
        ({"email": "TAKEN"}, "email"),
    ],
)
def test_an_invalid_person_is_shown_on_the_form(people, client_a, change, field):
    desk = TeamFactory()
    data = {"email": "kim@msp.example", "full_name": "Kim", "role": "technician", "tier": ""}
    data |= {"teams": [desk.pk], **change}
    data = {
        key: client_a.pk
        if value == "CLIENT"
        else people["dispatcher"].email.upper()
        if value == "TAKEN"
        else value
        for key, value in data.items()
    }
    response = signed_in(people["admin"]).post(reverse("workspace:person-create"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not User.objects.filter(full_name="Kim").exists()


def test_the_last_administrator_is_not_deactivated_and_says_why(people):
    admin = people["admin"]
    User.objects.filter(role=UserRole.ADMIN).exclude(pk=admin.pk).update(is_active=False)
    http = signed_in(admin)
    response = http.post(reverse("workspace:person-deactivate", args=[admin.pk]), follow=True)
    assert "last active administrator" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active


def test_an_administrator_makes_a_team_that_serves_some_clients(people, client_a, client_b):
    http = signed_in(people["admin"])
    member = people["technician"]
    data = {"name": "Pod A", "tier": "L1", "lead": member.pk, "members": [member.pk]}
    response = http.post(reverse("workspace:team-create"), {**data, "clients": [client_a.pk]})
    assert response.status_code == 302
    pod = Team.objects.get(name="Pod A")
    assert list(pod.clients.all()) == [client_a] and list(pod.members.all()) == [member]
    edit = reverse("workspace:team-edit", args=[pod.pk])
    warned = http.post(edit, {**data, "clients": []}, follow=True).content.decode()
    assert "serves no client" in warned
    taken = http.post(reverse("workspace:team-create"), data)
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    client_user = ClientUserFactory(client=client_a)
    refused = http.post(
        reverse("workspace:team-create"), {**data, "name": "Pod B"} | {"members": [client_user.pk]}
    )
    assert refused.status_code == 400 and "members" in refused.context["form"].errors


# The client scope ------------------------------------------------------------------------------


@pytest.fixture
def pod_a_dispatcher(client_a):
    pod = TeamFactory(name="Pod A")
    pod.clients.set([client_a])
    return StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[pod])


def test_a_dispatcher_sees_and_changes_only_the_clients_their_teams_serve(
    pod_a_dispatcher, client_a, client_b
):
    theirs = {
        "site": SiteFactory(client=client_b, name="Bravo site"),
        "contact": ContactFactory(client=client_b, full_name="Bravo contact"),
        "asset": AssetFactory(client=client_b, name="BRAVO-SRV"),
    }
    SiteFactory(client=client_a, name="Alpha site")
    http = signed_in(pod_a_dispatcher)
    for kind in ("client", "site", "contact", "asset"):
        page = http.get(reverse(f"workspace:{kind}-list"), {"show": "all"}).content.decode()
        assert "Bravo" not in page and "BRAVO" not in page and client_b.name not in page
    assert http.get(reverse("workspace:client-edit", args=[client_b.slug])).status_code == 404
    for kind, row in theirs.items():
        assert http.get(reverse(f"workspace:{kind}-edit", args=[row.pk])).status_code == 404
        assert http.post(reverse(f"workspace:{kind}-edit", args=[row.pk]), {}).status_code == 404
    response = http.post(reverse("workspace:asset-deactivate", args=[theirs["asset"].pk]), {})
    assert response.status_code == 404
    theirs["asset"].refresh_from_db()
    assert theirs["asset"].is_active
    data = {"client": client_b.pk, "full_name": "Sneaky", "role": "technical", "is_seat": "on"}
    refused = http.post(reverse("workspace:contact-create"), data)
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    assert not Contact.objects.filter(full_name="Sneaky").exists()
    form = http.get(reverse("workspace:contact-create"), {"client": client_b.pk})
    assert client_b.name not in form.content.decode()


def test_a_client_made_by_a_narrowed_dispatcher_is_served_by_their_team(pod_a_dispatcher):
    http = signed_in(pod_a_dispatcher)
    data = {"name": "Globex", "slug": "globex", "timezone": "UTC", "status": "prospect"}
    response = http.post(reverse("workspace:client-create"), data)
    assert response.url == reverse("workspace:client-detail", args=["globex"])
    assert http.get(response.url).status_code == 200
    assert list(Client.objects.get(slug="globex").teams.values_list("name", flat=True)) == ["Pod A"]


# Query counts ----------------------------------------------------------------------------------


def _fill(client, count: int) -> None:
    for _ in range(count):
        site = SiteFactory(client=client)
        ContactFactory(client=client, site=site)
        AssetFactory(client=client, site=site)
        ClientFactory()
        TeamFactory().members.add(StaffFactory(teams=[]))


# Session, user, the user's teams (visible clients), the page's count and its rows; people and
# teams add one prefetch (teams; the clients a team serves).
LIST_QUERIES = {
    "client-list": 5,
    "site-list": 5,
    "contact-list": 5,
    "asset-list": 5,
    "person-list": 6,
    "team-list": 6,
}


@pytest.mark.parametrize("name", sorted(LIST_QUERIES))
def test_list_pages_cost_the_same_queries_for_3_or_30_rows(
    people, client_a, name, django_assert_num_queries
):
    http = signed_in(people["dispatcher"])
    url = reverse(f"workspace:{name}")
    for rows in (3, 27):
        _fill(client_a, rows)
        with django_assert_num_queries(LIST_QUERIES[name]):
            assert http.get(url, {"q": "", "show": "all"}).status_code == 200


# The client's page -----------------------------------------------------------------------------


def test_the_client_page_shows_open_tickets_contracts_sla_reports_and_assets(
    policy, people, client_a, client_b, django_assert_max_num_queries
):
    from contracts.choices import ContractStatus
    from tests.factories import ContractFactory, ReportFactory, TicketFactory

    contract = ContractFactory(client=client_a, number="C-ACME", status=ContractStatus.ACTIVE)
    TicketFactory(client=client_a, subject="Printer on fire")
    TicketFactory(client=client_b, subject="Bravo's own ticket")
    ReportFactory(client=client_a)
    AssetFactory(client=client_a, name="ACME-FS01")
    http = signed_in(people["technician"])
    url = reverse("workspace:client-detail", args=[client_a.slug])
    http.get(url)
    with django_assert_max_num_queries(40):
        page = http.get(url)
    html = page.content.decode()
    assert 'data-testid="open-ticket-count">1<' in html
    assert "Printer on fire" in html and "Bravo&#x27;s own ticket" not in html
    queue = reverse("tickets:queue") + f"?queue=open&amp;client={client_a.pk}"
    assert queue in html
    assert "C-ACME" in html and contract.get_status_display() in html
    assert "SLA in" in html and "Compliance" in html
    assert "October 2026" in html or "Oct 2026" in html
    assert "ACME-FS01" in html
    assert "Edit client" not in html  # technicians read
    assert "Edit client" in signed_in(people["dispatcher"]).get(url).content.decode()


# The Django admin ------------------------------------------------------------------------------


def test_the_django_admin_is_for_superusers_only(people):
    administrator = people["admin"]
    administrator.is_staff = True  # as administrators had it: the admin by role
    administrator.save()
    http = signed_in(administrator)
    assert http.get(reverse("admin:index")).status_code == 302  # to the admin's sign-in
    assert http.get(reverse("admin:msp_client_changelist")).status_code == 302
    assert "Django admin" not in http.get(reverse("workspace:client-list")).content.decode()
    administrator.is_superuser = True
    administrator.save()
    assert http.get(reverse("admin:index")).status_code == 200
    assert "Django admin" in http.get(reverse("workspace:client-list")).content.decode()
