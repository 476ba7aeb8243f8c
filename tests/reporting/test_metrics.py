"""Each metric of a hand-built November (tests/reporting/conftest.py) against its known answer."""

from datetime import date
from decimal import Decimal

import pytest

from contracts.selectors import compliance_share
from msp.periods import Period
from reporting.metrics import client_metrics_compute
from reporting.models import Metric
from tests.factories import ContactFactory
from tests.reporting.conftest import NOVEMBER, ny

pytestmark = pytest.mark.django_db


def figures(client) -> dict:
    client_metrics_compute(client=client, period=NOVEMBER)
    return {
        (m.key, m.dimension): m
        for m in Metric.objects.filter(client=client, period_start=date(2026, 11, 1))
    }


def test_compliance_leaves_exempted_breaches_out(month):
    got = figures(month)
    response = got[("compliance", "P1/response")]
    assert (response.value, response.count, response.target) == (
        Decimal("100.000"),
        2,
        Decimal("95.000"),
    )
    resolution = got[("compliance", "P1/resolution")]
    assert (resolution.value, resolution.count) == (Decimal("66.66"), 3)  # cut down to 0.01
    assert got[("exempted_breaches", "")].count == 1


def test_a_contract_that_has_expired_since_reports_its_last_month(month):
    """November's report of a contract that ended on 30 November and has since expired still
    applies its targets (it used to find no active contract and report none)."""
    from contracts.choices import ContractStatus
    from contracts.models import Contract
    from contracts.services import contract_change_status

    contract = Contract.objects.get(client=month)
    contract.end_date = date(2026, 11, 30)
    contract.save()
    contract_change_status(contract=contract, status=ContractStatus.EXPIRED)
    assert figures(month)[("compliance", "P1/response")].target == Decimal("95.000")


def test_response_and_resolution_percentiles(month):
    got = figures(month)
    # P1 responses spent 5, 10 and 20 minutes of round-the-clock time.
    assert got[("response_p50", "P1")].value == Decimal(600)
    assert got[("response_p90", "P1")].value == Decimal(1200)
    # P1 resolutions: 2 h, 3 h, 5 h.
    assert got[("resolution_p50", "P1")].value == Decimal(3 * 3600)
    assert got[("resolution_p90", "all")].count == 4  # with the reopened P4's second stop


def test_mttr_fcr_volume_backlog_top_assets(month):
    got = figures(month)
    # Resolved in November: 2 h, 3 h, 5 h, and the P4 from 5 Nov 09:00 to 6 Nov 10:00 (25 h).
    assert got[("mttr", "")].value == Decimal((2 + 3 + 5 + 25) * 3600 / 4).quantize(
        Decimal("0.001")
    )
    # Only T1 was resolved with a single staff reply, no escalation and no reopening.
    assert (got[("fcr", "")].value, got[("fcr", "")].count) == (Decimal("25.000"), 4)
    assert got[("volume", "all")].count == 5  # the 31 October ticket is October's
    assert got[("volume", "priority:P1")].count == 3
    assert got[("volume", "priority:P4")].count == 2
    assert got[("backlog", "")].count == 2  # T5, and the October ticket still open
    assert got[("top_asset", "SRV-01")].count == 2


def test_running_again_replaces_the_month(month):
    figures(month)
    first = Metric.objects.count()
    figures(month)
    assert Metric.objects.count() == first


def test_a_month_without_tickets_is_valid(client_b):
    client_metrics_compute(client=client_b, period=Period("month", date(2026, 2, 1)))
    got = {(m.key, m.dimension): m for m in Metric.objects.filter(client=client_b)}
    assert got[("volume", "all")].count == 0
    assert got[("mttr", "")].value is None and got[("fcr", "")].value is None


def test_live_dashboard_shows_this_month_for_the_clients_own_tickets(
    month, client_user_a, client_b, django_assert_max_num_queries
):
    import time_machine
    from django.urls import reverse

    from tests.helpers import signed_in
    from tickets.services import ticket_open

    client_user_a.client = month
    client_user_a.save()
    ticket_open(client=client_b, subject="Another client's outage", at=ny(2026, 11, 10, 9))
    with time_machine.travel(ny(2026, 11, 30, 12), tick=False):
        http = signed_in(client_user_a)  # signed in just now, not hours before (idle timeout)
        with django_assert_max_num_queries(45):
            page = http.get(reverse("portal:sla-dashboard")).content.decode()
    assert "Service levels, November 2026 so far" in page
    assert "P1 resolution" in page and "66.66 %" in page  # the same figure as the report
    assert "Another client's outage" not in page
    assert "Client asked us to call after 10:15." in page  # the exempted breach
    assert "Monitor" in page  # the open P4, with its countdown


def test_staff_cannot_open_the_client_dashboard(technician):
    from django.urls import reverse

    from tests.helpers import signed_in

    assert signed_in(technician).get(reverse("portal:sla-dashboard")).status_code == 403


