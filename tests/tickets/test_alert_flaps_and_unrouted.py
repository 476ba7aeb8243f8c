"""Alert repeats and flaps (one ticket per problem, reopened within the flap window) and
unrouted alerts (kept, listed, routed by a dispatcher: nothing dropped)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tickets import services
from tickets.intake.alerts import AlertIn, alert_receive, unrouted_alert_route
from tickets.models import Alert, AlertSettings, Ticket, UnroutedAlert

pytestmark = pytest.mark.django_db


def fire(user, at, status="firing", **changes):
    values = {
        "source": "zabbix",
        "fingerprint": "disk-db01",
        "status": status,
        "severity": "critical",
        "summary": "Disk full on db-01",
        "details": {},
        "asset": "RMM-77",
        **changes,
    }
    return alert_receive(alert=AlertIn(**values), user=user, at=at)


T0 = timezone.now().replace(microsecond=0) - timedelta(hours=2)


def test_a_flap_within_the_window_reopens_the_auto_resolved_ticket(technician, server):
    opened = fire(technician, T0)
    assert fire(technician, T0 + timedelta(minutes=1), "resolved").action == "resolved"
    again = fire(technician, T0 + timedelta(minutes=10))
    assert (again.action, again.ticket_id) == ("reopened", opened.ticket_id)
    ticket = Ticket.objects.get(pk=opened.ticket_id)
    assert ticket.status == "in_progress" and ticket.resolved_at is None
    assert Alert.objects.get(resolved_at__isnull=True).flaps == 1
    assert ticket.events.filter(kind="reopened").count() == 1
    assert ticket.events.filter(kind="alert", detail__contains="flap 1").exists()
    # A second flap counts two, still one ticket.
    fire(technician, T0 + timedelta(minutes=11), "resolved")
    fire(technician, T0 + timedelta(minutes=12))
    assert Alert.objects.get(resolved_at__isnull=True).flaps == 2
    assert Ticket.objects.count() == 1


def test_a_flap_after_the_window_opens_a_new_ticket(technician, server):
    AlertSettings.objects.update_or_create(pk=1, defaults={"flap_window_minutes": 5})
    first = fire(technician, T0)
    fire(technician, T0 + timedelta(minutes=1), "resolved")
    again = fire(technician, T0 + timedelta(minutes=7))
    assert again.action == "opened" and again.ticket_id != first.ticket_id


def test_a_ticket_a_person_resolved_is_not_reopened_by_a_flap(technician, server):
    first = fire(technician, T0)
    ticket = Ticket.objects.get(pk=first.ticket_id)
    services.ticket_resolve(ticket=ticket, actor=technician, resolution="Freed space", at=T0)
    fire(technician, T0 + timedelta(minutes=1), "resolved")
    again = fire(technician, T0 + timedelta(minutes=2))
    assert again.action == "opened" and again.ticket_id != first.ticket_id
    assert Ticket.objects.get(pk=first.ticket_id).status == "resolved"


def test_a_closed_ticket_is_not_reopened_by_a_flap(technician, server):
    first = fire(technician, T0)
    fire(technician, T0 + timedelta(minutes=1), "resolved")
    services.ticket_close(ticket=Ticket.objects.get(pk=first.ticket_id), actor=technician)
    again = fire(technician, T0 + timedelta(minutes=2))
    assert again.action == "opened" and again.ticket_id != first.ticket_id


def test_firing_again_after_a_noted_resolution_goes_on_the_open_ticket(technician, server):
    first = fire(technician, T0)
    ticket = Ticket.objects.get(pk=first.ticket_id)
    services.ticket_note(ticket=ticket, author=technician, body="Looking", at=T0)
    assert fire(technician, T0 + timedelta(minutes=1), "resolved").action == "noted"
    again = fire(technician, T0 + timedelta(hours=1))
    assert (again.action, again.ticket_id) == ("repeated", first.ticket_id)
    assert Ticket.objects.count() == 1


def test_firing_again_on_a_ticket_waiting_on_the_client_adds_to_it(technician, server):
    first = fire(technician, T0)
    ticket = Ticket.objects.get(pk=first.ticket_id)
    services.ticket_change_status(ticket=ticket, actor=technician, status="waiting_on_client")
    again = fire(technician, T0 + timedelta(minutes=5))
    assert (again.action, again.ticket_id) == ("repeated", first.ticket_id)


def test_firing_again_after_a_resolved_episode_and_a_merge_goes_on_the_survivor(
    technician, server, client_a
):
    first = fire(technician, T0)
    ticket = Ticket.objects.get(pk=first.ticket_id)
    services.ticket_note(ticket=ticket, author=technician, body="Looking", at=T0)
    fire(technician, T0 + timedelta(minutes=1), "resolved")
    survivor = services.ticket_open(client=client_a, subject="Database server")
    services.ticket_merge(source=ticket, target=survivor, actor=technician)
    again = fire(technician, T0 + timedelta(minutes=30))
    assert (again.action, again.ticket_id) == ("repeated", survivor.pk)


def test_an_unknown_asset_is_kept_unrouted_and_routed_by_a_dispatcher(
    technician, dispatcher, client_a
):
    outcome = fire(technician, T0, asset="nowhere-01")
    assert outcome.action == "unrouted" and outcome.ticket_id is None
    kept = UnroutedAlert.objects.get(pk=outcome.unrouted_id)
    assert (kept.asset_reference, kept.routed_at) == ("nowhere-01", None)
    assert "nowhere-01" in kept.reason
    routed = unrouted_alert_route(unrouted=kept, client=client_a, actor=dispatcher)
    assert routed.action == "opened"
    ticket = Ticket.objects.get(pk=routed.ticket_id)
    assert (ticket.client, ticket.source) == (client_a, "alert")
    kept.refresh_from_db()
    assert (kept.routed_client, kept.ticket_id) == (client_a, ticket.pk)
    with pytest.raises(ValidationError):
        unrouted_alert_route(unrouted=kept, client=client_a, actor=dispatcher)


def test_a_client_users_unrouted_alert_can_only_go_to_their_client(
    client_user_a, dispatcher, client_b
):
    outcome = fire(client_user_a, T0, asset="srv-of-b")
    kept = UnroutedAlert.objects.get(pk=outcome.unrouted_id)
    assert kept.scope_client_id == client_user_a.client_id
    with pytest.raises(ValidationError):
        unrouted_alert_route(unrouted=kept, client=client_b, actor=dispatcher)
    assert not Ticket.objects.exists()


def test_a_resolution_clears_the_kept_alert(technician, dispatcher, client_a):
    outcome = fire(technician, T0, asset="nowhere-01")
    cleared = fire(technician, T0 + timedelta(minutes=1), "resolved", asset="nowhere-01")
    assert (cleared.action, cleared.unrouted_id) == ("unrouted", outcome.unrouted_id)
    kept = UnroutedAlert.objects.get()
    assert kept.resolved_at is not None
    routed = unrouted_alert_route(unrouted=kept, client=client_a, actor=dispatcher)
    assert Ticket.objects.get(pk=routed.ticket_id).status == "resolved"


def test_the_unrouted_list_page_routes_an_alert(technician, dispatcher, client_a, client):
    for number in range(3):
        fire(technician, T0, asset=f"nowhere-{number}", fingerprint=f"f{number}")
    client.force_login(technician)
    assert client.get("/workspace/tickets/unrouted-alerts/").status_code == 403
    client.force_login(dispatcher)
    page = client.get("/workspace/tickets/unrouted-alerts/")
    assert page.status_code == 200 and b"nowhere-2" in page.content
    assert b"Unrouted alerts" in page.content  # also in the navigation
    kept = UnroutedAlert.objects.get(asset_reference="nowhere-1")
    response = client.post(
        "/workspace/tickets/unrouted-alerts/", {"alert": kept.pk, "client": client_a.pk}
    )
    assert response.status_code == 302
    kept.refresh_from_db()
    assert kept.ticket.client == client_a
    assert b"nowhere-1" not in client.get("/workspace/tickets/unrouted-alerts/").content


def test_the_unrouted_list_page_query_count(
    technician, dispatcher, client, django_assert_max_num_queries
):
    for number in range(10):
        fire(technician, T0, asset=f"nowhere-{number}", fingerprint=f"f{number}")
    client.force_login(dispatcher)
    with django_assert_max_num_queries(8):
        assert client.get("/workspace/tickets/unrouted-alerts/").status_code == 200


def test_a_flap_window_of_zero_turns_reopening_off(technician, server):
    AlertSettings.objects.update_or_create(pk=1, defaults={"flap_window_minutes": 0})
    first = fire(technician, T0)
    fire(technician, T0 + timedelta(minutes=1), "resolved")
    again = fire(technician, T0 + timedelta(minutes=1))
    assert again.action == "opened" and again.ticket_id != first.ticket_id


def test_an_admin_changes_the_alert_settings_without_a_deploy(admin_user, client):
    client.force_login(admin_user)
    assert client.get("/admin/tickets/alertsettings/").status_code == 200
    response = client.post(
        "/admin/tickets/alertsettings/add/",
        {"flap_window_minutes": 10, "storm_threshold": 8, "storm_window_minutes": 3},
    )
    assert response.status_code == 302
    rules = AlertSettings.current()
    assert (rules.pk, rules.flap_window_minutes, rules.storm_threshold) == (1, 10, 8)
    # One row only: no second one can be added.
    assert client.get("/admin/tickets/alertsettings/add/").status_code == 403


def test_alert_settings_default_when_never_saved(db):
    rules = AlertSettings.current()
    assert (rules.flap_window_minutes, rules.storm_threshold, rules.storm_window_minutes) == (
        30,
        5,
        5,
    )
