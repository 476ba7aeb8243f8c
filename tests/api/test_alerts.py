"""Monitoring alerts into tickets: the generic endpoint, Alertmanager's webhook, dedup (also
under 20 concurrent senders), resolution, and bad payloads."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from msp.services import api_token_create
from tests.factories import AssetFactory
from tickets import services
from tickets.models import Alert, AlertSettings, Ticket, UnroutedAlert
from tickets.services import time_entry_log

pytestmark = pytest.mark.django_db


def alert(**changes) -> dict:
    return {
        "source": "zabbix",
        "fingerprint": "disk-db01",
        "status": "firing",
        "severity": "critical",
        "summary": "Disk full on db-01",
        "details": {"free": "0 B"},
        "asset": "RMM-77",
        **changes,
    }


def alertmanager(status="firing", fingerprint="a1b2c3", **labels) -> dict:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HostDown"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "psa",
        "groupLabels": {"alertname": "HostDown"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": {
                    "alertname": "HostDown",
                    "instance": "db-01.acme.local:9100",
                    "severity": "critical",
                    **labels,
                },
                "annotations": {"summary": "db-01 is down"},
                "startsAt": "2026-11-22T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": fingerprint,
            }
        ],
    }


def post(client, body, path="/api/v1/alerts/"):
    return client.post(path, body, format="json")


def test_firing_opens_a_p1_ticket_on_the_asset(rmm, server):
    response = post(rmm, alert())
    assert response.status_code == 202
    (result,) = response.json()["results"]
    assert result["action"] == "opened"
    ticket = Ticket.objects.get(pk=result["ticket"])
    assert (ticket.priority, ticket.source, ticket.asset, ticket.client) == (
        "P1",
        "alert",
        server,
        server.client,
    )
    assert "free: 0 B" in ticket.description


def test_repeats_add_occurrences_not_tickets(rmm, server):
    for _ in range(3):
        post(rmm, alert())
    assert Ticket.objects.count() == 1
    row = Alert.objects.get()
    assert row.occurrences == 3
    assert row.ticket.events.filter(kind="alert").count() == 2


def test_resolved_alert_resolves_an_untouched_ticket(rmm, server):
    ticket_id = post(rmm, alert()).json()["results"][0]["ticket"]
    response = post(rmm, alert(status="resolved"))
    assert response.json()["results"][0]["action"] == "resolved"
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "resolved"
    assert not ticket.sla_clocks.filter(stopped_at__isnull=True).exists()
    # Past the flap window, the next firing is a new episode with a new ticket.
    AlertSettings.objects.update_or_create(pk=1, defaults={"flap_window_minutes": 0})
    assert post(rmm, alert()).json()["results"][0]["action"] == "opened"
    assert Ticket.objects.count() == 2


def test_resolved_alert_only_notes_a_ticket_someone_worked(rmm, server, technician):
    ticket_id = post(rmm, alert()).json()["results"][0]["ticket"]
    time_entry_log(ticket=Ticket.objects.get(pk=ticket_id), user=technician, minutes=10)
    assert post(rmm, alert(status="resolved")).json()["results"][0]["action"] == "noted"
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status != "resolved"
    assert ticket.comments.get(is_public=False).body.startswith("Monitoring reports")


HUMAN_ACTIONS = {
    "took it": lambda t, tech: services.ticket_assign(ticket=t, actor=tech, assignee=tech),
    "internal note": lambda t, tech: services.ticket_note(ticket=t, author=tech, body="Checking"),
    "acknowledged": lambda t, tech: services.ticket_acknowledge(ticket=t, actor=tech),
    "priority": lambda t, tech: services.ticket_change_priority(
        ticket=t, actor=tech, priority="P2", reason="One disk of two"
    ),
    "escalated": lambda t, tech: services.ticket_escalate(ticket=t, actor=tech, reason="SAN"),
}


@pytest.mark.parametrize("action", HUMAN_ACTIONS)
def test_any_human_action_keeps_a_resolved_alert_from_resolving_the_ticket(
    action, rmm, server, technician
):
    ticket_id = post(rmm, alert()).json()["results"][0]["ticket"]
    HUMAN_ACTIONS[action](Ticket.objects.get(pk=ticket_id), technician)
    assert post(rmm, alert(status="resolved")).json()["results"][0]["action"] == "noted"
    assert Ticket.objects.get(pk=ticket_id).status != "resolved"


def test_unknown_resolution_is_accepted_and_ignored(rmm, server):
    response = post(rmm, alert(status="resolved", fingerprint="never-fired"))
    assert response.status_code == 202
    assert response.json()["results"][0]["action"] == "ignored"


def test_host_name_and_client_slug_match(rmm, server, client_b):
    response = post(rmm, alert(asset="", host="DB-01.acme.local", fingerprint="f2"))
    assert Ticket.objects.get(pk=response.json()["results"][0]["ticket"]).asset == server
    response = post(rmm, alert(asset="", client=client_b.slug, fingerprint="f3"))
    assert Ticket.objects.get(pk=response.json()["results"][0]["ticket"]).client == client_b


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (alert(severity="apocalyptic"), "severity"),
        (alert(colour="red"), "colour"),
        ({k: v for k, v in alert().items() if k != "fingerprint"}, "fingerprint"),
        (alert(details="not an object"), "details"),
    ],
)
def test_bad_payloads_are_400_and_create_nothing(rmm, server, body, field):
    response = post(rmm, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Ticket.objects.exists() and not Alert.objects.exists()


def test_not_json_too_large_and_wrong_type(rmm, server):
    assert rmm.post("/api/v1/alerts/", "{", content_type="application/json").status_code == 400
    assert rmm.post("/api/v1/alerts/", "x", content_type="text/plain").status_code == 415
    huge = alert(details={"blob": "x" * 300_000})
    assert post(rmm, huge).status_code == 413
    assert post(rmm, [alert()]).status_code == 400


def test_alertmanager_payload_as_sent(rmm, server):
    response = post(rmm, alertmanager(), "/api/v1/alerts/alertmanager/")
    assert response.status_code == 202
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.asset, ticket.priority) == ("db-01 is down", server, "P1")
    post(rmm, alertmanager(), "/api/v1/alerts/alertmanager/")
    assert Alert.objects.get().occurrences == 2
    response = post(rmm, alertmanager(status="resolved"), "/api/v1/alerts/alertmanager/")
    assert response.json()["results"][0]["action"] == "resolved"


def test_alertmanager_bad_version_and_missing_alertname(rmm, server):
    body = alertmanager()
    body["version"] = "3"
    assert post(rmm, body, "/api/v1/alerts/alertmanager/").status_code == 400
    body = alertmanager()
    del body["alerts"][0]["labels"]["alertname"]
    response = post(rmm, body, "/api/v1/alerts/alertmanager/")
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_read_tokens_cannot_post_alerts(technician, api_as, server):
    assert post(api_as(technician, "read"), alert()).status_code == 403


def test_client_users_alert_only_about_their_own_assets(client_user_b, api_as, server):
    response = post(api_as(client_user_b, "alerts"), alert())
    # The asset is another client's: unknown to them, so the alert is kept unrouted.
    assert response.status_code == 202
    assert response.json()["results"][0]["action"] == "unrouted"
    assert not Ticket.objects.exists() and not Alert.objects.exists()


def concurrently(secret: str, bodies: list[dict]) -> list[int | str]:
    """POST each body from its own thread and connection, all released at once."""
    barrier = threading.Barrier(len(bodies))
    codes = []

    def send(body):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        barrier.wait()
        try:
            codes.append(client.post("/api/v1/alerts/", body, format="json").status_code)
        except Exception as error:  # the assertion then names what a thread raised
            codes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_senders_make_one_ticket(postgres, technician, server):
    _, secret = api_token_create(user=technician, name="rmm", scope="alerts")
    assert concurrently(secret, [alert()] * 20) == [202] * 20
    assert Ticket.objects.count() == 1
    assert Alert.objects.get().occurrences == 20


@pytest.mark.django_db(transaction=True)
def test_firing_and_resolved_together_lose_nothing(postgres, technician, server):
    """Ten firings and ten resolutions of one alert at once, five times over: every request is
    answered 202, and every episode has its one ticket."""
    _, secret = api_token_create(user=technician, name="rmm", scope="alerts")
    for _ in range(5):
        codes = concurrently(secret, [alert(), alert(status="resolved")] * 10)
        assert codes == [202] * 20
    episodes = list(Alert.objects.values_list("ticket_id", flat=True))
    assert None not in episodes
    # Every episode after the first flapped within the window: all on the one ticket.
    assert len(set(episodes)) == Ticket.objects.count() == 1
    assert Alert.objects.filter(resolved_at__isnull=True).count() <= 1


def test_rmm_id_wins_over_a_host_name_match(rmm, client_a, server):
    by_host = AssetFactory(client=client_a, hostname="node-7", rmm_id="R-1")
    by_rmm = AssetFactory(client=client_a, hostname="other", rmm_id="node-7")
    response = post(rmm, alert(asset="node-7", fingerprint="f9"))
    ticket = Ticket.objects.get(pk=response.json()["results"][0]["ticket"])
    assert ticket.asset == by_rmm != by_host


def test_another_clients_token_cannot_resolve_or_repeat_an_alert(
    client_user_a, client_user_b, api_as, server, client_b
):
    """Alerts are keyed by client: a fingerprint reused by another client's sender neither
    resolves nor adds to this client's ticket, and its answers never name it."""
    own = api_as(client_user_a, "alerts")
    ticket_id = post(own, alert()).json()["results"][0]["ticket"]
    other = api_as(client_user_b, "alerts")
    AssetFactory(client=client_b, hostname="b-01", rmm_id="RMM-B")

    resolved = post(other, alert(status="resolved", asset="RMM-B"))
    assert resolved.json()["results"] == [
        {"fingerprint": "disk-db01", "action": "ignored", "ticket": None, "unrouted": None}
    ]
    resolved_unnamed = post(other, alert(status="resolved", asset=""))
    assert resolved_unnamed.json()["results"][0]["ticket"] is None
    fired = post(other, alert(asset="RMM-B")).json()["results"][0]
    assert fired["action"] == "opened" and fired["ticket"] != ticket_id

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "new"
    assert Alert.objects.get(ticket=ticket).occurrences == 1
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 2


