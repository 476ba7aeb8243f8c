"""The arithmetic of billing, without the database: billing periods, proration by day, each
pricing model, the block-of-hours ledger, taxes and the one rounding rule (docs/billing.md).

Quantities are exact fractions (a device active 16 of 31 days is 16/31 of a device-month);
a line's amount is rounded once, half away from zero, to the currency's minor unit, from the
exact quantity times the unit price. The quantity printed on the invoice is the exact one
rounded to four decimals. Taxes are rounded per line and per rate; totals are sums of lines.
"""

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from msp.periods import add_months

QUANTITY_PLACES = Decimal("0.0001")
HOURS_PLACES = Decimal("0.01")
# ISO 4217 currencies without minor units; every other invoiced one has two (contracts refuse
# the three-decimal ones).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND"}
    | {"VUV", "XAF", "XOF", "XPF"}
)
CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "annually": 12}


def minor_unit(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def round_money(value: Fraction | Decimal | int, currency: str) -> Decimal:
    """Half away from zero (2.345 -> 2.35, -2.345 -> -2.35) to the currency's minor unit,
    computed exactly: the value is a fraction, never a float."""
    exact = Fraction(value)
    scale = 10 ** minor_unit(currency)
    scaled = abs(exact) * scale
    units, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        units += 1
    if exact < 0:
        units = -units
    return (Decimal(units) / scale).quantize(Decimal("0.01"))


def shown(quantity: Fraction | Decimal | int, places: Decimal = QUANTITY_PLACES) -> Decimal:
    """A quantity as printed: four decimals, half up."""
    exact = Fraction(quantity)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        places, rounding=ROUND_HALF_UP
    )


def line_amount(quantity: Fraction | Decimal | int, unit_price: Decimal, currency: str) -> Decimal:
    """The one rule: round(exact quantity x unit price)."""
    return round_money(Fraction(quantity) * Fraction(unit_price), currency)


# Periods ----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class BillingPeriod:
    """Local days [first_day, end_day) that one invoice covers: a calendar month, quarter or
    year, following the contract's billing cycle."""

    first_day: date
    end_day: date
    cycle: str = "monthly"

    @property
    def months(self) -> list[date]:
        """The first day of each month in the period."""
        months, month = [], self.first_day
        while month < self.end_day:
            months.append(month)
            month = add_months(month, 1)
        return months

    @property
    def label(self) -> str:
        if self.cycle == "annually":
            return str(self.first_day.year)
        if self.cycle == "quarterly":
            return f"Q{(self.first_day.month - 1) // 3 + 1} {self.first_day.year}"
        return self.first_day.strftime("%B %Y")


def billing_period_ending(cycle: str, month: date) -> BillingPeriod | None:
    """The billing period of `cycle` that ends with the month starting `month`, or None when
    that month does not close one (a quarterly contract is billed after March, June,
    September and December; an annual one after December)."""
    months = CYCLE_MONTHS[cycle]
    month = month.replace(day=1)
    end = add_months(month, 1)
    if (end.month - 1) % months:
        return None
    return BillingPeriod(add_months(end, -months), end, cycle)


def month_days(month: date) -> int:
    return monthrange(month.year, month.month)[1]


def overlap_days(start: date, end: date, span_start: date | None, span_end: date | None) -> int:
    """Days of [start, end) inside [span_start, span_end) (None: unbounded)."""
    low = max(start, span_start) if span_start else start
    high = min(end, span_end) if span_end else end
    return max((high - low).days, 0)


def active_months(period: BillingPeriod, active_from: date | None, active_until: date | None):
    """How many months of `period` something active on [active_from, active_until) covers,
    exactly: per calendar month, its active days over the month's days (16 days of a 31-day
    month are 16/31, of a 28-day month 16/28)."""
    total = Fraction(0)
    for month in period.months:
        end = add_months(month, 1)
        days = overlap_days(month, end, active_from, active_until)
        if days:
            total += Fraction(days, month_days(month))
    return total


# Pricing models -------------------------------------------------------------------------


@dataclass(frozen=True)
class Charge:
    """What a pricing model gives: an exact quantity, a unit price and the rounded amount."""

    quantity: Fraction
    unit_price: Decimal
    amount: Decimal
    unit: str
    detail: dict = field(default_factory=dict)

    @property
    def quantity_shown(self) -> Decimal:
        return shown(self.quantity)


def recurring_charge(
    *, months: Fraction, unit_price: Decimal, currency: str, unit: str = "month"
) -> Charge:
    """A monthly price over (part of) a period: a fee, a retainer, or devices and seats as
    device-months and seat-months."""
    return Charge(months, unit_price, line_amount(months, unit_price, currency), unit)


def per_unit_charge(*, count: int, unit_price: Decimal, currency: str, unit: str) -> Charge:
    """Tickets: count x price."""
    return Charge(Fraction(count), unit_price, line_amount(count, unit_price, currency), unit)


