"""Writes of billing: invoice runs (one draft invoice per client, currency and billing period),
the lifecycle (review, finalise with a gapless number, discard, void) and credit notes, and
spend records. The rules are in docs/billing.md; the arithmetic in pricing.py."""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from celery import current_app
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from contracts.choices import ContractType, PricingModel
from contracts.models import Contract
from msp.choices import UserRole
from msp.models import Asset, Client, Contact
from msp.periods import add_months
from reporting.billing import pricing, selectors
from reporting.billing.choices import (
    DocumentKind,
    InvoiceStatus,
    LineKind,
    SpendSource,
)
from reporting.billing.models import (
    BlockHoursPeriod,
    DocumentSequence,
    Invoice,
    InvoicedItem,
    InvoiceLine,
    InvoiceRun,
    SpendRecord,
    TaxRate,
)
from reporting.billing.pricing import BillingPeriod, Lot

BILLING_ROLES = (UserRole.ADMIN, UserRole.ACCOUNT_MANAGER)
ZERO = Decimal("0.00")
# Approved time, spend and credits left behind (approved late, recorded late, evaluated after
# the run) are picked up by a later run, looking back this many months.
LOOKBACK_MONTHS = 12
NUMBER_PREFIX = {DocumentKind.INVOICE: "INV", DocumentKind.CREDIT_NOTE: "CN"}


class BillingError(Exception):
    """A client that cannot be billed as configured (a missing rate): the run records it and
    goes on with the other clients."""


def default_currency() -> str:
    return getattr(settings, "BILLING_DEFAULT_CURRENCY", "USD")


def payment_days() -> int:
    return int(getattr(settings, "BILLING_PAYMENT_DAYS", 30))


def billing_permission_check(*, user, client_id: int | None = None) -> None:
    """Administrators, and account managers for the clients they see, run and change billing."""
    if user is None:  # the schedule
        return
    if not user.is_authenticated or user.role not in BILLING_ROLES:
        raise PermissionDenied("Only administrators and account managers handle billing.")
    if client_id is not None and not Client.objects.for_user(user).filter(pk=client_id).exists():
        raise PermissionDenied("This client is not one of yours.")


# Building ---------------------------------------------------------------------------------


@dataclass
class DraftLine:
    kind: str
    description: str
    quantity: Fraction
    unit: str
    unit_price: Decimal
    amount: Decimal
    contract: Contract | None = None
    service_line_id: int | None = None
    service_start: date | None = None
    service_end: date | None = None
    work_type: str = ""
    detail: dict = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)


@dataclass
class DraftInvoice:
    currency: str
    period: BillingPeriod
    lines: list[DraftLine] = field(default_factory=list)
    ledgers: list[tuple[int, pricing.BlockResult]] = field(default_factory=list)


def _local_date(moment: datetime, zone: str) -> date:
    return timezone.localtime(moment, _zone(zone)).date()


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _term(contract: Contract) -> tuple[date, date | None]:
    """The contract's days as [start, end) (its end date is the last day it runs)."""
    end = contract.end_date + timedelta(days=1) if contract.end_date else None
    return contract.start_date, end


def _intersect(a_from, a_until, b_from, b_until):
    low = max(d for d in (a_from, b_from) if d is not None) if (a_from or b_from) else None
    highs = [d for d in (a_until, b_until) if d is not None]
    return low, (min(highs) if highs else None)


def _active_span(row, zone: str) -> tuple[date, date | None] | None:
    """A device's or seat's days: from active_from (blank: the day it was created) until
    active_until (blank: still active; deactivated without a date: none at all)."""
    if row.active_until is None and not row.is_active:
        return None
    start = row.active_from or _local_date(row.created_at, zone)
    return start, row.active_until


def _recurring_line(
    *, kind, contract, line, period, spans, unit, label, currency
) -> DraftLine | None:
    term_from, term_until = _term(contract)
    months = Fraction(0)
    counted = []
    for name, span in spans:
        start, until = _intersect(span[0], span[1], term_from, term_until)
        share = pricing.active_months(period, start, until)
        if share:
            months += share
            counted.append({"name": name, "months": str(pricing.shown(share))})
    if not months:
        return None
    charge = pricing.recurring_charge(months=months, unit_price=line.unit_price, currency=currency)
    return DraftLine(
        kind=kind,
        description=f"{line.get_service_display()}: {label}",
        quantity=months,
        unit=unit,
        unit_price=line.unit_price,
        amount=charge.amount,
        contract=contract,
        service_line_id=line.pk,
        service_start=period.first_day,
        service_end=period.end_day,
        detail={"counted": counted},
    )


def _time_lines(*, contract, entries, rates, currency, label) -> list[DraftLine]:
    """Time and materials: one line per work type, at the rate its precedence gives."""
    contract_rates, client_rates, default_rates = rates
    by_type: dict[str, list] = defaultdict(list)
    for entry in entries:
        by_type[entry.work_type].append(entry)
    lines = []
    for work_type in sorted(by_type):
        found = pricing.hourly_rate_for(
            work_type,
            contract_rates=contract_rates,
            client_rates={k[1]: v for k, v in client_rates.items() if k[0] == currency},
            default_rates={k[1]: v for k, v in default_rates.items() if k[0] == currency},
        )
        if found is None:
            raise BillingError(f"No hourly rate in {currency} for {work_type} work ({label}).")
        rate, source = found
        minutes = sum(entry.minutes for entry in by_type[work_type])
        charge = pricing.time_charge(minutes=minutes, hourly_rate=rate, currency=currency)
        lines.append(
            DraftLine(
                kind=LineKind.TIME,
                description=f"{_work_type_label(work_type)}: {len(by_type[work_type])} "
                f"time entries ({label})",
                quantity=charge.quantity,
                unit="hour",
                unit_price=rate,
                amount=charge.amount,
                contract=contract,
                work_type=work_type,
                detail={"minutes": minutes, "rate_from": source},
                items=[{"time_entry": e, "minutes": e.minutes} for e in by_type[work_type]],
            )
        )
    return lines


