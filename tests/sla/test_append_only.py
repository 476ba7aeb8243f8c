"""The SLA record is append-only (SPEC section 11): clocks, SLA events and timeline entries
are never deleted or rewritten, whether through the ORM, raw SQL or the admin."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from sla.choices import ClockKind
from sla.models import SLAClock, SLAEvent
from tests.factories import TicketFactory
from tests.tickets.conftest import ny
from tickets import services
from tickets.models import Ticket, TimelineEvent
from tickets.timers.sweep import sla_sweep

pytestmark = pytest.mark.django_db

OPENED = ny(2026, 11, 22, 3, 0)


@pytest.fixture
def breached(client_a):
    """A P1 ticket whose response clock breached and was recorded by the sweep."""
    ticket = TicketFactory(client=client_a, p1=True, at=OPENED)
    sla_sweep(now=OPENED + timedelta(minutes=20))
    return ticket


def refused(statement) -> bool:
    try:
        with transaction.atomic():
            statement()
    except IntegrityError as error:
        return "append-only" in str(error)
    return False


def sql(text: str, *params):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(text, params)

    return run


class TestBelowDjango:
    def test_sla_events_cannot_be_deleted_or_changed(self, postgres, breached):
        event = SLAEvent.objects.get(clock__ticket=breached, key="breach")
        assert refused(lambda: SLAEvent.objects.filter(pk=event.pk).delete())
        assert refused(sql("DELETE FROM sla_slaevent WHERE id = %s", event.pk))
        assert refused(sql("UPDATE sla_slaevent SET due_at = now() WHERE id = %s", event.pk))
        assert SLAEvent.objects.get(pk=event.pk).due_at == event.due_at

    def test_timeline_entries_cannot_be_deleted_or_changed(self, postgres, breached):
        entry = breached.events.order_by("pk").first()
        assert refused(lambda: entry.delete())
        assert refused(sql("UPDATE tickets_timelineevent SET detail = 'x' WHERE id = %s", entry.pk))
        assert TimelineEvent.objects.filter(pk=entry.pk).exists()

    def test_clocks_cannot_be_deleted_nor_a_breach_undone(self, postgres, breached):
        clock = SLAClock.objects.get(ticket=breached, kind=ClockKind.RESPONSE)
        assert clock.breached_at is not None
        assert refused(sql("DELETE FROM sla_slaclock WHERE id = %s", clock.pk))
        assert refused(
            sql("UPDATE sla_slaclock SET breached_at = NULL, state = 'met' WHERE id = %s", clock.pk)
        )
        assert refused(sql("UPDATE sla_slaclock SET cycle = 7 WHERE id = %s", clock.pk))
        assert refused(lambda: Ticket.objects.filter(pk=breached.pk).delete())
        # What the services do (the running resolution clock moves on) is still allowed.
        resolution = SLAClock.objects.get(ticket=breached, kind=ClockKind.RESOLUTION)
        services.ticket_reply(
            ticket=breached,
            author=breached.assignee or _staff(),
            body="Fixed the uplink",
            at=OPENED + timedelta(minutes=30),
        )
        services.ticket_change_status(
            ticket=breached,
            actor=_staff(),
            status="waiting_on_client",
            at=OPENED + timedelta(minutes=40),
        )
        resolution.refresh_from_db()
        assert resolution.state == "paused"


def _staff():
    from tests.factories import StaffFactory

    return StaffFactory()


@pytest.mark.parametrize(
    ("model", "pk_of"),
    [
        (SLAClock, lambda t: SLAClock.objects.filter(ticket=t).first().pk),
        (SLAEvent, lambda t: SLAEvent.objects.filter(clock__ticket=t).first().pk),
        (TimelineEvent, lambda t: t.events.first().pk),
    ],
    ids=["clock", "sla-event", "timeline"],
)
def test_the_admin_shows_the_record_read_only(model, pk_of, breached, admin_user, client):
    client.force_login(admin_user)
    meta = model._meta
    pk = pk_of(breached)
    base = f"/admin/{meta.app_label}/{meta.model_name}/"
    assert client.get(base).status_code == 200
    page = client.get(f"{base}{pk}/change/")
    assert page.status_code == 200
    assert b'type="submit" value="Save"' not in page.content
    assert client.post(f"{base}{pk}/change/", {}).status_code == 403
    assert client.get(f"{base}{pk}/delete/").status_code == 403
    assert client.post(f"{base}{pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert model.objects.filter(pk=pk).exists()


def test_a_refused_write_does_not_hold_the_sweep(postgres, client_a, caplog):
    """A clock whose update the triggers refuse is logged and skipped; the other due tickets
    are still swept, and the sweep does not spin on the refused one until its budget ends."""
    import time

    opened = TicketFactory.create_batch(2, client=client_a, p1=True, at=OPENED)
    broken = SLAClock.objects.get(ticket=opened[0], kind=ClockKind.RESPONSE)
    with connection.cursor() as cursor:  # a corrupt row, written past the triggers
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE sla_slaclock SET started_at = started_at - interval '1 hour' WHERE id = %s",
            [broken.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
    began = time.monotonic()
    result = sla_sweep(now=OPENED + timedelta(minutes=20), budget_seconds=10)
    assert time.monotonic() - began < 5
    assert result.busy == 1 and result.tickets == 1
    assert SLAEvent.objects.filter(clock__ticket=opened[1], key="breach").exists()
    assert "SLA sweep refused" in caplog.text
