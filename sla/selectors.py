"""Reads of calendars and policies, and the bridge from stored rows to the pure engines."""

import copy
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, Prefetch, QuerySet, TextField
from django.db.models.expressions import RawSQL

from sla import calendar as engine
from sla.clock import Target
from sla.models import (
    BusinessCalendar,
    CalendarVersion,
    EscalationRule,
    SLAClock,
    SLAPolicy,
    SLATarget,
)

CalendarEngine = engine.WorkingTime | engine.VersionedCalendar

# Built engines by (calendar id, last change): an engine caches its tables, so reusing it
# across requests and sweeps avoids rebuilding them. Every edit that appends a version bumps
# the calendar's updated_at, so a hit costs no query. Versions never change, so their own
# engines are kept by version and reused when a calendar gains a version.
_ENGINE_CACHE: dict[tuple[int, object], CalendarEngine] = {}
_VERSION_ENGINES: dict[tuple[int, object], engine.WorkingTime] = {}
_ENGINE_CACHE_SIZE = 256
_VERSION_CACHE_SIZE = 1024


def calendar_engine(calendar: BusinessCalendar) -> CalendarEngine:
    """The pure engine of a stored calendar: each instant is measured on the version of the
    calendar in force at that instant. With a single version it is that version's engine."""
    cache_key = (calendar.pk, calendar.updated_at)
    built = _ENGINE_CACHE.get(cache_key)
    if built is not None:
        return built
    versions = list(calendar.versions.all())  # uses a prefetch of "versions" when present
    if not versions:
        built = _rows_engine(calendar)
    elif len(versions) == 1:
        built = _version_engine(versions[0])
    else:
        built = engine.VersionedCalendar(
            [(version.effective_from, _version_engine(version)) for version in versions],
            key=calendar.pk,
        )
    if len(_ENGINE_CACHE) >= _ENGINE_CACHE_SIZE:
        _ENGINE_CACHE.clear()
    _ENGINE_CACHE[cache_key] = built
    return built


def _version_engine(version: CalendarVersion) -> engine.WorkingTime:
    cache_key = (version.pk, version.recorded_at)
    built = _VERSION_ENGINES.get(cache_key)
    if built is None:
        week: dict[int, list[tuple[int, int]]] = {}
        for weekday, start, end in version.week:
            week.setdefault(weekday, []).append((start, end))
        built = engine.WorkingTime(
            timezone=version.timezone,
            week=week,
            holidays=[date.fromisoformat(day) for day in version.holidays],
            always_open=version.is_24x7,
            key=version.calendar_id,
        )
        if len(_VERSION_ENGINES) >= _VERSION_CACHE_SIZE:
            _VERSION_ENGINES.clear()
        _VERSION_ENGINES[cache_key] = built
    return built


def _rows_engine(calendar: BusinessCalendar) -> engine.WorkingTime:
    """A calendar with no version on record yet (made by hand): its rules have never changed
    through the services, so its current rows are in force throughout."""
    week: dict[int, list[tuple[int, int]]] = {}
    for interval in calendar.intervals.all():
        week.setdefault(interval.weekday, []).append((interval.start_minute, interval.end_minute))
    return engine.WorkingTime(
        timezone=calendar.timezone,
        week=week,
        holidays=[holiday.date for holiday in calendar.holidays.all()],
        always_open=calendar.is_24x7,
        key=calendar.pk,
    )


def calendar_engines(ids: set[int]) -> dict[int, CalendarEngine]:
    """Engines of several calendars by id: one query, one more per calendar not cached."""
    calendars = BusinessCalendar.objects.in_bulk(ids)
    return {pk: calendar_engine(calendar) for pk, calendar in calendars.items()}


def calendar_version_list(*, calendar: BusinessCalendar) -> QuerySet[CalendarVersion]:
    """A calendar's versions, first to latest."""
    return CalendarVersion.objects.filter(calendar=calendar)


@dataclass(frozen=True)
class PriorityTargets:
    """The engine targets that one priority gets under one policy."""

    priority: str
    response: Target
    resolution: Target
    next_update: Target | None
    warning_percents: tuple[int, int]
    pause_statuses: frozenset[str]


def policy_targets(*, policy: SLAPolicy, priority: str) -> PriorityTargets:
    target = _target_row(policy, priority)
    resolution_calendar = calendar_engine(target.resolution_calendar or policy.calendar)
    next_update = None
    if policy.next_update_minutes:
        next_update = Target(policy.next_update_minutes, resolution_calendar)
    return PriorityTargets(
        priority=priority,
        response=Target(
            target.response_minutes, calendar_engine(target.response_calendar or policy.calendar)
        ),
        resolution=Target(target.resolution_minutes, resolution_calendar),
        next_update=next_update,
        warning_percents=policy.warning_percents,
        pause_statuses=frozenset(policy.pause_statuses),
    )