def test_a_repeat_of_an_alert_whose_ticket_was_merged_lands_on_the_survivor(
    rmm, server, client_a, technician
):
    from tickets.services import ticket_merge, ticket_open

    merged_id = post(rmm, alert()).json()["results"][0]["ticket"]
    survivor = ticket_open(client=client_a, subject="Database server problems")
    ticket_merge(source=Ticket.objects.get(pk=merged_id), target=survivor, actor=technician)

    repeat = post(rmm, alert()).json()["results"][0]
    assert repeat == {
        "fingerprint": "disk-db01",
        "action": "repeated",
        "ticket": survivor.pk,
        "unrouted": None,
    }
    assert Ticket.objects.count() == 2
    resolved = post(rmm, alert(status="resolved")).json()["results"][0]
    assert resolved["ticket"] == survivor.pk


def test_writes_are_answered_while_the_broker_is_down(
    rmm, server, technician, api_as, client_a, monkeypatch, django_capture_on_commit_callbacks
):
    """The change and its outbox rows are committed; queueing their delivery fails, which the
    periodic outbox retry makes good later. The caller still gets its answer, not a 500."""
    from celery import current_app
    from kombu.exceptions import OperationalError

    from msp.models import OutboxMessage
    from tests.factories import ContactFactory
    from tickets.services import ticket_open

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(current_app, "send_task", broker_down)
    ticket = ticket_open(client=client_a, contact=ContactFactory(client=client_a), subject="VPN")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        fired = post(rmm, alert())
        replied = api_as(technician).post(
            f"/api/v1/tickets/{ticket.pk}/reply/", {"body": "Reset it"}, format="json"
        )
    assert (fired.status_code, replied.status_code) == (202, 201)
    assert queued  # delivery was attempted, and failed
    assert OutboxMessage.objects.filter(status="pending", email=ticket.contact.email).exists()


