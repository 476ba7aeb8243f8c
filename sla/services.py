"""Writes to calendars and policies. Each is atomic and keeps engine caches correct."""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta

import holidays as holiday_presets
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from msp.audit.registry import audit_created
from sla.calendar import WEEKDAY_NAMES, check_intervals
from sla.choices import ClockKind, EscalationTrigger, HolidaySource, Priority
from sla.clock import MilestoneKey
from sla.models import (
    BusinessCalendar,
    CalendarVersion,
    EscalationRule,
    Holiday,
    SLAClock,
    SLAPolicy,
    SLATarget,
    WorkingInterval,
)

MAX_PRESET_YEARS = 30


def working_intervals_validate(intervals: Iterable[tuple[int, int, int]]) -> None:
    """Reject overlapping or inverted intervals, given as (weekday, start, end) minutes."""
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, start, end in intervals:
        by_day.setdefault(weekday, []).append((start, end))
    errors = [
        f"{WEEKDAY_NAMES[weekday]}: {message}"
        for weekday, spans in sorted(by_day.items())
        for message in check_intervals(spans)
    ]
    if errors:
        raise ValidationError(errors, code="invalid_intervals")


def _minutes_to_time(minutes: int) -> time:
    return time(0) if minutes == 1440 else time(minutes // 60, minutes % 60)


def _calendar_rules(calendar_id: int) -> dict:
    """The calendar's rules as stored now, read afresh (an instance may hold unsaved edits)."""
    row = BusinessCalendar.objects.values("timezone", "is_24x7").get(pk=calendar_id)
    week = sorted(
        [interval.weekday, interval.start_minute, interval.end_minute]
        for interval in WorkingInterval.objects.filter(calendar_id=calendar_id)
    )
    holidays = sorted(
        day.isoformat()
        for day in Holiday.objects.filter(calendar_id=calendar_id).values_list("date", flat=True)
    )
    return {**row, "week": week, "holidays": holidays}


def calendar_versions_ensure(*, calendar: BusinessCalendar) -> None:
    """Start an edit: lock the calendar and make sure the rules in force until now are on
    record (a calendar made before versions, or by hand, gets them as its first version).
    Call inside the edit's transaction, before changing anything."""
    BusinessCalendar.objects.select_for_update().filter(pk=calendar.pk).values_list("pk").get()
    if not CalendarVersion.objects.filter(calendar_id=calendar.pk).exists():
        CalendarVersion.objects.create(calendar_id=calendar.pk, **_calendar_rules(calendar.pk))


def calendar_version_append(*, calendar: BusinessCalendar) -> CalendarVersion | None:
    """Record the calendar's current rules as in force from now on.

    Time already elapsed stays measured on the earlier versions; only what is still to come
    (the deadlines of running clocks) moves. A calendar's first version is in force from the
    beginning of time. Nothing is appended when the rules did not change (a renamed holiday,
    a new description). Call inside the edit's transaction, after `calendar_versions_ensure`
    and the changes.
    """
    rules = _calendar_rules(calendar.pk)
    latest = CalendarVersion.objects.filter(calendar_id=calendar.pk).order_by("-pk").first()
    if latest is not None and all(getattr(latest, name) == value for name, value in rules.items()):
        return None
    effective_from = None
    if latest is not None:
        effective_from = timezone.now()
        if latest.effective_from is not None and effective_from <= latest.effective_from:
            # Versions take effect in order even if this server's clock lags another's.
            effective_from = latest.effective_from + timedelta(microseconds=1)
    version = CalendarVersion.objects.create(
        calendar_id=calendar.pk, effective_from=effective_from, **rules
    )
    if effective_from is not None:
        _running_clocks_recheck(calendar_id=calendar.pk, at=effective_from)
    # Engines are cached by the calendar's updated_at: move it on with every version, even
    # within one clock tick, so that no cached engine outlives the rules it was built from.
    last_change = BusinessCalendar.objects.values_list("updated_at", flat=True).get(pk=calendar.pk)
    calendar.updated_at = max(timezone.now(), last_change + timedelta(microseconds=1))
    BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=calendar.updated_at)
    return version


