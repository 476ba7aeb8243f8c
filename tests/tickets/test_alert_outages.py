"""Availability from monitoring: a critical alert on an asset that a service line of the
client's active contract covers opens an outage on that service, closed when it resolves."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from contracts.choices import ContractStatus, PricingModel, Service
from contracts.models import Outage, ServiceLine
from msp.choices import AssetKind
from tests.factories import AssetFactory, ContractFactory
from tickets.intake.alerts import AlertIn, alert_receive

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture
def contract(client_a):
    contract = ContractFactory(
        client=client_a, start_date=date(2020, 1, 1), status=ContractStatus.ACTIVE
    )
    ServiceLine.objects.create(
        contract=contract,
        service=Service.INFRASTRUCTURE,
        pricing_model=PricingModel.PER_DEVICE,
        asset_kinds=[AssetKind.SERVER],
    )
    ServiceLine.objects.create(
        contract=contract,
        service=Service.SERVICE_DESK,
        pricing_model=PricingModel.PER_SEAT,
        asset_kinds=[],
    )
    return contract


def fire(user, at, status="firing", severity="critical", asset="RMM-77"):
    alert = AlertIn(
        source="zabbix",
        fingerprint=f"down-{asset}",
        status=status,
        severity=severity,
        summary="Server down",
        details={},
        asset=asset,
    )
    return alert_receive(alert=alert, user=user, at=at)


def test_a_critical_alert_opens_and_its_resolution_closes_an_outage(technician, contract, server):
    opened = fire(technician, T0)
    outage = Outage.objects.get()
    assert (outage.contract, outage.service, outage.start, outage.end, outage.planned) == (
        contract,
        Service.INFRASTRUCTURE,
        T0,
        None,
        False,
    )
    assert outage.ticket_id == opened.ticket_id
    fire(technician, T0 + timedelta(minutes=1))  # a repeat: still one outage
    fire(technician, T0 + timedelta(minutes=20), "resolved")
    outage.refresh_from_db()
    assert outage.end == T0 + timedelta(minutes=20)
    assert Outage.objects.count() == 1


def test_an_outage_a_technician_corrected_is_left_alone(technician, contract, server):
    fire(technician, T0)
    Outage.objects.update(end=T0 + timedelta(minutes=5))
    fire(technician, T0 + timedelta(minutes=20), "resolved")
    assert Outage.objects.get().end == T0 + timedelta(minutes=5)


def test_no_outage_for_a_warning_an_uncovered_asset_or_without_a_contract(
    technician, client_a, contract
):
    AssetFactory(client=client_a, kind=AssetKind.SERVER, rmm_id="RMM-1")
    AssetFactory(client=client_a, kind=AssetKind.LAPTOP, rmm_id="RMM-2")
    fire(technician, T0, severity="warning", asset="RMM-1")
    fire(technician, T0, asset="RMM-2")
    assert not Outage.objects.exists()


def test_no_outage_without_an_active_contract(technician, server):
    fire(technician, T0)
    assert not Outage.objects.exists()
