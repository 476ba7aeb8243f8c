from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from contracts.availability import (
    Interval,
    RecurrenceError,
    parse_recurrence,
    window_occurrences,
)
from contracts.choices import (
    BillingCycle,
    ComplianceMetric,
    ContractStatus,
    ContractType,
    ExemptionCause,
    LadderStep,
    PricingModel,
    Service,
    TargetKind,
    UnusedHours,
)
from msp.models import TimeStampedModel
from msp.querysets import ClientScopedQuerySet
from sla.choices import Priority

MONEY = {"max_digits": 12, "decimal_places": 2}
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]
PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
# Invoice amounts keep two decimals: currencies with three minor digits (BHD, KWD...) are not
# billed; those with none (JPY...) are rounded to whole units (reporting.billing.pricing).
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def default_currency() -> str:
    """New contracts are in the MSP's billing currency (settings.BILLING_DEFAULT_CURRENCY)."""
    return getattr(settings, "BILLING_DEFAULT_CURRENCY", "USD")


def _in(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


# What an account manager sets on a contract (status moves through its own rules).
CONTRACT_TERMS = [
    "client",
    "number",
    "name",
    "type",
    "start_date",
    "end_date",
    "auto_renew",
    "renewal_months",
    "notice_days",
    "billing_cycle",
    "monthly_fee",
    "currency",
    "sla_policy",
    "coverage_calendar",
    "credit_percent",
    "escalated_credit_percent",
    "escalate_after_months",
    "credit_cap_percent",
    "remediation_after_months",
    "credit_after_months",
    "termination_after_months",
]


class Contract(TimeStampedModel):
    """An agreement with a client: term, fee, the SLA it promises and what it covers."""

    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="contracts")
    number = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=ContractType.choices)
    status = models.CharField(
        max_length=12, choices=ContractStatus.choices, default=ContractStatus.DRAFT
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Blank: open-ended.")
    auto_renew = models.BooleanField(default=False)
    renewal_months = models.PositiveSmallIntegerField(default=12)
    notice_days = models.PositiveSmallIntegerField(default=60)
    billing_cycle = models.CharField(
        max_length=10, choices=BillingCycle.choices, default=BillingCycle.MONTHLY
    )
    monthly_fee = models.DecimalField(**MONEY, default=Decimal("0.00"), validators=NOT_NEGATIVE)
    currency = models.CharField(
        max_length=3, default=default_currency, help_text="ISO 4217 code; invoices are in it."
    )
    sla_policy = models.ForeignKey(
        "sla.SLAPolicy", on_delete=models.PROTECT, related_name="contracts"
    )
    coverage_calendar = models.ForeignKey(
        "sla.BusinessCalendar",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contracts",
        help_text="Hours the contract covers; blank: the SLA policy's calendar.",
    )
    # Service credits and the governance ladder: a month that misses any target climbs one
    # rung per consecutive missed month (warning, remediation plan, credit, termination right).
    credit_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        validators=PERCENT,
        help_text="Credit, % of the monthly fee, per missed target in a month.",
    )
    escalated_credit_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=PERCENT,
        help_text="Credit per missed target once misses have run for the months below.",
    )
    escalate_after_months = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1)],
        help_text="Consecutive missed months from which the higher credit applies.",
    )
    credit_cap_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("20.00"),
        validators=PERCENT,
        help_text="Most a month's credits can add up to, % of the monthly fee.",
    )
    remediation_after_months = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="Consecutive missed months from which a remediation plan is required.",
    )
    credit_after_months = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text="Consecutive missed months from which credits are owed (1: from the first).",
    )
    termination_after_months = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(1)],
        help_text="Consecutive missed months that give the client a right to terminate.",
    )

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["client", "-start_date"]
        constraints = [
            _in("type", ContractType, "contract_type_valid"),
            _in("status", ContractStatus, "contract_status_valid"),
            _in("billing_cycle", BillingCycle, "contract_billing_cycle_valid"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="contract_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(monthly_fee__gte=0), name="contract_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(credit_cap_percent__gte=models.F("credit_percent"))
                & Q(escalated_credit_percent__gte=models.F("credit_percent")),
                name="contract_credit_terms_ordered",
            ),
            # One active contract per client: tickets take their SLA policy from it.
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="active"),
                name="contract_one_active_per_client",
                violation_error_message="This client has an active contract already.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def clean(self) -> None:
        super().clean()
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The contract cannot end before it starts."})
        if self.currency and (len(self.currency) != 3 or not self.currency.isalpha()):
            raise ValidationError({"currency": "Use a three-letter currency code (USD, EUR)."})
        self.currency = self.currency.upper()
        if self.currency in THREE_DECIMAL_CURRENCIES:
            raise ValidationError(
                {"currency": "Currencies with three decimals cannot be invoiced yet."}
            )
        self._clean_credit_terms()

    def _clean_credit_terms(self) -> None:
        errors = {}
        percents = (self.credit_percent, self.escalated_credit_percent, self.credit_cap_percent)
        if None in percents:
            return
        if self.escalated_credit_percent < self.credit_percent:
            errors["escalated_credit_percent"] = "The higher credit cannot be below the credit."
        if self.credit_cap_percent < self.credit_percent:
            errors["credit_cap_percent"] = "The cap cannot be below a single credit."
        steps = (
            self.remediation_after_months,
            self.credit_after_months,
            self.termination_after_months,
        )
        if None not in steps and not steps[0] <= steps[1] <= steps[2]:
            errors["credit_after_months"] = (
                "The ladder climbs in order: remediation plan, then credits, then termination "
                "right (each after at least as many months as the one before)."
            )
        if (
            self.escalate_after_months is not None
            and self.credit_after_months is not None
            and self.escalate_after_months < self.credit_after_months
        ):
            errors["escalate_after_months"] = "The higher credit cannot start before credits do."
        if errors:
            raise ValidationError(errors)


