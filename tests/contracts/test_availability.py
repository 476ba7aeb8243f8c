import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from contracts.availability import (
    RecurrenceError,
    availability_percent,
    downtime,
    parse_recurrence,
    window_occurrences,
)
from contracts.choices import Service
from contracts.models import Contract, MaintenanceWindow, Outage
from contracts.selectors import contract_availability, contracts_availability
from contracts.services import contract_create
from msp.periods import Period

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


JUNE = (utc(2026, 6, 1), utc(2026, 7, 1))  # 30 days = 43,200 minutes


class TestArithmetic:
    def test_no_outage_is_100_percent(self):
        assert availability_percent(outages=[], maintenance=[], period=JUNE) == Decimal("100.000")

    def test_one_hour_down_in_june(self):
        outage = [(utc(2026, 6, 10, 8), utc(2026, 6, 10, 9))]
        # 1 - 60 / 43,200 = 99.8611 %
        assert availability_percent(outages=outage, maintenance=[], period=JUNE) == Decimal(
            "99.861"
        )

    def test_a_share_just_below_the_target_is_never_read_up_to_it(self):
        # 216 s down in 30 days: 99.99166... %, which reads 99.991, not 99.992.
        outage = [(utc(2026, 6, 10, 8), utc(2026, 6, 10, 8, 3, 36))]
        assert availability_percent(outages=outage, maintenance=[], period=JUNE) == Decimal(
            "99.991"
        )

    def test_maintenance_overlap_does_not_count(self):
        outage = [(utc(2026, 6, 7, 1), utc(2026, 6, 7, 4))]  # 3 h down
        window = [(utc(2026, 6, 7, 2), utc(2026, 6, 7, 3))]  # 1 h of it in maintenance
        assert downtime(outages=outage, maintenance=window, period=JUNE) == 2 * H

    def test_overlapping_outages_count_once(self):
        outages = [
            (utc(2026, 6, 2, 10), utc(2026, 6, 2, 12)),
            (utc(2026, 6, 2, 11), utc(2026, 6, 2, 13)),
        ]
        assert downtime(outages=outages, maintenance=[], period=JUNE) == 3 * H

    def test_outage_spanning_the_month_boundary_is_split(self):
        outage = [(utc(2026, 5, 31, 22), utc(2026, 6, 1, 2))]
        may = (utc(2026, 5, 1), utc(2026, 6, 1))
        assert downtime(outages=outage, maintenance=[], period=may) == 2 * H
        assert downtime(outages=outage, maintenance=[], period=JUNE) == 2 * H

    def test_months_are_local_and_dst_correct(self):
        march = Period.month(2026, 3).bounds("Europe/Berlin")
        october = Period.month(2026, 10).bounds("Europe/Berlin")
        assert march[1] - march[0] == timedelta(days=31) - H
        assert october[1] - october[0] == timedelta(days=31) + H
        assert march[0] == utc(2026, 2, 28, 23)


class TestRecurrence:
    def test_weekly_window_occurrences(self):
        start = datetime(2026, 6, 7, 2, 0, tzinfo=BERLIN)  # a Sunday
        found = window_occurrences(
            start=start, duration=2 * H, recurrence="FREQ=WEEKLY;BYDAY=SU", period=JUNE
        )
        assert [b.day for b, _ in found] == [7, 14, 21, 28]
        assert all(e - b == 2 * H for b, e in found)

    def test_a_window_running_into_the_period_counts(self):
        start = datetime(2026, 5, 31, 23, 0, tzinfo=UTC)
        found = window_occurrences(start=start, duration=2 * H, recurrence="", period=JUNE)
        assert found == ((start, start + 2 * H),)

    def test_bad_syntax(self):
        with pytest.raises(RecurrenceError, match="Not a valid recurrence rule"):
            parse_recurrence("FREQ=SOMETIMES", start=utc(2026, 1, 1))

    def test_a_rule_that_never_occurs_is_refused(self):
        began = time.perf_counter()
        with pytest.raises(RecurrenceError, match="never occurs"):
            parse_recurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", start=utc(2026, 1, 1))
        with pytest.raises(RecurrenceError, match="never occurs"):
            parse_recurrence("FREQ=WEEKLY;UNTIL=20250101T000000Z", start=utc(2026, 1, 1))
        assert time.perf_counter() - began < 2

    def test_sub_daily_rules_are_refused(self):
        with pytest.raises(RecurrenceError, match="daily, weekly, monthly or yearly"):
            parse_recurrence("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30", start=utc(2026, 1, 1))

    def test_a_window_across_spring_forward_lasts_its_real_duration(self):
        start = datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN)  # the clocks jump 02:00 -> 03:00
        [(begin, end)] = window_occurrences(
            start=start, duration=2 * H, recurrence="", period=(utc(2026, 3, 1), utc(2026, 4, 1))
        )
        assert end - begin == 2 * H
        assert end.astimezone(BERLIN).hour == 4


