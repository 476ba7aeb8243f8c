import holidays as holiday_presets
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django.utils.timezone import now

from msp.models import TimeStampedModel
from msp.validators import validate_timezone_name
from sla.choices import (
    ClockKind,
    ClockState,
    EscalationTrigger,
    HolidaySource,
    PausableStatus,
    Priority,
    Weekday,
)
from sla.querysets import BusinessCalendarQuerySet, SLAPolicyQuerySet


def validate_pause_statuses(value) -> None:
    if not isinstance(value, list) or any(item not in PausableStatus.values for item in value):
        raise ValidationError(
            "Pause statuses must be a list drawn from: %(allowed)s.",
            code="invalid_pause_statuses",
            params={"allowed": ", ".join(PausableStatus.values)},
        )


def default_pause_statuses() -> list[str]:
    return [PausableStatus.WAITING_ON_CLIENT]


class BusinessCalendar(TimeStampedModel):
    """Working hours in one time zone, with holidays; SLA business time is counted in it."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField("time zone", max_length=64, validators=[validate_timezone_name])
    is_24x7 = models.BooleanField(
        "24x7",
        default=False,
        help_text="Every day is a full working day (weekly intervals are then ignored); "
        "holidays still apply if any are listed.",
    )
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text="ISO country code of the holiday preset, e.g. US, DE."
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="State or region of the preset, e.g. NY, BY."
    )
    description = models.TextField(blank=True)

    objects = BusinessCalendarQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self.holiday_country = self.holiday_country.upper()
        self.holiday_subdivision = self.holiday_subdivision.upper()
        if self.holiday_subdivision and not self.holiday_country:
            raise ValidationError({"holiday_country": "Set the country of the subdivision."})
        if not self.holiday_country:
            return
        supported = holiday_presets.list_supported_countries()
        if self.holiday_country not in supported:
            raise ValidationError(
                {"holiday_country": f"No holiday preset for country {self.holiday_country!r}."}
            )
        if (
            self.holiday_subdivision
            and self.holiday_subdivision not in supported[self.holiday_country]
        ):
            raise ValidationError(
                {
                    "holiday_subdivision": f"{self.holiday_country} has no subdivision "
                    f"{self.holiday_subdivision!r}."
                }
            )


class WorkingInterval(models.Model):
    """One stretch of working time on a weekday, in the calendar's local time.

    An end of 00:00 means midnight at the end of the day.
    """

    calendar = models.ForeignKey(
        "sla.BusinessCalendar", on_delete=models.CASCADE, related_name="intervals"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="interval_weekday_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")) | Q(end_time="00:00:00"),
                name="interval_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["calendar", "weekday", "start_time"], name="interval_unique_start"
            ),
        ]

    def __str__(self) -> str:
        end = "24:00" if self.end_minute == 1440 else f"{self.end_time:%H:%M}"
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{end}"

    @property
    def start_minute(self) -> int:
        return self.start_time.hour * 60 + self.start_time.minute

    @property
    def end_minute(self) -> int:
        minutes = self.end_time.hour * 60 + self.end_time.minute
        return minutes or 1440

    def clean(self) -> None:
        super().clean()
        if self.start_time is None or self.end_time is None:
            return
        if self.start_time.second or self.end_time.second:
            raise ValidationError("Working intervals are set in whole minutes.")
        if self.end_minute <= self.start_minute:
            raise ValidationError(
                {
                    "end_time": "The interval ends before it starts. Split an overnight shift "
                    "into two intervals (22:00-00:00, then 00:00-06:00 on the next day)."
                }
            )


class Holiday(models.Model):
    """A date with no working time on one calendar (entered by hand or from a country preset)."""

    calendar = models.ForeignKey(
        "sla.BusinessCalendar", on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=150)
    source = models.CharField(
        max_length=10, choices=HolidaySource.choices, default=HolidaySource.MANUAL
    )

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date"),
            models.CheckConstraint(
                condition=Q(source__in=HolidaySource.values), name="holiday_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class SLAPolicy(TimeStampedModel):
    """Response and resolution targets per priority, warnings, and what pauses the clock."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    calendar = models.ForeignKey(
        "sla.BusinessCalendar",
        on_delete=models.PROTECT,
        related_name="policies",
        help_text="Calendar of every target that does not name its own.",
    )
    first_warning_percent = models.PositiveSmallIntegerField(
        default=75, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    second_warning_percent = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    pause_statuses = models.JSONField(
        default=default_pause_statuses,
        blank=True,
        validators=[validate_pause_statuses],
        help_text="Ticket statuses in which the resolution clock does not accrue time.",
    )
    next_update_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="After each client message staff must post a public update within this many "
        "business minutes. Leave blank for no next-update clock.",
    )
    is_default = models.BooleanField(
        default=False, help_text="Used for tickets of clients without an active contract."
    )

    objects = SLAPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(first_warning_percent__gte=1, first_warning_percent__lte=99)
                & Q(second_warning_percent__gte=1, second_warning_percent__lte=99),
                name="policy_warning_percents_in_range",
            ),
            models.CheckConstraint(
                condition=Q(first_warning_percent__lt=models.F("second_warning_percent")),
                name="policy_warnings_ordered",
            ),
            models.CheckConstraint(
                condition=Q(next_update_minutes__isnull=True) | Q(next_update_minutes__gt=0),
                name="policy_next_update_positive",
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="policy_single_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        first, second = self.first_warning_percent, self.second_warning_percent
        if first is not None and second is not None and first >= second:
            raise ValidationError(
                {"second_warning_percent": "The second warning must come after the first."}
            )

    @property
    def pause_status_labels(self) -> list[str]:
        return [PausableStatus(value).label for value in self.pause_statuses]

    @property
    def warning_percents(self) -> tuple[int, int]:
        return (self.first_warning_percent, self.second_warning_percent)


class SLATarget(models.Model):
    """Response and resolution targets of one priority under one policy, in business minutes."""

    policy = models.ForeignKey("sla.SLAPolicy", on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=2, choices=Priority.choices)
    response_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    response_calendar = models.ForeignKey(
        "sla.BusinessCalendar",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Leave blank to use the policy's calendar.",
    )
    resolution_calendar = models.ForeignKey(
        "sla.BusinessCalendar",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Leave blank to use the policy's calendar.",
    )

    class Meta:
        ordering = ["priority"]
        verbose_name = "SLA target"
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="target_unique_priority"),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="target_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(response_minutes__gt=0, resolution_minutes__gt=0),
                name="target_minutes_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.priority}"


