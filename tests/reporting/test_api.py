"""Reports over the API: generate a version, annotate it, send it, download it; the same
services and refusals as the report pages."""

import pytest

from reporting.models import Report
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def generate(http, client, period_start="2026-10-01", kind="month"):
    return http.post(
        "/api/v1/reports/",
        {"client": client.pk, "kind": kind, "period_start": period_start},
        format="json",
    )


def test_generate_annotate_send_download(client_a, policy, account_manager, api_as, mailoutbox):
    ContactFactory(client=client_a, email="cio@a.example", receives_reports=True)
    http = api_as(account_manager)
    response = generate(http, client_a)
    assert response.status_code == 201, response.json()
    report = response.json()
    assert (report["kind"], report["period_start"], report["version"]) == (
        "month",
        "2026-10-01",
        1,
    )
    assert generate(http, client_a).json()["version"] == 2  # a new version each time
    response = http.post(
        f"/api/v1/reports/{report['id']}/annotate/",
        {"summary": "A quiet month.", "recommendations": "Replace the old firewall."},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["recommendations"] == "Replace the old firewall."
    response = http.post(f"/api/v1/reports/{report['id']}/send/")
    assert response.json() == {"queued": 1}
    assert http.post(f"/api/v1/reports/{report['id']}/send/").json() == {"queued": 0}
    assert Report.objects.get(pk=report["id"]).sent_at is not None
    pdf = http.get(f"/api/v1/reports/{report['id']}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_period_not_over_or_misaligned_is_refused(client_a, policy, account_manager, api_as):
    http = api_as(account_manager)
    response = generate(http, client_a, period_start="2099-01-01")
    assert response.status_code == 400
    response = generate(http, client_a, period_start="2026-02-01", kind="quarter")
    assert response.status_code == 400
    assert response.json()["errors"]["period_start"] == ["2026-02-01 does not start a quarter."]
    assert not Report.objects.exists()


@pytest.mark.parametrize("role", ["technician", "dispatcher", "client_user_a"])
def test_only_service_managers_generate(role, client_a, policy, api_as, request):
    response = generate(api_as(request.getfixturevalue(role)), client_a)
    assert response.status_code == 403
    assert not Report.objects.exists()


def test_a_client_out_of_scope_is_unknown(client_a, client_b, policy, api_as):
    from tests.factories import StaffFactory, TeamFactory

    pod = TeamFactory(name="Pod B")
    pod.clients.set([client_b])
    manager = StaffFactory(role="account_manager", tier="", teams=[pod])
    response = generate(api_as(manager), client_a)
    assert response.status_code == 400 and "client" in response.json()["errors"]
    assert not Report.objects.exists()
