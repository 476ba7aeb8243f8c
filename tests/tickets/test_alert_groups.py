"""A delivery's alerts handled as one group (tickets.intake.alerts._AlertGroup): the same
outcomes as one alert at a time, in a fixed number of statements, and still exactly once
when two deliveries of the same alerts meet."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from msp.services import api_token_create
from tests.factories import AssetFactory, SiteFactory, TeamFactory
from tickets import services
from tickets.intake import alerts as alert_service
from tickets.intake.alerts import AlertIn, alerts_receive
from tickets.models import Alert, AlertSettings, AlertStorm, Ticket, TimelineEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgres")]


def firing(fingerprint: str, owner, **changes) -> AlertIn:
    values = {
        "source": "prometheus",
        "fingerprint": fingerprint,
        "status": "firing",
        "severity": "warning",
        "summary": f"{fingerprint} failing",
        "details": {"job": "node"},
        "client": owner.slug,
        **changes,
    }
    return AlertIn(**values)


def actions(outcomes) -> list[str]:
    return [outcome.action for outcome in outcomes]


@pytest.fixture(autouse=True)
def no_storms(db):
    return AlertSettings.objects.create(pk=1, storm_threshold=100, storm_window_minutes=5)


@pytest.fixture
def group_only(monkeypatch):
    """Fails the test if any alert of a group falls back to being handled alone."""

    def alone(*args, **kwargs):
        raise AssertionError("handled alone")

    monkeypatch.setattr(alert_service, "_fire_alone", alone)


def test_new_alerts_open_a_ticket_each_with_clocks_and_timeline(
    technician, client_a, server, group_only
):
    desk = TeamFactory(name="Desk", tier="L1")
    outcomes = alerts_receive(
        alerts=[
            firing("cpu", client_a, asset=server.rmm_id, severity="critical"),
            firing("disk", client_a),
        ],
        user=technician,
    )
    assert actions(outcomes) == ["opened", "opened"]
    cpu, disk = (Ticket.objects.get(pk=outcome.ticket_id) for outcome in outcomes)
    assert (cpu.priority, cpu.asset, cpu.site_id) == ("P1", server, server.site_id)
    assert (disk.priority, disk.asset, disk.source) == ("P3", None, "alert")
    for ticket in (cpu, disk):
        assert ticket.sla_clocks.count() == 2 and ticket.sla_due_at is not None
        assert list(ticket.events.values_list("kind", flat=True)) == ["created"]
        assert ticket.created_by == technician and ticket.team == desk
    assert Alert.objects.get(fingerprint="cpu").ticket == cpu


def test_a_delivery_repeated_adds_occurrences(technician, client_a, group_only):
    group = [firing(name, client_a) for name in ("a", "b", "c")]
    opened = alerts_receive(alerts=group, user=technician)
    again = alerts_receive(alerts=group, user=technician)
    assert actions(again) == ["repeated"] * 3
    assert [o.ticket_id for o in again] == [o.ticket_id for o in opened]
    assert set(Alert.objects.values_list("occurrences", flat=True)) == {2}
    assert TimelineEvent.objects.filter(kind="alert").count() == 3


def test_a_mixed_delivery_keeps_its_order(technician, client_a):
    (known,) = alerts_receive(alerts=[firing("known", client_a)], user=technician)
    (clears,) = alerts_receive(alerts=[firing("clears", client_a)], user=technician)
    delivery = [
        firing("known", client_a),
        firing("new", client_a),
        firing("new", client_a),  # the same alert twice in one delivery: the second repeats
        firing("clears", client_a, status="resolved"),
        firing("lost", client_a, client="nobody"),
    ]
    outcomes = alerts_receive(alerts=delivery, user=technician)
    assert actions(outcomes) == ["repeated", "opened", "repeated", "resolved", "unrouted"]
    assert outcomes[0].ticket_id == known.ticket_id
    assert outcomes[1].ticket_id == outcomes[2].ticket_id
    assert outcomes[3].ticket_id == clears.ticket_id
    assert Alert.objects.get(fingerprint="new").occurrences == 2


def test_an_alert_of_a_closed_ticket_opens_a_new_one_and_a_flap_reopens(technician, client_a):
    (closed, flapping) = alerts_receive(
        alerts=[firing("closed", client_a), firing("flaps", client_a)], user=technician
    )
    alerts_receive(
        alerts=[
            firing("closed", client_a, status="resolved"),
            firing("flaps", client_a, status="resolved"),
        ],
        user=technician,
    )
    services.ticket_close(ticket=Ticket.objects.get(pk=closed.ticket_id), actor=technician)
    outcomes = alerts_receive(
        alerts=[firing("closed", client_a), firing("flaps", client_a)], user=technician
    )
    assert actions(outcomes) == ["opened", "reopened"]
    assert outcomes[0].ticket_id != closed.ticket_id
    assert outcomes[1].ticket_id == flapping.ticket_id


def test_alerts_under_an_active_storm_open_as_its_children(technician, client_a, group_only):
    incident = services.ticket_open(client=client_a, subject="Alert storm", source="alert")
    now = timezone.now()
    storm = AlertStorm.objects.create(
        client=client_a, ticket=incident, started_at=now, last_alert_at=now, alert_tickets=3
    )
    outcomes = alerts_receive(
        alerts=[firing(f"storm-{n}", client_a) for n in range(4)], user=technician
    )
    assert {Ticket.objects.get(pk=o.ticket_id).parent_id for o in outcomes} == {incident.pk}
    storm.refresh_from_db()
    assert storm.alert_tickets == 7 and storm.last_alert_at > now


def test_alerts_that_start_a_storm_open_one_at_a_time_until_it_takes_them(
    technician, client_a, no_storms
):
    no_storms.storm_threshold = 3
    no_storms.save()
    site = SiteFactory(client=client_a)
    for n in range(5):
        AssetFactory(client=client_a, site=site, rmm_id=f"R-{n}")
    outcomes = alerts_receive(
        alerts=[firing(f"host-{n}", client_a, asset=f"R-{n}") for n in range(5)],
        user=technician,
    )
    assert actions(outcomes) == ["opened"] * 5
    storm = AlertStorm.objects.get()
    assert storm.alert_tickets == 5 and storm.site == site
    children = set(Ticket.objects.filter(parent=storm.ticket).values_list("pk", flat=True))
    assert children == {outcome.ticket_id for outcome in outcomes}


def test_a_failing_group_falls_back_to_one_at_a_time(technician, client_a, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bulk insert refused")

    monkeypatch.setattr(alert_service, "tickets_open", broken)
    outcomes = alerts_receive(
        alerts=[firing("x", client_a), firing("y", client_a)], user=technician
    )
    assert actions(outcomes) == ["opened", "opened"]
    assert Alert.objects.filter(ticket__isnull=False).count() == 2


def test_two_clients_in_one_delivery(technician, client_a, client_b, group_only):
    outcomes = alerts_receive(
        alerts=[firing("same", client_a), firing("same", client_b)], user=technician
    )
    tickets = [Ticket.objects.get(pk=o.ticket_id) for o in outcomes]
    assert [t.client for t in tickets] == [client_a, client_b]


@pytest.mark.django_db(transaction=True)
def test_overlapping_deliveries_at_once_open_each_alert_once(technician, client_a):
    AlertSettings.objects.update_or_create(pk=1, defaults={"storm_threshold": 100})
    _, secret = api_token_create(user=technician, name="rmm", scope="alerts")
    names = [f"fp-{n}" for n in range(8)]
    deliveries = [names, list(reversed(names)), names[:4], names[4:]] * 2
    barrier = threading.Barrier(len(deliveries))
    codes = []

    def send(fingerprints):
        body = {
            "version": "4",
            "status": "firing",
            "alerts": [
                {
                    "labels": {
                        "alertname": name,
                        "client": client_a.slug,
                        "severity": "warning",
                    },
                    "annotations": {"summary": f"{name} failing"},
                    "fingerprint": name,
                }
                for name in fingerprints
            ],
        }
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        barrier.wait()
        try:
            codes.append(api.post("/api/v1/alerts/alertmanager/", body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(d,)) for d in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [202] * len(deliveries)
    assert Ticket.objects.count() == len(names)
    sent = sum(len(d) for d in deliveries)
    assert sum(Alert.objects.values_list("occurrences", flat=True)) == sent
    assert TimelineEvent.objects.filter(kind="alert").count() == sent - len(names)


def test_the_window_of_a_storm_is_read_from_the_settings(technician, client_a, no_storms):
    incident = services.ticket_open(client=client_a, subject="Alert storm", source="alert")
    old = timezone.now() - timedelta(minutes=30)
    AlertStorm.objects.create(
        client=client_a, ticket=incident, started_at=old, last_alert_at=old, alert_tickets=3
    )
    (outcome,) = alerts_receive(alerts=[firing("late", client_a)], user=technician)
    assert Ticket.objects.get(pk=outcome.ticket_id).parent is None


def test_a_storms_delivery_costs_the_same_whatever_its_size(
    technician, client_a, client_b, no_storms
):
    from django.test.utils import CaptureQueriesContext

    no_storms.storm_threshold = 3
    no_storms.save()
    # Read once and kept: the calendars' engines, the clients the sender sees.
    services.ticket_open(client=client_b, subject="Warm-up")
    technician.visible_clients()
    counted = []
    for owner, size in ((client_a, 6), (client_b, 15)):
        delivery = [firing(f"{owner.pk}-{n}", owner) for n in range(size)]
        with CaptureQueriesContext(connection) as captured:
            outcomes = alerts_receive(alerts=delivery, user=technician)
        assert actions(outcomes) == ["opened"] * size
        assert AlertStorm.objects.get(client=owner).alert_tickets == size
        counted.append(len([q for q in captured if "SAVEPOINT" not in q["sql"]]))
    # The alerts before the storm are opened one at a time (as many as the threshold), the
    # rest together under it.
    assert counted[0] == counted[1]


def test_tickets_opened_together_send_their_created_webhooks(
    technician, admin_user, client_a, group_only
):
    from django.core.cache import cache

    from msp.models import WebhookDelivery
    from msp.webhooks import services as webhooks
    from msp.webhooks.choices import WebhookEventType

    cache.delete(webhooks.ROUTES_KEY)
    try:
        webhooks.webhook_settings_save(
            allowed_networks="127.0.0.0/8", allow_http=True, clients_may_subscribe=False
        )
        webhooks.webhook_endpoint_create(
            actor=admin_user,
            url="http://127.0.0.1:9/hooks",
            event_types=[WebhookEventType.TICKET_CREATED],
        )
        outcomes = alerts_receive(
            alerts=[firing("hook-1", client_a), firing("hook-2", client_a)], user=technician
        )
        deliveries = WebhookDelivery.objects.all()
        assert deliveries.count() == 2
        assert {d.event_type for d in deliveries} == {"ticket.created"}
        assert actions(outcomes) == ["opened", "opened"]
    finally:
        webhooks.webhook_routes_assume_none()
