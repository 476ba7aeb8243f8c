"""Demo contracts of several types, active, with lines, targets, a window and an outage.
Idempotent: contracts are found by number."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from decimal import Decimal as D
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from contracts.choices import (
    ComplianceMetric,
    ContractStatus,
    ContractType,
    PricingModel,
    Service,
)
from contracts.models import ComplianceTarget, Contract, MaintenanceWindow, Outage, ServiceLine
from contracts.services import contract_change_status, contract_create, contract_month_evaluate
from msp.choices import AssetKind
from msp.models import Client
from msp.periods import add_months
from sla.models import SLAPolicy

DEMO = [
    {
        "client": "acme",
        "number": "ACME-2026-01",
        "name": "Fully managed IT",
        "type": ContractType.FULLY_MANAGED,
        "fee": "2500.00",
        "lines": [
            {"service": Service.INFRASTRUCTURE, "pricing_model": PricingModel.PER_DEVICE,
             "unit_price": D("45.00"), "asset_kinds": [AssetKind.SERVER, AssetKind.FIREWALL]},
            {"service": Service.SERVICE_DESK, "pricing_model": PricingModel.PER_SEAT,
             "unit_price": D("35.00")},
            {"service": Service.BACKUP, "pricing_model": PricingModel.FIXED_RETAINER,
             "unit_price": D("300.00"), "availability_target": D("99.500")},
        ],
    },
    {
        "client": "globex",
        "number": "GLX-2026-01",
        "name": "Co-managed with a block of hours",
        "type": ContractType.BLOCK_HOURS,
        "fee": "500.00",
        "currency": "EUR",
        "lines": [
            {"service": Service.SERVICE_DESK, "pricing_model": PricingModel.BLOCK_OF_HOURS,
             "unit_price": D("1200.00"), "block_hours": D("15"), "overage_rate": D("95.00")},
            {"service": Service.CLOUD, "pricing_model": PricingModel.PERCENT_OF_SPEND,
             "spend_percent": D("12.00"), "managed_spend": D("8400.00")},
        ],
    },
    {
        "client": "initech",
        "number": "INI-2026-01",
        "name": "Time and materials",
        "type": ContractType.TIME_AND_MATERIALS,
        "fee": "0.00",
        "lines": [
            {"service": Service.SERVICE_DESK, "pricing_model": PricingModel.HOURLY,
             "hourly_rates": {"remote": "110.00", "onsite": "150.00", "travel": "60.00"}},
        ],
    },
]  # fmt: skip


@transaction.atomic
def seed_contracts() -> int:
    policy = SLAPolicy.objects.get(is_default=True)
    created = 0
    for spec in DEMO:
        if Contract.objects.filter(number=spec["number"]).exists():
            continue
        client = Client.objects.get(slug=spec["client"])
        # Started six months before the client's current month (its own calendar, as the
        # history is), for a year: months of history to evaluate and report on.
        start = add_months(_client_month(client), -6)
        end = add_months(start, 12) - timedelta(days=1)
        contract = contract_create(
            client=client,
            number=spec["number"],
            name=spec["name"],
            type=spec["type"],
            start_date=start,
            end_date=end,
            auto_renew=True,
            sla_policy=policy,
            monthly_fee=Decimal(spec["fee"]),
            currency=spec.get("currency", "USD"),
        )
        for line in spec["lines"]:
            row = ServiceLine(contract=contract, **line)
            row.full_clean()
            row.save()
        for priority, percent in (("P1", "95"), ("P2", "95"), ("P3", "90"), ("P4", "90")):
            for metric in ComplianceMetric.values:
                ComplianceTarget.objects.create(
                    contract=contract, priority=priority, metric=metric, percent=Decimal(percent)
                )
        contract_change_status(contract=contract, status=ContractStatus.ACTIVE)
        created += 1
    acme = Contract.objects.get(number="ACME-2026-01")
    if not acme.maintenance_windows.exists():
        MaintenanceWindow.objects.create(
            contract=acme,
            name="Sunday patching",
            duration_minutes=120,
            start=timezone.now().replace(hour=6, minute=0, second=0, microsecond=0)
            - timedelta(days=30),
            recurrence="FREQ=WEEKLY;BYDAY=SU",
        )
        # This month so far (Acme's calendar), the file server was down for 95 minutes: on the
        # dashboards, in no month yet evaluated. In a month's first hours, with no room for it
        # before now, there is none.
        now = timezone.now()
        month_began = datetime.combine(
            _client_month(acme.client), time(0), ZoneInfo(acme.client.timezone)
        )
        start = max(now - timedelta(days=2, hours=3), month_began)
        if start + timedelta(minutes=95) <= now:
            Outage.objects.create(
                contract=acme,
                service=Service.INFRASTRUCTURE,
                start=start,
                end=start + timedelta(minutes=95),
                description="File server crashed (demo).",
            )
        # Last month (Acme's calendar), backup was down for 4 hours: below its 99.5 % target.
        last_month = datetime.combine(
            add_months(_client_month(acme.client), -1).replace(day=12),
            time(14),
            ZoneInfo(acme.client.timezone),
        )
        Outage.objects.create(
            contract=acme,
            service=Service.BACKUP,
            start=last_month,
            end=last_month + timedelta(hours=4),
            description="Backup appliance firmware crash (demo).",
        )
    return created


def _client_month(client: Client) -> date:
    """The first day of the client's current month, in its time zone."""
    return timezone.localtime(timezone.now(), ZoneInfo(client.timezone)).date().replace(day=1)


def seed_evaluations() -> int:
    """Evaluate each demo contract's finished months that have no evaluation yet, oldest
    first, so that the ladder climbs as it would have month by month."""
    now = timezone.now()
    evaluated = 0
    for contract in Contract.objects.filter(number__in=[spec["number"] for spec in DEMO]):
        month = contract.start_date.replace(day=1)
        this_month = timezone.localtime(now, ZoneInfo(contract.client.timezone)).date()
        while month < this_month.replace(day=1):
            if not contract.evaluations.filter(month=month).exists():
                contract_month_evaluate(contract=contract, month=month, now=now)
                evaluated += 1
            month = add_months(month, 1)
    return evaluated