class SLAClock(TimeStampedModel):
    """One SLA clock of one ticket, as stored: the engine's history plus derived figures.

    `history` is the pure engine's clock (sla.clock.Clock) serialised by sla.clockstore; the
    other fields are derived from it at each transition so that queues can sort and the timer
    sweep can find due clocks through an index.
    """

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="sla_clocks"
    )
    # The ticket's client, copied: reports read one client's clocks of a month through an
    # index instead of going through all of the client's tickets.
    client = models.ForeignKey(
        "msp.Client", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    cycle = models.PositiveIntegerField(
        default=1, help_text="Next-update clocks restart on each client message: one row a cycle."
    )
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    target_minutes = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(
        null=True, blank=True, help_text="First warning threshold of the running target."
    )
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    spent_seconds = models.PositiveIntegerField(default=0)
    paused_seconds = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(
        null=True, blank=True, help_text="Next warning or breach instant not yet acted upon."
    )
    milestones_fired = models.JSONField(default=list, blank=True)
    extra_checks = models.JSONField(
        default=dict,
        blank=True,
        help_text='Further instants to act on, by key (e.g. {"unack-3": "<iso instant>"}).',
    )
    history = models.JSONField()

    class Meta:
        ordering = ["ticket", "kind", "cycle"]
        verbose_name = "SLA clock"
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "cycle"], name="clock_unique_cycle"),
            models.CheckConstraint(condition=Q(kind__in=ClockKind.values), name="clock_kind_valid"),
            models.CheckConstraint(
                condition=Q(state__in=ClockState.values), name="clock_state_valid"
            ),
        ]
        indexes = [
            # The timer sweep: running clocks whose next milestone is due.
            models.Index(
                fields=["next_check_at"],
                name="clock_next_check_idx",
                condition=Q(next_check_at__isnull=False),
            ),
            # Reports: clocks of clients that stopped, or breached, in a period.
            models.Index(fields=["client", "stopped_at"], name="clock_client_stopped_idx"),
            models.Index(
                fields=["client", "breached_at"],
                name="clock_client_breached_idx",
                condition=Q(breached_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} clock of ticket {self.ticket_id}"

    @property
    def is_running(self) -> bool:
        return self.stopped_at is None and self.state != ClockState.PAUSED


class SLAEvent(models.Model):
    """A milestone of a clock (a warning threshold or the breach) that has happened.

    The unique constraint is what makes each one happen exactly once, whatever the number of
    sweeps, beats or retries racing for it.
    """

    clock = models.ForeignKey("sla.SLAClock", on_delete=models.CASCADE, related_name="events")
    key = models.CharField(max_length=40, help_text='"warning-75", "breach", "unack-<rule id>"')
    due_at = models.DateTimeField(help_text="When the milestone was due.")
    recorded_at = models.DateTimeField(help_text="The instant the sweep acted as of.")
    # The database's own clock when the row was written: a sweep delayed by a database outage
    # or a lock shows here, not in recorded_at. Empty on rows written before it was kept.
    written_at = models.DateTimeField(
        null=True, blank=True, editable=False, db_default=Now(), help_text="When it was written."
    )

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = "SLA event"
        constraints = [
            models.UniqueConstraint(fields=["clock", "key"], name="sla_event_once_per_clock"),
        ]

    def __str__(self) -> str:
        return f"{self.key} of clock {self.clock_id}"

    @property
    def lateness(self):
        return self.recorded_at - self.due_at


class EscalationRule(models.Model):
    """What happens when a clock of a policy reaches a milestone: functional escalation (next
    tier, reassignment) and hierarchical notifications."""

    policy = models.ForeignKey(
        "sla.SLAPolicy", on_delete=models.CASCADE, related_name="escalation_rules"
    )
    name = models.CharField(max_length=100)
    trigger = models.CharField(max_length=20, choices=EscalationTrigger.choices)
    clock_kind = models.CharField(
        max_length=20, choices=ClockKind.choices, blank=True, help_text="Blank: every clock."
    )
    priorities = models.JSONField(
        default=list,
        blank=True,
        help_text='Priorities it applies to, e.g. ["P1", "P2"]; empty: all.',
    )
    minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="For 'not acknowledged': minutes after the ticket opened."
    )
    raise_tier = models.BooleanField(
        default=False, help_text="Move the ticket to the next tier (L1 -> L2 -> L3) and its team."
    )
    reassign_to = models.ForeignKey(
        "msp.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to=~Q(role="client"),
    )
    notify_assignee = models.BooleanField(default=True)
    notify_team_lead = models.BooleanField(default=False)
    notify_account_manager = models.BooleanField(default=False)
    notify_client_contact = models.BooleanField(default=False)
    notify_email = models.EmailField(blank=True, help_text="On-call address or rota mailbox.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["policy", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger__in=EscalationTrigger.values), name="rule_trigger_valid"
            ),
            models.CheckConstraint(
                condition=~Q(trigger=EscalationTrigger.UNACKNOWLEDGED) | Q(minutes__gt=0),
                name="rule_unacknowledged_needs_minutes",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.trigger == EscalationTrigger.UNACKNOWLEDGED and not self.minutes:
            raise ValidationError(
                {"minutes": "Say after how many minutes without acknowledgement."}
            )
        if self.priorities and any(p not in Priority.values for p in self.priorities):
            raise ValidationError(
                {"priorities": f"Use priorities from {', '.join(Priority.values)}."}
            )

    def applies_to(self, *, priority: str, clock_kind: str) -> bool:
        return (
            self.is_active
            and (not self.priorities or priority in self.priorities)
            and (not self.clock_kind or self.clock_kind == clock_kind)
        )


class CalendarVersion(models.Model):
    """The rules of a business calendar from one instant on (SPEC section 11: calendars are
    versioned). Every edit appends one and none is ever changed, so business time already
    elapsed stays measured on the rules that were in force when it elapsed.

    The rules are kept as data: the time zone, 24x7, the week as [weekday, start minute, end
    minute] rows (an end of 1440 is midnight) and the holidays as ISO dates.
    """

    calendar = models.ForeignKey(
        "sla.BusinessCalendar", on_delete=models.PROTECT, related_name="versions"
    )
    effective_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Blank for the calendar's first rules: in force from the beginning of time.",
    )
    recorded_at = models.DateTimeField(default=now, editable=False)
    timezone = models.CharField("time zone", max_length=64, validators=[validate_timezone_name])
    is_24x7 = models.BooleanField("24x7", default=False)
    week = models.JSONField(default=list, help_text="[weekday, start minute, end minute] rows.")
    holidays = models.JSONField(default=list, help_text="Holiday dates, YYYY-MM-DD.")

    class Meta:
        ordering = [F("effective_from").asc(nulls_first=True), "pk"]
        get_latest_by = "pk"
        constraints = [
            models.UniqueConstraint(
                fields=["calendar"],
                condition=Q(effective_from__isnull=True),
                name="calendar_version_one_first",
            ),
            models.UniqueConstraint(
                fields=["calendar", "effective_from"], name="calendar_version_unique_instant"
            ),
        ]

    def __str__(self) -> str:
        since = self.effective_from.isoformat() if self.effective_from else "the start"
        return f"Rules of calendar {self.calendar_id} from {since}"

    def save(self, *args, **kwargs) -> None:
        # Appended, never rewritten (PostgreSQL also refuses it with a trigger).
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Calendar versions cannot be changed; edit the calendar.")
        super().save(*args, **kwargs)

    @property
    def weekly_hours(self) -> float:
        return sum(end - start for _, start, end in self.week) / 60


class MonthlyClockRollup(models.Model):
    """Response and resolution clocks concluded in one of a client's local months, by clock,
    ticket priority and the contract the ticket was opened under: the raw clocks summed as
    compliance counts them (met: stopped in time, in the month it stopped; breached: in the
    month of the breach; exempted breaches apart). Kept in step by `sla.rollups` in the
    transaction that changes the clocks, so pages read a month as a row per client, clock,
    priority and contract, not its clocks. By month, not day (migration 0014): periods are
    whole months, and a month's days were thirty rows to sum. Derived data:
    `sla_rollups_rebuild` makes it again from the clocks."""

    client = models.ForeignKey("msp.Client", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month, in the client's time zone.")
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    met = models.IntegerField(default=0)
    breached = models.IntegerField(default=0, help_text="Breaches not exempted.")
    exempted = models.IntegerField(default=0, help_text="Breaches exempted (and not revoked).")

    class Meta:
        verbose_name = "SLA clock roll-up by month"
        constraints = [
            # The key that maintenance upserts on; no contract is 0 so that it is one key.
            models.UniqueConstraint(
                F("client"),
                F("month"),
                F("kind"),
                F("priority"),
                Coalesce(F("contract"), 0),
                name="monthly_clock_rollup_unique_key",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[ClockKind.RESPONSE, ClockKind.RESOLUTION]),
                name="monthly_clock_rollup_kind_valid",
            ),
        ]
        indexes = [
            # Every client's months of a period (the pages read all clients at once), read
            # from the index alone on PostgreSQL.
            models.Index(
                fields=["month", "client"],
                include=["kind", "priority", "contract", "met", "breached", "exempted"],
                name="monthly_clock_rollup_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} clocks of client {self.client_id} in {self.month:%Y-%m}"


class MonthlyClockTimeRollup(models.Model):
    """Response and resolution clocks that stopped in one of a client's local months, counted
    by the business time they had spent (to the second), by clock and ticket priority: the
    clocks' own values, so that percentiles of a period (whole months) come out exactly as
    from the clocks, from a narrow table instead of the clocks of the period. By month, not
    day (migration 0013): times hardly repeat, so a day held a row per clock and percentiles
    summed a month's days again per value. Kept in step with `MonthlyClockRollup` by
    `sla.rollups`."""

    client = models.ForeignKey("msp.Client", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(
        help_text="The first day of the month the clocks stopped in, in the client's time zone."
    )
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    spent_seconds = models.PositiveIntegerField()
    stopped = models.IntegerField(default=0, help_text="Clocks stopped with that time spent.")

    class Meta:
        verbose_name = "SLA clock time roll-up by month"
        constraints = [
            models.UniqueConstraint(
                fields=["client", "month", "kind", "priority", "spent_seconds"],
                name="monthly_clock_time_unique_key",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[ClockKind.RESPONSE, ClockKind.RESOLUTION]),
                name="monthly_clock_time_kind_valid",
            ),
        ]
        indexes = [
            # Percentiles read a month's clocks of a kind per client in order of time spent:
            # from this index alone on PostgreSQL, already sorted (no grouping, no sort).
            models.Index(
                fields=["month", "kind", "client", "spent_seconds", "priority"],
                include=["stopped"],
                name="monthly_clock_time_ranked_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} clocks of client {self.client_id} stopped in {self.month:%Y-%m}"