def test_an_msp_wide_resolution_naming_no_client_never_guesses_between_clients(
    rmm, server, client_b
):
    other = AssetFactory(client=client_b, hostname="db-01.other.local", rmm_id="RMM-88")
    ours = post(rmm, alert()).json()["results"][0]["ticket"]
    theirs = post(rmm, alert(asset=other.rmm_id)).json()["results"][0]["ticket"]
    assert post(rmm, alert(status="resolved", asset="")).json()["results"][0]["action"] == (
        "ignored"
    )
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 2
    resolved = post(rmm, alert(status="resolved", asset=other.rmm_id)).json()["results"][0]
    assert (resolved["action"], resolved["ticket"]) == ("resolved", theirs)
    assert Ticket.objects.get(pk=ours).status == "new"


def test_an_unroutable_alert_in_a_group_is_kept_and_the_rest_processed(rmm, server):
    body = alertmanager()
    lost = {
        **body["alerts"][0],
        "fingerprint": "zz9",
        "labels": {"alertname": "HostDown", "instance": "nowhere:9100", "severity": "critical"},
    }
    later = {**body["alerts"][0], "fingerprint": "b2"}
    body["alerts"] = [body["alerts"][0], lost, later]
    response = post(rmm, body, "/api/v1/alerts/alertmanager/")
    assert response.status_code == 202
    actions = [(r["action"], r["unrouted"] is not None) for r in response.json()["results"]]
    assert actions == [("opened", False), ("unrouted", True), ("opened", False)]
    assert Ticket.objects.count() == 2
    assert UnroutedAlert.objects.get().asset_reference == "nowhere"


@pytest.mark.parametrize("changes", [{"asset": "nowhere"}, {"asset": ""}])
def test_an_alert_naming_no_known_client_or_asset_is_kept_with_202(rmm, server, changes):
    response = post(rmm, alert(**changes))
    assert response.status_code == 202
    (result,) = response.json()["results"]
    assert result["action"] == "unrouted"
    assert UnroutedAlert.objects.filter(pk=result["unrouted"]).exists()
    assert not Ticket.objects.exists()


def test_an_alert_that_fails_unexpectedly_is_kept_and_blocks_nothing(rmm, server, monkeypatch):
    from tickets.intake import alerts as alert_service

    real_fire = alert_service._fire

    def fire(alert, *args):
        if alert.fingerprint == "boom":
            raise RuntimeError("database hiccup")
        return real_fire(alert, *args)

    monkeypatch.setattr(alert_service, "_fire", fire)
    body = alertmanager()
    body["alerts"] = [
        {**body["alerts"][0], "fingerprint": "boom"},
        {**body["alerts"][0], "fingerprint": "fine"},
    ]
    response = post(rmm, body, "/api/v1/alerts/alertmanager/")
    assert response.status_code == 202
    failed, fine = response.json()["results"]
    assert failed["action"] == "unrouted" and fine["action"] == "opened"
    assert "RuntimeError" in UnroutedAlert.objects.get(pk=failed["unrouted"]).reason
