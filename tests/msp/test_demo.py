from decimal import Decimal

import pytest
from django.core.management import call_command

from msp.choices import Tier, UserRole
from msp.demo import DEMO_PASSWORD
from msp.models import Asset, Client, Contact, Site, Team, User
from sla.models import SLAPolicy

pytestmark = [pytest.mark.slow, pytest.mark.django_db]  # each test seeds the whole demo


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (User, Team, Client, Site, Contact, Asset, SLAPolicy)
    }


def test_seed_demo_twice_is_idempotent(capsys):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    output = capsys.readouterr().out
    assert "admin@demo.msp" in output and DEMO_PASSWORD in output


def test_demo_has_every_role_and_tier_and_portal_users():
    call_command("seed_demo")
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


def test_demo_contracts_give_real_figures_and_tickets_take_them():
    from contracts.models import Contract
    from contracts.selectors import Usage, contract_charges_preview
    from tickets.models import Ticket

    call_command("seed_demo")
    contracts = Contract.objects.filter(status="active")
    assert {c.type for c in contracts} == {"fully_managed", "block_hours", "time_and_materials"}
    acme = contracts.get(number="ACME-2026-01")
    # 2,500 + 3 servers/firewall x 45 + 3 contacts as seats x 35 + 300 backup retainer.
    assert contract_charges_preview(contract=acme, usage=Usage()).total == Decimal("3040.00")
    assert Ticket.objects.filter(client__slug="acme").exclude(contract=acme).count() == 0


def test_demo_history_climbs_the_ladder_and_owes_a_credit():
    from contracts.models import MonthlyEvaluation

    call_command("seed_demo")
    acme = MonthlyEvaluation.objects.filter(contract__number="ACME-2026-01").order_by("-month")
    # One late P1 answer every month for three months, and a backup outage in the last one.
    assert [e.ladder_step for e in acme[:3]] == ["credit", "remediation", "warning"]
    last = acme[0]
    assert (last.missed_targets, last.credit_amount) == (2, Decimal("250.00"))  # 2 x 5 %
    globex = MonthlyEvaluation.objects.filter(contract__number="GLX-2026-01")
    assert {e.ladder_step for e in globex} == {"ok"}


def test_demo_reports_reach_the_portal_and_the_next_month_is_emailed_on_schedule():
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

    call_command("seed_demo")
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


@pytest.mark.parametrize(
    "instant",
    [
        # The 1st just after midnight UTC: New York and Chicago are still in November.
        "2026-12-01T00:30:00+00:00",
        # The 31st just before midnight UTC, summer time begun: Berlin is already in April.
        "2027-03-31T23:30:00+00:00",
        # The 2nd at noon: two days back is last month (this month's outage stays in it).
        "2026-12-02T12:00:00+00:00",
        # The 1st, half an hour into it in New York, Chicago still in November: this month's
        # outage has no room yet, and each client is billed for its own ended months.
        "2026-12-01T05:30:00+00:00",
    ],
)
def test_demo_holds_together_where_the_clients_calendars_disagree_on_the_month(instant):
    """The demo's contracts, history, evaluations and invoices are dated in each client's
    calendar: seeded at an instant when the clients' zones are in different months, every
    history ticket is under its contract, Acme's last month still misses two targets, and two
    months of invoices are finalised for every client."""
    import time_machine
    from django.utils.dateparse import parse_datetime

    from contracts.models import MonthlyEvaluation
    from reporting.billing.choices import DocumentKind, InvoiceStatus, LineKind
    from reporting.billing.models import Invoice
    from tickets.models import Ticket

    with time_machine.travel(parse_datetime(instant), tick=True):
        call_command("seed_demo", "--no-logins")
    assert not Ticket.objects.filter(contract__isnull=True).exists()
    acme = MonthlyEvaluation.objects.filter(contract__number="ACME-2026-01").latest("month")
    assert (acme.ladder_step, acme.missed_targets) == ("credit", 2)
    invoices = Invoice.objects.filter(kind=DocumentKind.INVOICE, status=InvoiceStatus.FINALISED)
    months_by_client = {}
    for invoice in invoices:
        months_by_client.setdefault(invoice.client_id, set()).add(invoice.period_start)
    assert set(months_by_client) == set(Client.objects.values_list("pk", flat=True))
    assert all(len(months) == 2 for months in months_by_client.values())
    # Acme's missed month is on its invoice as a service credit.
    assert invoices.filter(client__slug="acme", lines__kind=LineKind.SERVICE_CREDIT).exists()