def _work_type_label(work_type: str) -> str:
    from tickets.choices import WorkType

    return WorkType(work_type).label if work_type in WorkType.values else work_type


@dataclass
class ClientData:
    """Everything a client's invoices are built from, read in a fixed number of queries."""

    assets: list
    seats: list
    time: list
    tickets: list
    spend: list
    evaluations: list
    ledgers: dict
    rates: tuple
    taxes: list


def _client_data(client, contracts, periods, month_end: date) -> ClientData:
    zone = client.timezone
    first = min(period.first_day for period in periods.values()) if periods else month_end
    lookback = add_months(first, -LOOKBACK_MONTHS)
    contract_ids = [c.pk for c in contracts]
    start_instant = min(
        (pricing_bounds(period, zone)[0] for period in periods.values()), default=None
    )
    end_instant = pricing_bounds(BillingPeriod(first, month_end), zone)[1]
    block_lines = [
        line.pk
        for c in contracts
        for line in c.service_lines.all()
        if line.pricing_model == PricingModel.BLOCK_OF_HOURS
    ]
    client_rates, default_rates = selectors.rate_cards(client_id=client.pk)
    return ClientData(
        assets=list(Asset.objects.filter(client=client).order_by("pk")),
        seats=list(Contact.objects.filter(client=client, is_seat=True).order_by("pk")),
        time=list(
            selectors.approved_time_unbilled(client_ids=[client.pk], start=lookback, end=month_end)
            .annotate(ticket_contract_id=F("ticket__contract_id"))
            .only("pk", "minutes", "work_type", "spent_on", "client_id")
        ),
        tickets=list(
            selectors.tickets_opened_unbilled(
                contract_ids=contract_ids, start=start_instant, end=end_instant
            ).only("pk", "contract", "created_at")
            if start_instant
            else []
        ),
        spend=list(
            selectors.spend_unbilled(contract_ids=contract_ids, start=lookback, end=month_end)
        ),
        evaluations=list(
            selectors.credits_uncredited(contract_ids=contract_ids, start=lookback, end=month_end)
        ),
        ledgers=selectors.block_ledgers_before(service_line_ids=block_lines, before=month_end),
        rates=(client_rates, default_rates),
        taxes=selectors.client_tax_rates(client_id=client.pk),
    )


def pricing_bounds(period: BillingPeriod, zone: str) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first_day, datetime.min.time(), tzinfo=_zone(zone))
    end = datetime.combine(period.end_day, datetime.min.time(), tzinfo=_zone(zone))
    return start, end


def _monthly_line(
    *, kind, description, unit_price, months, contract, period, service_line_id=None
) -> DraftLine:
    """A fee charged by the month (the contract's monthly fee, a retainer), for the months of
    the period the contract's term covers."""
    charge = pricing.recurring_charge(
        months=months, unit_price=unit_price, currency=contract.currency
    )
    return DraftLine(
        kind=kind,
        description=description,
        quantity=months,
        unit="month",
        unit_price=unit_price,
        amount=charge.amount,
        contract=contract,
        service_line_id=service_line_id,
        service_start=period.first_day,
        service_end=period.end_day,
    )