def _running_clocks_recheck(*, calendar_id: int, at: datetime) -> int:
    """A new version may move the deadlines of clocks still running on the calendar: make them
    due for the timer sweep at once, which recomputes their deadlines (and the ticket's) and
    fires whatever the new rules make due, once. One set-based update; a running clock's
    remaining time is measured on its target's calendar, as its history records it."""
    return (
        SLAClock.objects.filter(stopped_at__isnull=True, history__target__1=calendar_id)
        .exclude(next_check_at__lte=at)
        .update(next_check_at=at)
    )


def _calendar_rows_create(
    *,
    name: str,
    timezone_name: str,
    intervals: Iterable[tuple[int, int, int]],
    is_24x7: bool,
    holiday_country: str,
    holiday_subdivision: str,
    description: str,
) -> BusinessCalendar:
    calendar = BusinessCalendar(
        name=name,
        timezone=timezone_name,
        is_24x7=is_24x7,
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
        description=description,
    )
    calendar.full_clean()
    calendar.save()
    _intervals_replace(calendar=calendar, intervals=intervals)
    return calendar


@transaction.atomic
def calendar_create(
    *,
    name: str,
    timezone_name: str,
    intervals: Iterable[tuple[int, int, int]] = (),
    is_24x7: bool = False,
    holiday_country: str = "",
    holiday_subdivision: str = "",
    description: str = "",
    holidays: Mapping[date, str] | None = None,
) -> BusinessCalendar:
    """A new calendar; its rules are its first version, in force from the beginning of time."""
    calendar = _calendar_rows_create(
        name=name,
        timezone_name=timezone_name,
        intervals=intervals,
        is_24x7=is_24x7,
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
        description=description,
    )
    if holidays:
        _holidays_replace(calendar=calendar, holidays=holidays)
    calendar_version_append(calendar=calendar)
    return calendar


def _intervals_replace(
    *, calendar: BusinessCalendar, intervals: Iterable[tuple[int, int, int]]
) -> None:
    intervals = list(intervals)
    working_intervals_validate(intervals)
    calendar.intervals.all().delete()
    created = WorkingInterval.objects.bulk_create(
        WorkingInterval(
            calendar=calendar,
            weekday=weekday,
            start_time=_minutes_to_time(start),
            end_time=_minutes_to_time(end),
        )
        for weekday, start, end in intervals
    )
    audit_created(created)  # bulk_create sends no signal for the audit trail


@transaction.atomic
def calendar_intervals_set(
    *, calendar: BusinessCalendar, intervals: Iterable[tuple[int, int, int]]
) -> None:
    """Replace the calendar's weekly working intervals, given as (weekday, start, end) minutes."""
    calendar_versions_ensure(calendar=calendar)
    _intervals_replace(calendar=calendar, intervals=intervals)
    calendar_version_append(calendar=calendar)


@transaction.atomic
def holiday_add(*, calendar: BusinessCalendar, day: date, name: str) -> Holiday:
    calendar_versions_ensure(calendar=calendar)
    holiday, _ = Holiday.objects.update_or_create(
        calendar=calendar, date=day, defaults={"name": name, "source": HolidaySource.MANUAL}
    )
    calendar_version_append(calendar=calendar)
    return holiday


@transaction.atomic
def holiday_delete(*, holiday: Holiday) -> None:
    calendar = holiday.calendar
    calendar_versions_ensure(calendar=calendar)
    holiday.delete()
    calendar_version_append(calendar=calendar)


