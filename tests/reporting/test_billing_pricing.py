"""Billing arithmetic without the database, pinned to the cent against hand-computed figures
and against naive day-by-day references."""

import random
from calendar import monthrange
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from reporting.billing import pricing
from reporting.billing.pricing import BillingPeriod, Lot

MARCH = BillingPeriod(date(2026, 3, 1), date(2026, 4, 1))  # 31 days
FEBRUARY = BillingPeriod(date(2026, 2, 1), date(2026, 3, 1))  # 28 days
Q1 = BillingPeriod(date(2026, 1, 1), date(2026, 4, 1), "quarterly")
YEAR = BillingPeriod(date(2026, 1, 1), date(2027, 1, 1), "annually")


def naive_months(period: BillingPeriod, active_from, active_until) -> Fraction:
    """Day by day: each active day is 1/(days in its month) of a month."""
    total, day = Fraction(0), period.first_day
    while day < period.end_day:
        if (active_from is None or day >= active_from) and (
            active_until is None or day < active_until
        ):
            total += Fraction(1, monthrange(day.year, day.month)[1])
        day += timedelta(days=1)
    return total


class TestRounding:
    @pytest.mark.parametrize(
        "value,expected",
        [
            (Decimal("2.345"), "2.35"),
            (Decimal("2.3449999"), "2.34"),
            (Decimal("-2.345"), "-2.35"),
            (Decimal("0.005"), "0.01"),
            (Decimal("0.004999"), "0.00"),
            (Decimal("1.005"), "1.01"),  # 1.005 as a float is 1.00499..., never used
            (Fraction(1, 3), "0.33"),
            (Fraction(2, 3), "0.67"),
        ],
    )
    def test_half_away_from_zero_to_the_cent(self, value, expected):
        assert pricing.round_money(value, "USD") == Decimal(expected)

    def test_currencies_without_minor_units_round_to_whole_units(self):
        assert pricing.round_money(Decimal("1234.5"), "JPY") == Decimal("1235")
        assert pricing.round_money(Decimal("1234.49"), "JPY") == Decimal("1234")

    def test_a_line_rounds_once_from_the_exact_quantity(self):
        # 16/31 of a month at 45.50 = 23.4838... (rounding the quantity first, 0.5161 x 45.50,
        # would give 23.48 too; 1/3 x 0.05 shows the difference: 0.0166 -> 0.02, not 0.01).
        assert pricing.line_amount(Fraction(16, 31), Decimal("45.50"), "USD") == Decimal("23.48")
        assert pricing.line_amount(Fraction(1, 3), Decimal("0.05"), "USD") == Decimal("0.02")
        assert pricing.shown(Fraction(16, 31)) == Decimal("0.5161")

    def test_a_half_cent_rounds_up_for_quantity_times_price(self):
        # 3 x 0.335 = 1.005 exactly -> 1.01
        assert pricing.line_amount(3, Decimal("0.335"), "USD") == Decimal("1.01")
        # 0.5 h x 0.01 = 0.005 -> 0.01
        assert pricing.time_charge(
            minutes=30, hourly_rate=Decimal("0.01"), currency="USD"
        ).amount == Decimal("0.01")


class TestPeriods:
    def test_monthly_closes_every_month(self):
        assert pricing.billing_period_ending("monthly", date(2026, 2, 1)) == FEBRUARY

    @pytest.mark.parametrize("month", [1, 2, 4, 5, 7, 8, 10, 11])
    def test_quarterly_closes_only_after_a_quarter(self, month):
        assert pricing.billing_period_ending("quarterly", date(2026, month, 1)) is None

    def test_quarter_and_year(self):
        assert pricing.billing_period_ending("quarterly", date(2026, 3, 1)) == Q1
        assert pricing.billing_period_ending("annually", date(2026, 12, 1)) == YEAR
        assert pricing.billing_period_ending("annually", date(2026, 11, 1)) is None
        assert len(YEAR.months) == 12 and Q1.label == "Q1 2026"


