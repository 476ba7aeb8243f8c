"""The account manager's overview of their clients: this month so far with the report's
figures, the contract, the governance ladder and the latest reports."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.choices import ComplianceMetric, ContractStatus
from contracts.models import ComplianceTarget
from contracts.services import contract_month_evaluate
from msp.models import Client
from msp.periods import Period
from reporting.metrics import clients_metrics, period_contracts
from reporting.selectors import account_contracts, account_figures
from reporting.services import report_generate
from tests.factories import ClientFactory, ContactFactory, ContractFactory
from tests.helpers import signed_in
from tests.reporting.conftest import ny
from tickets import services
from tickets.choices import TicketStatus

pytestmark = pytest.mark.django_db
LATE_NOVEMBER = ny(2026, 11, 30, 12)


@pytest.fixture
def accounts(month, client_b, account_manager):
    """Client A (the hand-built November) is the account manager's; client B is not."""
    month.account_manager = account_manager
    month.save()
    contract = month.contracts.get()
    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric=ComplianceMetric.RESOLUTION, percent=Decimal(90)
    )
    contract_month_evaluate(
        contract=contract, month=date(2026, 10, 1), now=datetime(2026, 11, 2, tzinfo=UTC)
    )
    report_generate(client=month, period=Period("month", date(2026, 10, 1)), now=ny(2026, 11, 2, 9))
    return month


def overview(user, **params) -> str:
    with time_machine.travel(LATE_NOVEMBER, tick=False):
        response = signed_in(user).get(reverse("workspace:accounts"), params)
    assert response.status_code == 200
    return response.content.decode()


def row_of(page: str, slug: str) -> str:
    start = page.index(f'data-testid="account-{slug}"')
    return page[start : page.index("</tr>", start)]


def test_my_clients_this_month_so_far(accounts, client_b, account_manager):
    page = overview(account_manager)
    assert "My accounts" in page and "November 2026 so far" in page
    assert f"account-{client_b.slug}" not in page
    row = row_of(page, accounts.slug)
    assert "C-1" in row
    # P1 resolution: 2 of 3 clocks met (66.66 %, cut down) against the 90 % target just set.
    assert "P1 resolution 66.66 % &lt; 90.00 %" in row  # named as in the report
    assert "P1 first response" not in row  # 100 % against 95 %: met
    assert 'data-testid="backlog">2<' in row  # the open P4 and the October ticket
    assert "On target" in row and "Oct 2026" in row  # October evaluated: no clock concluded
    assert 'October 2026</a> <span class="badge text-bg-secondary">draft' in row


def test_all_clients_and_a_client_without_contract(accounts, client_b, account_manager):
    page = overview(account_manager, all="1")
    assert "All accounts" in page
    row = row_of(page, client_b.slug)
    assert "No active contract" in row and "Not evaluated" in row


def test_an_account_manager_without_clients_is_told_so(technician):
    assert "You are not the account manager of any client" in overview(technician)


def test_client_users_are_kept_out(client_user_a):
    assert signed_in(client_user_a).get(reverse("workspace:accounts")).status_code == 403


def test_query_count_does_not_grow_with_clients(accounts, account_manager):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            overview(account_manager)
        return len(captured)

    one = queries()
    for n in range(3):
        ClientFactory(name=f"Extra {n}", account_manager=account_manager)
    assert queries() == one


@pytest.fixture
def backlogs(technician):
    """Tickets of November 2026 in three zones, left open, resolved, reopened, closed and
    cancelled, each client under a contract but one."""
    rng = random.Random(5)
    clients = [
        ClientFactory(name=f"Zone {n}", timezone=zone)
        for n, zone in enumerate(("America/New_York", "Europe/Berlin", "Asia/Kolkata"))
    ]
    for client in clients[:2]:
        ContractFactory(client=client, start_date=date(2026, 1, 1), status=ContractStatus.ACTIVE)
    for n in range(24):
        client = clients[n % len(clients)]
        at = datetime(2026, 10, 28, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 26))
        ticket = services.ticket_open(
            client=client, contact=ContactFactory(client=client), subject=f"T{n}", at=at
        )
        at += timedelta(hours=2)
        if n % 4 == 0:
            continue  # left open
        if n % 4 == 1:
            services.ticket_change_status(
                ticket=ticket, actor=technician, status=TicketStatus.CANCELLED, at=at
            )
            continue
        services.ticket_resolve(ticket=ticket, actor=technician, resolution="Fixed", at=at)
        if n % 8 == 2:
            services.ticket_reopen(
                ticket=ticket, actor=technician, reason="Again", at=at + timedelta(hours=1)
            )
        elif n % 8 == 3:
            services.ticket_close(ticket=ticket, actor=technician, at=at + timedelta(hours=1))
    return clients


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 30, 23, 30, tzinfo=UTC),  # November over in Berlin and Kolkata only
        datetime(2026, 11, 25, 12, tzinfo=UTC),  # November running everywhere
    ],
)
def test_the_overview_shows_the_reports_figures_backlog_included(backlogs, now):
    clients = list(Client.objects.filter(pk__in=[client.pk for client in backlogs]))
    period = Period("month", date(2026, 11, 1))
    contracts = account_contracts(clients, period)
    assert sorted(contracts) == sorted(period_contracts([c.pk for c in clients], period))
    shown = account_figures(clients=clients, period=period, contracts=contracts, now=now)
    report = clients_metrics(clients=clients, period=period)
    for client in clients:
        as_reported = {
            (m.key, m.dimension): (m.value, m.count, m.target) for m in report[client.pk]
        }
        figures = {(m.key, m.dimension): (m.value, m.count, m.target) for m in shown[client.pk]}
        assert ("backlog", "") in figures and figures.items() <= as_reported.items(), client
    assert {f.count for figures in shown.values() for f in figures if f.key == "backlog"} - {0}


def test_the_overview_shows_the_reports_csat_from_the_answers_alone(month):
    """CSAT read from the month's answers only (account_satisfaction) is the report's: an
    October survey answered in November counts, a November survey not answered does not."""
    from tickets.models import SatisfactionSurvey, Ticket

    contact = ContactFactory(client=month)
    tickets = list(Ticket.objects.filter(client=month).order_by("pk"))
    SatisfactionSurvey.objects.filter(client=month).delete()
    for ticket, sent, rating, answered in (
        (tickets[0], ny(2026, 10, 30, 12), 4, ny(2026, 11, 1, 9)),
        (tickets[1], ny(2026, 11, 2, 12), 5, ny(2026, 11, 2, 13)),
        (tickets[2], ny(2026, 11, 3, 13), 2, ny(2026, 12, 1, 8)),  # answered in December
        (tickets[3], ny(2026, 11, 4, 15), None, None),
    ):
        SatisfactionSurvey.objects.create(
            ticket=ticket,
            client=month,
            contact=contact,
            resolved_at=sent,
            sent_at=sent,
            rating=rating,
            answered_at=answered,
        )
    period = Period("month", date(2026, 11, 1))
    shown = account_figures(
        clients=[month],
        period=period,
        contracts=account_contracts([month], period),
        now=LATE_NOVEMBER,
    )
    csat = {(m.key, m.dimension): m for m in shown[month.pk]}[("csat", "")]
    assert (csat.value, csat.count) == (Decimal("4.500"), 2)
    as_reported = clients_metrics(clients=[month], period=period)[month.pk]
    assert csat in as_reported