def _target_row(policy: SLAPolicy, priority: str) -> SLATarget:
    for target in policy.targets.all():  # uses the prefetch of with_targets() when present
        if target.priority == priority:
            return target
    raise SLATarget.DoesNotExist(f"{policy} has no target for {priority}.")


ACTIVE_RULES = "active_escalation_rules"

# Policies with their targets by id, each kept with the digest of the rows it was read from
# (see policy_digest): a process reads a policy's targets again only when they changed.
_POLICY_CACHE: dict[int, tuple[str, SLAPolicy]] = {}
_POLICY_CACHE_SIZE = 64

# Everything a policy's new clocks are computed from, as text: its own row, its targets, its
# escalation rules and the rows of their calendars (engines are cached by the calendar's
# updated_at, which every rule change moves). A digest of the rows rather than a stamp that
# writers bump: it changes whoever changes them (a service, the admin, a shell), so a cached
# policy cannot outlive them.
_POLICY_DIGEST_SQL = """md5(
    (SELECT p::text FROM sla_slapolicy p WHERE p.id = {policy})
    || coalesce((SELECT string_agg(t::text, ';' ORDER BY t.id)
                 FROM sla_slatarget t WHERE t.policy_id = {policy}), '')
    || coalesce((SELECT string_agg(r::text, ';' ORDER BY r.id)
                 FROM sla_escalationrule r WHERE r.policy_id = {policy}), '')
    || coalesce((SELECT string_agg(c::text, ';' ORDER BY c.id)
                 FROM sla_businesscalendar c
                 WHERE c.id IN (SELECT p.calendar_id FROM sla_slapolicy p WHERE p.id = {policy})
                    OR c.id IN (SELECT t.response_calendar_id
                                FROM sla_slatarget t WHERE t.policy_id = {policy})
                    OR c.id IN (SELECT t.resolution_calendar_id
                                FROM sla_slatarget t WHERE t.policy_id = {policy})), ''))"""


def policy_digest(policy_column: str) -> RawSQL | None:
    """An expression for a query over SLAPolicy: the digest of the policy of `policy_column`
    (a quoted column of that query) for `policy_with_targets_cached`. None where the database
    cannot compute one (SQLite): the policy is then read each time."""
    if connection.vendor != "postgresql":
        return None
    sql = _POLICY_DIGEST_SQL.format(policy=policy_column)
    return RawSQL(sql, (), output_field=TextField())  # noqa: S611 (our SQL, no input)


def policy_with_targets_cached(*, policy_id: int, digest: str | None) -> SLAPolicy:
    """The policy with its targets and calendars, as `with_targets()` reads it, and its active
    escalation rules (as ACTIVE_RULES): from this process's cache when the rows still have
    `digest`, else read (three queries) and kept. A copy each time, so that what a caller sets
    on it stays with that caller."""
    cached = _POLICY_CACHE.get(policy_id)
    if digest is None or cached is None or cached[0] != digest:
        rules = EscalationRule.objects.filter(is_active=True).order_by("pk")
        policy = (
            SLAPolicy.objects.with_targets()
            .prefetch_related(Prefetch("escalation_rules", queryset=rules, to_attr=ACTIVE_RULES))
            .get(pk=policy_id)
        )
        if digest is None:
            return policy
        if len(_POLICY_CACHE) >= _POLICY_CACHE_SIZE:
            _POLICY_CACHE.clear()
        cached = _POLICY_CACHE[policy_id] = (digest, policy)
    return copy.copy(cached[1])


def calendar_list() -> QuerySet[BusinessCalendar]:
    return (
        BusinessCalendar.objects.prefetch_related("intervals")
        .annotate(holiday_count=Count("holidays", distinct=True))
        .order_by("name")
    )


def calendar_detail(*, pk: int) -> BusinessCalendar:
    return BusinessCalendar.objects.with_rules().prefetch_related("versions").get(pk=pk)


def policy_list() -> QuerySet[SLAPolicy]:
    return SLAPolicy.objects.with_targets().order_by("-is_default", "name")


def default_policy() -> SLAPolicy | None:
    return SLAPolicy.objects.with_targets().filter(is_default=True).first()


def sweep_lag(*, now) -> dict:
    """How far behind the timer sweep is: the oldest clock check that is due and not done."""
    oldest = (
        SLAClock.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list("next_check_at", flat=True)
        .first()
    )
    due = SLAClock.objects.filter(next_check_at__lte=now).count() if oldest else 0
    return {
        "lag_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "due_clocks": due,
        "oldest_due_at": oldest.isoformat() if oldest else None,
    }
