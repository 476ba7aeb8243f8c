"""Invoice runs reconciled to the cent: every pricing model on one invoice, proration in 31- and
28-day months and for contracts starting or ending mid-month, a block of hours over three
months, quarterly and annual cycles, capped credits, several taxes, idempotent re-runs and a
fixed number of queries per client. Expected figures are worked out by hand in the comments
and, where there is arithmetic, by a naive reference in the test."""

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contracts.choices import ContractStatus, PricingModel, Service, UnusedHours
from contracts.models import MonthlyEvaluation, ServiceLine, TargetResult
from contracts.services import credit_for
from reporting.billing.choices import LineKind
from reporting.billing.models import (
    BlockHoursPeriod,
    ClientTaxRate,
    HourlyRate,
    Invoice,
    InvoicedItem,
    TaxRate,
)
from reporting.billing.services import (
    invoice_review,
    invoice_run_create,
    spend_record_set,
    spend_records_import_csv,
)
from tests.factories import AssetFactory, ClientFactory, ContactFactory, ContractFactory
from tests.factories.tickets import TicketFactory
from tickets.models import TimeEntry

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
LONG_AGO = date(2025, 1, 1)


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def line(contract, model, **fields) -> ServiceLine:
    service = fields.pop("service", Service.INFRASTRUCTURE)
    made = ServiceLine(contract=contract, service=service, pricing_model=model, **fields)
    made.full_clean()
    made.save()
    return made


def approved(ticket, user, minutes, spent_on, work_type="remote", **fields) -> TimeEntry:
    fields.setdefault("state", "approved")
    return TimeEntry.objects.create(
        ticket=ticket,
        client=ticket.client,
        user=user,
        minutes=minutes,
        work_type=work_type,
        spent_on=spent_on,
        **fields,
    )


def evaluation(contract, month, amount, missed=2, percent="10.00") -> MonthlyEvaluation:
    made = MonthlyEvaluation.objects.create(
        contract=contract,
        month=month,
        missed_targets=missed,
        consecutive_missed_months=3,
        ladder_step="credit",
        credit_percent=Decimal(percent),
        credit_amount=Decimal(amount),
        currency=contract.currency,
    )
    TargetResult.objects.create(
        evaluation=made, kind="compliance", priority="P1", metric="response",
        target_percent=Decimal("95"), measured_percent=Decimal("90"), met_count=9,
        breached_count=1, met=False,
    )  # fmt: skip
    TargetResult.objects.create(
        evaluation=made, kind="availability", service="backup", target_percent=Decimal("99.9"),
        measured_percent=Decimal("99.5"), met=False,
    )  # fmt: skip
    TargetResult.objects.create(
        evaluation=made, kind="compliance", priority="P2", metric="response",
        target_percent=Decimal("90"), measured_percent=Decimal("100"), met=True,
    )  # fmt: skip
    return made


def run(month: date, **kwargs):
    return invoice_run_create(month=month, now=utc(2026, 12, 1), **kwargs)


def invoice_of(client, **filters) -> Invoice:
    return Invoice.objects.get(client=client, kind="invoice", **filters)


def by_kind(invoice) -> dict[str, list]:
    found: dict[str, list] = {}
    for item in invoice.lines.order_by("position"):
        found.setdefault(item.kind, []).append(item)
    return found


@pytest.fixture
def client_utc(db):
    return ClientFactory(name="Acme", timezone="UTC")


@pytest.fixture
def contract(client_utc):
    return ContractFactory(
        client=client_utc,
        number="ACME-1",
        start_date=date(2026, 1, 1),
        monthly_fee=Decimal("1000.00"),
        status=ContractStatus.ACTIVE,
    )


@pytest.fixture
def taxes(client_utc):
    state = TaxRate.objects.create(name="State tax", percent=Decimal("8.875"))
    city = TaxRate.objects.create(name="City tax", percent=Decimal("2.5"))
    for rate in (state, city):
        ClientTaxRate.objects.create(client=client_utc, tax_rate=rate)
    return state, city


