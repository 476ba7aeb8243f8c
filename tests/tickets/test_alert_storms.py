"""Alert storms: many alerts for one client within the storm window open one parent incident,
with each alert's ticket as its child."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import AssetFactory, SiteFactory
from tickets.intake.alerts import AlertIn, alert_receive
from tickets.models import AlertSettings, AlertStorm, Ticket

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture(autouse=True)
def rules(db):
    return AlertSettings.objects.create(pk=1, storm_threshold=3, storm_window_minutes=5)


def fire(user, client, number, at, status="firing"):
    alert = AlertIn(
        source="zabbix",
        fingerprint=f"check-{number}",
        status=status,
        severity="warning",
        summary=f"Check {number} failing",
        details={},
        client=client.slug,
    )
    return alert_receive(alert=alert, user=user, at=at)


def test_a_burst_of_alerts_opens_one_parent_incident(technician, client_a, client_b):
    outcomes = [fire(technician, client_a, n, T0 + timedelta(seconds=n)) for n in range(6)]
    fire(technician, client_b, 99, T0)
    storm = AlertStorm.objects.get()
    incident = storm.ticket
    assert (incident.client, incident.source) == (client_a, "alert")
    assert incident.subject.startswith("Alert storm: 3 alerts")
    children = set(Ticket.objects.filter(parent=incident).values_list("pk", flat=True))
    assert children == {outcome.ticket_id for outcome in outcomes}
    assert storm.alert_tickets == 6
    # Client B's alert is its own ticket, not part of A's storm.
    assert Ticket.objects.get(client=client_b).parent is None
    # The grouping is the system's: an alert ticket stays untouched and still auto-resolves.
    first = Ticket.objects.get(pk=outcomes[0].ticket_id)
    assert first.events.filter(kind="linked", actor__isnull=True).exists()
    assert fire(technician, client_a, 0, T0 + timedelta(minutes=1), "resolved").action == (
        "resolved"
    )


def test_alerts_spread_beyond_the_window_are_no_storm(technician, client_a):
    for n in range(4):
        fire(technician, client_a, n, T0 + timedelta(minutes=6 * n))
    assert not AlertStorm.objects.exists()
    assert not Ticket.objects.filter(parent__isnull=False).exists()


def test_a_storm_ends_with_its_window(technician, client_a):
    for n in range(3):
        fire(technician, client_a, n, T0 + timedelta(seconds=n))
    later = fire(technician, client_a, 50, T0 + timedelta(minutes=30))
    assert Ticket.objects.get(pk=later.ticket_id).parent is None
    assert AlertStorm.objects.count() == 1


def test_a_burst_at_one_site_is_that_sites_storm(technician, client_a):
    north, south = SiteFactory(client=client_a), SiteFactory(client=client_a)
    for n in range(5):
        site = north if n < 3 else south
        AssetFactory(client=client_a, site=site, rmm_id=f"R-{n}")
        alert = AlertIn(
            source="zabbix",
            fingerprint=f"host-{n}",
            status="firing",
            severity="critical",
            summary=f"Host {n} down",
            details={},
            asset=f"R-{n}",
        )
        alert_receive(alert=alert, user=technician, at=T0 + timedelta(seconds=n))
    storm = AlertStorm.objects.get()
    assert storm.site == north and storm.ticket.site == north
    assert north.name in storm.ticket.subject
    grouped = Ticket.objects.filter(parent=storm.ticket)
    assert {t.asset.site for t in grouped} == {north} and grouped.count() == 3
    # The other site's two alerts are no storm (and not part of the north one).
    assert Ticket.objects.filter(asset__site=south, parent__isnull=True).count() == 2