def _contract_lines(contract, period, data: ClientData, time_entries) -> DraftInvoice:
    """Every charge of one contract for one period, and its block ledger."""
    currency = contract.currency
    draft = DraftInvoice(currency=currency, period=period)
    term_from, term_until = _term(contract)
    term_months = pricing.active_months(period, term_from, term_until)
    zone = contract.client.timezone
    lines = contract.service_lines.all()
    if contract.monthly_fee and term_months:
        draft.lines.append(
            _monthly_line(
                kind=LineKind.FIXED_FEE, description=f"{contract.name}: monthly fee",
                unit_price=contract.monthly_fee, months=term_months, contract=contract,
                period=period,
            )
        )  # fmt: skip
    block = next((ln for ln in lines if ln.pricing_model == PricingModel.BLOCK_OF_HOURS), None)
    hourly = next((ln for ln in lines if ln.pricing_model == PricingModel.HOURLY), None)
    for line in lines:
        model = line.pricing_model
        if model == PricingModel.PER_DEVICE:
            kinds = set(line.asset_kinds or [])
            spans = [
                (asset.name, span)
                for asset in data.assets
                if (not kinds or asset.kind in kinds)
                and (span := _active_span(asset, zone)) is not None
            ]
            made = _recurring_line(
                kind=LineKind.PER_DEVICE, contract=contract, line=line, period=period,
                spans=spans, unit="device-month", label="devices", currency=currency,
            )  # fmt: skip
            if made:
                draft.lines.append(made)
        elif model == PricingModel.PER_SEAT:
            spans = [
                (contact.full_name, span)
                for contact in data.seats
                if (span := _active_span(contact, zone)) is not None
            ]
            made = _recurring_line(
                kind=LineKind.PER_SEAT, contract=contract, line=line, period=period,
                spans=spans, unit="seat-month", label="seats", currency=currency,
            )  # fmt: skip
            if made:
                draft.lines.append(made)
        elif model == PricingModel.FIXED_RETAINER and term_months:
            draft.lines.append(
                _monthly_line(
                    kind=LineKind.RETAINER, description=f"{line.get_service_display()}: retainer",
                    unit_price=line.unit_price, months=term_months, contract=contract,
                    period=period, service_line_id=line.pk,
                )
            )  # fmt: skip
        elif model == PricingModel.PER_TICKET:
            opened_from, opened_until = pricing_bounds(period, zone)
            tickets = [
                t
                for t in data.tickets
                if t.contract_id == contract.pk and opened_from <= t.created_at < opened_until
            ]
            if tickets:
                charge = pricing.per_unit_charge(
                    count=len(tickets), unit_price=line.unit_price, currency=currency, unit="ticket"
                )
                draft.lines.append(
                    DraftLine(
                        kind=LineKind.PER_TICKET,
                        description=f"{line.get_service_display()}: {len(tickets)} tickets opened",
                        quantity=charge.quantity,
                        unit="ticket",
                        unit_price=line.unit_price,
                        amount=charge.amount,
                        contract=contract,
                        service_line_id=line.pk,
                        service_start=period.first_day,
                        service_end=period.end_day,
                        detail={"tickets": [t.number for t in tickets]},
                        items=[{"ticket": t} for t in tickets],
                    )
                )
        elif model == PricingModel.PERCENT_OF_SPEND:
            draft.lines.extend(_spend_lines(contract, line, period, data, currency))
    if block is not None and term_months:
        draft.lines.extend(_block_lines(contract, block, period, term_months, data, time_entries))
        if draft.ledgers is not None:
            draft.ledgers.append((block.pk, draft.lines[-1].detail.pop("_ledger")))
    elif time_entries and (hourly is not None or contract.type == ContractType.TIME_AND_MATERIALS):
        contract_rates = {
            key: Decimal(str(value))
            for key, value in (hourly.hourly_rates if hourly else {}).items()
        }
        draft.lines.extend(
            _time_lines(
                contract=contract,
                entries=time_entries,
                rates=(contract_rates, *data.rates),
                currency=currency,
                label=contract.number,
            )
        )
    _credit_lines(draft, contract, data)
    return draft


def _spend_lines(contract, line, period, data, currency) -> list[DraftLine]:
    """Percentage of managed spend: the period's spend records of the service (and earlier ones
    recorded late); a month of the period with none bills the contract's agreed spend, recorded
    as such so that it is billed once."""
    records = [r for r in data.spend if r.contract_id == contract.pk and r.service == line.service]
    recorded_months = {r.month for r in records}
    if line.managed_spend is not None:
        term_from, term_until = _term(contract)
        for month in period.months:
            if month in recorded_months:
                continue
            if not pricing.active_months(
                BillingPeriod(month, add_months(month, 1)), term_from, term_until
            ):
                continue
            try:
                with transaction.atomic():
                    record, _ = SpendRecord.objects.get_or_create(
                        contract=contract,
                        service=line.service,
                        month=month,
                        defaults={
                            "client_id": contract.client_id,
                            "amount": line.managed_spend,
                            "source": SpendSource.ENTERED,
                            "note": "The contract's agreed monthly spend (none was recorded).",
                        },
                    )
            except IntegrityError:  # pragma: no cover - a record written at the same moment
                continue
            if not InvoicedItem.objects.filter(
                spend_record=record, released_at__isnull=True
            ).exists():
                records.append(record)
    if not records:
        return []
    spend = sum((r.amount for r in records), ZERO)
    charge = pricing.spend_charge(spend=spend, percent=line.spend_percent, currency=currency)
    return [
        DraftLine(
            kind=LineKind.MANAGED_SPEND,
            description=f"{line.get_service_display()}: {line.spend_percent} % of managed spend",
            quantity=Fraction(spend),
            unit="spend",
            unit_price=charge.unit_price,
            amount=charge.amount,
            contract=contract,
            service_line_id=line.pk,
            service_start=period.first_day,
            service_end=period.end_day,
            detail={
                "spend": [
                    {"month": f"{r.month:%Y-%m}", "amount": str(r.amount), "source": r.source}
                    for r in records
                ]
            },
            items=[{"spend_record": r} for r in records],
        )
    ]


def _block_lines(contract, block, period, term_months, data, time_entries) -> list[DraftLine]:
    currency = contract.currency
    previous = data.ledgers.get(block.pk)
    carried = [Lot.from_json(lot) for lot in previous.closing_lots] if previous else []
    granted = pricing.block_granted_hours(block_hours=block.block_hours, months=term_months)
    minutes = sum(entry.minutes for entry in time_entries)
    used = pricing.shown(pricing.hours(minutes), pricing.HOURS_PLACES)
    rollover = block.rollover_months if block.unused_hours == "roll_over" else 0
    result = pricing.block_period(
        period=period, carried=carried, granted=granted, used=used, rollover_months=rollover
    )
    charge = pricing.recurring_charge(
        months=term_months, unit_price=block.unit_price, currency=currency
    )
    ledger = {
        "opening_hours": str(result.opening_hours),
        "granted_hours": str(result.granted),
        "used_hours": str(result.used),
        "overage_hours": str(result.overage),
        "expired_hours": str(result.expired),
        "closing_hours": str(result.closing_hours),
    }
    lines = [
        DraftLine(
            kind=LineKind.BLOCK_HOURS,
            description=f"{block.get_service_display()}: block of {granted} hours "
            f"({result.used} h used, {result.closing_hours} h carried over)",
            quantity=term_months,
            unit="month",
            unit_price=block.unit_price,
            amount=charge.amount,
            contract=contract,
            service_line_id=block.pk,
            service_start=period.first_day,
            service_end=period.end_day,
            detail={"ledger": ledger},
            items=[{"time_entry": e, "minutes": e.minutes} for e in time_entries],
        )
    ]
    if result.overage:
        if block.overage_rate is None:
            raise BillingError(
                f"{contract.number}: {result.overage} h beyond the block and no overage rate."
            )
        over = pricing.line_amount(result.overage, block.overage_rate, currency)
        lines.append(
            DraftLine(
                kind=LineKind.BLOCK_OVERAGE,
                description=f"{block.get_service_display()}: "
                f"{result.overage} hours beyond the block",
                quantity=Fraction(result.overage),
                unit="hour",
                unit_price=block.overage_rate,
                amount=over,
                contract=contract,
                service_line_id=block.pk,
                service_start=period.first_day,
                service_end=period.end_day,
                detail={"ledger": ledger},
            )
        )
    lines[-1].detail["_ledger"] = result
    return lines