class TestEveryPricingModelOnOneInvoice:
    @pytest.fixture
    def march(self, client_utc, contract, taxes, technician):
        line(contract, PricingModel.PER_DEVICE, unit_price=Decimal("45.50"), asset_kinds=["server"])
        line(contract, PricingModel.PER_SEAT, unit_price=Decimal("12.99"))
        line(contract, PricingModel.HOURLY, hourly_rates={"remote": "95.00"})
        line(contract, PricingModel.PER_TICKET, unit_price=Decimal("25.00"))
        line(
            contract, PricingModel.PERCENT_OF_SPEND, service=Service.CLOUD,
            spend_percent=Decimal("10.00"),
        )  # fmt: skip
        server = {"client": client_utc, "kind": "server"}
        AssetFactory.create_batch(2, active_from=date(2025, 6, 1), **server)
        AssetFactory(active_from=date(2026, 3, 16), **server)  # added 16 March: 16/31
        AssetFactory(active_from=date(2025, 6, 1), active_until=date(2026, 3, 10), **server)
        AssetFactory(is_active=False, **server)  # deactivated without a date: never counted
        AssetFactory(client=client_utc, kind="laptop", active_from=date(2025, 6, 1))
        ContactFactory.create_batch(3, client=client_utc, active_from=LONG_AGO)
        ContactFactory(client=client_utc, active_from=date(2026, 3, 20))  # 12/31
        ContactFactory(client=client_utc, active_from=LONG_AGO, is_seat=False)
        HourlyRate.objects.create(client=client_utc, work_type="onsite", currency="USD", rate=120)
        HourlyRate.objects.create(work_type="remote", currency="USD", rate=80)  # contract wins
        HourlyRate.objects.create(work_type="travel", currency="USD", rate=60)
        TicketFactory(client=client_utc, subject="February", at=utc(2026, 2, 28, 23))
        first = TicketFactory(client=client_utc, subject="One", at=utc(2026, 3, 5, 9))
        TicketFactory(client=client_utc, subject="Two", at=utc(2026, 3, 10, 9))
        TicketFactory(client=client_utc, subject="Three", at=utc(2026, 3, 31, 23, 59))
        approved(first, technician, 95, date(2026, 3, 3))
        approved(first, technician, 30, date(2026, 3, 4))
        approved(first, technician, 45, date(2026, 3, 5), work_type="onsite")
        approved(first, technician, 20, date(2026, 3, 5), work_type="travel")
        approved(first, technician, 600, date(2026, 3, 6), billable=False)
        approved(first, technician, 600, date(2026, 3, 6), state="submitted")
        approved(first, technician, 600, date(2026, 4, 1))  # April's
        spend_record_set(
            contract=contract, service=Service.CLOUD, month=date(2026, 3, 1), amount="2500.00"
        )
        evaluation(contract, date(2026, 3, 1), "100.00")
        return contract

    def test_each_line_to_the_cent(self, march, client_utc):
        made = run(date(2026, 3, 1))
        assert (made.created, made.errors) == (1, [])
        invoice = invoice_of(client_utc)
        lines = by_kind(invoice)
        amounts = {kind: [item.amount for item in items] for kind, items in lines.items()}
        # Devices: 2 + 16/31 + 9/31 = 87/31 device-months x 45.50 = 127.6935 -> 127.69.
        # Seats: 3 + 12/31 = 105/31 x 12.99 = 43.9984 -> 44.00.
        # Time: remote 125 min x 95/60 = 197.9166 -> 197.92 (the contract's rate, not the
        # default 80); on-site 45 min at the client's 120 = 90.00; travel 20 min at the
        # default 60 = 20.00. Tickets: 3 opened in March x 25 = 75.00. Spend: 10 % of 2,500.
        assert amounts == {
            "fixed_fee": [Decimal("1000.00")],
            "per_device": [Decimal("127.69")],
            "per_seat": [Decimal("44.00")],
            "per_ticket": [Decimal("75.00")],
            "managed_spend": [Decimal("250.00")],
            "time": [Decimal("90.00"), Decimal("197.92"), Decimal("20.00")],
            "service_credit": [Decimal("-100.00")],
            "tax": [Decimal("151.30"), Decimal("42.62")],
        }
        assert cents(Decimal(87) / Decimal(31) * Decimal("45.50")) == Decimal("127.69")
        assert lines["per_device"][0].quantity == Decimal("2.8065")
        assert [item.work_type for item in lines["time"]] == ["onsite", "remote", "travel"]
        assert [item.detail["rate_from"] for item in lines["time"]] == [
            "client",
            "contract",
            "default",
        ]
        # Taxes per line and rate, each rounded half up: the state tax on 44.00 is 3.905 ->
        # 3.91. Summed: 151.30, where 8.875 % of the subtotal would be 151.28.
        charges = [item for item in invoice.lines.all() if item.kind != LineKind.TAX]
        for rate, total in (
            (Decimal("8.875"), Decimal("151.30")),
            (Decimal("2.5"), Decimal("42.62")),
        ):
            naive = sum(cents(item.amount * rate / 100) for item in charges)
            assert naive == total
        assert invoice.subtotal == Decimal("1704.61")
        assert invoice.tax_total == Decimal("193.92")
        assert invoice.total == Decimal("1898.53") == sum(i.amount for i in invoice.lines.all())
        assert (invoice.status, invoice.number, invoice.currency) == ("draft", None, "USD")
        assert (invoice.period_start, invoice.period_end) == (date(2026, 3, 1), date(2026, 4, 1))

    def test_the_credit_traces_to_the_missed_targets(self, march, client_utc):
        run(date(2026, 3, 1))
        credit = invoice_of(client_utc).lines.get(kind=LineKind.SERVICE_CREDIT)
        missed = TargetResult.objects.filter(evaluation__contract=march, met=False)
        assert sorted(t["target_result"] for t in credit.detail["missed_targets"]) == sorted(
            missed.values_list("pk", flat=True)
        )
        assert {t["label"] for t in credit.detail["missed_targets"]} == {
            "P1 response",
            "Backup availability",
        }
        assert credit.items.get().evaluation.month == date(2026, 3, 1)

    def test_a_rerun_recomputes_the_draft_and_bills_nothing_twice(
        self, march, client_utc, technician
    ):
        run(date(2026, 3, 1))
        first = invoice_of(client_utc)
        items = InvoicedItem.objects.count()
        again = run(date(2026, 3, 1))
        assert (again.created, again.updated) == (0, 1)
        invoice = invoice_of(client_utc)
        assert invoice.pk == first.pk and invoice.total == first.total
        assert InvoicedItem.objects.count() == items
        # Reviewed: a run leaves it alone; time approved since waits for the next period.
        invoice_review(invoice=invoice, by=None)
        late = approved(TimeEntry.objects.first().ticket, technician, 60, date(2026, 3, 30))
        third = run(date(2026, 3, 1))
        assert (third.created, third.updated, third.unchanged) == (0, 0, 1)
        assert invoice_of(client_utc).total == first.total
        assert not InvoicedItem.objects.filter(time_entry=late).exists()
        run(date(2026, 4, 1))
        april = invoice_of(client_utc, period_start=date(2026, 4, 1))
        billed = InvoicedItem.objects.filter(invoice=april, time_entry__isnull=False)
        assert sorted(i.time_entry.minutes for i in billed) == [60, 600]
        assert InvoicedItem.objects.filter(time_entry=late).count() == 1


