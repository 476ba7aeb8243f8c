"""Each monitoring vendor's webhook, replayed from stored payloads shaped after the vendor's
published format (tests/tickets/alert_fixtures/)."""

import json
from pathlib import Path

import pytest

from tickets.models import Alert, Ticket, UnroutedAlert

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "alert_fixtures"


def payload(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def send(rmm, path, name):
    response = rmm.post(f"/api/v1/alerts/{path}", payload(name), format="json")
    assert response.status_code == 202, response.content
    return response.json()["results"]


def test_generic(rmm, server):
    (result,) = send(rmm, "", "generic_firing")
    ticket = Ticket.objects.get(pk=result["ticket"])
    assert (ticket.asset, ticket.priority, ticket.subject) == (server, "P1", "Disk full on db-01")


def test_alertmanager_without_per_alert_status_takes_the_groups(rmm, server):
    (opened,) = send(rmm, "alertmanager/", "alertmanager_no_alert_status_firing")
    assert opened["action"] == "opened"
    (resolved,) = send(rmm, "alertmanager/", "alertmanager_no_alert_status_resolved")
    assert (resolved["action"], resolved["ticket"]) == ("resolved", opened["ticket"])


def test_alertmanager_v4(rmm, server):
    (result,) = send(rmm, "alertmanager/", "alertmanager_v4_firing")
    ticket = Ticket.objects.get(pk=result["ticket"])
    assert (ticket.subject, ticket.asset) == ("db-01 is down", server)
    assert "db-01.acme.local:9100 has been down" in ticket.description


def test_grafana_firing_then_resolved(rmm, server):
    (opened,) = send(rmm, "grafana/", "grafana_v1_firing")
    ticket = Ticket.objects.get(pk=opened["ticket"])
    assert (ticket.subject, ticket.asset, ticket.priority) == (
        "db-01 memory almost exhausted",
        server,
        "P1",
    )
    alert = Alert.objects.get()
    assert (alert.source, alert.fingerprint) == ("grafana", "c6eadffa33fcdf37")
    assert "value=96.239" in alert.details["valueString"]
    (resolved,) = send(rmm, "grafana/", "grafana_v1_resolved")
    assert (resolved["action"], resolved["ticket"]) == ("resolved", ticket.pk)


def test_grafana_other_versions_are_refused(rmm, server):
    body = payload("grafana_v1_firing")
    body["version"] = "0"
    assert rmm.post("/api/v1/alerts/grafana/", body, format="json").status_code == 400
    assert not Ticket.objects.exists()


def test_zabbix_problem_then_recovery(rmm, server):
    (opened,) = send(rmm, "zabbix/", "zabbix_webhook_problem")
    ticket = Ticket.objects.get(pk=opened["ticket"])
    assert (ticket.asset, ticket.priority) == (server, "P1")
    assert ticket.subject == "db-01: Free disk space is less than 5% on volume /var"
    assert Alert.objects.get().fingerprint == "23441@db-01.acme.local"
    (resolved,) = send(rmm, "zabbix/", "zabbix_webhook_recovery")
    assert (resolved["action"], resolved["ticket"]) == ("resolved", ticket.pk)


def test_zabbix_text_values_and_client_tag(rmm, server, client_a):
    body = payload("zabbix_webhook_problem_text_values")
    body["event_tags"] = [{"tag": "client", "value": client_a.slug}]
    (result,) = rmm.post("/api/v1/alerts/zabbix/", body, format="json").json()["results"]
    ticket = Ticket.objects.get(pk=result["ticket"])
    assert (ticket.client, ticket.asset, ticket.priority) == (client_a, None, "P3")


def test_zabbix_unknown_host_is_kept_unrouted(rmm, server):
    (result,) = send(rmm, "zabbix/", "zabbix_webhook_problem_text_values")
    assert result["action"] == "unrouted"
    assert UnroutedAlert.objects.get().asset_reference == "not-in-the-cmdb"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"event_value": "maybe"}, "event_value"), ({"host_host": None}, "host_host")],
)
def test_zabbix_malformed_is_400(rmm, server, change, field):
    body = {**payload("zabbix_webhook_problem"), **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = rmm.post("/api/v1/alerts/zabbix/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not Ticket.objects.exists() and not UnroutedAlert.objects.exists()