def _holidays_replace(*, calendar: BusinessCalendar, holidays: Mapping[date, str]) -> None:
    # Dates already on the calendar keep their source; new ones count as entered by hand.
    existing = {holiday.date: holiday for holiday in calendar.holidays.all()}
    calendar.holidays.exclude(date__in=list(holidays)).delete()
    for day, name in holidays.items():
        if day not in existing:
            Holiday.objects.create(
                calendar=calendar, date=day, name=name, source=HolidaySource.MANUAL
            )
        elif existing[day].name != name:
            existing[day].name = name
            existing[day].save(update_fields=["name"])  # a save, so that it is audited


def holiday_preset_dates(
    *, country: str, subdivision: str, years: Iterable[int]
) -> dict[date, str]:
    """Public holidays of a country (and region) from the `holidays` package."""
    country, subdivision = country.upper(), subdivision.upper()
    supported = holiday_presets.list_supported_countries()
    if country not in supported:
        raise ValidationError({"holiday_country": f"No holiday preset for country {country!r}."})
    if subdivision and subdivision not in supported[country]:
        raise ValidationError(
            {"holiday_subdivision": f"{country} has no subdivision {subdivision!r}."}
        )
    found = holiday_presets.country_holidays(country, subdiv=subdivision or None, years=list(years))
    return dict(found.items())


@transaction.atomic
def calendar_holidays_import(*, calendar: BusinessCalendar, first_year: int, last_year: int) -> int:
    """Materialise the calendar's country preset for a range of years, as editable rows.

    Dates already on the calendar (for example entered by hand) are left as they are.
    Returns the number of holidays added.
    """
    calendar_versions_ensure(calendar=calendar)
    created = _preset_holidays_create(calendar=calendar, first_year=first_year, last_year=last_year)
    calendar_version_append(calendar=calendar)
    return created


def _preset_holidays_create(*, calendar: BusinessCalendar, first_year: int, last_year: int) -> int:
    if not calendar.holiday_country:
        raise ValidationError({"holiday_country": "Set a country to import its holidays."})
    if last_year < first_year or last_year - first_year >= MAX_PRESET_YEARS:
        raise ValidationError(
            {"last_year": f"Give a range of 1 to {MAX_PRESET_YEARS} years, first to last."}
        )
    found = holiday_preset_dates(
        country=calendar.holiday_country,
        subdivision=calendar.holiday_subdivision,
        years=range(first_year, last_year + 1),
    )
    existing = set(calendar.holidays.values_list("date", flat=True))
    created = Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=day, name=name[:150], source=HolidaySource.PRESET)
        for day, name in sorted(found.items())
        if day not in existing
    )
    audit_created(created)  # bulk_create sends no signal for the audit trail
    return len(created)


# The default policy follows common MSP practice; minutes are business minutes of its calendar
# (P1 on a 24x7 calendar). A business day is 08:00-18:00, so "next business day" is 600 minutes.
BUSINESS_DAY_MINUTES = 600
DEFAULT_TARGETS = {
    Priority.P1: (15, 4 * 60, "24x7"),
    Priority.P2: (60, 8 * 60, None),
    Priority.P3: (BUSINESS_DAY_MINUTES, 3 * BUSINESS_DAY_MINUTES, None),
    Priority.P4: (2 * BUSINESS_DAY_MINUTES, 10 * BUSINESS_DAY_MINUTES, None),
}
DEFAULT_POLICY_NAME = "Standard MSP SLA"
ALWAYS_ON_CALENDAR_NAME = "24x7"