class TestProration:
    def test_device_added_in_a_28_day_month(self, client_utc, contract):
        contract.monthly_fee = Decimal("0.00")
        contract.save()
        line(contract, PricingModel.PER_DEVICE, unit_price=Decimal("45.50"))
        AssetFactory(client=client_utc, active_from=date(2025, 1, 1))
        AssetFactory(client=client_utc, active_from=date(2026, 2, 15))  # 14 of 28 days
        run(date(2026, 2, 1))
        device = invoice_of(client_utc).lines.get(kind=LineKind.PER_DEVICE)
        assert (device.quantity, device.amount) == (Decimal("1.5000"), Decimal("68.25"))

    def test_contract_starting_mid_month(self, client_utc):
        started = ContractFactory(
            client=client_utc, start_date=date(2026, 3, 10), monthly_fee=Decimal("1000.00"),
            status=ContractStatus.ACTIVE,
        )  # fmt: skip
        line(started, PricingModel.PER_DEVICE, unit_price=Decimal("45.50"))
        line(started, PricingModel.FIXED_RETAINER, unit_price=Decimal("300.00"))
        AssetFactory(client=client_utc, active_from=date(2025, 1, 1))
        run(date(2026, 3, 1))
        amounts = {i.kind: i.amount for i in invoice_of(client_utc).lines.all()}
        # 22 of 31 days (10 to 31 March): 709.677 -> 709.68; 32.290 -> 32.29; 212.903 -> 212.90
        assert amounts == {
            "fixed_fee": cents(Decimal(1000) * 22 / 31),
            "per_device": Decimal("32.29"),
            "retainer": Decimal("212.90"),
        }
        assert amounts["fixed_fee"] == Decimal("709.68")

    def test_contract_ending_mid_month(self, client_utc, contract):
        contract.end_date = date(2026, 3, 20)  # its last day: 20 of 31 days
        contract.save()
        run(date(2026, 3, 1))
        fee = invoice_of(client_utc).lines.get(kind=LineKind.FIXED_FEE)
        assert fee.amount == Decimal("645.16")  # 1000 x 20/31 = 645.161
        run(date(2026, 4, 1))
        assert not Invoice.objects.filter(period_start=date(2026, 4, 1)).exists()


