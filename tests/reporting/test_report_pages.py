"""Report pages in the workspace and the portal, downloads and the API: roles, and the client
boundary on every URL that names a report."""

from datetime import date

import pytest
from django.urls import URLResolver, get_resolver, reverse

from msp.periods import Period
from reporting.models import Report
from tests.factories import ContactFactory, ReportFactory, StaffFactory
from tests.helpers import signed_in
from tests.reporting.conftest import ny

pytestmark = pytest.mark.django_db
OCTOBER = Period("month", date(2026, 10, 1))
AFTER = ny(2026, 11, 5, 9)


def sent_report(client, period=OCTOBER) -> Report:
    ContactFactory(client=client, receives_reports=True)
    return ReportFactory(client=client, period=period, now=AFTER, sent=True)


@pytest.fixture
def own(client_a):
    return sent_report(client_a)


@pytest.fixture
def draft(client_a):
    return ReportFactory(client=client_a, period=Period("quarter", date(2026, 7, 1)), now=AFTER)


@pytest.fixture
def foreign(client_b):
    return sent_report(client_b)


def test_account_manager_generates_annotates_and_sends(client_a, account_manager):
    erin = ContactFactory(client=client_a, email="erin@acme.example", receives_reports=True)
    http = signed_in(account_manager)
    response = http.post(
        reverse("reporting:generate"), {"client": client_a.pk, "period": "month:2026-10-01"}
    )
    report = Report.objects.get(client=client_a)
    assert response.url == reverse("reporting:detail", args=[report.pk])
    assert "draft: not sent" in http.get(response.url).content.decode()
    http.post(
        reverse("reporting:annotate", args=[report.pk]),
        {"summary": "A calm month.", "recommendations": "Renew the firewall."},
    )
    # Chosen, confirmed, sent (the steps: tests/reporting/test_report_sending.py).
    send = {"contacts": [erin.pk], "confirmed": "True"}
    response = http.post(reverse("reporting:send", args=[report.pk]), send, follow=True)
    assert "Sent to 1 recipient" in response.content.decode()
    report.refresh_from_db()
    assert (report.summary, report.sent_at is not None) == ("A calm month.", True)


def test_generate_form_errors(client_a, account_manager):
    http = signed_in(account_manager)
    response = http.post(reverse("reporting:generate"), {"client": client_a.pk, "period": "x"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Report.objects.exists()


def test_sending_without_recipients_explains_why(account_manager, draft):
    http = signed_in(account_manager)
    page = http.get(reverse("reporting:send", args=[draft.pk])).content.decode()
    assert "has no active contact with an email address" in page
    response = http.post(reverse("reporting:send", args=[draft.pk]), {"confirmed": "True"})
    assert response.status_code == 400
    assert "Choose at least one contact" in response.content.decode()


def test_technicians_read_reports_but_do_not_make_or_send_them(technician, client_a, draft):
    http = signed_in(technician)
    assert http.get(reverse("reporting:detail", args=[draft.pk])).status_code == 200
    generate = {"client": client_a.pk, "period": "month:2026-10-01"}
    assert http.post(reverse("reporting:generate"), generate).status_code == 403
    assert http.post(reverse("reporting:send", args=[draft.pk])).status_code == 403
    assert http.post(reverse("reporting:annotate", args=[draft.pk]), {}).status_code == 403


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("reporting:list", []),
        ("reporting:detail", ["own"]),
        ("reporting:download", ["own", "pdf"]),
    ],
)
def test_workspace_report_pages_are_for_staff(client_user_a, own, name, args):
    args = [own.pk if arg == "own" else arg for arg in args]
    response = signed_in(client_user_a).get(reverse(name, args=args))
    assert response.status_code in (403, 404)


def test_portal_lists_only_our_sent_reports(client_user_a, own, draft, foreign):
    page = signed_in(client_user_a).get(reverse("portal:report-list")).content.decode()
    assert reverse("portal:report-detail", args=[own.pk]) in page
    assert reverse("portal:report-detail", args=[draft.pk]) not in page
    assert reverse("portal:report-detail", args=[foreign.pk]) not in page