def hours(minutes: int) -> Fraction:
    return Fraction(minutes, 60)


def time_charge(*, minutes: int, hourly_rate: Decimal, currency: str) -> Charge:
    """Time and materials: minutes / 60 x the hourly rate, rounded once."""
    quantity = hours(minutes)
    return Charge(quantity, hourly_rate, line_amount(quantity, hourly_rate, currency), "hour")


def spend_charge(*, spend: Decimal, percent: Decimal, currency: str) -> Charge:
    """Percentage of managed spend: the spend x percent / 100, rounded once."""
    rate = Fraction(percent) / 100
    return Charge(
        Fraction(spend),
        Decimal(rate.numerator) / Decimal(rate.denominator),
        line_amount(Fraction(spend) * rate, Decimal(1), currency),
        "spend",
    )


def hourly_rate_for(
    work_type: str,
    *,
    contract_rates: dict[str, Decimal],
    client_rates: dict[str, Decimal],
    default_rates: dict[str, Decimal],
) -> tuple[Decimal, str] | None:
    """The rate for a work type and where it comes from: the contract's hourly line, else the
    client's own rate, else the default rate card; None when none sets one."""
    for source, rates in (
        ("contract", contract_rates),
        ("client", client_rates),
        ("default", default_rates),
    ):
        if work_type in rates:
            return Decimal(str(rates[work_type])), source
    return None


def tax_amounts(amount: Decimal, percents: list[Decimal], currency: str) -> list[Decimal]:
    """Each tax of a line: amount x percent / 100, rounded per line and per rate (not
    compounded: every rate applies to the line's amount)."""
    return [
        round_money(Fraction(amount) * Fraction(percent) / 100, currency) for percent in percents
    ]


def credits_capped(credits: list[Decimal], charges: Decimal) -> list[Decimal]:
    """Service credits of one contract on one invoice, each as evaluated (already capped per
    month by the contract's credit cap), together never more than the contract's charges on
    the invoice: the credits are taken in order and the one that crosses is cut."""
    left = max(charges, Decimal("0.00"))
    capped = []
    for credit in credits:
        taken = min(credit, left)
        capped.append(taken)
        left -= taken
    return capped


# Block of hours ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Lot:
    """Hours available until `expires` (exclusive; usable in periods starting before it),
    granted for the period starting `granted`."""

    hours: Decimal
    granted: date
    expires: date

    def as_json(self) -> dict:
        return {
            "hours": str(self.hours),
            "granted": self.granted.isoformat(),
            "expires": self.expires.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict) -> "Lot":
        return cls(
            Decimal(data["hours"]),
            date.fromisoformat(data["granted"]),
            date.fromisoformat(data["expires"]),
        )


@dataclass(frozen=True)
class BlockResult:
    opening: tuple[Lot, ...]
    granted: Decimal
    used: Decimal
    drawn: Decimal
    overage: Decimal
    expired: Decimal
    closing: tuple[Lot, ...]

    @property
    def opening_hours(self) -> Decimal:
        return sum((lot.hours for lot in self.opening), Decimal("0.00"))

    @property
    def closing_hours(self) -> Decimal:
        return sum((lot.hours for lot in self.closing), Decimal("0.00"))


def block_period(
    *,
    period: BillingPeriod,
    carried: list[Lot],
    granted: Decimal,
    used: Decimal,
    rollover_months: int,
) -> BlockResult:
    """One period of a block of hours. Lots carried in that have expired by the period's start
    expire first; the hours used are drawn from the oldest lot first, then this period's grant;
    what is left over is overage. At the end, this period's unused grant rolls over for
    `rollover_months` months after the period (0: it expires now), and any lot whose last
    usable period this was expires."""
    opening = tuple(lot for lot in carried if lot.expires > period.first_day)
    expired = sum((lot.hours for lot in carried if lot.expires <= period.first_day), Decimal(0))
    lots = sorted(opening, key=lambda lot: (lot.granted, lot.expires))
    grant = Lot(granted, period.first_day, add_months(period.end_day, rollover_months))
    remaining = used
    closing: list[Lot] = []
    for lot in [*lots, grant]:
        take = min(lot.hours, remaining)
        remaining -= take
        if lot.hours - take > 0:
            closing.append(Lot(lot.hours - take, lot.granted, lot.expires))
    overage = remaining
    still = [lot for lot in closing if lot.expires > period.end_day]
    expired += sum((lot.hours for lot in closing if lot.expires <= period.end_day), Decimal(0))
    return BlockResult(
        opening=opening,
        granted=granted,
        used=used,
        drawn=used - overage,
        overage=overage,
        expired=expired,
        closing=tuple(still),
    )


def block_granted_hours(*, block_hours: Decimal, months: Fraction) -> Decimal:
    """The block's hours for (part of) a period: monthly hours x months, to 0.01 h."""
    return shown(Fraction(block_hours) * months, HOURS_PLACES)


def day_before(day: date) -> date:
    return day - timedelta(days=1)
