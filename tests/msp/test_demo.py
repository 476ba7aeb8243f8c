from decimal import Decimal

import pytest
from django.core.management import call_command

from msp.choices import Tier, UserRole
from msp.demo import DEMO_PASSWORD
from msp.models import Asset, Client, Contact, Site, Team, User
from sla.models import SLAPolicy

pytestmark = pytest.mark.django_db


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