def test_overall_compliance_adds_up_the_rows(month):
    got = figures(month)
    rows = [m for (key, dim), m in got.items() if key == "compliance" and dim != "all"]
    overall = got[("compliance", "all")]
    assert overall.count == sum(row.count for row in rows)
    met = sum(round(row.value * row.count / 100) for row in rows if row.value is not None)
    assert overall.value == compliance_share(met, overall.count)


def test_satisfaction_average_and_response_rate(month, technician):
    from tickets.models import SatisfactionSurvey, Ticket

    contact = ContactFactory(client=month)
    tickets = list(Ticket.objects.filter(client=month).order_by("pk"))
    SatisfactionSurvey.objects.filter(client=month).delete()  # the ones sent on resolving

    def survey(ticket, sent, rating=None, answered=None):
        SatisfactionSurvey.objects.create(
            ticket=ticket,
            client=month,
            contact=contact,
            resolved_at=sent,
            sent_at=sent,
            rating=rating,
            answered_at=answered,
        )

    survey(tickets[0], ny(2026, 10, 30, 12), 4, ny(2026, 11, 1, 9))  # October's, answered now
    survey(tickets[1], ny(2026, 11, 2, 12), 5, ny(2026, 11, 2, 13))
    survey(tickets[2], ny(2026, 11, 3, 13), 2, ny(2026, 11, 4, 8))
    survey(tickets[3], ny(2026, 11, 4, 15))  # not answered
    got = figures(month)
    # Ratings given in November: 4, 5, 2. Sent in November: 3, of which 2 answered.
    assert (got[("csat", "")].value, got[("csat", "")].count) == (Decimal("3.667"), 3)
    response = got[("csat_response", "")]
    assert (response.value, response.count) == (Decimal("66.667"), 3)


def test_recurring_categories(month):
    from tickets.models import Ticket

    Ticket.objects.filter(client=month, subject="Down").update(category="Servers")
    Ticket.objects.filter(client=month, subject="Printer").update(category="Printing")
    got = figures(month)
    assert got[("top_category", "Servers")].count == 3  # November's three P1s
    assert got[("top_category", "Printing")].count == 1


def test_a_quarter_spans_its_three_months_in_the_clients_zone(month):
    client_metrics_compute(client=month, period=Period("quarter", date(2026, 10, 1)))
    got = {
        (m.key, m.dimension): m for m in Metric.objects.filter(client=month, period_kind="quarter")
    }
    assert got[("volume", "all")].count == 6  # the 31 October ticket belongs to Q4 too
    assert got[("backlog", "")].count == 2


def test_a_paused_ticket_across_the_night_the_clocks_go_back(client_b, technician):
    """New York leaves summer time at 02:00 on 1 November 2026 (01:00-02:00 happens twice).
    Times are real elapsed time, and a pause for the client does not count."""
    from datetime import UTC, datetime

    from tickets import services
    from tickets.choices import Impact, TicketStatus, Urgency

    client_b.timezone = "America/New_York"
    client_b.save()
    ticket = services.ticket_open(
        client=client_b,
        contact=ContactFactory(client=client_b),
        subject="Down",
        impact=Impact.HIGH,
        urgency=Urgency.HIGH,
        at=ny(2026, 11, 1, 0, 30),  # 04:30 UTC, summer time
    )
    services.ticket_reply(ticket=ticket, author=technician, body="On it", at=ny(2026, 11, 1, 0, 35))
    for status, minute in ((TicketStatus.WAITING_ON_CLIENT, 40), (TicketStatus.IN_PROGRESS, 50)):
        services.ticket_change_status(
            ticket=ticket, actor=technician, status=status, at=ny(2026, 11, 1, 0, minute)
        )
    # 01:30 winter time (06:30 UTC): two real hours after opening, one on the wall clock.
    resolved_at = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    services.ticket_resolve(ticket=ticket, actor=technician, resolution="Fixed", at=resolved_at)

    got = figures(client_b)
    assert got[("response_p50", "P1")].value == Decimal(5 * 60)
    # 120 real minutes, less the 10 waiting on the client.
    assert got[("resolution_p50", "P1")].value == Decimal(110 * 60)
    assert got[("mttr", "")].value == Decimal(120 * 60)  # wall-clock time to resolve, unpaused
    assert got[("compliance", "all")].value == Decimal(100)
    assert got[("volume", "all")].count == 1 and got[("backlog", "")].count == 0
    # The report's month is New York's November: the ticket opened at 00:30 on the 1st is in.
    october = Period("month", date(2026, 10, 1))
    client_metrics_compute(client=client_b, period=october)
    assert (
        Metric.objects.get(
            client=client_b, period_start=october.first_day, key="volume", dimension="all"
        ).count
        == 0
    )
