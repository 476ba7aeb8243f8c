"""Sending a report: the account manager chooses among the client's contacts (the report
recipients ticked), sees who will receive it, confirms; each email is recorded. The same
through the API. Never to another client's contact, never a report of a client not served."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from msp.choices import ContactRole, UserRole
from msp.models import OutboxMessage
from reporting.models import ReportDelivery
from reporting.selectors import report_recipient_options
from reporting.services import report_send
from tests.factories import ContactFactory, ReportFactory, StaffFactory, TeamFactory
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(client_a):
    return ReportFactory(client=client_a)


@pytest.fixture
def people(client_a, client_b):
    return {
        "cio": ContactFactory(
            client=client_a, full_name="Carla CIO", role=ContactRole.EXECUTIVE,
            email="carla@a.example", receives_reports=True,
        ),
        "it": ContactFactory(
            client=client_a, full_name="Ivan IT", role=ContactRole.TECHNICAL, email="ivan@a.example"
        ),
        "primary": ContactFactory(
            client=client_a, full_name="Pia Primary", role=ContactRole.PRIMARY,
            email="pia@a.example",
        ),
        "no_email": ContactFactory(client=client_a, full_name="Nora Nomail", email=""),
        "gone": ContactFactory(
            client=client_a, full_name="Gus Gone", email="gus@a.example", is_active=False
        ),
        "theirs": ContactFactory(client=client_b, full_name="Bob B", email="bob@b.example"),
    }  # fmt: skip


def queued_to() -> set[str]:
    return set(
        OutboxMessage.objects.filter(key__startswith="report:").values_list("email", flat=True)
    )


class TestService:
    def test_sent_to_the_contacts_chosen_and_recorded(self, report, people, account_manager):
        chosen = [people["it"], people["primary"]]
        assert report_send(report=report, contacts=chosen, by=account_manager) == 2
        assert queued_to() == {"ivan@a.example", "pia@a.example"}
        deliveries = ReportDelivery.objects.filter(report=report)
        assert {(d.contact, d.email, d.sent_by) for d in deliveries} == {
            (people["it"], "ivan@a.example", account_manager),
            (people["primary"], "pia@a.example", account_manager),
        }
        # Once per contact and version: Ivan is skipped, Carla is new.
        assert report_send(report=report, contacts=[people["it"], people["cio"]]) == 1
        assert ReportDelivery.objects.get(contact=people["cio"]).sent_by is None

    def test_without_a_choice_the_report_recipients_get_it(self, report, people):
        assert report_send(report=report) == 1
        assert queued_to() == {"carla@a.example"}

    @pytest.mark.parametrize("who", ["theirs", "no_email", "gone"])
    def test_only_active_contacts_of_the_client_with_an_address(self, report, people, who):
        with pytest.raises(ValidationError) as refused:
            report_send(report=report, contacts=[people["it"], people[who]])
        assert "contacts" in refused.value.message_dict
        assert not OutboxMessage.objects.exists() and not ReportDelivery.objects.exists()
        report.refresh_from_db()
        assert report.sent_at is None

    def test_an_empty_choice_and_a_client_user_are_refused(self, report, people, client_user_a):
        with pytest.raises(ValidationError, match="at least one"):
            report_send(report=report, contacts=[])
        with pytest.raises(ValidationError, match="staff"):
            report_send(report=report, contacts=[people["it"]], by=client_user_a)

    def test_ticked_by_default_the_recipients_else_executive_and_primary(self, report, people):
        options = report_recipient_options(report)
        assert [o.contact.full_name for o in options] == ["Carla CIO", "Ivan IT", "Pia Primary"]
        assert [o.contact.full_name for o in options if o.default] == ["Carla CIO"]
        people["cio"].receives_reports = False
        people["cio"].save()
        defaults = [o.contact.full_name for o in report_recipient_options(report) if o.default]
        assert defaults == ["Carla CIO", "Pia Primary"]


class TestPages:
    def test_choose_confirm_then_send(self, report, people, account_manager):
        http = signed_in(account_manager)
        url = reverse("reporting:send", args=[report.pk])
        page = http.get(url).content.decode()
        assert f'value="{people["cio"].pk}" id="contact-{people["cio"].pk}" checked' in page
        assert f'value="{people["it"].pk}" id="contact-{people["it"].pk}">' in page
        assert "Nora Nomail" not in page and "Gus Gone" not in page and "Bob B" not in page

        chosen = {"contacts": [people["cio"].pk, people["it"].pk]}
        page = http.post(url, chosen).content.decode()
        listed = page[page.index('data-testid="confirm-recipients"') :]
        assert "carla@a.example" in listed and "ivan@a.example" in listed
        assert "pia@a.example" not in listed and "Send to 2 contacts" in page
        assert not OutboxMessage.objects.exists()  # nothing sent before the confirmation

        back = http.post(url, {**chosen, "confirmed": "True", "back": "1"}).content.decode()
        assert 'data-testid="recipient-choices"' in back and not OutboxMessage.objects.exists()

        response = http.post(url, {**chosen, "confirmed": "True"}, follow=True)
        assert "Sent to 2 recipients" in response.content.decode()
        assert queued_to() == {"carla@a.example", "ivan@a.example"}
        detail = http.get(reverse("reporting:detail", args=[report.pk])).content.decode()
        sent = detail[detail.index('data-testid="deliveries"') :]
        assert "ivan@a.example" in sent and f"by {account_manager.full_name}" in sent

    def test_nobody_chosen_is_refused(self, report, people, account_manager):
        url = reverse("reporting:send", args=[report.pk])
        response = signed_in(account_manager).post(url, {"confirmed": "True"})
        assert response.status_code == 400
        assert "Choose at least one contact" in response.content.decode()

    def test_a_client_without_contacts_is_told_so(self, report, account_manager):
        page = signed_in(account_manager).get(reverse("reporting:send", args=[report.pk]))
        assert "has no active contact with an email address" in page.content.decode()


class TestAcrossClients:
    """The cross-client matrix: a report of a client not served is unknown (404) on the page
    and the API; another client's contact is refused (400), whatever the confirmation."""

    @pytest.fixture
    def manager_of_b(self, client_b):
        pod = TeamFactory(name="Pod B")
        pod.clients.set([client_b])
        return StaffFactory(role=UserRole.ACCOUNT_MANAGER, tier="", teams=[pod])

    def test_a_report_of_a_client_not_served(self, report, people, manager_of_b, api_as):
        url = reverse("reporting:send", args=[report.pk])
        http = signed_in(manager_of_b)
        assert http.get(url).status_code == 404
        form = {"contacts": [people["cio"].pk], "confirmed": "True"}
        assert http.post(url, form).status_code == 404
        api = api_as(manager_of_b)
        body = {"contacts": [people["cio"].pk]}
        assert (
            api.post(f"/api/v1/reports/{report.pk}/send/", body, format="json").status_code == 404
        )
        assert api.get(f"/api/v1/reports/{report.pk}/recipients/").status_code == 404
        assert not OutboxMessage.objects.exists()

    @pytest.mark.parametrize("confirmed", ["", "True"])
    def test_another_clients_contact_on_the_page(self, report, people, account_manager, confirmed):
        url = reverse("reporting:send", args=[report.pk])
        form = {"contacts": [people["it"].pk, people["theirs"].pk], "confirmed": confirmed}
        response = signed_in(account_manager).post(url, form)
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        assert "bob@b.example" not in response.content.decode()
        assert not OutboxMessage.objects.exists() and not ReportDelivery.objects.exists()

    def test_another_clients_contact_over_the_api(self, report, people, account_manager, api_as):
        response = api_as(account_manager).post(
            f"/api/v1/reports/{report.pk}/send/",
            {"contacts": [people["it"].pk, people["theirs"].pk]},
            format="json",
        )
        assert response.status_code == 400
        assert "contacts" in response.json()["errors"]
        assert not OutboxMessage.objects.exists() and not ReportDelivery.objects.exists()


