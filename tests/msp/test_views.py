import re

import pytest
from django.core import mail
from django.urls import reverse

from msp.choices import UserRole
from tests.factories import AssetFactory, ClientFactory, ContactFactory, SiteFactory, StaffFactory
from tests.factories.msp import PASSWORD
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


class TestLogin:
    def test_login_page_renders(self, client):
        response = client.get(reverse("login"))
        assert response.status_code == 200
        assert b"Sign in" in response.content

    def test_staff_login_lands_in_the_workspace(self, client, technician):
        response = client.post(
            reverse("login"), {"username": technician.email, "password": PASSWORD}, follow=True
        )
        assert response.redirect_chain[-1][0] == reverse("tickets:queue") + "?queue=mine"

    def test_client_user_login_lands_on_the_sla_dashboard(self, client, client_user_a):
        response = client.post(
            reverse("login"),
            {"username": client_user_a.email.upper(), "password": PASSWORD},
            follow=True,
        )
        assert response.redirect_chain[-1][0] == reverse("portal:sla-dashboard")

    def test_wrong_password_is_a_form_error(self, client, technician):
        response = client.post(reverse("login"), {"username": technician.email, "password": "nope"})
        assert response.status_code == 200
        assert b"Please enter a correct email and password" in response.content

    def test_repeated_failures_are_throttled_even_with_the_right_password(self, client, technician):
        for _ in range(5):
            client.post(reverse("login"), {"username": technician.email, "password": "wrong"})
        response = client.post(
            reverse("login"), {"username": technician.email, "password": PASSWORD}
        )
        assert response.status_code == 429
        assert b"Too many failed sign-in attempts" in response.content
        assert "_auth_user_id" not in client.session

    def test_throttling_is_per_account(self, client, technician, dispatcher):
        for _ in range(5):
            client.post(reverse("login"), {"username": technician.email, "password": "wrong"})
        response = client.post(
            reverse("login"), {"username": dispatcher.email, "password": PASSWORD}
        )
        assert response.status_code == 302

    def test_logout_is_a_post(self, technician):
        http = signed_in(technician)
        response = http.post(reverse("logout"))
        assert response.status_code == 302
        assert http.get(reverse("workspace:client-list")).status_code == 302

    def test_password_reset_by_email(self, client, technician):
        response = client.post(reverse("password_reset"), {"email": technician.email})
        assert response.status_code == 302
        assert len(mail.outbox) == 1
        link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
        form_page = client.get(link, follow=True)
        assert form_page.status_code == 200
        response = client.post(
            form_page.redirect_chain[-1][0],
            {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
        )
        assert response.status_code == 302
        technician.refresh_from_db()
        assert technician.check_password("a-brand-new-passphrase")


class TestAccess:
    STAFF_PAGES = [
        ("workspace:client-list", []),
        ("sla:calendar-list", []),
        ("sla:policy-list", []),
    ]

    @pytest.mark.parametrize("name,args", STAFF_PAGES)
    def test_anonymous_is_sent_to_login(self, client, name, args):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("name,args", STAFF_PAGES)
    def test_client_users_may_not_open_workspace_pages(self, client_user_a, name, args):
        assert signed_in(client_user_a).get(reverse(name, args=args)).status_code == 403

    def test_client_users_may_not_open_another_clients_detail(self, client_user_a, client_b):
        response = signed_in(client_user_a).get(
            reverse("workspace:client-detail", args=[client_b.slug])
        )
        assert response.status_code == 403

    def test_staff_may_not_open_the_portal(self, technician):
        assert signed_in(technician).get(reverse("portal:home")).status_code == 403

    def test_unknown_url_is_a_proper_404_page(self, technician):
        response = signed_in(technician).get("/no/such/page/")
        assert response.status_code == 404
        assert b"Page not found" in response.content

    def test_unknown_client_is_404(self, technician):
        response = signed_in(technician).get(reverse("workspace:client-detail", args=["nobody"]))
        assert response.status_code == 404


class TestDirectoryPages:
    def test_client_list_shows_counts(self, technician):
        acme = ClientFactory(name="Acme")
        SiteFactory(client=acme)
        ContactFactory(client=acme)
        AssetFactory.create_batch(3, client=acme)
        response = signed_in(technician).get(reverse("workspace:client-list"))
        row = next(client for client in response.context["object_list"] if client.pk == acme.pk)
        assert (row.site_count, row.contact_count, row.asset_count) == (1, 1, 3)

    @pytest.mark.parametrize("rows", [3, 30])
    def test_client_list_query_count_is_fixed(self, technician, django_assert_num_queries, rows):
        for client in ClientFactory.create_batch(
            rows, account_manager=StaffFactory(role=UserRole.ACCOUNT_MANAGER)
        ):
            AssetFactory(client=client)
        http = signed_in(technician)
        # session, user, the user's visible clients, count for pagination, the page of
        # clients with counts.
        with django_assert_num_queries(5):
            http.get(reverse("workspace:client-list"))

    def test_client_detail_lists_sites_contacts_assets(self, technician, client_a):
        SiteFactory(client=client_a, name="HQ")
        ContactFactory(client=client_a, full_name="Paula")
        AssetFactory(client=client_a, name="SRV-01")
        content = (
            signed_in(technician)
            .get(reverse("workspace:client-detail", args=[client_a.slug]))
            .content
        )
        assert b"HQ" in content and b"Paula" in content and b"SRV-01" in content

    def test_portal_shows_own_organisation_only(self, client_user_a, client_a, client_b):
        SiteFactory(client=client_a, name="Own site")
        SiteFactory(client=client_b, name="Other site")
        ContactFactory(client=client_a, full_name="Own contact")
        ContactFactory(client=client_b, full_name="Other contact")
        AssetFactory(client=client_a, name="OWN-ASSET")
        AssetFactory(client=client_b, name="OTHER-ASSET")
        content = signed_in(client_user_a).get(reverse("portal:home")).content.decode()
        assert "Own site" in content and "Own contact" in content and "OWN-ASSET" in content
        assert "Other" not in content and "OTHER" not in content
        assert client_b.name not in content


def test_assign_teams_explains_itself_when_every_team_serves_all_clients(admin_user, client_a):
    page = signed_in(admin_user).get(reverse("workspace:client-detail", args=[client_a.slug]))
    assert b'data-testid="no-narrowed-teams"' in page.content


def test_a_team_saved_serving_no_client_is_warned_about(admin_user):
    admin = signed_in(admin_user)
    response = admin.post(
        reverse("admin:msp_team_add"),
        {"name": "Night pod", "tier": "L1", "email": "", "members": [], "clients": []},
        follow=True,
    )
    assert "serves no client" in response.content.decode()
