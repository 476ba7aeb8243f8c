"""Seats and devices carry the days billing counts them (active_from, active_until), kept in
step with is_active by the directory services, in the client's own calendar."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from msp.choices import AssetKind
from msp.services import asset_create, asset_update, contact_create, contact_update
from tests.factories import ClientFactory, StaffFactory

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def tokyo_client():
    return ClientFactory(timezone="Asia/Tokyo")


def test_a_device_is_counted_from_the_clients_day_it_was_added(tokyo_client):
    # 20:00 UTC on 31 October is already 1 November in Tokyo.
    with time_machine.travel(datetime(2026, 10, 31, 20, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        asset = asset_create(client=tokyo_client, kind=AssetKind.SERVER, name="db-01")
    assert (asset.active_from, asset.active_until) == (date(2026, 11, 1), None)


def test_deactivating_ends_the_span_and_reactivating_starts_a_new_one(tokyo_client):
    with time_machine.travel(datetime(2026, 9, 1, 3, 0, tzinfo=TOKYO), tick=False):
        asset = asset_create(client=tokyo_client, kind=AssetKind.SERVER, name="db-01")
    with time_machine.travel(datetime(2026, 10, 15, 9, 0, tzinfo=TOKYO), tick=False):
        asset = asset_update(asset=asset, is_active=False)
    asset.refresh_from_db()
    assert (asset.active_from, asset.active_until) == (date(2026, 9, 1), date(2026, 10, 15))
    with time_machine.travel(datetime(2026, 10, 20, 9, 0, tzinfo=TOKYO), tick=False):
        asset_update(asset=asset, name="db-01 (rebuilt)")
        asset.refresh_from_db()
        assert asset.active_until == date(2026, 10, 15)  # an edit while inactive changes nothing
        asset = asset_update(asset=asset, is_active=True)
    asset.refresh_from_db()
    assert (asset.active_from, asset.active_until) == (date(2026, 10, 20), None)


def test_a_given_end_date_is_kept(tokyo_client):
    asset = asset_create(client=tokyo_client, kind=AssetKind.SERVER, name="db-01")
    asset.active_until = date(2026, 10, 31)
    asset.save()
    asset = asset_update(asset=asset, is_active=False)
    asset.refresh_from_db()
    assert asset.active_until == date(2026, 10, 31)


def test_a_seat_stops_being_counted_the_day_the_contact_leaves(tokyo_client):
    by = StaffFactory(role="admin")
    with time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=TOKYO), tick=False):
        contact = contact_create(client=tokyo_client, full_name="Aiko", email="aiko@example.jp")
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=TOKYO), tick=False):
        contact = contact_update(contact=contact, by=by, is_active=False)
    contact.refresh_from_db()
    assert (contact.active_from, contact.active_until) == (date(2026, 11, 2), date(2026, 11, 20))