class TestCycles:
    def test_quarterly_bills_after_the_quarter_from_a_mid_february_start(self, client_utc):
        ContractFactory(
            client=client_utc, start_date=date(2026, 2, 15), monthly_fee=Decimal("900.00"),
            billing_cycle="quarterly", status=ContractStatus.ACTIVE,
        )  # fmt: skip
        for month in (1, 2):
            run(date(2026, month, 1))
            assert not Invoice.objects.exists()
        run(date(2026, 3, 1))
        invoice = invoice_of(client_utc)
        assert (invoice.period_start, invoice.period_end, invoice.billing_cycle) == (
            date(2026, 1, 1),
            date(2026, 4, 1),
            "quarterly",
        )
        # 14/28 of February + all of March = 1.5 months x 900.
        assert invoice.total == Decimal("1350.00")

    def test_annual_bills_in_december_from_a_july_start(self, client_utc):
        ContractFactory(
            client=client_utc, start_date=date(2026, 7, 1), monthly_fee=Decimal("100.00"),
            billing_cycle="annually", status=ContractStatus.ACTIVE,
        )  # fmt: skip
        run(date(2026, 11, 1))
        assert not Invoice.objects.exists()
        run(date(2026, 12, 1))
        invoice = invoice_of(client_utc)
        assert (invoice.period_start, invoice.period_end) == (date(2026, 1, 1), date(2027, 1, 1))
        assert invoice.total == Decimal("600.00")