def _credit_lines(draft: DraftInvoice, contract, data: ClientData) -> None:
    """Service credits owed by the contract's evaluations, negative, each with the missed
    targets it was computed from; together never more than the contract's charges here."""
    evaluations = [
        e
        for e in data.evaluations
        if e.contract_id == contract.pk and e.month < draft.period.end_day
    ]
    if not evaluations:
        return
    charges = sum((ln.amount for ln in draft.lines if ln.amount > 0), ZERO)
    capped = pricing.credits_capped([e.credit_amount for e in evaluations], charges)
    for evaluation, amount in zip(evaluations, capped, strict=True):
        if not amount:
            continue
        missed = [
            {
                "target_result": result.pk,
                "label": result.label,
                "target_percent": str(result.target_percent),
                "measured_percent": (
                    None if result.measured_percent is None else str(result.measured_percent)
                ),
            }
            for result in evaluation.missed
        ]
        draft.lines.append(
            DraftLine(
                kind=LineKind.SERVICE_CREDIT,
                description=f"Service credit for {evaluation.month:%B %Y}: "
                f"{evaluation.missed_targets} missed target(s), {evaluation.credit_percent} % "
                "of the monthly fee",
                quantity=Fraction(1),
                unit="credit",
                unit_price=-amount,
                amount=-amount,
                contract=contract,
                service_start=evaluation.month,
                service_end=add_months(evaluation.month, 1),
                detail={
                    "evaluation": evaluation.pk,
                    "month": f"{evaluation.month:%Y-%m}",
                    "evaluated_amount": str(evaluation.credit_amount),
                    "missed_targets": missed,
                },
                items=[{"evaluation": evaluation}],
            )
        )


def _client_drafts(client, contracts, month: date, data: ClientData) -> list[DraftInvoice]:
    """The client's invoices of the run: per contract its period (when the month closes one),
    merged by (currency, period); time on tickets without a contract goes on a monthly
    invoice in the default currency at the client's or default rates."""
    month_period = BillingPeriod(month, add_months(month, 1), "monthly")
    by_contract: dict[int | None, list] = defaultdict(list)
    for entry in data.time:
        by_contract[entry.ticket_contract_id].append(entry)
    drafts: dict[tuple, DraftInvoice] = {}
    for contract in contracts:
        period = pricing.billing_period_ending(contract.billing_cycle, month)
        if period is None:
            continue
        term_from, term_until = _term(contract)
        if not pricing.active_months(period, term_from, term_until) and not by_contract.get(
            contract.pk
        ):
            continue
        entries = [e for e in by_contract.get(contract.pk, []) if e.spent_on < period.end_day]
        built = _contract_lines(contract, period, data, entries)
        key = (built.currency, period.first_day, period.end_day)
        target = drafts.setdefault(key, DraftInvoice(currency=built.currency, period=period))
        target.lines.extend(built.lines)
        target.ledgers.extend(built.ledgers)
    loose = by_contract.get(None, [])
    if loose:
        currency = default_currency()
        key = (currency, month_period.first_day, month_period.end_day)
        target = drafts.setdefault(key, DraftInvoice(currency=currency, period=month_period))
        target.lines.extend(
            _time_lines(
                contract=None,
                entries=loose,
                rates=({}, *data.rates),
                currency=currency,
                label="no contract",
            )
        )
    return [draft for draft in drafts.values() if draft.lines]


def _taxed(lines: list[DraftLine], taxes, currency) -> tuple[list[dict], dict[int, Decimal]]:
    """Each line's taxes (rounded per line and rate) and each rate's total."""
    per_line, totals = [], defaultdict(lambda: ZERO)
    percents = [tax.percent for tax in taxes]
    for line in lines:
        amounts = pricing.tax_amounts(line.amount, percents, currency)
        per_line.append(
            [
                {"tax_rate": tax.pk, "percent": str(tax.percent), "amount": str(amount)}
                for tax, amount in zip(taxes, amounts, strict=True)
            ]
        )
        for tax, amount in zip(taxes, amounts, strict=True):
            totals[tax.pk] += amount
    return per_line, totals


