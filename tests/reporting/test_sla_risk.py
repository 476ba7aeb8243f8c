"""The staff SLA risk page: overdue and due soon, breached today, compliance by client, my
clients; zone-labelled times; a live list answered 304 while nothing changed."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from tests.factories import ContactFactory
from tests.helpers import signed_in
from tickets.choices import Impact, Urgency
from tickets.models import Ticket
from tickets.services import ticket_open, ticket_reply

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_remembered_fingerprint():
    """The list's fingerprint is kept a few seconds in the cache: none from another test."""
    cache.clear()
    yield
    cache.clear()


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
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(9):
        # session, user, the user's visible clients, the list's fingerprint, at risk (page +
        # counts), breached (page + count), compliance (roll-ups: no time zones to read)
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


def test_an_overdue_open_ticket_is_listed_first_most_overdue_first(risky, client_a, technician):
    """The ticket missing before: open, its response 2 days 17 hours overdue, never swept
    (so not yet marked breached). It comes before the one due in a minute."""
    overdue_by = timedelta(days=2, hours=17)
    forgotten = ticket_open(
        client=client_a, subject="Forgotten", impact=Impact.HIGH, urgency=Urgency.HIGH,
        at=NOW - overdue_by - timedelta(minutes=15),
    )  # fmt: skip
    less = ticket_open(
        client=client_a, subject="Less late", impact=Impact.HIGH, urgency=Urgency.HIGH,
        at=NOW - timedelta(hours=1),
    )  # fmt: skip
    forgotten.refresh_from_db()
    assert not forgotten.sla_breached and forgotten.sla_due_at == NOW - overdue_by
    with time_machine.travel(NOW, tick=False):
        page = signed_in(technician).get(reverse("workspace:sla-risk")).content.decode()
    rows = re.findall(r'data-testid="at-risk-row" data-ticket="(\d+)"', page)
    soon, late = risky
    # Naive reference: every open ticket of the scope due before now + 2 h, by due time.
    expected = sorted(
        (t for t in Ticket.objects.open().filter(sla_due_at__lt=NOW + timedelta(hours=2))),
        key=lambda t: (t.sla_due_at, t.pk),
    )
    assert rows == [str(t.pk) for t in expected]
    # Forgotten (2 d 17 h), Late's resolution (1 h), Less late's response (45 min), then Soon.
    assert rows[:3] == [str(forgotten.pk), str(late.pk), str(less.pk)]
    assert rows.index(str(soon.pk)) > rows.index(str(late.pk))
    assert 'data-testid="overdue-count">3<' in page
    row = page[page.index(f'data-ticket="{forgotten.pk}"') :].split("</tr>")[0]
    assert "overdue 2 d 17 h" in row


def test_every_time_is_labelled_with_the_viewers_zone_and_the_clients_on_hover(risky, technician):
    technician.timezone = "Europe/Paris"
    technician.save()
    soon, _ = risky
    with time_machine.travel(NOW, tick=False):
        page = signed_in(technician).get(reverse("workspace:sla-risk")).content.decode()
    # Soon's response is due at 15:01 UTC: 16:01 in Paris, 10:01 in New York (client A).
    assert soon.client.timezone == "America/New_York"
    assert (
        '<time datetime="2026-11-18T15:01:00Z" title="Client&#x27;s time: Wed 18 Nov 10:01 EST">'
        "18 Nov 16:01 CET</time>"
    ) in page
    assert "Times in Europe/Paris" in page
    # The response breach of Late, answered an hour late at 11:00 UTC: 10:15 UTC, 11:15 CET.
    breached = page[page.index('data-testid="breached"') :]
    assert ">18 Nov 11:15 CET</time>" in breached


def poll(http, etag=None, **params):
    headers = {"HTTP_HX_REQUEST": "true"}
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return http.get(reverse("workspace:sla-risk"), params, **headers)


def test_the_list_polls_and_is_not_modified_until_something_changes(
    risky, technician, django_assert_num_queries
):
    """At the wall clock's time (a change moves a ticket's `updated_at` to now)."""
    http = signed_in(technician)
    soon, _ = risky
    page = http.get(reverse("workspace:sla-risk"))
    assert 'hx-trigger="every 15s"' in page.content.decode()
    cache.clear()
    first = poll(http)
    assert first.status_code == 200 and "<html" not in first.content.decode()
    assert "Soon" in first.content.decode() and "HX-Request" in first["Vary"]
    listed = first["ETag"]
    assert page["ETag"] != listed  # the page and its list are not the same body
    with django_assert_num_queries(3):  # session, user, visible clients: the fingerprint kept
        unchanged = poll(http, listed)
    assert unchanged.status_code == 304 and unchanged.content == b""
    cache.clear()  # SLA_RISK_FINGERPRINT_SECONDS later
    with django_assert_num_queries(4):  # and the fingerprint's one aggregate
        assert poll(http, listed).status_code == 304
    ticket_reply(ticket=soon, author=technician, body="On it")
    cache.clear()
    changed = poll(http, listed)
    assert changed.status_code == 200 and changed["ETag"] != listed
    assert poll(http, changed["ETag"]).status_code == 304


def test_without_the_cache_a_change_shows_at_the_next_poll(risky, technician, settings):
    settings.SLA_RISK_FINGERPRINT_SECONDS = 0
    http = signed_in(technician)
    soon, _ = risky
    listed = poll(http)["ETag"]
    assert poll(http, listed).status_code == 304
    ticket_reply(ticket=soon, author=technician, body="On it")
    assert poll(http, listed).status_code == 200


def test_time_alone_moves_a_ticket_into_the_list(risky, technician):
    """No write at all: a deadline entering the two-hour window still changes the answer."""
    http = signed_in(technician)
    with time_machine.travel(NOW, tick=False):
        listed = poll(http)["ETag"]
    cache.clear()
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert poll(http, listed).status_code == 200  # Soon is now overdue


def test_a_technician_sees_only_the_overdue_tickets_of_clients_their_teams_serve(
    client_a, client_b, policy
):
    from msp.choices import UserRole
    from tests.factories import StaffFactory, TeamFactory

    team = TeamFactory(name="Pod A")
    team.clients.set([client_a])
    mine = StaffFactory(role=UserRole.DISPATCHER, tier="", teams=[team])
    for client, subject in ((client_a, "Alpha down"), (client_b, "Bravo down")):
        ticket_open(
            client=client, subject=subject, impact=Impact.HIGH, urgency=Urgency.HIGH,
            at=NOW - timedelta(days=3),
        )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        page = signed_in(mine).get(reverse("workspace:sla-risk")).content.decode()
    assert "Alpha down" in page and "Bravo down" not in page
