"""A report's stored figures arranged for reading: the sections of the HTML page, the PDF
(same template) and the CSV. Only reads the snapshot, so a report always shows what it
stored."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

import markdown
import nh3
from django.template.defaultfilters import pluralize
from django.utils.safestring import SafeString, mark_safe

from contracts.choices import LadderStep, Service
from contracts.selectors import target_met
from reporting import charts
from sla.choices import Priority
from tickets.choices import TicketSource, TicketType

CLOCK_NAMES = {"response": "first response", "resolution": "resolution", "next_update": "update"}
SHORT_CLOCK_NAMES = {"response": "resp.", "resolution": "resol.", "next_update": "upd."}
# The account manager's summary and recommendations are Markdown. What they may become: text
# structure and links, nothing that runs, loads or styles (no script, image, style or on*
# attribute: the PDF renderer must fetch nothing, the page must run nothing).
MARKDOWN_TAGS = {
    *("p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote"),
    *("ul", "ol", "li", "h3", "h4", "h5", "h6", "a"),
    *("table", "thead", "tbody", "tr", "th", "td"),
}
MARKDOWN_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
LINK_SCHEMES = {"http", "https", "mailto"}


def markdown_as_html(text: str) -> SafeString:
    """Markdown written by staff, as sanitised HTML for the report page and its PDF. A single
    line break stays a line break (nl2br), as the plain text was shown before."""
    html = markdown.markdown(text, extensions=["sane_lists", "nl2br", "tables"])
    cleaned = nh3.clean(
        html,
        tags=MARKDOWN_TAGS,
        attributes=MARKDOWN_ATTRIBUTES,
        url_schemes=LINK_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 (sanitised by nh3 just above)


LADDER_STEPS = dict(LadderStep.choices)
SERVICES = dict(Service.choices)


def choice_label(choices: dict[str, str], value: str) -> str:
    """What people read for a stored choice ("service_desk" reads "Service desk"): its label,
    or, for a value no longer among the choices (an older snapshot keeps it), the value made
    readable all the same. Never the internal name."""
    return choices.get(value) or value.replace("_", " ").strip().capitalize()


def _as_written(value: str) -> str:
    return value  # names people gave (sites, priorities "P1"): shown as they wrote them


# Volume groups: stored dimension prefix, heading, how a stored value reads.
VOLUME_GROUPS = (
    ("priority", "By priority", _as_written),
    ("type", "By type", lambda value: choice_label(dict(TicketType.choices), value)),
    ("source", "By source", lambda value: choice_label(dict(TicketSource.choices), value)),
    ("site", "By site", lambda value: "No site" if value == "-" else value),
)


def figure_label(key: str, dimension: str) -> str:
    """A compliance or availability figure named as the report names it: "P1 first response",
    "Service desk availability"."""
    if key == "availability":
        return f"{choice_label(SERVICES, dimension)} availability"
    if key == "compliance":
        return ReportContent.compliance_label(dimension)
    return dimension


# How precisely each unit is shown: percentages to 0.01 and cut down, the precision compliance
# is measured and judged at (contracts.selectors.compliance_share), so a share below its target
# never reads as reaching it; ratings to 0.01, counts whole, and durations cut down like the SLA
# countdowns (tickets' seconds_as_duration): whole minutes, and whole hours from a day on.
SHOWN_STEP = {
    "%": Decimal("0.01"),
    "seconds": Decimal(60),
    "rating": Decimal("0.01"),
    "count": Decimal(1),
}
CUT_DOWN = {"%", "seconds"}
DAY_SECONDS, HOUR_SECONDS = Decimal(86400), Decimal(3600)


def as_shown(value, unit: str) -> Decimal:
    """A figure at the precision its page shows; a change is the difference of two of these, so
    it always agrees with the figures beside it."""
    step = SHOWN_STEP[unit]
    if unit == "seconds" and abs(Decimal(value)) >= DAY_SECONDS:
        step = HOUR_SECONDS  # a day or more reads in days and hours ("1 d 4 h")
    rounding = ROUND_DOWN if unit in CUT_DOWN else ROUND_HALF_UP
    return (Decimal(value) / step).quantize(Decimal(1), rounding=rounding) * step


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True)
class Row:
    label: str
    value: Decimal | None = None
    count: int = 0
    target: Decimal | None = None
    short_label: str = ""
    kind: str = ""  # "availability": measured to 0.001 %, not at the compliance precision

    @property
    def below_target(self) -> bool:
        """A missed target, by the rule the contract evaluation applies."""
        return self.target is not None and not target_met(self.value, self.target)


FEW = 5  # fewer figures than this behind a median: said beside it


@dataclass(frozen=True)
class Headline:
    label: str
    value: Decimal | int | None
    unit: str  # "%", "seconds", "count", "rating"
    previous: Decimal | int | None
    higher_is_better: bool
    count: int | None = None  # how many things the figure is made of, when that matters
    noun: str = ""  # what those things are ("first response")
    live: bool = False  # a period still running (the dashboard's month so far)
    business_time: bool = False

    @property
    def under_a_minute(self) -> bool:
        """A duration that reads "0 min" once cut down to the minute."""
        return (
            self.unit == "seconds"
            and self.value is not None
            and as_shown(self.value, "seconds") == 0
        )

    @property
    def note(self) -> str:
        """What a reader needs to read the figure right: none yet, how few it is made of, why a
        time is under a minute."""
        if self.count is None or not self.noun:
            return ""
        if self.value is None or not self.count:
            return f"No {self.noun} yet." if self.live else f"No {self.noun} in the period."
        notes = []
        if self.count < FEW:
            so_far = " so far" if self.live else ""
            notes.append(f"Of {self.count} {self.noun}{pluralize(self.count)}{so_far}.")
        if self.under_a_minute and self.business_time:
            notes.append(
                "Counted in business hours: a first reply sent outside them takes no time."
            )
        return " ".join(notes)

    @property
    def change(self) -> Decimal | None:
        """The change against the previous period as the two figures read, so that what reads
        as no change (a few seconds, 0.01 points) is not coloured better or worse."""
        if self.value is None or self.previous is None:
            return None
        return as_shown(self.value, self.unit) - as_shown(self.previous, self.unit)

    @property
    def improved(self) -> bool | None:
        if not self.change:
            return None
        return (self.change > 0) == self.higher_is_better


class ReportContent:
    """Sections of one report (or of the live month) from its figures."""

    def __init__(self, figures: dict):
        self.figures = figures
        self.period = figures["period"]
        self.client = figures["client"]
        self.contract = figures["contract"]
        self.trend = figures["trend"]
        self.zone = ZoneInfo(self.client["timezone"])
        self._rows: dict[str, list[dict]] = {}
        for row in figures["metrics"]:
            self._rows.setdefault(row["key"], []).append(row)

    def _one(self, key: str, dimension: str = "") -> dict | None:
        return next((r for r in self._rows.get(key, []) if r["dimension"] == dimension), None)

    def _value(self, key: str, dimension: str = "") -> Decimal | None:
        row = self._one(key, dimension)
        return _decimal(row["value"]) if row else None

    def _count(self, key: str, dimension: str = "") -> int:
        row = self._one(key, dimension)
        return row["count"] if row else 0

    @property
    def previous_label(self) -> str:
        return self.trend[-2]["period"] if len(self.trend) > 1 else ""

    @property
    def is_live(self) -> bool:
        """Figures of a period still running when computed (the dashboard's month so far)."""
        computed, end = self.figures.get("computed_at"), self.period.get("end")
        return bool(computed and end) and datetime.fromisoformat(computed) < datetime.fromisoformat(
            end
        )

    @property
    def is_quarter(self) -> bool:
        return self.period["kind"] == "quarter"

    @property
    def has_data(self) -> bool:
        return bool(self._count("volume", "all") or self._count("compliance", "all"))

    @cached_property
    def headlines(self) -> list[Headline]:
        previous = self.trend[-2] if len(self.trend) > 1 else {}
        return [
            Headline(
                "SLA compliance",
                self._value("compliance", "all"),
                "%",
                _decimal(previous.get("compliance")),
                True,
            ),
            Headline(
                "Tickets opened",
                self._count("volume", "all"),
                "count",
                previous.get("volume"),
                False,
            ),
            Headline(
                "Median first response",
                self._value("response_p50", "all"),
                "seconds",
                _decimal(previous.get("response_p50")),
                False,
                count=self._count("response_p50", "all"),
                noun="first response",
                live=self.is_live,
                business_time=True,
            ),
            Headline(
                "Mean time to resolve",
                self._value("mttr"),
                "seconds",
                _decimal(previous.get("mttr")),
                False,
                count=self._count("mttr"),
                noun="resolved ticket",
                live=self.is_live,
            ),
            Headline(
                "First contact resolution",
                self._value("fcr"),
                "%",
                _decimal(previous.get("fcr")),
                True,
            ),
            Headline(
                "Satisfaction (1-5)",
                self._value("csat"),
                "rating",
                _decimal(previous.get("csat")),
                True,
            ),
        ]

    @cached_property
    def compliance(self) -> list[Row]:
        order = {p: i for i, p in enumerate(Priority.values)}
        rows = [r for r in self._rows.get("compliance", []) if r["dimension"] != "all"]
        rows.sort(key=lambda r: (order.get(r["dimension"].split("/")[0], 99), r["dimension"]))
        return [
            Row(
                self.compliance_label(r["dimension"]),
                _decimal(r["value"]),
                r["count"],
                _decimal(r["target"]),
                short_label=self.compliance_label(r["dimension"], short=True),
            )
            for r in rows
        ]

    @staticmethod
    def compliance_label(dimension: str, short: bool = False) -> str:
        priority, _, clock = dimension.partition("/")
        names = SHORT_CLOCK_NAMES if short else CLOCK_NAMES
        return f"{priority} {choice_label(names, clock).lower()}"

    @property
    def compliance_overall(self) -> Row:
        return Row("All", self._value("compliance", "all"), self._count("compliance", "all"))

    @property
    def exempted_breaches(self) -> int:
        return self._count("exempted_breaches")

    @cached_property
    def times(self) -> list[dict]:
        """Response and resolution business times (p50, p90) per priority, then overall."""
        groups = [*Priority.values, "all"]
        table = []
        for group in groups:
            entry = {"label": "All priorities" if group == "all" else group, "count": 0}
            for key in ("response_p50", "response_p90", "resolution_p50", "resolution_p90"):
                row = self._one(key, group)
                entry[key] = _decimal(row["value"]) if row else None
                if row and key.startswith("resolution"):
                    entry["count"] = row["count"]
            if any(entry[k] is not None for k in entry if k.endswith(("50", "90"))):
                table.append(entry)
        return table

    @property
    def mttr(self) -> Decimal | None:
        return self._value("mttr")

    @property
    def resolved(self) -> int:
        return self._count("mttr")

    @property
    def fcr(self) -> Decimal | None:
        return self._value("fcr")

    @property
    def csat(self) -> Row:
        return Row("Average rating", self._value("csat"), self._count("csat"))

    @property
    def csat_response(self) -> Row:
        return Row("Surveys answered", self._value("csat_response"), self._count("csat_response"))

    @property
    def volume(self) -> int:
        return self._count("volume", "all")

    @property
    def backlog(self) -> int:
        return self._count("backlog")

    @cached_property
    def volume_groups(self) -> list[tuple[str, list[Row]]]:
        groups = []
        for prefix, title, label in VOLUME_GROUPS:
            values = (
                (r["dimension"].partition(":")[2], r["count"])
                for r in self._rows.get("volume", [])
                if r["dimension"].startswith(f"{prefix}:")
            )
            rows = [Row(label(value), count=count) for value, count in values]
            if rows:
                groups.append((title, rows))
        return groups

    def _listed(self, key: str) -> list[Row]:
        return [
            Row(r["dimension"], _decimal(r["value"]), r["count"], _decimal(r["target"]))
            for r in self._rows.get(key, [])
        ]

    @property
    def top_assets(self) -> list[Row]:
        return sorted(self._listed("top_asset"), key=lambda row: (-row.count, row.label))

    @property
    def top_categories(self) -> list[Row]:
        return sorted(self._listed("top_category"), key=lambda row: (-row.count, row.label))

    @property
    def availability(self) -> list[Row]:
        return [
            Row(
                choice_label(SERVICES, row.label),
                row.value,
                row.count,
                row.target,
                kind="availability",
            )
            for row in self._listed("availability")
        ]

    @property
    def maintenance(self) -> list[Row]:
        return self._listed("maintenance")

    @property
    def hours_used(self) -> Decimal:
        return self._value("hours_used") or Decimal(0)

    @property
    def block_hours(self) -> Decimal | None:
        return self._value("block_hours")

    @property
    def block_remaining(self) -> Decimal | None:
        if self.block_hours is None:
            return None
        return self.block_hours - self.hours_used

    @property
    def credit(self) -> dict | None:
        row = next(iter(self._rows.get("credit", [])), None)
        if row is None:
            return None
        return {
            "amount": _decimal(row["value"]),
            "currency": row["dimension"],
            "missed": row["count"],
        }

    @cached_property
    def credits(self) -> list[dict]:
        """Each evaluated month's credit with the missed targets it was computed from (figures
        as evaluated), oldest first; empty in a report stored before they were kept."""
        currency = self.credit["currency"] if self.credit else ""
        missed: dict[str, list[Row]] = {}
        for row in self._rows.get("credit_missed", []):
            month, kind, name = row["dimension"].split(" ", 2)
            label = (
                figure_label("availability", name)
                if kind == "availability"
                else self.compliance_label(name)
            )
            target = _decimal(row["target"])
            missed.setdefault(month, []).append(
                Row(label, _decimal(row["value"]), row["count"], target, kind=kind)
            )
        percents = {
            r["dimension"]: _decimal(r["value"]) for r in self._rows.get("credit_percent", [])
        }
        credits = []
        for row in sorted(self._rows.get("credit_month", []), key=lambda r: r["dimension"]):
            month = row["dimension"]
            credits.append(
                {
                    "month": date.fromisoformat(f"{month}-01").strftime("%B %Y"),
                    "amount": _decimal(row["value"]),
                    "currency": currency,
                    "percent": percents.get(month),
                    "missed_count": row["count"],
                    "missed": missed.get(month, []),
                }
            )
        return credits

    @property
    def missed_targets(self) -> list[Row]:
        """The targets this report shows as missed, labelled as in its credits."""
        availability = [
            Row(f"{row.label} availability", row.value, row.count, row.target, kind=row.kind)
            for row in self.availability
        ]
        return [row for row in [*self.compliance, *availability] if row.below_target]

    @property
    def credit_traceable(self) -> bool:
        """Whether a month's credit was computed from the very figures the report shows: its
        evaluated missed targets are the rows shown as missed. (A quarter's credits trace to
        each month's report.) False when a month's evaluation predates a change, such as a
        breach exempted since."""
        if self.is_quarter or not self.credits:
            return True
        [credit] = self.credits

        def figures(rows):
            return sorted((r.label, r.value, r.count, r.target) for r in rows)

        return figures(credit["missed"]) == figures(self.missed_targets)

    @property
    def ladder(self) -> dict | None:
        row = next(iter(self._rows.get("ladder", [])), None)
        if row is None:
            return None
        step = row["dimension"]
        return {"step": step, "label": choice_label(LADDER_STEPS, step), "months": row["count"]}

    @property
    def breaches(self) -> list[dict]:
        return [
            {
                **row,
                "breached_at": datetime.fromisoformat(row["breached_at"]).astimezone(self.zone),
                "clock_name": choice_label(CLOCK_NAMES, row["clock"]).lower(),
            }
            for row in self.figures["breaches"]["rows"]
        ]

    @property
    def breaches_total(self) -> int:
        return self.figures["breaches"]["total"]

    @cached_property
    def compliance_chart(self):
        return charts.compliance_bars(self.compliance)

    @cached_property
    def trend_chart(self):
        return charts.trend_lines(self.trend)

    @cached_property
    def volume_chart(self):
        return charts.volume_bars(self.trend)