def _save_draft(invoice: Invoice, draft: DraftInvoice, taxes) -> None:
    """Save the invoice with its totals, then its lines, tax lines, billed items and ledger
    rows (one bulk insert each)."""
    lines, items, position = [], [], 0
    per_line, tax_totals = _taxed(draft.lines, taxes, draft.currency)
    for draft_line, line_taxes in zip(draft.lines, per_line, strict=True):
        position += 1
        line = InvoiceLine(
            invoice=invoice,
            position=position,
            kind=draft_line.kind,
            contract=draft_line.contract,
            service_line_id=draft_line.service_line_id,
            description=draft_line.description[:300],
            service_start=draft_line.service_start,
            service_end=draft_line.service_end,
            work_type=draft_line.work_type,
            quantity=pricing.shown(draft_line.quantity),
            unit=draft_line.unit,
            unit_price=draft_line.unit_price,
            amount=draft_line.amount,
            tax_amount=sum((Decimal(t["amount"]) for t in line_taxes), ZERO),
            taxes=line_taxes,
            detail=draft_line.detail,
        )
        lines.append(line)
        items.append(draft_line.items)
    for tax in taxes:
        position += 1
        lines.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                kind=LineKind.TAX,
                description=f"{tax.name} ({tax.percent.normalize():f} %)",
                quantity=Decimal(1),
                unit="tax",
                unit_price=tax_totals[tax.pk],
                amount=tax_totals[tax.pk],
                tax_rate=tax,
            )
        )
    # The invoice is saved once, with its totals (one audit row per run), before its lines.
    _set_totals(invoice, lines)
    invoice.save()
    InvoiceLine.objects.bulk_create(lines)
    InvoicedItem.objects.bulk_create(
        [
            InvoicedItem(
                line=line,
                invoice=invoice,
                time_entry=item.get("time_entry"),
                ticket=item.get("ticket"),
                evaluation=item.get("evaluation"),
                spend_record=item.get("spend_record"),
                minutes=item.get("minutes"),
            )
            for line, line_items in zip(lines, items, strict=False)
            for item in line_items
        ]
    )
    BlockHoursPeriod.objects.bulk_create(
        [
            BlockHoursPeriod(
                service_line_id=service_line_id,
                invoice=invoice,
                period_start=draft.period.first_day,
                period_end=draft.period.end_day,
                opening_lots=[lot.as_json() for lot in result.opening],
                opening_hours=result.opening_hours,
                granted_hours=result.granted,
                used_hours=result.used,
                overage_hours=result.overage,
                expired_hours=result.expired,
                closing_lots=[lot.as_json() for lot in result.closing],
                closing_hours=result.closing_hours,
            )
            for service_line_id, result in draft.ledgers
        ]
    )


def _set_totals(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    invoice.subtotal = sum((ln.amount for ln in lines if ln.kind != LineKind.TAX), ZERO)
    invoice.tax_total = sum((ln.amount for ln in lines if ln.kind == LineKind.TAX), ZERO)
    invoice.total = invoice.subtotal + invoice.tax_total


@dataclass
class ClientOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _bill_client(
    *, client_id: int, contracts, month: date, run: InvoiceRun | None, now
) -> ClientOutcome:
    """One client's invoices of the run, in one transaction, the client's row locked so that
    two runs of the same client wait for each other."""
    outcome = ClientOutcome()
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client_id)
        month_end = add_months(month, 1)
        periods = {
            c.pk: p
            for c in contracts
            if (p := pricing.billing_period_ending(c.billing_cycle, month))
        }
        existing = selectors.invoices_of_run_period(
            client_id=client.pk,
            keys=[
                (c.currency, p.first_day, p.end_day) for c in contracts if (p := periods.get(c.pk))
            ]
            + [(default_currency(), month, month_end)],
        )
        drafts_here = [inv for inv in existing.values() if inv.status == InvoiceStatus.DRAFT]
        # A draft is recomputed from scratch: its lines (and so its claims) and ledger go first.
        InvoiceLine.objects.filter(invoice__in=drafts_here).delete()
        BlockHoursPeriod.objects.filter(invoice__in=drafts_here).delete()
        data = _client_data(client, contracts, periods, month_end)
        built = _client_drafts(client, contracts, month, data)
        built_keys = set()
        for draft in built:
            key = (draft.currency, draft.period.first_day, draft.period.end_day)
            built_keys.add(key)
            invoice = existing.get(key)
            if invoice is not None and invoice.status != InvoiceStatus.DRAFT:
                outcome.unchanged += 1
                continue
            if invoice is None:
                invoice = Invoice(
                    client=client,
                    currency=draft.currency,
                    billing_cycle=draft.period.cycle,
                    period_start=draft.period.first_day,
                    period_end=draft.period.end_day,
                )
                outcome.created += 1
            else:
                outcome.updated += 1
            invoice.run = run
            invoice.computed_at = now
            _save_draft(invoice, draft, data.taxes)
        for key, invoice in existing.items():
            if invoice.status == InvoiceStatus.DRAFT and key not in built_keys:
                invoice.delete()  # nothing left to bill on it
            elif invoice.status != InvoiceStatus.DRAFT and key not in built_keys:
                outcome.unchanged += 1
    return outcome


INVOICE_RUN_TASK = "reporting.invoice_run"
# A run taken by a worker that has not finished by then is taken again (the worker died): a
# run over 500 clients takes a minute or two.
INVOICE_RUN_STALE = timedelta(minutes=15)


def invoice_run_create(
    *, month: date, now: datetime | None = None, by=None, client_ids=None
) -> InvoiceRun:
    """Bill the month now, in this process (the schedule, the demo, scripts)."""
    run = _invoice_run_new(month=month, by=by, client_ids=client_ids, started=True)
    return _invoice_run_bill(run=run, now=now or timezone.now())


