"""The staff SLA risk page: due soon, breached today, compliance by client, my clients."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.factories import ContactFactory
from tests.helpers import signed_in
from tickets.choices import Impact, Urgency
from tickets.services import ticket_open, ticket_reply

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


@pytest.fixture
def risky(client_a, client_b, technician, account_manager):
    client_a.account_manager = account_manager
    client_a.save()
    # A P1 opened 14 minutes ago: its 15-minute response is due in a minute.
    soon = ticket_open(
        client=client_a, subject="Soon", impact=Impact.HIGH, urgency=Urgency.HIGH,
        at=NOW - timedelta(minutes=14),
    )  # fmt: skip
    # A P1 answered late this morning: a response breach today, and one met clock for client B.
    late = ticket_open(
        client=client_b, contact=ContactFactory(client=client_b), subject="Late",
        impact=Impact.HIGH, urgency=Urgency.HIGH,
        at=NOW - timedelta(hours=5),
    )  # fmt: skip
    ticket_reply(ticket=late, author=technician, body="Sorry", at=NOW - timedelta(hours=4))
    quick = ticket_open(
        client=client_b, contact=ContactFactory(client=client_b), subject="Quick",
        impact=Impact.HIGH, urgency=Urgency.HIGH,
        at=NOW - timedelta(hours=3),
    )  # fmt: skip
    ticket_reply(
        ticket=quick,
        author=technician,
        body="Here",
        at=NOW - timedelta(hours=3) + timedelta(minutes=2),
    )
    return soon, late


def test_due_soon_breached_today_and_compliance_by_client(risky, technician):
    with time_machine.travel(NOW, tick=False):
        page = signed_in(technician).get(reverse("workspace:sla-risk")).content.decode()
    # Due within 2 h: Soon's response (1 min) and Quick's 4 h resolution (1 h left).
    assert 'data-testid="soon-count">2<' in page and "Soon" in page
    assert 'data-testid="breached-count">1<' in page and "Late" in page
    assert "50.00 %" in page  # client B: one response met, one breached


def test_my_clients_only(risky, account_manager):
    with time_machine.travel(NOW, tick=False):
        page = (
            signed_in(account_manager)
            .get(reverse("workspace:sla-risk"), {"mine": "1"})
            .content.decode()
        )
    assert "Soon" in page and "Late" not in page


def test_client_users_are_kept_out(client_user_a):
    assert signed_in(client_user_a).get(reverse("workspace:sla-risk")).status_code == 403


def test_query_count_does_not_grow_with_clients(risky, technician, django_assert_num_queries):
    http = signed_in(technician)
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(8):
        # session, user, the user's visible clients, due soon (page + count), breached
        # (page + count), compliance (roll-ups: no time zones to read)
        http.get(reverse("workspace:sla-risk"))


def test_compliance_uses_each_clients_own_month(client_a, technician):
    """Answered at 22:00 on 31 October in New York, which is 1 November in UTC: October's, as in
    the client's report, so November has nothing concluded yet."""
    from zoneinfo import ZoneInfo

    new_york = ZoneInfo("America/New_York")
    ticket = ticket_open(
        client=client_a, subject="Late evening", impact=Impact.HIGH, urgency=Urgency.HIGH,
        at=datetime(2026, 10, 31, 21, 50, tzinfo=new_york),
    )  # fmt: skip
    ticket_reply(
        ticket=ticket, author=technician, body="Here",
        at=datetime(2026, 10, 31, 22, 0, tzinfo=new_york),
    )  # fmt: skip
    assert client_a.timezone == "America/New_York"
    with time_machine.travel(NOW, tick=False):
        page = signed_in(technician).get(reverse("workspace:sla-risk")).content.decode()
    assert "No clock concluded this month." in page