class TestApi:
    def test_choose_and_send(self, report, people, account_manager, api_as):
        api = api_as(account_manager)
        listed = api.get(f"/api/v1/reports/{report.pk}/recipients/").json()
        assert [(r["full_name"], r["default"], r["sent_at"]) for r in listed] == [
            ("Carla CIO", True, None),
            ("Ivan IT", False, None),
            ("Pia Primary", False, None),
        ]
        response = api.post(
            f"/api/v1/reports/{report.pk}/send/", {"contacts": [people["it"].pk]}, format="json"
        )
        assert response.status_code == 200 and response.json() == {"queued": 1}
        listed = api.get(f"/api/v1/reports/{report.pk}/recipients/").json()
        ivan = next(r for r in listed if r["full_name"] == "Ivan IT")
        assert ivan["sent_at"] and ivan["sent_by"] == account_manager.pk
        assert queued_to() == {"ivan@a.example"}

    @pytest.mark.parametrize(
        "body",
        [{"contacts": []}, {"contacts": "12"}, {"contacts": [1.5]}, {"contacts": [999_999]}],
    )
    def test_malformed_choices_are_400_with_the_field(
        self, report, people, account_manager, api_as, body
    ):
        response = api_as(account_manager).post(
            f"/api/v1/reports/{report.pk}/send/", body, format="json"
        )
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["contacts"]
        assert not OutboxMessage.objects.exists()

    def test_client_users_do_not_see_who_else_receives_it(
        self, client_a, people, client_user_a, api_as
    ):
        sent = ReportFactory(client=client_a, sent=True)
        response = api_as(client_user_a, "read").get(f"/api/v1/reports/{sent.pk}/recipients/")
        assert response.status_code == 403