class TestBlockOfHours:
    def test_three_months_of_draw_down_rollover_expiry_and_overage(
        self, client_utc, contract, technician
    ):
        contract.monthly_fee = Decimal("0.00")
        contract.save()
        block = line(
            contract, PricingModel.BLOCK_OF_HOURS, unit_price=Decimal("1000.00"),
            block_hours=Decimal("10"), overage_rate=Decimal("120.00"),
            unused_hours=UnusedHours.ROLL_OVER, rollover_months=1,
        )  # fmt: skip
        ticket = TicketFactory(client=client_utc, subject="Work", at=utc(2026, 1, 2))
        approved(ticket, technician, 6 * 60, date(2026, 1, 10))
        approved(ticket, technician, 2 * 60, date(2026, 2, 10))
        approved(ticket, technician, 23 * 60, date(2026, 3, 10))
        for month in (1, 2, 3):
            run(date(2026, month, 1))
        ledger = list(
            BlockHoursPeriod.objects.filter(service_line=block).order_by("period_start").values_list(
                "opening_hours", "granted_hours", "used_hours", "expired_hours",
                "overage_hours", "closing_hours",
            )
        )  # fmt: skip
        # January: 6 of 10 used, 4 roll over (usable through February).
        # February: 2 drawn from January's 4; its other 2 expire at February's end; February's
        #   10 roll over.
        # March: 10 carried + 10 granted, 23 used: 3 hours of overage at 120.
        assert ledger == [
            (0, 10, 6, 0, 0, 4),
            (4, 10, 2, 2, 0, 10),
            (10, 10, 23, 0, 3, 0),
        ]
        march = invoice_of(client_utc, period_start=date(2026, 3, 1))
        assert {i.kind: i.amount for i in march.lines.all()} == {
            "block_hours": Decimal("1000.00"),
            "block_overage": Decimal("360.00"),
        }
        # Re-running March recomputes from February's closing lots, not twice.
        run(date(2026, 3, 1))
        assert BlockHoursPeriod.objects.filter(service_line=block).count() == 3
        assert invoice_of(client_utc, period_start=date(2026, 3, 1)).total == Decimal("1360.00")

    def test_expire_rule(self, client_utc, contract, technician):
        block = line(
            contract, PricingModel.BLOCK_OF_HOURS, unit_price=Decimal("500.00"),
            block_hours=Decimal("10"), overage_rate=Decimal("100.00"),
        )  # fmt: skip
        ticket = TicketFactory(client=client_utc, subject="Work", at=utc(2026, 1, 2))
        approved(ticket, technician, 4 * 60 + 30, date(2026, 1, 10))
        run(date(2026, 1, 1))
        row = BlockHoursPeriod.objects.get(service_line=block)
        assert (row.used_hours, row.expired_hours, row.closing_hours) == (
            Decimal("4.50"),
            Decimal("5.50"),
            0,
        )

    def test_overage_without_a_rate_is_reported_not_billed(self, client_utc, contract, technician):
        line(
            contract, PricingModel.BLOCK_OF_HOURS, unit_price=Decimal("500.00"),
            block_hours=Decimal("1"),
        )  # fmt: skip
        other = ContractFactory(monthly_fee=Decimal("10.00"), status=ContractStatus.ACTIVE)
        ticket = TicketFactory(client=client_utc, subject="Work", at=utc(2026, 1, 2))
        approved(ticket, technician, 120, date(2026, 1, 10))
        made = run(date(2026, 1, 1))
        assert [e["client"] for e in made.errors] == [client_utc.pk]
        assert "no overage rate" in made.errors[0]["error"]
        assert Invoice.objects.filter(client=other.client).exists()  # the others are billed
        assert not Invoice.objects.filter(client=client_utc).exists()


class TestCredits:
    def test_the_evaluated_credit_capped_by_the_contract(self, client_utc, contract):
        # 5 missed targets x 5 % = 25 %, capped at the contract's 20 % of 1,000.
        percent, amount = credit_for(
            contract=contract, missed_targets=5, consecutive_missed_months=3
        )
        assert (percent, amount) == (Decimal("20.00"), Decimal("200.00"))
        evaluation(contract, date(2026, 3, 1), amount, missed=5, percent=percent)
        run(date(2026, 3, 1))
        credit = invoice_of(client_utc).lines.get(kind=LineKind.SERVICE_CREDIT)
        assert credit.amount == Decimal("-200.00")

    def test_credits_never_exceed_the_contracts_charges(self, client_utc, contract):
        contract.end_date = date(2026, 3, 3)  # 3 days: 1000 x 3/31 = 96.77
        contract.save()
        evaluation(contract, date(2026, 3, 1), "200.00")
        run(date(2026, 3, 1))
        invoice = invoice_of(client_utc)
        assert [i.amount for i in invoice.lines.order_by("position")] == [
            Decimal("96.77"),
            Decimal("-96.77"),
        ]
        assert invoice.total == 0

    def test_a_late_evaluation_is_credited_on_the_next_invoice_once(self, client_utc, contract):
        run(date(2026, 3, 1))
        evaluation(contract, date(2026, 3, 1), "50.00")
        run(date(2026, 3, 1))  # the draft picks it up
        run(date(2026, 4, 1))  # and April does not take it again
        credits = InvoicedItem.objects.filter(evaluation__isnull=False)
        assert [c.invoice.period_start for c in credits] == [date(2026, 3, 1)]


