"""The demo, seeded once for this module's tests (9-30 s a seeding; see
`tests.helpers.rows_for_the_module`). The demo seeded at instants where the clients'
calendars disagree is in test_demo_calendars.py."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from msp.choices import Tier, UserRole
from msp.demo import DEMO_PASSWORD
from msp.models import Asset, Client, Contact, Site, Team, User
from sla.models import SLAPolicy
from tests.helpers import rows_for_the_module

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo seeded now; what seeding printed."""
    printed = io.StringIO()
    with rows_for_the_module(django_db_blocker):
        call_command("seed_demo", stdout=printed)
        yield printed.getvalue()


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (User, Team, Client, Site, Contact, Asset, SLAPolicy)
    }


def test_seed_demo_twice_is_idempotent(demo):
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert "admin@demo.msp" in demo and DEMO_PASSWORD in demo


def test_demo_has_every_role_and_tier_and_portal_users(demo):
    staff = User.objects.staff()
    assert {user.role for user in staff} == {
        UserRole.ADMIN,
        UserRole.DISPATCHER,
        UserRole.ACCOUNT_MANAGER,
        UserRole.TECHNICIAN,
    }
    assert {user.tier for user in staff if user.tier} == {Tier.L1, Tier.L2, Tier.L3}
    assert Client.objects.count() >= 3
    for client in Client.objects.all():
        assert client.sites.exists() and client.contacts.exists() and client.assets.exists()
        assert client.users.filter(role=UserRole.CLIENT).exists()
    assert User.objects.get(email="l2@demo.msp").check_password(DEMO_PASSWORD)
    assert SLAPolicy.objects.filter(is_default=True).count() == 1


def test_demo_contracts_give_real_figures_and_tickets_take_them(demo):
    from contracts.models import Contract
    from contracts.selectors import Usage, contract_charges_preview
    from tickets.models import Ticket

    contracts = Contract.objects.filter(status="active")
    assert {c.type for c in contracts} == {"fully_managed", "block_hours", "time_and_materials"}
    acme = contracts.get(number="ACME-2026-01")
    # 2,500 + 3 servers/firewall x 45 + 3 contacts as seats x 35 + 300 backup retainer.
    assert contract_charges_preview(contract=acme, usage=Usage()).total == Decimal("3040.00")
    assert Ticket.objects.filter(client__slug="acme").exclude(contract=acme).count() == 0


def test_demo_history_climbs_the_ladder_and_owes_a_credit(demo):
    from contracts.models import MonthlyEvaluation

    acme = MonthlyEvaluation.objects.filter(contract__number="ACME-2026-01").order_by("-month")
    # One late P1 answer every month for three months, and a backup outage in the last one.
    assert [e.ladder_step for e in acme[:3]] == ["credit", "remediation", "warning"]
    last = acme[0]
    assert (last.missed_targets, last.credit_amount) == (2, Decimal("250.00"))  # 2 x 5 %
    globex = MonthlyEvaluation.objects.filter(contract__number="GLX-2026-01")
    assert {e.ladder_step for e in globex} == {"ok"}


def test_demo_reports_reach_the_portal_and_the_next_month_is_emailed_on_schedule(demo):
    """What the issue's 'done when' names: each demo client has a sent monthly report and a
    QBR, readable by its portal user and its account manager as HTML, PDF and CSV, and the
    scheduled task emails the next month's report with its PDF."""
    from datetime import UTC, datetime, time, timedelta

    from django.core import mail
    from django.urls import reverse
    from django.utils import timezone

    from msp.models import OutboxMessage
    from msp.services import outbox_deliver
    from reporting.models import Report
    from reporting.services import reports_run_scheduled
    from tests.helpers import signed_in

    account_manager = User.objects.get(email="am@demo.msp")
    for client in Client.objects.all():
        reports = Report.objects.filter(client=client, sent_at__isnull=False)
        assert {report.kind for report in reports} == {"month", "quarter"}
        monthly = reports.filter(kind="month").latest("period_start")
        found = {(row["key"], row["dimension"]): row for row in monthly.figures["metrics"]}
        assert found[("volume", "all")]["count"] > 0, client  # a month of work, not empty
        assert found[("compliance", "all")]["value"] is not None
        assert found[("csat", "")]["count"] > 0
        portal = signed_in(client.users.get(role=UserRole.CLIENT))
        staff = signed_in(account_manager)
        for report in reports:
            page = portal.get(reverse("portal:report-detail", args=[report.pk]))
            assert page.status_code == 200 and client.name in page.content.decode()
            assert staff.get(reverse("reporting:detail", args=[report.pk])).status_code == 200
        for file_format, content_type in (("pdf", "application/pdf"), ("csv", "text/csv")):
            download = portal.get(reverse("portal:report-download", args=[monthly.pk, file_format]))
            assert download["Content-Type"].startswith(content_type)
    assert OutboxMessage.objects.filter(key__startswith="report:").count() >= Report.objects.count()

    # The month after the latest one any client's zone has reached: near midnight UTC at a
    # month's end Berlin is already in the next month and its report for this one is made.
    from zoneinfo import ZoneInfo

    now = timezone.now()
    latest = max(timezone.localdate(now, ZoneInfo(c.timezone)) for c in Client.objects.all())
    next_month_start = datetime.combine(
        (latest.replace(day=1) + timedelta(days=32)).replace(day=2), time(12), tzinfo=UTC
    )
    made = reports_run_scheduled(now=next_month_start)
    assert {report.kind for report in made} >= {"month"}
    assert len([r for r in made if r.kind == "month"]) == Client.objects.count()
    message = OutboxMessage.objects.get(key__startswith=f"report:{made[0].pk}:")
    mail.outbox.clear()
    outbox_deliver(message_id=message.pk)
    assert mail.outbox[0].attachments[0][2] == "application/pdf"