class TestProrationByDay:
    def test_full_month_is_one(self):
        assert pricing.active_months(MARCH, None, None) == 1
        assert pricing.active_months(FEBRUARY, date(2025, 1, 1), None) == 1

    def test_added_mid_31_day_month(self):
        # Added on 16 March: 16 of 31 days.
        assert pricing.active_months(MARCH, date(2026, 3, 16), None) == Fraction(16, 31)

    def test_added_mid_28_day_month(self):
        # Added on 15 February 2026: 14 of 28 days, exactly half.
        assert pricing.active_months(FEBRUARY, date(2026, 2, 15), None) == Fraction(1, 2)

    def test_removed_mid_month(self):
        # Last managed on 9 March (active_until is the first day no longer managed).
        assert pricing.active_months(MARCH, None, date(2026, 3, 10)) == Fraction(9, 31)

    def test_quarter_starting_mid_february(self):
        # Nothing of January, 14/28 of February, all of March.
        assert pricing.active_months(Q1, date(2026, 2, 15), None) == Fraction(3, 2)

    def test_year_from_july(self):
        assert pricing.active_months(YEAR, date(2026, 7, 1), None) == 6

    def test_against_a_naive_day_by_day_count(self):
        chooser = random.Random(22)
        for period in (MARCH, FEBRUARY, Q1, YEAR):
            for _ in range(200):
                start = period.first_day + timedelta(days=chooser.randint(-40, 400))
                until = start + timedelta(days=chooser.randint(1, 400))
                start = None if chooser.random() < 0.2 else start
                until = None if chooser.random() < 0.2 else until
                assert pricing.active_months(period, start, until) == naive_months(
                    period, start, until
                ), (period, start, until)


class TestPricingModels:
    def test_recurring_devices_prorated(self):
        # 12 servers all month, one added 16 March, one removed after 9 March, at 45.50:
        months = 12 + Fraction(16, 31) + Fraction(9, 31)
        charge = pricing.recurring_charge(
            months=months, unit_price=Decimal("45.50"), currency="USD"
        )
        naive = (Decimal(12) + Decimal(25) / Decimal(31)) * Decimal("45.50")
        assert charge.amount == naive.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert charge.amount == Decimal("582.69")  # 12 x 45.50 = 546 + 25/31 x 45.50 = 36.69
        assert charge.quantity_shown == Decimal("12.8065")

    def test_time_and_materials(self):
        # 95 min at 95.00/h = 150.4166... -> 150.42
        charge = pricing.time_charge(minutes=95, hourly_rate=Decimal("95.00"), currency="USD")
        assert charge.amount == Decimal("150.42")

    def test_percent_of_spend(self):
        charge = pricing.spend_charge(
            spend=Decimal("3333.33"), percent=Decimal("12.50"), currency="USD"
        )
        assert charge.amount == Decimal("416.67")  # 416.66625
        assert charge.unit_price == Decimal("0.125")

    def test_per_ticket(self):
        charge = pricing.per_unit_charge(
            count=7, unit_price=Decimal("35.00"), currency="USD", unit="ticket"
        )
        assert charge.amount == Decimal("245.00")

    def test_rate_precedence(self):
        rates = {
            "contract_rates": {"remote": Decimal("95")},
            "client_rates": {"remote": Decimal("90"), "onsite": Decimal("120")},
            "default_rates": {
                "remote": Decimal("80"),
                "onsite": Decimal("110"),
                "travel": Decimal("60"),
            },
        }
        assert pricing.hourly_rate_for("remote", **rates) == (Decimal("95"), "contract")
        assert pricing.hourly_rate_for("onsite", **rates) == (Decimal("120"), "client")
        assert pricing.hourly_rate_for("travel", **rates) == (Decimal("60"), "default")
        assert pricing.hourly_rate_for("project", **rates) is None

    def test_taxes_per_line_and_rate(self):
        # Two lines of 10.05 at 8.875 %: each 0.8919... -> 0.89, so 1.78 (not 20.10 x 8.875 %
        # = 1.7839 -> 1.78 here, but 3 lines of 0.10 at 5 % are 3 x 0.01 = 0.03, not 0.015).
        assert pricing.tax_amounts(Decimal("10.05"), [Decimal("8.875"), Decimal("2.5")], "USD") == [
            Decimal("0.89"),
            Decimal("0.25"),
        ]
        assert sum(pricing.tax_amounts(Decimal("0.10"), [Decimal("5")], "USD") * 3) == Decimal(
            "0.03"
        )
        assert pricing.tax_amounts(Decimal("-100.00"), [Decimal("8.875")], "USD") == [
            Decimal("-8.88")
        ]

    def test_credits_never_exceed_the_charges(self):
        assert pricing.credits_capped([Decimal("300"), Decimal("250")], Decimal("400.00")) == [
            Decimal("300"),
            Decimal("100.00"),
        ]
        assert pricing.credits_capped([Decimal("50")], Decimal("0")) == [Decimal("0.00")]