class TestNoContract:
    def test_time_on_a_client_without_contract_at_its_rates(self, client_utc, technician):
        HourlyRate.objects.create(work_type="remote", currency="USD", rate=Decimal("85.00"))
        ticket = TicketFactory(client=client_utc, subject="Ad hoc", at=utc(2026, 3, 2))
        approved(ticket, technician, 50, date(2026, 3, 2))
        run(date(2026, 3, 1))
        invoice = invoice_of(client_utc)
        assert invoice.total == Decimal("70.83")  # 50/60 x 85 = 70.833

    def test_a_missing_rate_is_an_error_for_that_client_only(self, client_utc, technician):
        ticket = TicketFactory(client=client_utc, subject="Ad hoc", at=utc(2026, 3, 2))
        approved(ticket, technician, 50, date(2026, 3, 2), work_type="project")
        made = run(date(2026, 3, 1))
        assert "No hourly rate in USD for project work" in made.errors[0]["error"]


class TestSpend:
    def test_csv_import_and_rows_in_error(self, client_utc, contract):
        line(
            contract, PricingModel.PERCENT_OF_SPEND, service=Service.CLOUD,
            spend_percent=Decimal("12.50"),
        )  # fmt: skip
        records = spend_records_import_csv(
            text="contract,service,month,amount\nACME-1,cloud,2026-03,3333.33\n"
        )
        assert [(r.amount, r.source) for r in records] == [(Decimal("3333.33"), "csv")]
        with pytest.raises(ValidationError) as error:
            spend_records_import_csv(
                text="contract,service,month,amount\nNOPE,cloud,2026-03,1\nACME-1,cloud,13/26,1\n"
                "ACME-1,backup,2026-03,1\n"
            )
        messages = error.value.message_dict["file"]
        assert messages[0].startswith("Row 2:") and "YYYY-MM" in messages[1]
        assert "service" in messages[2]
        run(date(2026, 3, 1))
        spend = invoice_of(client_utc).lines.get(kind=LineKind.MANAGED_SPEND)
        assert spend.amount == Decimal("416.67")  # 12.5 % of 3,333.33 = 416.66625
        with pytest.raises(ValidationError, match="invoiced already"):
            spend_record_set(
                contract=contract, service="cloud", month=date(2026, 3, 1), amount="1.00"
            )

    def test_agreed_spend_when_none_is_recorded(self, client_utc, contract):
        line(
            contract, PricingModel.PERCENT_OF_SPEND, service=Service.CLOUD,
            spend_percent=Decimal("10"), managed_spend=Decimal("1000.00"),
        )  # fmt: skip
        run(date(2026, 3, 1))
        run(date(2026, 3, 1))
        spend = invoice_of(client_utc).lines.get(kind=LineKind.MANAGED_SPEND)
        assert spend.amount == Decimal("100.00")
        assert spend.items.get().spend_record.note.startswith("The contract's agreed")


class TestQueries:
    def _client(self, technician, devices: int, entries: int):
        client = ClientFactory(timezone="UTC")
        contract = ContractFactory(
            client=client, start_date=date(2026, 1, 1), monthly_fee=Decimal("10"),
            status=ContractStatus.ACTIVE,
        )  # fmt: skip
        line(contract, PricingModel.PER_DEVICE, unit_price=Decimal("5"))
        line(contract, PricingModel.HOURLY, hourly_rates={"remote": "90", "onsite": "100"})
        line(contract, PricingModel.PER_TICKET, unit_price=Decimal("7"))
        AssetFactory.create_batch(devices, client=client, active_from=LONG_AGO)
        ticket = TicketFactory(client=client, subject="Work", at=utc(2026, 3, 2))
        for n in range(entries):
            approved(
                ticket, technician, 10 + n, date(2026, 3, 3), work_type=("remote", "onsite")[n % 2]
            )
        evaluation(contract, date(2026, 3, 1), "1.00")
        return client

    def _count(self, client_ids) -> int:
        with CaptureQueriesContext(connection) as queries:
            run(date(2026, 3, 1), client_ids=client_ids)
        return len(queries)

    def test_a_fixed_number_of_queries_per_client(self, technician):
        self._count([self._client(technician, devices=1, entries=1).pk])  # caches warmed
        small = [self._client(technician, devices=1, entries=1).pk]
        large = [self._client(technician, devices=30, entries=40).pk]
        three = [self._client(technician, devices=5, entries=3).pk for _ in range(3)]
        one = self._count(small)
        assert self._count(large) == one  # whatever the number of devices and entries
        per_client = (self._count(three) - one) // 2
        # Measured: 17 queries a client (lock, reads, one bulk insert per table, the audit
        # row) plus 5 for the run (its row, the contracts and their lines, time clients).
        assert per_client <= 17
        assert one - per_client <= 5