@pytest.mark.django_db
class TestStored:
    @pytest.fixture
    def contract(self, client_a, policy):
        client_a.timezone = "Europe/Berlin"
        client_a.save()
        return contract_create(
            client=client_a,
            number="C-7",
            name="Managed",
            start_date=date(2026, 1, 1),
            sla_policy=policy,
        )

    def test_service_availability_for_a_month(self, contract):
        Outage.objects.create(
            contract=contract,
            service=Service.NETWORK,
            start=utc(2026, 6, 10, 8),
            end=utc(2026, 6, 10, 9),
        )
        Outage.objects.create(
            contract=contract,
            service=Service.NETWORK,
            start=utc(2026, 6, 11, 8),
            end=utc(2026, 6, 11, 9),
            planned=True,
        )
        Outage.objects.create(
            contract=contract,
            service=Service.BACKUP,
            start=utc(2026, 6, 12, 8),
            end=utc(2026, 6, 12, 20),
        )
        MaintenanceWindow.objects.create(
            contract=contract,
            name="Patch night",
            start=datetime(2026, 6, 10, 9, 30, tzinfo=BERLIN),
            duration_minutes=60,
            recurrence="FREQ=WEEKLY",
        )
        # Network: 1 h unplanned, of which 08:00-08:30 UTC (09:30-10:30 Berlin) is in the window:
        # 30 min down of 43,200, 99.93055... %, cut to 99.930.
        measured = contract_availability(
            contract=contract,
            period=Period.month(2026, 6),
            services=[Service.NETWORK, Service.DATABASE],
        )
        assert measured[Service.NETWORK] == Decimal("99.930")
        assert measured[Service.DATABASE] == Decimal("100.000")

    def test_many_contracts_at_once_in_two_queries(
        self, contract, client_b, policy, django_assert_num_queries
    ):
        # A contract in New York with a window but no outage is up 100 %, whatever its windows;
        # the Berlin contract's outage is cut by its own window, not by New York's.
        client_b.timezone = "America/New_York"
        client_b.save()
        quiet = contract_create(
            client=client_b, number="C-8", name="Managed", start_date=date(2026, 1, 1),
            sla_policy=policy,
        )  # fmt: skip
        for each in (contract, quiet):
            MaintenanceWindow.objects.create(
                contract=each,
                name="Patch night",
                start=datetime(2026, 6, 1, 0, 0, tzinfo=ZoneInfo(each.client.timezone)),
                duration_minutes=120,
                recurrence="FREQ=DAILY",
            )
        Outage.objects.create(
            contract=contract,
            service=Service.NETWORK,
            start=datetime(2026, 6, 10, 1, 0, tzinfo=BERLIN),  # 1 h in the window, 1 h out
            end=datetime(2026, 6, 10, 3, 0, tzinfo=BERLIN),
        )
        contracts = list(
            Contract.objects.select_related("client").filter(pk__in=[contract.pk, quiet.pk])
        )
        with django_assert_num_queries(2):
            measured = contracts_availability(
                services_of={each: [Service.NETWORK] for each in contracts},
                period=Period.month(2026, 6),
            )
        # 60 min down of 43,200: 99.8611... %, cut to 99.861.
        assert measured == {
            contract.pk: {Service.NETWORK: Decimal("99.861")},
            quiet.pk: {Service.NETWORK: Decimal("100.000")},
        }

    def test_a_stored_window_keeps_its_local_hour_across_dst(self, contract):
        # Sundays 05:00-07:00 in Berlin, from summer time: stored in UTC (03:00), but recurring
        # at 05:00 local, which is 04:00 UTC once winter time begins on 25 October.
        window = MaintenanceWindow.objects.create(
            contract=contract,
            name="Patching",
            start=datetime(2026, 10, 18, 5, 0, tzinfo=BERLIN),
            duration_minutes=120,
            recurrence="FREQ=WEEKLY;BYDAY=SU",
        )
        window.refresh_from_db()
        found = window.occurrences((utc(2026, 10, 18), utc(2026, 11, 2)))
        assert [begin for begin, _ in found] == [
            utc(2026, 10, 18, 3),
            utc(2026, 10, 25, 4),
            utc(2026, 11, 1, 4),
        ]

    def test_window_validation(self, contract, client_b):
        from tests.factories import AssetFactory

        window = MaintenanceWindow(
            contract=contract,
            name="Never",
            start=utc(2026, 1, 1),
            duration_minutes=60,
            recurrence="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
            asset=AssetFactory(client=client_b),
        )
        with pytest.raises(ValidationError) as error:
            window.full_clean()
        assert set(error.value.message_dict) == {"recurrence", "asset"}

    def test_outage_must_end_after_it_starts(self, contract):
        with pytest.raises(ValidationError) as error:
            Outage(
                contract=contract, service=Service.CLOUD, start=utc(2026, 6, 2), end=utc(2026, 6, 1)
            ).full_clean()
        assert "end" in error.value.message_dict
