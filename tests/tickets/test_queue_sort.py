"""The queue's sortable columns: exact orders (checked against a plain Python sort), both
directions, kept with filters and across pages, announced with aria-sort, read through an
index, and a page whose query count depends on neither its size nor the ticked rows."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from msp.choices import UserRole
from tests.factories import ClientFactory, StaffFactory, TicketFactory
from tests.helpers import signed_in
from tickets import selectors, services
from tickets.choices import Impact, TicketStatus
from tickets.models import SavedView, Ticket

pytestmark = pytest.mark.django_db

LEVELS = [Impact.HIGH, Impact.MEDIUM, Impact.LOW]


@pytest.fixture
def tickets(policy):
    """Twelve open tickets over three clients, four priorities, paused ones (no deadline)
    and staggered last changes."""
    clients = [ClientFactory(name=name) for name in ("Mango", "Apple", "Kiwi")]
    actor = StaffFactory(role=UserRole.DISPATCHER)
    start = timezone.now() - timedelta(hours=12)
    made = []
    for n in range(12):
        with time_machine.travel(start + timedelta(minutes=37 * ((n * 5) % 12)), tick=False):
            ticket = TicketFactory(
                client=clients[n % 3],
                impact=LEVELS[n % 3],
                urgency=LEVELS[(n // 3) % 3],
                subject=f"T{n}",
            )
            if n % 4 == 1:
                services.ticket_acknowledge(ticket=ticket, actor=actor)
                services.ticket_change_status(
                    ticket=ticket, actor=actor, status=TicketStatus.WAITING_ON_CLIENT
                )
        made.append(ticket)
    return made


def reference(key: str) -> list[int]:
    """The order each sort means, in plain Python over the stored values."""
    rows = list(Ticket.objects.open().select_related("client"))

    never = timezone.now()  # one value: only the first element decides for paused tickets

    def deadline(t):  # paused tickets (no deadline) after every date
        return (t.sla_due_at is None, t.sla_due_at or never)

    keys = {
        "sla": lambda t: (*deadline(t), t.pk),
        "priority": lambda t: (t.priority, *deadline(t), t.pk),
        "updated": lambda t: (t.updated_at, t.pk),
        "client": lambda t: (t.client.name, t.client_id, *deadline(t), t.pk),
    }
    descending = key.startswith("-")
    ordered = sorted(rows, key=keys[key.lstrip("-")])
    return [t.pk for t in (reversed(ordered) if descending else ordered)]


def listed(http, **query) -> list[int]:
    response = http.get(reverse("tickets:queue"), {"per_page": 100, **query})
    assert response.status_code == 200
    return [t.pk for t in response.context["page"].rows]


@pytest.mark.parametrize(
    "sort", ["sla", "-sla", "priority", "-priority", "updated", "-updated", "client", "-client"]
)
def test_each_sort_is_exact(tickets, dispatcher, sort):
    http = signed_in(dispatcher)
    assert len(set(Ticket.objects.values_list("priority", flat=True))) >= 3
    assert Ticket.objects.filter(sla_due_at__isnull=True).exists()
    assert listed(http, sort=sort) == reference(sort)


def test_an_unknown_sort_is_the_queue_default(tickets, dispatcher):
    http = signed_in(dispatcher)
    assert listed(http, sort="subject; drop") == listed(http) == reference("sla")


def test_sort_with_a_filter_and_across_pages(tickets, dispatcher):
    http = signed_in(dispatcher)
    apple = ClientFactory._meta.model.objects.get(name="Apple")
    expected = [
        pk for pk in reference("-priority") if Ticket.objects.get(pk=pk).client_id == apple.pk
    ]
    pages, page = [], 1
    while True:
        response = http.get(
            reverse("tickets:queue"),
            {"sort": "-priority", "client": apple.pk, "per_page": 25, "page": page},
        )
        pages += [t.pk for t in response.context["page"].rows]
        # The next page's link keeps the filter and the sort.
        assert "sort=-priority" in response.context["query"]
        assert f"client={apple.pk}" in response.context["query"]
        if not response.context["page"].has_next:
            break
        page += 1
    assert pages == expected


def test_headers_announce_the_sort_and_offer_the_reverse(tickets, dispatcher):
    content = signed_in(dispatcher).get(reverse("tickets:queue"), {"sort": "priority"}).content
    html = content.decode()
    header = r'<th aria-sort="(\w+)"><a href="\?([^"]+)"[^>]*data-sort="%s"'
    priority = re.search(header % "priority", html)
    assert priority.group(1) == "ascending"
    assert "sort=-priority" in priority.group(2)
    client = re.search(header % "client", html)
    assert client.group(1) == "none" and "sort=client" in client.group(2)
    html = signed_in(dispatcher).get(reverse("tickets:queue"), {"sort": "-priority"})
    priority = re.search(header % "priority", html.content.decode())
    assert priority.group(1) == "descending"
    assert "sort=priority" in priority.group(2) and "sort=-priority" not in priority.group(2)


@pytest.mark.parametrize("sort", ["sla", "-sla", "priority", "-priority", "updated", "-updated"])
def test_open_queue_sorts_read_an_index_without_sorting(tickets, dispatcher, sort):
    """Planner told to avoid sorting and full scans: a plan still free of a Sort node means
    an index gives the order (at a million tickets the planner chooses it by cost)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
    query = selectors.queue_ordered(
        selectors.ticket_queue(user=dispatcher, queue=selectors.Queue.ALL_OPEN), sort
    )[:50]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert " Sort " not in f" {plan} " and "Sort Key" not in plan, plan


@pytest.mark.parametrize("per_page", [25, 100])
@pytest.mark.parametrize("selected", [0, 100])
@pytest.mark.parametrize("views", [1, 6])
def test_query_count_fixed_whatever_page_size_selection_and_views(
    policy, dispatcher, django_assert_num_queries, per_page, selected, views
):
    clients = [ClientFactory() for _ in range(3)]
    made = [TicketFactory(client=clients[n % 3]) for n in range(per_page + 1)]
    for n in range(views):
        # Views naming a client or an assignee validate against the same choices as the
        # page's filter form: read once, whatever the number of views.
        SavedView.objects.create(
            owner=dispatcher,
            name=f"V{n}",
            querystring=f"priority=P{n % 4 + 1}&sort=client&client={clients[n % 3].pk}"
            + (f"&assignee={dispatcher.pk}" if n % 2 else ""),
        )
    query = {"per_page": per_page, "sort": "client"}
    query["selected"] = [t.pk for t in made[:selected]]
    http = signed_in(dispatcher)
    # session, user, visible clients, the page, the filter's client and assignee choices,
    # the saved views, their counts (one query for all), the bulk bar's assignees and teams.
    with django_assert_num_queries(10):
        response = http.get(reverse("tickets:queue"), query)
    assert len(response.context["page"].rows) == per_page
    ticked = {t.pk for t in made[:selected]}
    on_page = [t.pk for t in response.context["page"].rows if t.pk in ticked]
    assert response.content.decode().count(" checked>") == len(on_page)