class TestPreviewAgrees:
    def test_a_full_month_bills_what_the_contract_page_previews(
        self, client_utc, contract, technician
    ):
        """contracts.selectors.contract_charges_preview (a layer below, the month so far) rounds
        by the same rule: for a month with no change its total is the invoice's subtotal."""
        from contracts.selectors import Usage, contract_charges_preview

        line(contract, PricingModel.PER_DEVICE, unit_price=Decimal("45.50"), asset_kinds=["server"])
        line(contract, PricingModel.PER_SEAT, unit_price=Decimal("12.99"))
        line(contract, PricingModel.FIXED_RETAINER, unit_price=Decimal("800.00"))
        line(contract, PricingModel.HOURLY, hourly_rates={"remote": "95.00", "onsite": "140.00"})
        line(
            contract, PricingModel.PERCENT_OF_SPEND, service=Service.CLOUD,
            spend_percent=Decimal("12.50"), managed_spend=Decimal("3333.33"),
        )  # fmt: skip
        AssetFactory.create_batch(3, client=client_utc, kind="server", active_from=LONG_AGO)
        ContactFactory.create_batch(4, client=client_utc, active_from=LONG_AGO)
        ticket = TicketFactory(client=client_utc, subject="Work", at=utc(2026, 3, 2))
        approved(ticket, technician, 95, date(2026, 3, 3))
        approved(ticket, technician, 30, date(2026, 3, 3), work_type="onsite")
        preview = contract_charges_preview(
            contract=contract, usage=Usage({"remote": 95, "onsite": 30})
        )
        run(date(2026, 3, 1))
        # Fee 1,000 + retainer 800 + 3 servers x 45.50 + 4 seats x 12.99 + 95 min at 95 and
        # 30 min at 140 (150.42 + 70.00) + 12.5 % of 3,333.33 (416.67).
        assert invoice_of(client_utc).subtotal == preview.total == Decimal("2625.55")


class TestCurrencies:
    def test_new_contracts_take_the_billing_currency_setting(self, settings, client_utc):
        settings.BILLING_DEFAULT_CURRENCY = "EUR"
        assert ContractFactory(client=client_utc).currency == "EUR"

    def test_one_invoice_per_currency_when_a_contract_replaces_another_mid_month(self, client_utc):
        from contracts.services import contract_change_status

        old = ContractFactory(
            client=client_utc, start_date=date(2025, 1, 1), end_date=date(2026, 3, 15),
            monthly_fee=Decimal("1000.00"), currency="USD", status=ContractStatus.ACTIVE,
        )  # fmt: skip
        contract_change_status(contract=old, status=ContractStatus.EXPIRED)
        ContractFactory(
            client=client_utc, start_date=date(2026, 3, 16), monthly_fee=Decimal("1000.00"),
            currency="EUR", status=ContractStatus.ACTIVE,
        )  # fmt: skip
        run(date(2026, 3, 1))
        totals = dict(Invoice.objects.filter(client=client_utc).values_list("currency", "total"))
        # 15 and 16 of 31 days: 483.870 -> 483.87 and 516.129 -> 516.13.
        assert totals == {"USD": Decimal("483.87"), "EUR": Decimal("516.13")}
