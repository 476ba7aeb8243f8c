from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from msp.choices import PeriodKind
from msp.periods import Period
from msp.querysets import ClientScopedQuerySet


class Metric(models.Model):
    """One figure of a client's period, e.g. ("compliance", "P1/response") = 96.5 % of 40 clocks
    against a 95 % target. Computing a period again replaces its figures (upsert)."""

    client = models.ForeignKey("msp.Client", on_delete=models.CASCADE, related_name="metrics")
    period_kind = models.CharField(max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(help_text="First day of the period, in the client's zone.")
    key = models.CharField(max_length=40)
    dimension = models.CharField(max_length=120, blank=True)
    value = models.DecimalField(max_digits=16, decimal_places=3, null=True)
    count = models.PositiveIntegerField(default=0)
    target = models.DecimalField(max_digits=16, decimal_places=3, null=True)
    computed_at = models.DateTimeField()

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["client", "period_start", "key", "dimension"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "period_kind", "period_start", "key", "dimension"],
                name="metric_unique_per_period",
            ),
            models.CheckConstraint(
                condition=Q(period_kind__in=PeriodKind.values), name="metric_period_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.period_start} {self.key} {self.dimension}: {self.value}"


class ReportQuerySet(ClientScopedQuerySet):
    def for_user(self, user) -> "ReportQuerySet":
        """Clients see the reports sent to them; staff also see drafts."""
        reports = super().for_user(user)
        if user is not None and user.is_authenticated and not user.is_msp_staff:
            reports = reports.filter(sent_at__isnull=False)
        return reports


class Report(models.Model):
    """A monthly executive report or a QBR: the figures are a snapshot stored when generated,
    never changed afterwards; generating the period again makes a new version. The account
    manager's summary and recommendations stay editable."""

    # The PDF is drawn from the snapshot and the account manager's text, so it is replaced
    # when that text changes (and nowhere else).
    EDITABLE_FIELDS = frozenset({"summary", "recommendations", "annotated_at", "sent_at", "pdf"})

    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(help_text="First day of the period, in the client's zone.")
    version = models.PositiveSmallIntegerField(default=1)
    figures = models.JSONField(encoder=DjangoJSONEncoder)
    summary = models.TextField(blank=True, help_text="The account manager's summary.")
    recommendations = models.TextField(blank=True)
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        "msp.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Blank: generated on schedule.",
    )
    annotated_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    pdf = models.FileField(
        upload_to="reports/%Y/%m/",
        null=True,
        blank=True,
        help_text="The PDF, drawn once from the snapshot (and drawn again when the summary or "
        "recommendations change); downloads and emails read it. Empty: drawn on first need.",
    )

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "kind", "period_start", "version"], name="report_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=PeriodKind.values), name="report_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.kind} {self.period_start} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= self.EDITABLE_FIELDS:
                raise ValueError("A report's figures are a snapshot; generate a new version.")
        super().save(*args, **kwargs)

    @property
    def period(self) -> Period:
        return Period(self.kind, self.period_start)


class ReportDelivery(models.Model):
    """A report version emailed to one of the client's contacts: who sent it (blank: the
    schedule), to whom, at which address, when. A version goes to a contact once."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="deliveries")
    contact = models.ForeignKey("msp.Contact", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(help_text="The address it was sent to, as it was then.")
    sent_by = models.ForeignKey(
        "msp.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Blank: sent on schedule.",
    )
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["report", "sent_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "contact"], name="report_delivery_once_per_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} to {self.email} at {self.sent_at:%Y-%m-%d %H:%M}"


# Billing's tables live in reporting/billing/models.py; imported here so Django registers them.
from reporting.billing.models import (  # noqa: E402, F401
    BlockHoursPeriod,
    ClientTaxRate,
    DocumentSequence,
    HourlyRate,
    Invoice,
    InvoiceDelivery,
    InvoicedItem,
    InvoiceLine,
    InvoiceRun,
    SpendRecord,
    TaxRate,
)