class ComplianceTarget(models.Model):
    """The share of clocks a contract promises to meet, e.g. 95 % of P1 responses."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="compliance_targets"
    )
    priority = models.CharField(max_length=2, choices=Priority.choices)
    metric = models.CharField(max_length=12, choices=ComplianceMetric.choices)
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        ordering = ["priority", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "priority", "metric"], name="compliance_target_unique"
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=0, percent__lte=100), name="compliance_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.percent} % of {self.priority} {self.metric}"


class ServiceLine(models.Model):
    """A catalogue service in a contract, its pricing model and its availability target."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="service_lines"
    )
    service = models.CharField(max_length=20, choices=Service.choices)
    pricing_model = models.CharField(max_length=20, choices=PricingModel.choices)
    unit_price = models.DecimalField(
        **MONEY,
        default=Decimal("0.00"),
        validators=NOT_NEGATIVE,
        help_text="Per device or seat a month; the retainer a month; the price of the block "
        "a month; the price per ticket.",
    )
    asset_kinds = models.JSONField(
        default=list, blank=True, help_text="Per device: the asset kinds counted."
    )
    block_hours = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, validators=NOT_NEGATIVE
    )
    overage_rate = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
        help_text="Block of hours: price per hour beyond the block.",
    )
    unused_hours = models.CharField(
        max_length=10,
        choices=UnusedHours.choices,
        default=UnusedHours.EXPIRE,
        db_default=UnusedHours.EXPIRE,
        help_text="Block of hours: what becomes of hours left at the end of a billing period.",
    )
    rollover_months = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        help_text="Block of hours, rolling over: months after its period that an unused hour "
        "can still be used (0: none).",
    )
    hourly_rates = models.JSONField(
        default=dict,
        blank=True,
        help_text='Hourly: price per hour by work type, {"remote": "95.00"}.',
    )
    spend_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, validators=NOT_NEGATIVE
    )
    managed_spend = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=NOT_NEGATIVE,
        help_text="Percentage of spend: the agreed monthly spend, billed for a month with no "
        "spend recorded (blank: such a month bills nothing).",
    )
    availability_target = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=Decimal("99.900"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        ordering = ["contract", "service"]
        constraints = [
            _in("service", Service, "service_line_service_valid"),
            _in("pricing_model", PricingModel, "service_line_pricing_valid"),
            _in("unused_hours", UnusedHours, "service_line_unused_hours_valid"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="service_line_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_service_display()} ({self.get_pricing_model_display()})"

    def clean(self) -> None:
        super().clean()
        if self.pricing_model == PricingModel.BLOCK_OF_HOURS and not self.block_hours:
            raise ValidationError({"block_hours": "Give the number of hours in the block."})
        if self.pricing_model == PricingModel.PERCENT_OF_SPEND and self.spend_percent is None:
            raise ValidationError(
                {"spend_percent": "Give the percentage of the managed spend to bill."}
            )
        if (
            self.pricing_model == PricingModel.BLOCK_OF_HOURS
            and self.unused_hours == UnusedHours.ROLL_OVER
            and not self.rollover_months
        ):
            raise ValidationError(
                {"rollover_months": "Give the months that unused hours roll over for."}
            )
        if self.pricing_model == PricingModel.HOURLY:
            try:
                rates = {key: Decimal(str(value)) for key, value in self.hourly_rates.items()}
            except (ArithmeticError, ValueError, AttributeError):
                raise ValidationError({"hourly_rates": "Rates must be numbers."}) from None
            if not rates or any(rate < 0 for rate in rates.values()):
                raise ValidationError(
                    {"hourly_rates": "Give a price per hour (zero or more) for each work type."}
                )


class MaintenanceWindow(models.Model):
    """Agreed maintenance, once or recurring (RFC 5545 RRULE): excluded from availability,
    and optionally pausing SLA clocks of tickets about the affected assets."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    name = models.CharField(max_length=150)
    asset = models.ForeignKey(
        "msp.Asset",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Blank: every service of the contract.",
    )
    start = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    recurrence = models.CharField(
        max_length=300,
        blank=True,
        help_text='Blank: once. Otherwise an RRULE, e.g. "FREQ=WEEKLY;BYDAY=SU" (every Sunday).',
    )
    pauses_sla = models.BooleanField(
        default=False, help_text="Tickets about affected assets pause while the window is open."
    )

    class Meta:
        ordering = ["contract", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="maintenance_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def occurrences(self, period: Interval) -> tuple[Interval, ...]:
        """The occurrences overlapping `period`. The rule is read in the client's time zone,
        so that a window at 02:00 stays at 02:00 local time across DST changes (needs
        contract.client)."""
        return window_occurrences(
            start=self.start.astimezone(ZoneInfo(self.contract.client.timezone)),
            duration=timedelta(minutes=self.duration_minutes),
            recurrence=self.recurrence,
            period=period,
        )

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.recurrence and self.start:
            try:
                parse_recurrence(self.recurrence, start=self.start)
            except RecurrenceError as exc:
                errors["recurrence"] = str(exc)
        if self.asset_id and self.contract_id and self.asset.client_id != self.contract.client_id:
            errors["asset"] = "The asset belongs to another client."
        if errors:
            raise ValidationError(errors)


class Outage(models.Model):
    """A service of a contract being down; unplanned ones count against availability."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="outages"
    )
    service = models.CharField(max_length=20, choices=Service.choices)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True, help_text="Blank: still down.")
    planned = models.BooleanField(default=False)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="outages"
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["contract", "start"]
        constraints = [
            _in("service", Service, "outage_service_valid"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gt=models.F("start")),
                name="outage_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["contract", "service", "start"], name="outage_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.get_service_display()} outage from {self.start:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.end and self.start and self.end <= self.start:
            raise ValidationError({"end": "An outage ends after it starts."})


class MonthlyEvaluation(TimeStampedModel):
    """A contract's month measured against its targets: the ladder step and the credit owed.
    Re-evaluating a month updates this row (plans attached to it stay)."""

    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.CASCADE, related_name="evaluations"
    )
    month = models.DateField(help_text="First day of the month, in the client's time zone.")
    missed_targets = models.PositiveSmallIntegerField(default=0)
    consecutive_missed_months = models.PositiveSmallIntegerField(default=0)
    ladder_step = models.CharField(max_length=20, choices=LadderStep.choices)
    credit_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    credit_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    currency = models.CharField(max_length=3)
    exempted_clocks = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["contract", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "month"], name="evaluation_one_per_month"),
            _in("ladder_step", LadderStep, "evaluation_ladder_step_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.contract.number} {self.month:%B %Y}: {self.get_ladder_step_display()}"


class TargetResult(models.Model):
    """One target of a monthly evaluation: what was promised, what was measured."""

    evaluation = models.ForeignKey(
        "contracts.MonthlyEvaluation", on_delete=models.CASCADE, related_name="results"
    )
    kind = models.CharField(max_length=12, choices=TargetKind.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices, blank=True)
    metric = models.CharField(max_length=12, choices=ComplianceMetric.choices, blank=True)
    service = models.CharField(max_length=20, choices=Service.choices, blank=True)
    target_percent = models.DecimalField(max_digits=6, decimal_places=3)
    measured_percent = models.DecimalField(
        max_digits=6, decimal_places=3, null=True, help_text="Blank: nothing to measure."
    )
    met_count = models.PositiveIntegerField(default=0)
    breached_count = models.PositiveIntegerField(default=0)
    met = models.BooleanField()

    class Meta:
        ordering = ["evaluation", "kind", "priority", "metric", "service"]
        constraints = [_in("kind", TargetKind, "target_result_kind_valid")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.kind == TargetKind.AVAILABILITY:
            return f"{self.get_service_display()} availability"
        return f"{self.priority} {self.metric}"


class RemediationPlan(TimeStampedModel):
    """The account manager's plan to bring a missed month back on target."""

    evaluation = models.ForeignKey(
        "contracts.MonthlyEvaluation", on_delete=models.CASCADE, related_name="plans"
    )
    author = models.ForeignKey("msp.User", on_delete=models.PROTECT, related_name="+")
    summary = models.TextField()
    actions = models.TextField(help_text="What will be done, by whom, by when.")
    due_date = models.DateField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Remediation plan for {self.evaluation}"


class BreachExemption(models.Model):
    """A breached clock taken out of compliance and credits, with the reason; kept (and listed)
    after a revoke, which is recorded alongside, so the row is its own audit trail."""

    clock = models.ForeignKey("sla.SLAClock", on_delete=models.CASCADE, related_name="exemptions")
    cause = models.CharField(max_length=20, choices=ExemptionCause.choices)
    reason = models.TextField()
    granted_by = models.ForeignKey("msp.User", on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    revoked_by = models.ForeignKey(
        "msp.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            _in("cause", ExemptionCause, "exemption_cause_valid"),
            models.UniqueConstraint(
                fields=["clock"],
                condition=Q(revoked_at__isnull=True),
                name="exemption_one_in_force_per_clock",
                violation_error_message="This breach is exempted already.",
            ),
        ]

    def __str__(self) -> str:
        return f"Exemption of clock {self.clock_id}: {self.get_cause_display()}"

    @property
    def in_force(self) -> bool:
        return self.revoked_at is None
