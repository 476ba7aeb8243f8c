from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contracts.choices import ContractStatus, PricingModel, Service
from contracts.models import Contract, ServiceLine
from contracts.selectors import Usage, contract_active_for, contract_charges_preview
from contracts.services import contract_change_status, contract_create
from msp.choices import AssetKind
from sla.services import policy_save
from tests.factories import AssetFactory, ContactFactory, ContractFactory
from tickets.services import ticket_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(client_a):
    return ContractFactory(
        client=client_a,
        number="C-1001",
        end_date=date(2026, 12, 31),
        monthly_fee=Decimal("1500.00"),
    )


class TestLifecycle:
    def test_draft_then_active_then_terminated(self, contract):
        assert contract.status == ContractStatus.DRAFT
        contract = contract_change_status(contract=contract, status=ContractStatus.ACTIVE)
        contract = contract_change_status(contract=contract, status=ContractStatus.TERMINATED)
        assert contract.status == ContractStatus.TERMINATED
        with pytest.raises(
            ValidationError, match="A contract that is terminated cannot become active"
        ):
            contract_change_status(contract=contract, status=ContractStatus.ACTIVE)

    def test_one_active_contract_per_client(self, contract, policy, client_a):
        contract_change_status(contract=contract, status=ContractStatus.ACTIVE)
        second = contract_create(
            client=client_a,
            number="C-1002",
            name="Projects",
            start_date=date(2026, 6, 1),
            sla_policy=policy,
        )
        with pytest.raises(ValidationError, match="already has an active contract \\(C-1001\\)"):
            contract_change_status(contract=second, status=ContractStatus.ACTIVE)
        with pytest.raises(IntegrityError), transaction.atomic():
            Contract.objects.filter(pk=second.pk).update(status=ContractStatus.ACTIVE)

    @pytest.mark.parametrize(
        "fields,field",
        [
            ({"end_date": date(2025, 12, 31)}, "end_date"),
            ({"monthly_fee": Decimal("-1.00")}, "monthly_fee"),
            ({"currency": "dollars"}, "currency"),
        ],
    )
    def test_bad_input_names_the_field(self, policy, client_a, fields, field):
        values = {
            "client": client_a,
            "number": "C-9",
            "name": "X",
            "start_date": date(2026, 1, 1),
            "sla_policy": policy,
        }
        with pytest.raises(ValidationError) as error:
            contract_create(**{**values, **fields})
        assert field in error.value.message_dict
        assert not Contract.objects.exists()

    def test_active_contract_on_a_date(self, contract, client_a):
        contract_change_status(contract=contract, status=ContractStatus.ACTIVE)
        assert contract_active_for(client_id=client_a.pk, on=date(2026, 6, 1)) == contract
        assert contract_active_for(client_id=client_a.pk, on=date(2027, 1, 1)) is None


class TestTickets:
    def test_ticket_takes_the_active_contract_and_its_policy(
        self, contract, client_a, client_b, policy
    ):
        gold = policy_save(
            name="Gold",
            calendar=policy.calendar,
            targets={
                p: {"response_minutes": 10, "resolution_minutes": 120}
                for p in ["P1", "P2", "P3", "P4"]
            },
        )
        Contract.objects.filter(pk=contract.pk).update(sla_policy=gold)
        contract_change_status(contract=contract, status=ContractStatus.ACTIVE)

        with time_machine.travel(datetime(2026, 3, 2, 15, tzinfo=UTC), tick=False):
            covered = ticket_open(client=client_a, subject="Covered")
            uncovered = ticket_open(client=client_b, subject="No contract")
        assert (covered.contract, covered.sla_policy) == (contract, gold)
        assert (uncovered.contract, uncovered.sla_policy) == (None, policy)
        assert covered.sla_clocks.get(kind="response").target_minutes == 10


