"""Benchmark: business-time `add` and `between`, ours against the businesstimedelta package.

    .venv/bin/python bench/sla_calendar.py [--cases 100000] [--seed 7]

Runs the same random (calendar, start, minutes) cases through both, on one core, and prints
operations per second, the ratio, how often the two agree, and how the cost of one `add`
grows with the span it covers (it should not).
"""

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import businesstimedelta
import holidays
import pytz

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from records import record

from sla.calendar import WorkingTime

YEARS = [2026, 2027]
CALENDAR_SPECS = [
    # (name, zone, start hour, end hour, holiday country)
    ("New York 09-17, US holidays", "America/New_York", 9, 17, "US"),
    ("Berlin 08-18, DE holidays", "Europe/Berlin", 8, 18, "DE"),
    ("Sydney 08-17, AU holidays", "Australia/Sydney", 8, 17, "AU"),
    ("London 09-17:30, GB holidays", "Europe/London", 9, 17.5, "GB"),
]


def build_calendars():
    built = []
    for name, zone, start, end, country in CALENDAR_SPECS:
        days = holidays.country_holidays(country, years=[*YEARS, 2028])
        start_min, end_min = int(start * 60), int(end * 60)
        ours = WorkingTime(
            timezone=zone, week={d: [(start_min, end_min)] for d in range(5)}, holidays=set(days)
        )
        workday = businesstimedelta.WorkDayRule(
            start_time=clock_time(start_min // 60, start_min % 60),
            end_time=clock_time(end_min // 60, end_min % 60),
            working_days=[0, 1, 2, 3, 4],
            tz=pytz.timezone(zone),
        )
        holiday_rule = businesstimedelta.HolidayRule(days, tz=pytz.timezone(zone))
        theirs = businesstimedelta.Rules([workday, holiday_rule])
        built.append((name, ours, theirs))
    return built


def make_cases(count: int, rng: random.Random, calendar_count: int):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    span = int(timedelta(days=700).total_seconds())
    return [
        (
            rng.randrange(calendar_count),
            base + timedelta(seconds=rng.randrange(span)),
            rng.randint(1, 5 * 600),  # up to about a week of business time
        )
        for _ in range(count)
    ]


def timed(function, cases):
    started = time.perf_counter()
    results = [function(case) for case in cases]
    return results, time.perf_counter() - started


def run(*, count: int = 100_000, seed: int = 7) -> list[dict]:
    """Compare both engines; print the figures and return them as records."""
    rng = random.Random(seed)
    calendars = build_calendars()
    cases = make_cases(count, rng, len(calendars))
    n = len(cases)
    print(f"{n:,} cases over {len(calendars)} calendars: " + "; ".join(c[0] for c in calendars))

    # Warm each calendar's per-year tables, as a long-running worker has them.
    for _, ours, _ in calendars:
        ours.add(datetime(2026, 1, 1, tzinfo=UTC), 10 * 600 * 52 * 2)

    ours_add, t_ours_add = timed(lambda c: calendars[c[0]][1].add(c[1], c[2]), cases)
    between_cases = [(c[0], c[1], due) for c, due in zip(cases, ours_add, strict=True)]
    ours_between, t_ours_between = timed(
        lambda c: calendars[c[0]][1].between(c[1], c[2]), between_cases
    )
    if any(got != timedelta(minutes=c[2]) for got, c in zip(ours_between, cases, strict=True)):
        raise SystemExit("between() must invert add()")

    theirs_add, t_theirs_add = timed(
        lambda c: c[1] + businesstimedelta.BusinessTimeDelta(calendars[c[0]][2], seconds=c[2] * 60),
        cases,
    )
    theirs_between, t_theirs_between = timed(
        lambda c: calendars[c[0]][2].difference(c[1], c[2]), between_cases
    )
    agree_add = sum(a == b for a, b in zip(ours_add, theirs_add, strict=True))
    agree_between = sum(
        delta.hours * 3600 + delta.seconds == c[2] * 60
        for delta, c in zip(theirs_between, cases, strict=True)
    )

    print(f"{'':24}{'ours':>14}{'businesstimedelta':>20}{'ratio':>9}")
    measured = []
    for label, ours_t, theirs_t in (
        ("add ops/s", t_ours_add, t_theirs_add),
        ("between ops/s", t_ours_between, t_theirs_between),
    ):
        print(f"{label:24}{n / ours_t:>14,.0f}{n / theirs_t:>20,.0f}{theirs_t / ours_t:>8.1f}x")
        operation = label.split()[0]
        measured += [
            record(f"{operation}, ours", rows=n, throughput=n / ours_t, unit="ops/s"),
            record(
                f"{operation}, businesstimedelta", rows=n, throughput=n / theirs_t, unit="ops/s"
            ),
        ]
    print(f"agreement with businesstimedelta: add {agree_add / n:.2%}, ", end="")
    print(f"between {agree_between / n:.2%}")

    # Cost against span: the same number of adds covering 1 day to about 4 years of work.
    ours = calendars[0][1]
    start = datetime(2026, 3, 2, 14, 0, tzinfo=ZoneInfo("America/New_York"))
    print("add cost by span (New York calendar):")
    for days in (1, 10, 100, 1000):
        minutes = days * 480
        repeats = 20_000
        started = time.perf_counter()
        for _ in range(repeats):
            ours.add(start, minutes)
        per_op = (time.perf_counter() - started) / repeats
        print(f"  {days:>5} business days: {per_op * 1e6:6.2f} us per add")
        measured.append(
            record(f"add over {days} business days, ours", throughput=1 / per_op, unit="ops/s")
        )
    return measured


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    run(count=options.cases, seed=options.seed)


if __name__ == "__main__":
    main()