@transaction.atomic
def default_policy_ensure(
    *, timezone_name: str = "America/New_York", holiday_country: str = "US"
) -> SLAPolicy:
    """Create the default calendars and policy if missing; never changes existing ones."""
    always_on = BusinessCalendar.objects.filter(name=ALWAYS_ON_CALENDAR_NAME).first()
    if always_on is None:
        always_on = calendar_create(
            name=ALWAYS_ON_CALENDAR_NAME,
            timezone_name="UTC",
            is_24x7=True,
            description="Round the clock, every day of the year (critical incidents).",
        )
    business_name = f"Business hours ({timezone_name})"
    business = BusinessCalendar.objects.filter(name=business_name).first()
    if business is None:
        # Made with its public holidays in one go: one first version, holidays included.
        business = _calendar_rows_create(
            name=business_name,
            timezone_name=timezone_name,
            intervals=[(weekday, 8 * 60, 18 * 60) for weekday in range(5)],
            is_24x7=False,
            holiday_country=holiday_country,
            holiday_subdivision="",
            description="Monday to Friday, 08:00-18:00, public holidays off.",
        )
        this_year = timezone.now().year
        _preset_holidays_create(
            calendar=business, first_year=this_year - 1, last_year=this_year + 2
        )
        calendar_version_append(calendar=business)
    policy = SLAPolicy.objects.filter(name=DEFAULT_POLICY_NAME).first()
    if policy is None:
        policy = SLAPolicy.objects.create(
            name=DEFAULT_POLICY_NAME,
            description="P1 15 min / 4 h round the clock; P2 1 h / 8 business hours; "
            "P3 next business day / 3 business days; P4 2 / 10 business days.",
            calendar=business,
            is_default=not SLAPolicy.objects.filter(is_default=True).exists(),
        )
        for priority, (response, resolution, calendar_name) in DEFAULT_TARGETS.items():
            own_calendar = always_on if calendar_name == ALWAYS_ON_CALENDAR_NAME else None
            SLATarget.objects.create(
                policy=policy,
                priority=priority,
                response_minutes=response,
                resolution_minutes=resolution,
                response_calendar=own_calendar,
                resolution_calendar=own_calendar,
            )
    escalation_rules_default_ensure(policy=policy)
    return policy


