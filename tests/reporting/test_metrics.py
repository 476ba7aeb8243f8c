"""A hand-built November (the month New York leaves summer time) with known answers."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from contracts.choices import ComplianceMetric, ContractStatus
from contracts.models import ComplianceTarget
from contracts.services import breach_exemption_grant, contract_change_status, contract_create
from reporting.metrics import client_metrics_compute
from reporting.models import Metric
from reporting.periods import Period
from sla.services import default_policy_ensure
from tests.factories import AssetFactory
from tickets import services
from tickets.choices import Impact, Urgency

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOVEMBER = Period("month", date(2026, 11, 1))


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def month(client_a, technician, account_manager):
    """Six tickets of November 2026 and one of 31 October, late evening."""
    client_a.timezone = "America/New_York"
    client_a.save()
    contract = contract_create(
        client=client_a,
        number="C-1",
        name="Managed",
        start_date=date(2026, 1, 1),
        sla_policy=default_policy_ensure(),
    )
    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric=ComplianceMetric.RESPONSE, percent=Decimal("95")
    )
    contract_change_status(contract=contract, status=ContractStatus.ACTIVE)
    server = AssetFactory(client=client_a, name="SRV-01")

    def p1(at, **extra):
        return services.ticket_open(
            client=client_a,
            subject="Down",
            impact=Impact.HIGH,
            urgency=Urgency.HIGH,
            at=at,
            **extra,
        )

    # 31 Oct 23:30 in New York is 1 Nov 03:30 UTC: October's, not November's.
    p1(ny(2026, 10, 31, 23, 30))
    # T1: acknowledged in 5 min, resolved in 2 h with its only reply: first contact resolution.
    t1 = p1(ny(2026, 11, 2, 10), asset=server)
    services.ticket_acknowledge(ticket=t1, actor=technician, at=ny(2026, 11, 2, 10, 5))
    services.ticket_resolve(ticket=t1, actor=technician, resolution="Fixed", at=ny(2026, 11, 2, 12))
    # T2: answered in 20 min (response breached; exempted below), resolved in 3 h.
    t2 = p1(ny(2026, 11, 3, 10), asset=server)
    services.ticket_reply(ticket=t2, author=technician, body="On it", at=ny(2026, 11, 3, 10, 20))
    services.ticket_resolve(ticket=t2, actor=technician, resolution="Fixed", at=ny(2026, 11, 3, 13))
    # T3: answered in 10 min, escalated, resolved in 5 h (resolution breached at 4 h).
    t3 = p1(ny(2026, 11, 4, 10))
    services.ticket_reply(ticket=t3, author=technician, body="Looking", at=ny(2026, 11, 4, 10, 10))
    services.ticket_escalate(ticket=t3, actor=technician, reason="HW", at=ny(2026, 11, 4, 11))
    services.ticket_resolve(ticket=t3, actor=technician, resolution="Fixed", at=ny(2026, 11, 4, 15))
    # T4 (P4): resolved, reopened the next day, resolved again.
    t4 = services.ticket_open(client=client_a, subject="Printer", at=ny(2026, 11, 5, 9))
    services.ticket_resolve(ticket=t4, actor=technician, resolution="Toner", at=ny(2026, 11, 5, 10))
    services.ticket_reopen(ticket=t4, actor=technician, reason="Again", at=ny(2026, 11, 6, 9))
    services.ticket_resolve(
        ticket=t4, actor=technician, resolution="Roller", at=ny(2026, 11, 6, 10)
    )
    # T5 (P4): still open at the month's end.
    services.ticket_open(client=client_a, subject="Monitor", at=ny(2026, 11, 20, 9))
    breach_exemption_grant(
        clock=t2.sla_clocks.get(kind="response"),
        user=account_manager,
        cause="client",
        reason="Client asked us to call after 10:15.",
        at=ny(2026, 11, 10, 9),
    )
    return client_a


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
    assert (resolution.value, resolution.count) == (Decimal("66.667"), 3)
    assert got[("exempted_breaches", "")].count == 1


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
    http = signed_in(client_user_a)
    with (
        time_machine.travel(ny(2026, 11, 30, 12), tick=False),
        django_assert_max_num_queries(45),
    ):
        page = http.get(reverse("portal:sla-dashboard")).content.decode()
    assert "Service levels, November 2026 so far" in page
    assert "P1 resolution" in page and "66.7 %" in page  # the same figure as the report
    assert "Another client's outage" not in page
    assert "Client asked us to call after 10:15." in page  # the exempted breach
    assert "Monitor" in page  # the open P4, with its countdown


def test_staff_cannot_open_the_client_dashboard(technician):
    from django.urls import reverse

    from tests.helpers import signed_in

    assert signed_in(technician).get(reverse("portal:sla-dashboard")).status_code == 403