class TestBlockOfHours:
    def test_three_months_of_rollover_and_expiry(self):
        """10 h a month, unused hours roll over for 1 month after their own; oldest used first."""
        jan = BillingPeriod(date(2026, 1, 1), date(2026, 2, 1))
        feb, mar = FEBRUARY, MARCH
        # January: 6 h used of 10: 4 h roll over (usable through February).
        one = pricing.block_period(
            period=jan, carried=[], granted=Decimal("10"), used=Decimal("6"), rollover_months=1
        )
        assert (one.drawn, one.overage, one.expired, one.closing_hours) == (6, 0, 0, 4)
        assert one.closing[0] == Lot(Decimal("4"), date(2026, 1, 1), date(2026, 3, 1))
        # February: 12 h used: 4 carried first, then 8 of February's 10; 2 roll over. The
        # January lot was fully used, so nothing expires.
        two = pricing.block_period(
            period=feb,
            carried=list(one.closing),
            granted=Decimal("10"),
            used=Decimal("12"),
            rollover_months=1,
        )
        assert (two.opening_hours, two.drawn, two.overage, two.expired, two.closing_hours) == (
            4,
            12,
            0,
            0,
            2,
        )
        # March: 1 h used (from February's 2), 1 h of February's expires at March's end,
        # March's 10 roll into April.
        three = pricing.block_period(
            period=mar,
            carried=list(two.closing),
            granted=Decimal("10"),
            used=Decimal("1"),
            rollover_months=1,
        )
        assert (
            three.opening_hours,
            three.drawn,
            three.overage,
            three.expired,
            three.closing_hours,
        ) == (2, 1, 0, 1, 10)

    def test_expire_rule_keeps_nothing(self):
        result = pricing.block_period(
            period=MARCH, carried=[], granted=Decimal("10"), used=Decimal("4.5"), rollover_months=0
        )
        assert (result.expired, result.closing_hours) == (Decimal("5.5"), 0)

    def test_overage_after_carried_and_granted_hours(self):
        carried = [Lot(Decimal("3"), date(2026, 2, 1), date(2026, 5, 1))]
        result = pricing.block_period(
            period=MARCH,
            carried=carried,
            granted=Decimal("10"),
            used=Decimal("14.25"),
            rollover_months=2,
        )
        assert (result.drawn, result.overage, result.closing_hours) == (13, Decimal("1.25"), 0)
        assert pricing.line_amount(result.overage, Decimal("120.00"), "USD") == Decimal("150.00")

    def test_lot_expired_before_the_period_is_counted_expired(self):
        stale = [Lot(Decimal("5"), date(2025, 12, 1), date(2026, 2, 1))]
        result = pricing.block_period(
            period=MARCH, carried=stale, granted=Decimal("10"), used=Decimal("2"), rollover_months=0
        )
        assert result.opening_hours == 0 and result.expired == Decimal("13")

    def test_partial_period_grants_prorated_hours(self):
        assert pricing.block_granted_hours(
            block_hours=Decimal("10"), months=Fraction(16, 31)
        ) == Decimal("5.16")
