"""Calendar periods (months and quarters) and month arithmetic, written once for every app:
contract evaluations and renewals, availability, monthly reports and QBRs.

A `Period` is a span of local days; `bounds(timezone)` gives it as UTC instants in a client's
time zone, so that its length is real time (a March in Berlin is an hour shorter).
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from msp.choices import PeriodKind

MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3}


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), on the month's last day when it is shorter:
    31 January + 1 month is 28 or 29 February."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def earliest_local_date(now: datetime, zones) -> date:
    """Today in the calendar furthest behind among `zones` (names; UTC when there are none):
    a period that ended before it has ended for every one of them. Just after midnight UTC on
    the 1st, New York is still in the month before."""
    names = set(zones) or {"UTC"}
    return min(now.astimezone(ZoneInfo(name)).date() for name in names)


@dataclass(frozen=True, order=True)
class Period:
    kind: str
    first_day: date

    def __post_init__(self):
        if self.kind not in MONTHS_IN:
            raise ValueError(f"Unknown period kind {self.kind!r}.")
        if self.first_day.day != 1 or (self.first_day.month - 1) % self.months:
            raise ValueError(f"{self.first_day} does not start a {self.kind}.")

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        return cls(PeriodKind.MONTH, date(year, month, 1))

    @classmethod
    def containing(cls, kind: str, day: date) -> "Period":
        months = MONTHS_IN[kind]
        return cls(kind, date(day.year, (day.month - 1) // months * months + 1, 1))

    @classmethod
    def last_finished(cls, kind: str, today: date) -> "Period":
        """The latest period that ended before `today` (last month, last quarter)."""
        return cls.containing(kind, today).shifted(-1)

    @property
    def months(self) -> int:
        return MONTHS_IN[self.kind]

    @property
    def end_day(self) -> date:
        """The first day after the period."""
        return add_months(self.first_day, self.months)

    def shifted(self, periods: int) -> "Period":
        return Period(self.kind, add_months(self.first_day, periods * self.months))

    def bounds(self, timezone_name: str) -> tuple[datetime, datetime]:
        """The period as UTC instants, its days taken in the given time zone."""
        zone = ZoneInfo(timezone_name)
        start = datetime.combine(self.first_day, datetime.min.time(), tzinfo=zone)
        end = datetime.combine(self.end_day, datetime.min.time(), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"Q{(self.first_day.month - 1) // 3 + 1} {self.first_day.year}"
        return self.first_day.strftime("%B %Y")

    @property
    def short_label(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return self.label
        return self.first_day.strftime("%b %Y")

    @property
    def slug(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"{self.first_day.year}-q{(self.first_day.month - 1) // 3 + 1}"
        return self.first_day.strftime("%Y-%m")