class TestCharges:
    def _line(self, contract, **fields):
        line = ServiceLine(contract=contract, service=Service.INFRASTRUCTURE, **fields)
        line.full_clean()
        line.save()
        return line

    def test_each_pricing_model_to_the_cent(self, contract, client_a):
        AssetFactory.create_batch(3, client=client_a, kind=AssetKind.SERVER)
        AssetFactory.create_batch(2, client=client_a, kind=AssetKind.LAPTOP)
        AssetFactory(client=client_a, kind=AssetKind.SERVER, is_active=False)
        ContactFactory.create_batch(4, client=client_a)
        ContactFactory(client=client_a, is_seat=False)
        self._line(
            contract,
            pricing_model=PricingModel.PER_DEVICE,
            unit_price=Decimal("45.50"),
            asset_kinds=["server"],
        )
        self._line(contract, pricing_model=PricingModel.PER_SEAT, unit_price=Decimal("12.99"))
        self._line(
            contract, pricing_model=PricingModel.FIXED_RETAINER, unit_price=Decimal("800.00")
        )
        self._line(
            contract,
            pricing_model=PricingModel.HOURLY,
            hourly_rates={"remote": "95.00", "onsite": "140.00"},
        )
        self._line(
            contract,
            pricing_model=PricingModel.PERCENT_OF_SPEND,
            spend_percent=Decimal("12.50"),
            managed_spend=Decimal("3333.33"),
        )
        preview = contract_charges_preview(
            contract=contract, usage=Usage({"remote": 95, "onsite": 30})
        )
        amounts = [line.amount for line in preview.lines]
        # 3 active servers x 45.50; 4 seats x 12.99; retainer; 95/60 h x 95 + 0.5 h x 140;
        # 12.5 % of 3,333.33 = 416.66625 -> 416.67.
        assert amounts == [
            Decimal("136.50"),
            Decimal("51.96"),
            Decimal("800.00"),
            Decimal("220.42"),
            Decimal("416.67"),
        ]
        assert preview.total == Decimal("1500.00") + sum(amounts)

    def test_block_of_hours_balance_and_overage(self, contract):
        self._line(
            contract,
            pricing_model=PricingModel.BLOCK_OF_HOURS,
            unit_price=Decimal("1000.00"),
            block_hours=Decimal("10"),
            overage_rate=Decimal("120.00"),
        )
        within = contract_charges_preview(contract=contract, usage=Usage({"remote": 9 * 60}))
        assert within.lines[0].amount == Decimal("1000.00")
        over = contract_charges_preview(contract=contract, usage=Usage({"remote": 11 * 60 + 30}))
        assert over.lines[0].amount == Decimal("1180.00")
        assert over.lines[0].note == "11.50 of 10.00 h used, 1.50 h over"

    @pytest.mark.parametrize(
        "fields,field",
        [
            ({"pricing_model": PricingModel.BLOCK_OF_HOURS}, "block_hours"),
            ({"pricing_model": PricingModel.PERCENT_OF_SPEND}, "spend_percent"),
            (
                {"pricing_model": PricingModel.HOURLY, "hourly_rates": {"remote": "-5"}},
                "hourly_rates",
            ),
            (
                {"pricing_model": PricingModel.FIXED_RETAINER, "unit_price": Decimal("-1")},
                "unit_price",
            ),
        ],
    )
    def test_bad_lines_name_the_field(self, contract, fields, field):
        with pytest.raises(ValidationError) as error:
            ServiceLine(contract=contract, service=Service.BACKUP, **fields).full_clean()
        assert field in error.value.message_dict


@pytest.mark.parametrize(
    "name", ["contract", "maintenancewindow", "outage"], ids=["contracts", "windows", "outages"]
)
def test_admin_pages_load(admin_user, client, contract, name):
    from django.urls import reverse

    client.force_login(admin_user)
    assert client.get(reverse(f"admin:contracts_{name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:contracts_{name}_add")).status_code == 200


class TestRenewals:
    def _active(self, policy, client, number, end, **fields):
        contract = contract_create(
            client=client,
            number=number,
            name=f"Contract {number}",
            start_date=date(2025, 1, 1),
            end_date=end,
            sla_policy=policy,
            **fields,
        )
        return contract_change_status(contract=contract, status=ContractStatus.ACTIVE)

    def test_renew_expire_and_warn_once(self, policy, client_a, client_b, account_manager):
        from contracts.services import contract_renewals_run
        from msp.models import OutboxMessage

        client_a.account_manager = account_manager
        client_a.save()
        renewing = self._active(
            policy, client_a, "R-1", date(2026, 1, 31), auto_renew=True, renewal_months=1
        )
        ending = self._active(policy, client_b, "E-1", date(2026, 2, 28))
        run = contract_renewals_run(today=date(2026, 3, 1))
        renewing.refresh_from_db()
        ending.refresh_from_db()
        assert run.renewed == ["R-1"] and run.expired == ["E-1"]
        assert renewing.end_date == date(2026, 3, 31)  # 31 Jan + 1 month = 28 Feb, + 1 = 31 Mar
        assert ending.status == ContractStatus.EXPIRED
        # The renewed contract is inside its 60-day notice period: its manager hears once.
        assert run.warned == ["R-1"]
        assert contract_renewals_run(today=date(2026, 3, 2)).warned == []
        message = OutboxMessage.objects.get()
        assert message.recipient == account_manager
        assert message.subject == "Contract R-1 (Client A) renews automatically on 2026-03-31"

    def test_no_warning_before_the_notice_period(self, policy, client_a, account_manager):
        from contracts.services import contract_renewals_run

        client_a.account_manager = account_manager
        client_a.save()
        self._active(policy, client_a, "L-1", date(2026, 12, 31), notice_days=30)
        assert contract_renewals_run(today=date(2026, 11, 30)).warned == []
        assert contract_renewals_run(today=date(2026, 12, 1)).warned == ["L-1"]
