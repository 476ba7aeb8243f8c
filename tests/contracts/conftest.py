"""Shared fixtures of the contract tests (pages and API)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contracts.choices import ContractStatus
from contracts.models import ComplianceTarget
from sla.choices import ClockKind
from tests.factories import ContactFactory, ContractFactory
from tickets.choices import Impact, Urgency
from tickets.services import ticket_open, ticket_reply


@pytest.fixture
def contract(client_a):
    client_a.timezone = "Europe/Berlin"
    client_a.save()
    return ContractFactory(client=client_a, number="C-50", monthly_fee=Decimal("1000.00"))


@pytest.fixture
def breached(contract, technician):
    """A P1 of June answered late: its response clock breached."""
    contract.status = ContractStatus.ACTIVE
    contract.save()
    ComplianceTarget.objects.create(
        contract=contract, priority="P1", metric="response", percent=Decimal("95")
    )
    opened = datetime(2026, 6, 10, 9, tzinfo=UTC)
    ticket = ticket_open(
        client=contract.client,
        contact=ContactFactory(client=contract.client),
        subject="Mail down",
        impact=Impact.HIGH,
        urgency=Urgency.HIGH,
        at=opened,
    )
    ticket_reply(ticket=ticket, author=technician, body="Looking", at=opened + timedelta(hours=1))
    return ticket.sla_clocks.get(kind=ClockKind.RESPONSE)