def invoice_run_request(*, month: date, by=None, client_ids=None) -> InvoiceRun:
    """Queue a run for a worker (pages and the API: a run over hundreds of clients outlasts a
    web request). If the broker is down, `invoice_runs_resume` takes it on its next beat."""
    run = _invoice_run_new(month=month, by=by, client_ids=client_ids, started=False)
    transaction.on_commit(
        lambda: current_app.send_task(INVOICE_RUN_TASK, kwargs={"run_id": run.pk}), robust=True
    )
    return run


def _invoice_run_new(*, month: date, by, client_ids, started: bool) -> InvoiceRun:
    billing_permission_check(user=by)
    return InvoiceRun.objects.create(
        month=month.replace(day=1),
        started_by=by,
        client_ids=sorted(client_ids) if client_ids is not None else None,
        started_at=timezone.now() if started else None,
    )


def invoice_run_execute(*, run: InvoiceRun, now: datetime | None = None) -> InvoiceRun:
    """Bill the run's month that ended on its last day: for each client, one draft invoice per
    currency and billing period closing with that month (monthly contracts every month,
    quarterly ones after each quarter, annual ones after December), one transaction per
    client. Running it again recomputes drafts and leaves reviewed and finalised invoices as
    they are; nothing is billed twice (docs/billing.md). A run another worker holds, or one
    finished, is left alone."""
    taken_at = timezone.now()
    taken = InvoiceRun.objects.filter(pk=run.pk, finished_at__isnull=True).filter(
        Q(started_at__isnull=True) | Q(started_at__lt=taken_at - INVOICE_RUN_STALE)
    )
    if not taken.update(started_at=taken_at):
        run.refresh_from_db()
        return run
    run.started_at = taken_at
    return _invoice_run_bill(run=run, now=now or taken_at)


def _invoice_run_bill(*, run: InvoiceRun, now: datetime) -> InvoiceRun:
    by, client_ids, month = run.started_by, run.client_ids, run.month
    month_end = add_months(month, 1)
    year_start = add_months(month_end, -12)
    contracts_by_client: dict[int, list] = defaultdict(list)
    for contract in selectors.contracts_billed_in(
        first_day=year_start, end_day=month_end, client_ids=client_ids
    ):
        contracts_by_client[contract.client_id].append(contract)
    # Clients with approved time but no contract in the window are billed at their rates.
    time_clients = selectors.approved_time_unbilled(
        client_ids=client_ids
        if client_ids is not None
        else Client.objects.values_list("pk", flat=True),
        start=add_months(month, -LOOKBACK_MONTHS),
        end=month_end,
    ).filter(ticket__contract__isnull=True)
    for client_id in set(time_clients.values_list("client_id", flat=True)):
        contracts_by_client.setdefault(client_id, [])
    if by is not None and by.role != UserRole.ADMIN:
        mine = set(Client.objects.for_user(by).values_list("pk", flat=True))
        contracts_by_client = {k: v for k, v in contracts_by_client.items() if k in mine}
    run.created = run.updated = run.unchanged = 0
    errors = []
    for client_id in sorted(contracts_by_client):
        try:
            outcome = _bill_client(
                client_id=client_id,
                contracts=contracts_by_client[client_id],
                month=month,
                run=run,
                now=now,
            )
        except (BillingError, IntegrityError) as error:
            errors.append({"client": client_id, "error": str(error)})
            continue
        run.created += outcome.created
        run.updated += outcome.updated
        run.unchanged += outcome.unchanged
    run.errors = errors
    run.finished_at = timezone.now()
    run.save(update_fields=["created", "updated", "unchanged", "errors", "finished_at"])
    return run


def invoice_runs_resume(*, now: datetime | None = None) -> int:
    """Runs queued but never taken (the broker was down when they were asked for) or taken by
    a worker that died: run them now. How many were run."""
    now = now or timezone.now()
    waiting = InvoiceRun.objects.filter(
        finished_at__isnull=True, created_at__gte=now - timedelta(days=1)
    ).filter(
        Q(started_at__isnull=True, created_at__lt=now - timedelta(minutes=1))
        | Q(started_at__lt=now - INVOICE_RUN_STALE)
    )
    ran = 0
    for run in waiting.order_by("pk"):
        ran += invoice_run_execute(run=run).finished_at is not None
    return ran


# Lifecycle --------------------------------------------------------------------------------


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _conflict(message: str, field_name: str = "status") -> ValidationError:
    return ValidationError({field_name: ValidationError(message, code="conflict")})


@transaction.atomic
def invoice_review(*, invoice: Invoice, by, at: datetime | None = None) -> Invoice:
    """A person has checked the draft: it is no longer recomputed by runs."""
    billing_permission_check(user=by, client_id=invoice.client_id)
    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise _conflict("Only a draft invoice can be marked reviewed.")
    invoice.status = InvoiceStatus.REVIEWED
    invoice.reviewed_by, invoice.reviewed_at = by, at or timezone.now()
    invoice.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    return invoice


@transaction.atomic
def invoice_reopen(*, invoice: Invoice, by) -> Invoice:
    """Back from reviewed to draft (the next run recomputes it)."""
    billing_permission_check(user=by, client_id=invoice.client_id)
    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.REVIEWED:
        raise _conflict("Only a reviewed invoice can go back to draft.")
    invoice.status = InvoiceStatus.DRAFT
    invoice.reviewed_by, invoice.reviewed_at = None, None
    invoice.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    return invoice