def _assign(instance, fields: dict, *, allowed: tuple[str, ...]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Unexpected fields for {type(instance).__name__}: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(instance, name, value)


CALENDAR_FIELDS = (
    "name",
    "timezone",
    "is_24x7",
    "holiday_country",
    "holiday_subdivision",
    "description",
)


@transaction.atomic
def calendar_update(
    *,
    calendar: BusinessCalendar,
    intervals: Iterable[tuple[int, int, int]] | None = None,
    holidays: Mapping[date, str] | None = None,
    **fields,
) -> BusinessCalendar:
    """Change a calendar's fields, and its week and holidays when given, as one change: one
    new version from now on if its rules changed."""
    calendar_versions_ensure(calendar=calendar)
    _assign(calendar, fields, allowed=CALENDAR_FIELDS)
    calendar.full_clean()
    calendar.save()
    if intervals is not None:
        _intervals_replace(calendar=calendar, intervals=intervals)
    if holidays is not None:
        _holidays_replace(calendar=calendar, holidays=holidays)
    calendar_version_append(calendar=calendar)
    return calendar


POLICY_FIELDS = (
    "name",
    "description",
    "calendar",
    "first_warning_percent",
    "second_warning_percent",
    "pause_statuses",
    "next_update_minutes",
    "is_default",
)
TARGET_FIELDS = (
    "response_minutes",
    "resolution_minutes",
    "response_calendar",
    "resolution_calendar",
)


@transaction.atomic
def policy_save(
    *, policy: SLAPolicy | None = None, targets: dict[str, dict], **fields
) -> SLAPolicy:
    """Create or update a policy with its four priority targets, as one change."""
    if set(targets) != set(Priority.values):
        raise ValidationError("Every priority P1-P4 needs a response and a resolution target.")
    policy = policy or SLAPolicy()
    _assign(policy, fields, allowed=POLICY_FIELDS)
    if policy.is_default:
        # Only one default policy: hand the flag over in the same transaction (rolled back
        # with everything else if validation fails below).
        # Row by row (there is at most one), so that the audit trail records the hand-over.
        for previous in SLAPolicy.objects.filter(is_default=True).exclude(pk=policy.pk):
            previous.is_default = False
            previous.save(update_fields=["is_default", "updated_at"])
    policy.full_clean()
    policy.save()
    for priority, values in targets.items():
        target = SLATarget(
            policy=policy,
            priority=priority,
            **{name: values[name] for name in TARGET_FIELDS if name in values},
        )
        target.full_clean(exclude=["policy"], validate_unique=False)
        SLATarget.objects.update_or_create(
            policy=policy,
            priority=priority,
            defaults={name: getattr(target, name) for name in TARGET_FIELDS},
        )
    return policy


# Escalation rules -------------------------------------------------------------------------


def escalation_rules_of(*, policy_id: int) -> list[EscalationRule]:
    return list(
        EscalationRule.objects.filter(policy_id=policy_id, is_active=True)
        .select_related("reassign_to")
        .order_by("pk")
    )


def escalation_rules_matching(
    rules: list[EscalationRule], *, trigger: str, priority: str, clock_kind: str, key: MilestoneKey
) -> list[EscalationRule]:
    """The rules, among a policy's, that act on one milestone of one clock."""
    return [
        rule
        for rule in rules
        if rule.trigger == trigger
        and rule.applies_to(priority=priority, clock_kind=clock_kind)
        and (
            trigger != EscalationTrigger.UNACKNOWLEDGED
            or key == MilestoneKey.unacknowledged(rule.pk)
        )
    ]


DEFAULT_ESCALATION_RULES = [
    {
        "name": "First warning: tell the assignee",
        "trigger": EscalationTrigger.FIRST_WARNING,
        "notify_assignee": True,
    },
    {
        "name": "Second warning: tell the assignee and the team lead",
        "trigger": EscalationTrigger.SECOND_WARNING,
        "notify_assignee": True,
        "notify_team_lead": True,
    },
    {
        "name": "Breach: escalate to the next tier, tell the team lead and account manager",
        "trigger": EscalationTrigger.BREACH,
        "raise_tier": True,
        "notify_assignee": True,
        "notify_team_lead": True,
        "notify_account_manager": True,
    },
    {
        "name": "P1 not acknowledged after 10 minutes: tell the team lead",
        "trigger": EscalationTrigger.UNACKNOWLEDGED,
        "clock_kind": ClockKind.RESPONSE,
        "priorities": [Priority.P1],
        "minutes": 10,
        "notify_assignee": False,
        "notify_team_lead": True,
    },
]


@transaction.atomic
def escalation_rules_default_ensure(*, policy: SLAPolicy) -> int:
    """Give a policy without escalation rules the default ladder; returns rules created."""
    if policy.escalation_rules.exists():
        return 0
    for spec in DEFAULT_ESCALATION_RULES:
        rule = EscalationRule(policy=policy, **spec)
        rule.full_clean()
        rule.save()
    return len(DEFAULT_ESCALATION_RULES)


RULE_FIELDS = (
    "name",
    "is_active",
    "trigger",
    "clock_kind",
    "priorities",
    "minutes",
    "raise_tier",
    "reassign_to",
    "notify_assignee",
    "notify_team_lead",
    "notify_account_manager",
    "notify_client_contact",
    "notify_email",
)


@transaction.atomic
def escalation_rules_save(*, policy: SLAPolicy, rows: list[dict]) -> list[EscalationRule]:
    """Create, change or delete a policy's escalation rules as one change.

    Each row holds the RULE_FIELDS, and "id" for an existing rule; "delete": True removes it.
    Rules keep their ids, so pending "not acknowledged" checks still find their rule.
    """
    existing = {rule.pk: rule for rule in policy.escalation_rules.all()}
    saved = []
    for row in rows:
        rule = existing.get(row.get("id")) if row.get("id") else EscalationRule(policy=policy)
        if rule is None:
            raise ValidationError("That rule belongs to another policy.")
        if row.get("delete"):
            if rule.pk:
                rule.delete()
            continue
        _assign(rule, {name: row[name] for name in RULE_FIELDS if name in row}, allowed=RULE_FIELDS)
        rule.full_clean()
        rule.save()
        saved.append(rule)
    return saved