def test_portal_report_and_downloads(client_user_a, own):
    http = signed_in(client_user_a)
    page = http.get(reverse("portal:report-detail", args=[own.pk])).content.decode()
    assert "Monthly service report, October 2026" in page
    pdf = http.get(reverse("portal:report-download", args=[own.pk, "pdf"]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "attachment;" in pdf["Content-Disposition"]
    csv = http.get(reverse("portal:report-download", args=[own.pk, "csv"]))
    assert csv.content.decode().startswith("section,key,dimension")


# Every portal URL that names an object, with how to build it for another client's object.
PORTAL_OBJECT_URLS = {
    "ticket-detail": lambda objects: [objects["ticket"].pk],
    "attachment": lambda objects: [objects["ticket"].pk, objects["attachment"].pk],
    "report-detail": lambda objects: [objects["report"].pk],
    "report-download": lambda objects: [objects["report"].pk, "pdf"],
    "webhook-detail": lambda objects: [objects["webhook"].pk],
    "webhook-secret": lambda objects: [objects["webhook"].pk],
    "webhook-rotate": lambda objects: [objects["webhook"].pk],
    "webhook-test": lambda objects: [objects["webhook"].pk],
    "webhook-replay": lambda objects: [objects["webhook"].pk],
    "webhook-delete": lambda objects: [objects["webhook"].pk],
    "invoice-detail": lambda objects: [objects["invoice"].pk],
    "invoice-pdf": lambda objects: [objects["invoice"].pk],
}


def _patterns(resolver: URLResolver, prefix: str = ""):
    """(route, name) of every URL under a resolver, through the apps' included lists."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, route)
        else:
            yield route, pattern.name


def test_the_isolation_matrix_covers_every_portal_url_with_an_object():
    portal = get_resolver().namespace_dict["portal"][1]
    with_object = {name for route, name in _patterns(portal) if "<int:pk>" in route}
    assert with_object == set(PORTAL_OBJECT_URLS)


@pytest.fixture
def foreign_objects(client_b, client_user_b, foreign, technician, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from msp.webhooks.services import webhook_endpoint_create, webhook_settings_save
    from tickets.services import attachment_add, ticket_open

    # Client users may subscribe: the portal's webhook pages exist, for their own endpoints.
    webhook_settings_save(allowed_networks="", allow_http=False, clients_may_subscribe=True)
    webhook, _ = webhook_endpoint_create(
        actor=client_user_b, url="https://93.184.215.14/theirs", event_types=["ticket.created"]
    )

    settings.MEDIA_ROOT = tmp_path
    ticket = ticket_open(client=client_b, subject="Their outage")
    attachment = attachment_add(
        ticket=ticket, upload=SimpleUploadedFile("log.txt", b"secret"), user=technician
    )
    # A finalised invoice of client B (billing's portal pages).
    from tests.reporting.test_billing_pages import billed_client, finalised

    invoice = finalised(billed_client("Bravo"), StaffFactory(role="admin", tier=""))
    return {
        "ticket": ticket,
        "attachment": attachment,
        "report": foreign,
        "webhook": webhook,
        "invoice": invoice,
    }


@pytest.mark.parametrize("name", sorted(PORTAL_OBJECT_URLS))
def test_another_clients_object_is_404_on_every_portal_url(client_user_a, foreign_objects, name):
    url = reverse(f"portal:{name}", args=PORTAL_OBJECT_URLS[name](foreign_objects))
    http = signed_in(client_user_a)
    # A page answers GET, an action POST (the other is 405): the one it answers is a 404.
    answers = {http.get(url).status_code, http.post(url, {"body": "hello"}).status_code}
    assert 404 in answers and answers <= {404, 405}
    assert foreign_objects["ticket"].comments.count() == 0
    webhook = foreign_objects["webhook"]
    webhook.refresh_from_db()
    assert webhook.is_active and webhook.deleted_at is None


@pytest.mark.parametrize("file_format", ["pdf", "csv"])
def test_our_own_draft_is_404_in_the_portal(client_user_a, draft, file_format):
    http = signed_in(client_user_a)
    assert http.get(reverse("portal:report-detail", args=[draft.pk])).status_code == 404
    url = reverse("portal:report-download", args=[draft.pk, file_format])
    assert http.get(url).status_code == 404


def test_report_lists_use_a_fixed_number_of_queries(
    client_a, client_user_a, account_manager, django_assert_num_queries
):
    for back in range(6):
        sent_report(client_a, OCTOBER.shifted(-back))
    portal, workspace = signed_in(client_user_a), signed_in(account_manager)
    with django_assert_num_queries(4):  # session, user, client, the reports
        portal.get(reverse("portal:report-list"))
    # session, user, the user's visible clients, reports, clients (twice: filter, form), and
    # their time zones (the form offers the periods ended in all of them)
    with django_assert_num_queries(7):
        workspace.get(reverse("reporting:list"))


class TestApi:
    def test_client_users_see_their_sent_reports_only(
        self, api_as, client_user_a, own, draft, foreign
    ):
        api = api_as(client_user_a, "read")
        listed = api.get("/api/v1/reports/").json()["results"]
        assert [report["id"] for report in listed] == [own.pk]
        assert listed[0]["figures"]["period"]["label"] == "October 2026"
        for report in (draft, foreign):
            assert api.get(f"/api/v1/reports/{report.pk}/").status_code == 404
            assert api.get(f"/api/v1/reports/{report.pk}/pdf/").status_code == 404

    def test_staff_see_drafts_and_download(self, api_as, technician, own, draft):
        api = api_as(technician, "read")
        assert {r["id"] for r in api.get("/api/v1/reports/").json()["results"]} == {
            own.pk,
            draft.pk,
        }
        csv = api.get(f"/api/v1/reports/{draft.pk}/csv/")
        assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")

    def test_a_report_version_is_never_changed_or_deleted(self, api_as, account_manager, own):
        api = api_as(account_manager, "write")
        assert api.delete(f"/api/v1/reports/{own.pk}/").status_code == 405
        assert api.patch(f"/api/v1/reports/{own.pk}/", {}, format="json").status_code == 405
        # A POST generates a new version (tests/reporting/test_api.py): it needs its period.
        response = api.post("/api/v1/reports/", {}, format="json")
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"client", "kind", "period_start"}