def _next_number(kind: str, year: int) -> tuple[int, str]:
    """The next number of a sequence, the counter row locked until the transaction ends: a
    concurrent finalisation waits, and a rolled-back one gives its number back."""
    DocumentSequence.objects.bulk_create(
        [DocumentSequence(kind=kind, year=year, last_number=0)], ignore_conflicts=True
    )
    sequence = DocumentSequence.objects.select_for_update().get(kind=kind, year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number, f"{NUMBER_PREFIX[kind]}-{year}-{sequence.last_number:04d}"


def _issue(invoice: Invoice, by, at: datetime) -> None:
    issued_on = timezone.localdate(at)
    invoice.number_sequence, invoice.number = _next_number(invoice.kind, issued_on.year)
    invoice.number_year = issued_on.year
    invoice.issued_on = issued_on
    invoice.due_on = issued_on + timedelta(days=payment_days())
    invoice.status = InvoiceStatus.FINALISED
    invoice.finalised_by, invoice.finalised_at = by, at


@transaction.atomic
def invoice_finalise(*, invoice: Invoice, by, at: datetime | None = None) -> Invoice:
    """Number a reviewed invoice (INV-<year>-<n>, gapless per year) and freeze it."""
    billing_permission_check(user=by, client_id=invoice.client_id)
    invoice = _locked(invoice)
    if invoice.kind != DocumentKind.INVOICE or invoice.status != InvoiceStatus.REVIEWED:
        raise _conflict("Only a reviewed invoice can be finalised.")
    _issue(invoice, by, at or timezone.now())
    invoice.save()
    return invoice


@transaction.atomic
def invoice_discard(*, invoice: Invoice, by) -> None:
    """Throw away a draft or reviewed invoice: what it billed is free to bill again."""
    billing_permission_check(user=by, client_id=invoice.client_id)
    invoice = _locked(invoice)
    if invoice.is_final:
        raise _conflict("A finalised invoice is corrected with a credit note, not deleted.")
    invoice.delete()


def _credit_remaining(original: InvoiceLine) -> tuple[Decimal, Decimal, dict[int, Decimal]]:
    """(amount, tax, tax per rate) of a line not yet credited by earlier credit notes (whose
    lines are negative)."""
    amount, tax = original.amount, original.tax_amount
    per_rate = {t["tax_rate"]: Decimal(t["amount"]) for t in original.taxes}
    for credit in original.credits.all():
        amount += credit.amount
        tax += credit.tax_amount
        for t in credit.taxes:
            per_rate[t["tax_rate"]] = per_rate.get(t["tax_rate"], ZERO) + Decimal(t["amount"])
    return amount, tax, per_rate


@transaction.atomic
def credit_note_create(
    *,
    invoice: Invoice,
    by,
    reason: str,
    amounts: dict[int, Decimal] | None = None,
    at: datetime | None = None,
) -> Invoice:
    """A numbered credit note (CN-<year>-<n>) correcting a finalised invoice: `amounts` credits
    part of some lines ({line id: amount to credit, positive}); None credits everything not
    credited yet. Each credit note line names the line it corrects, with negative amounts;
    taxes follow the line's rates, and the credit that completes a line takes exactly the
    tax left on it."""
    billing_permission_check(user=by, client_id=invoice.client_id)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the invoice is corrected."})
    invoice = _locked(invoice)
    if invoice.kind != DocumentKind.INVOICE or invoice.status != InvoiceStatus.FINALISED:
        raise _conflict("Only a finalised invoice can be credited.")
    originals = {
        line.pk: line
        for line in invoice.lines.exclude(kind=LineKind.TAX).prefetch_related("credits")
    }
    if amounts is None:
        wanted = dict.fromkeys(originals)
    else:
        try:  # line ids may come as text from a form or JSON
            wanted = {int(pk): value for pk, value in amounts.items()}
        except (TypeError, ValueError):
            raise ValidationError({"amounts": "Name the lines by their ids."}) from None
    note = Invoice(
        kind=DocumentKind.CREDIT_NOTE,
        client_id=invoice.client_id,
        currency=invoice.currency,
        billing_cycle=invoice.billing_cycle,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        credited_invoice=invoice,
        reason=reason.strip(),
    )
    lines, tax_totals, tax_names = [], defaultdict(lambda: ZERO), {}
    for pk, asked in wanted.items():
        original = originals.get(pk)
        if original is None:
            raise ValidationError({"amounts": f"Line {pk} is not a line of {invoice.number}."})
        left, _, left_rates = _credit_remaining(original)
        if asked is None:
            credit = left
        else:
            try:
                credit = Decimal(asked)
            except (InvalidOperation, TypeError, ValueError):
                raise ValidationError({"amounts": "Amounts must be numbers."}) from None
            if credit <= 0 or credit != pricing.round_money(credit, invoice.currency):
                raise ValidationError({"amounts": "Credit a positive amount in whole cents."})
            if original.amount <= 0 or credit > left:
                raise ValidationError(
                    {"amounts": f"At most {max(left, ZERO)} is left to credit on line {pk}."}
                )
        if not credit:
            continue
        taxes = []
        for t in original.taxes:
            rate_id = t["tax_rate"]
            if credit == left:
                tax = left_rates.get(rate_id, ZERO)
            else:
                tax = pricing.tax_amounts(credit, [Decimal(t["percent"])], invoice.currency)[0]
            taxes.append({"tax_rate": rate_id, "percent": t["percent"], "amount": str(-tax)})
            tax_totals[rate_id] -= tax
            tax_names[rate_id] = t["percent"]
        full = asked is None and credit == original.amount
        lines.append(
            InvoiceLine(
                kind=LineKind.CORRECTION,
                credited_line=original,
                contract_id=original.contract_id,
                service_line_id=original.service_line_id,
                description=f"Credit: {original.description}"[:300],
                service_start=original.service_start,
                service_end=original.service_end,
                work_type=original.work_type,
                quantity=-original.quantity if full else Decimal(1),
                unit=original.unit if full else "credit",
                unit_price=original.unit_price if full else -credit,
                amount=-credit,
                tax_amount=sum((Decimal(t["amount"]) for t in taxes), ZERO),
                taxes=taxes,
                detail={"credited_line": original.pk},
            )
        )
    if not lines:
        raise ValidationError({"amounts": "Nothing is left to credit on this invoice."})
    _issue(note, by, at or timezone.now())
    note.save()
    rates = {rate.pk: rate for rate in TaxRate.objects.filter(pk__in=list(tax_totals))}
    for position, line in enumerate(lines, start=1):
        line.invoice, line.position = note, position
    for rate_id, amount in tax_totals.items():
        rate = rates[rate_id]
        lines.append(
            InvoiceLine(
                invoice=note,
                position=len(lines) + 1,
                kind=LineKind.TAX,
                description=f"{rate.name} ({Decimal(tax_names[rate_id]).normalize():f} %)",
                quantity=Decimal(1),
                unit="tax",
                unit_price=amount,
                amount=amount,
                tax_rate=rate,
            )
        )
    InvoiceLine.objects.bulk_create(lines)
    _set_totals(note, lines)
    note.save(update_fields=["subtotal", "tax_total", "total"])
    return note


@transaction.atomic
def invoice_void(*, invoice: Invoice, by, reason: str, at: datetime | None = None) -> Invoice:
    """Cancel a finalised invoice: a credit note for everything not credited yet, the invoice
    marked void, and what it billed (time, tickets, credits, spend, block hours) released so
    that running its period again bills it on a new invoice. Returns the credit note."""
    at = at or timezone.now()
    note = credit_note_create(invoice=invoice, by=by, reason=reason, at=at)
    invoice = _locked(invoice)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_by, invoice.voided_at = by, at
    invoice.save(update_fields=["status", "voided_by", "voided_at", "updated_at"])
    InvoicedItem.objects.filter(invoice=invoice, released_at__isnull=True).update(released_at=at)
    BlockHoursPeriod.objects.filter(invoice=invoice, released_at__isnull=True).update(
        released_at=at
    )
    return note


# Spend records ----------------------------------------------------------------------------


@transaction.atomic
def spend_record_set(
    *, contract: Contract, service: str, month: date, amount, source: str = SpendSource.ENTERED,
    note: str = "", by=None,
) -> SpendRecord:  # fmt: skip
    """Record (or correct) a month's managed spend on a contract's service; a month already
    invoiced cannot change (correct the invoice with a credit note)."""
    billing_permission_check(user=by, client_id=contract.client_id)
    month = month.replace(day=1)
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": "Give the spend as a number."}) from None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({"amount": "Give the spend in whole cents, zero or more."})
    services = {
        line.service
        for line in contract.service_lines.all()
        if line.pricing_model == PricingModel.PERCENT_OF_SPEND
    }
    if service not in services:
        raise ValidationError({"service": "The contract bills no percentage of this service."})
    if source not in SpendSource.values:
        raise ValidationError({"source": "Unknown source."})
    record = (
        SpendRecord.objects.select_for_update()
        .filter(contract=contract, service=service, month=month)
        .first()
    )
    if record is not None:
        if InvoicedItem.objects.filter(spend_record=record, released_at__isnull=True).exists():
            raise _conflict("This month's spend is invoiced already.", "month")
        record.amount, record.source, record.note = amount, source, note
        record.save(update_fields=["amount", "source", "note", "updated_at"])
        return record
    return SpendRecord.objects.create(
        client_id=contract.client_id,
        contract=contract,
        service=service,
        month=month,
        amount=amount,
        source=source,
        note=note,
    )


SPEND_CSV_COLUMNS = ("contract", "service", "month", "amount")


@transaction.atomic
def spend_records_import_csv(*, text: str, by=None) -> list[SpendRecord]:
    """Spend records from CSV with the header contract,service,month,amount (contract number,
    service code, YYYY-MM, amount in the contract's currency). All rows or none: the errors
    name the row and field."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in SPEND_CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError({"file": f"Missing columns: {', '.join(missing)}."})
    rows = list(reader)
    contracts = {
        c.number: c
        for c in Contract.objects.filter(
            number__in={row["contract"].strip() for row in rows}
        ).prefetch_related("service_lines")
    }
    records, errors = [], []
    for number, row in enumerate(rows, start=2):
        contract = contracts.get(row["contract"].strip())
        if contract is None:
            errors.append(f"Row {number}: no contract {row['contract']!r}.")
            continue
        try:
            month = date.fromisoformat(row["month"].strip() + "-01")
        except ValueError:
            errors.append(f"Row {number}: month must be YYYY-MM.")
            continue
        try:
            records.append(
                spend_record_set(
                    contract=contract,
                    service=row["service"].strip(),
                    month=month,
                    amount=row["amount"].strip(),
                    source=SpendSource.CSV,
                    by=by,
                )
            )
        except ValidationError as error:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            errors.append(f"Row {number}: {messages}")
    if errors:
        raise ValidationError({"file": errors})
    return records
