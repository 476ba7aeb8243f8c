"""A hand-built November (the month New York leaves summer time) with known answers, shared
by the metric, report and dashboard tests."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from contracts.choices import ComplianceMetric, ContractStatus
from contracts.models import ComplianceTarget
from contracts.services import breach_exemption_grant, contract_change_status
from msp.periods import Period
from tests.factories import AssetFactory, ContactFactory, ContractFactory, TicketFactory
from tickets import services

NY = ZoneInfo("America/New_York")
NOVEMBER = Period("month", date(2026, 11, 1))


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture(autouse=True)
def report_files(settings, tmp_path):
    """Report PDFs are stored when drawn: in a folder of the test's own, not var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def month(client_a, technician, account_manager):
    """Six tickets of November 2026 and one of 31 October, late evening."""
    client_a.timezone = "America/New_York"
    client_a.save()
    contract = ContractFactory(client=client_a, number="C-1", name="Managed")
    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric=ComplianceMetric.RESPONSE, percent=Decimal("95")
    )
    contract_change_status(contract=contract, status=ContractStatus.ACTIVE)
    server = AssetFactory(client=client_a, name="SRV-01")
    contact = ContactFactory(client=client_a)  # replies reach someone: they are responses

    def p1(at, **extra):
        return TicketFactory(
            client=client_a, contact=contact, subject="Down", p1=True, at=at, **extra
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
    t4 = services.ticket_open(
        client=client_a, contact=contact, subject="Printer", at=ny(2026, 11, 5, 9)
    )
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
