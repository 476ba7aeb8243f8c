"""Billing: rates, taxes, spend records, invoice runs, invoices and credit notes, the links
that make each billed thing billed once, the block-of-hours ledger and the number sequences.
The rules are in docs/billing.md; the arithmetic in reporting/billing/pricing.py."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from msp.models import TimeStampedModel
from msp.querysets import ClientScopedQuerySet
from reporting.billing.choices import (
    BillingCycleKind,
    DocumentKind,
    InvoiceStatus,
    LineKind,
    SpendSource,
)
from tickets.choices import WorkType

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 16, "decimal_places": 4}
UNIT_PRICE = {"max_digits": 16, "decimal_places": 4}
HOURS = {"max_digits": 10, "decimal_places": 2}


def _in(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class HourlyRate(TimeStampedModel):
    """An hourly rate for a work type, in a currency: the MSP's default rate card (no client)
    or a client's override. A contract's hourly service line comes before both."""

    client = models.ForeignKey(
        "msp.Client",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="hourly_rates",
        help_text="Blank: the default rate card.",
    )
    work_type = models.CharField(max_length=10, choices=WorkType.choices)
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["client", "currency", "work_type"]
        constraints = [
            _in("work_type", WorkType, "hourly_rate_work_type_valid"),
            models.CheckConstraint(condition=Q(rate__gte=0), name="hourly_rate_not_negative"),
            models.UniqueConstraint(
                fields=["work_type", "currency"],
                condition=Q(client__isnull=True),
                name="hourly_rate_one_default",
            ),
            models.UniqueConstraint(
                fields=["client", "work_type", "currency"],
                condition=Q(client__isnull=False),
                name="hourly_rate_one_per_client",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_type} {self.rate} {self.currency}"


class TaxRate(TimeStampedModel):
    """A tax (VAT, GST, a state sales tax) as a percentage of each line."""

    name = models.CharField(max_length=100)
    percent = models.DecimalField(
        max_digits=7, decimal_places=4, validators=[MinValueValidator(Decimal("0"))]
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(percent__gte=0), name="tax_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.percent} %"


class ClientTaxRate(models.Model):
    """A tax charged to a client: each applies to every line of its invoices."""

    client = models.ForeignKey("msp.Client", on_delete=models.CASCADE, related_name="tax_rates")
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, related_name="clients")

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["client", "tax_rate"]
        constraints = [
            models.UniqueConstraint(fields=["client", "tax_rate"], name="client_tax_rate_once"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.tax_rate_id}"


class SpendRecord(TimeStampedModel):
    """What a client spent in a month on a service the MSP manages (cloud, licences), which a
    percentage-of-spend line bills a share of."""

    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="spend_records"
    )
    service = models.CharField(max_length=20, help_text="The contract's service line's service.")
    month = models.DateField(help_text="First day of the month.")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    source = models.CharField(max_length=10, choices=SpendSource.choices)
    note = models.CharField(max_length=200, blank=True)

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["contract", "month", "service"]
        constraints = [
            _in("source", SpendSource, "spend_record_source_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="spend_not_negative"),
            models.UniqueConstraint(
                fields=["contract", "service", "month"], name="spend_record_one_per_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.service} {self.month:%Y-%m}: {self.amount}"


class InvoiceRun(TimeStampedModel):
    """One run of billing for the month that ended (its contracts' periods ending with it):
    what it made, updated, left alone and could not bill."""

    month = models.DateField(help_text="First day of the month the run closes.")
    started_by = models.ForeignKey(
        "msp.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Blank: the schedule.",
    )
    client_ids = models.JSONField(
        null=True, blank=True, help_text="The clients asked for; blank: every client billed."
    )
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker took it; blank: still queued."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(
        default=0, help_text="Invoices already reviewed or finalised: left as they are."
    )
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invoice run for {self.month:%Y-%m}"

    @property
    def state(self) -> str:
        if self.finished_at:
            return "finished"
        return "running" if self.started_at else "queued"


class InvoiceQuerySet(ClientScopedQuerySet):
    def for_user(self, user) -> "InvoiceQuerySet":
        """Clients see finalised invoices and credit notes (and void ones); staff see drafts."""
        invoices = super().for_user(user)
        if user is not None and user.is_authenticated and not user.is_msp_staff:
            invoices = invoices.filter(status__in=[InvoiceStatus.FINALISED, InvoiceStatus.VOID])
        return invoices


class Invoice(TimeStampedModel):
    """An invoice to a client in one currency for one billing period, or a credit note
    correcting one (kind). Its lines are the charges; the totals are their sums. Once
    finalised it is numbered and never changed; it can only be corrected by credit notes,
    and voided by a full one."""

    # What may still change once finalised: voiding it, and the PDF drawn from it.
    EDITABLE_WHEN_FINAL = frozenset({"status", "voided_at", "voided_by", "pdf", "updated_at"})

    kind = models.CharField(
        max_length=12, choices=DocumentKind.choices, default=DocumentKind.INVOICE
    )
    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="invoices")
    currency = models.CharField(max_length=3)
    billing_cycle = models.CharField(max_length=10, choices=BillingCycleKind.choices)
    period_start = models.DateField(help_text="First day billed.")
    period_end = models.DateField(help_text="First day after the period (exclusive).")
    status = models.CharField(
        max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    run = models.ForeignKey(
        InvoiceRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        help_text="Credit notes: the invoice corrected.",
    )
    reason = models.TextField(blank=True, help_text="Credit notes: why.")
    number = models.CharField(max_length=20, null=True, blank=True, unique=True)
    number_year = models.PositiveSmallIntegerField(null=True, blank=True)
    number_sequence = models.PositiveIntegerField(null=True, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    subtotal = models.DecimalField(**MONEY, default=Decimal("0.00"))
    tax_total = models.DecimalField(**MONEY, default=Decimal("0.00"))
    total = models.DecimalField(**MONEY, default=Decimal("0.00"))
    computed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        "msp.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(
        "msp.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    finalised_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        "msp.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    pdf = models.FileField(upload_to="invoices/%Y/%m/", null=True, blank=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "client", "pk"]
        constraints = [
            _in("kind", DocumentKind, "invoice_kind_valid"),
            _in("status", InvoiceStatus, "invoice_status_valid"),
            _in("billing_cycle", BillingCycleKind, "invoice_billing_cycle_valid"),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")),
                name="invoice_period_not_empty",
            ),
            # Re-running a period finds the same invoice: one per client, currency and period,
            # whatever its state, until it is voided.
            models.UniqueConstraint(
                fields=["client", "currency", "period_start", "period_end"],
                condition=Q(kind="invoice") & ~Q(status="void"),
                name="invoice_one_per_client_currency_period",
            ),
            models.UniqueConstraint(
                fields=["kind", "number_year", "number_sequence"],
                name="invoice_number_sequence_unique",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "reviewed"], number__isnull=True)
                | Q(status__in=["finalised", "void"], number__isnull=False),
                name="invoice_numbered_when_final",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", credited_invoice__isnull=True)
                | Q(kind="credit_note", credited_invoice__isnull=False),
                name="invoice_credit_note_names_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "-period_start"], name="invoice_client_period_idx"),
            models.Index(fields=["status", "period_start"], name="invoice_status_period_idx"),
        ]

    def __str__(self) -> str:
        if self.number:
            return self.number
        return f"Draft {self.get_kind_display().lower()} {self.client_id} {self.period_start}"

    @property
    def is_final(self) -> bool:
        return self.status in (InvoiceStatus.FINALISED, InvoiceStatus.VOID)

    def save(self, *args, **kwargs):
        if self.pk and not self._state.adding and self._final_in_database():
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= self.EDITABLE_WHEN_FINAL:
                raise ValueError("A finalised invoice is never changed; issue a credit note.")
        super().save(*args, **kwargs)

    def _final_in_database(self) -> bool:
        # The state loaded with the row: a service that finalises saves the row it locked.
        return getattr(self, "_loaded_final", False)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        status = getattr(instance, "status", None) if "status" in field_names else None
        instance._loaded_final = status in (InvoiceStatus.FINALISED, InvoiceStatus.VOID)
        return instance

    def delete(self, *args, **kwargs):
        if self.is_final:
            raise ValueError("A finalised invoice is never deleted; issue a credit note.")
        return super().delete(*args, **kwargs)


class InvoiceLine(models.Model):
    """One charge (or credit, or tax) of an invoice: quantity x unit price, rounded once to the
    amount (docs/billing.md). `detail` says what it was computed from: devices and their days,
    the block's ledger, the missed targets of a service credit (with their TargetResult ids)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service_line = models.ForeignKey(
        "contracts.ServiceLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    description = models.CharField(max_length=300)
    service_start = models.DateField(null=True, blank=True)
    service_end = models.DateField(null=True, blank=True, help_text="Exclusive.")
    work_type = models.CharField(max_length=10, blank=True)
    quantity = models.DecimalField(**QUANTITY)
    unit = models.CharField(max_length=20)
    unit_price = models.DecimalField(**UNIT_PRICE)
    amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(
        **MONEY, default=Decimal("0.00"), help_text="The taxes on this line, each rounded."
    )
    taxes = models.JSONField(
        default=list, blank=True, help_text='[{"tax_rate": id, "percent": "8.2500", "amount": …}]'
    )
    tax_rate = models.ForeignKey(
        TaxRate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Tax lines: the tax they total.",
    )
    credited_line = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credits",
        help_text="Credit note lines: the invoice line corrected.",
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            _in("kind", LineKind, "invoice_line_kind_valid"),
            models.UniqueConstraint(
                fields=["invoice", "position"], name="invoice_line_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class InvoicedItem(models.Model):
    """Something billed once (an approved time entry, a ticket's charge, a month's service
    credit, a month's spend), claimed by the line that bills it. The partial unique constraints
    are what keep a re-run, or two runs at once, from billing it twice; voiding the invoice
    releases the claim (released_at) so that the corrected invoice can bill it."""

    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="items")
    time_entry = models.ForeignKey(
        "tickets.TimeEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    evaluation = models.ForeignKey(
        "contracts.MonthlyEvaluation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    spend_record = models.ForeignKey(
        SpendRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Time: as billed.")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["line", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(time_entry__isnull=False, ticket=None, evaluation=None, spend_record=None)
                    | Q(time_entry=None, ticket__isnull=False, evaluation=None, spend_record=None)
                    | Q(time_entry=None, ticket=None, evaluation__isnull=False, spend_record=None)
                    | Q(time_entry=None, ticket=None, evaluation=None, spend_record__isnull=False)
                ),
                name="invoiced_item_one_thing",
            ),
            *(
                models.UniqueConstraint(
                    fields=[field],
                    condition=Q(**{f"{field}__isnull": False}, released_at__isnull=True),
                    name=f"invoiced_{field}_once",
                )
                for field in ("time_entry", "ticket", "evaluation", "spend_record")
            ),
        ]

    def __str__(self) -> str:
        return f"Item of line {self.line_id}"


class BlockHoursPeriod(models.Model):
    """The block-of-hours ledger: one row per block line and billing period, with the hours
    brought in (lots still valid, each with the day it expires), granted, used, billed as
    overage, expired and carried out. The next period opens with this one's closing lots."""

    service_line = models.ForeignKey(
        "contracts.ServiceLine", on_delete=models.PROTECT, related_name="block_periods"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="block_periods")
    period_start = models.DateField()
    period_end = models.DateField()
    opening_lots = models.JSONField(default=list)
    opening_hours = models.DecimalField(**HOURS)
    granted_hours = models.DecimalField(**HOURS)
    used_hours = models.DecimalField(**HOURS)
    overage_hours = models.DecimalField(**HOURS)
    expired_hours = models.DecimalField(**HOURS)
    closing_lots = models.JSONField(default=list)
    closing_hours = models.DecimalField(**HOURS)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service_line", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_line", "period_start"],
                condition=Q(released_at__isnull=True),
                name="block_period_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Block {self.service_line_id} {self.period_start}: {self.closing_hours} h left"


class DocumentSequence(models.Model):
    """The last number given to an invoice or credit note in a year. Locked (select_for_update)
    by the finalising transaction, so numbers have no gaps: a rollback takes its number back."""

    kind = models.CharField(max_length=12, choices=DocumentKind.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            _in("kind", DocumentKind, "document_sequence_kind_valid"),
            models.UniqueConstraint(fields=["kind", "year"], name="document_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last_number}"


class InvoiceDelivery(models.Model):
    """An invoice or credit note emailed (PDF attached) to one of the client's billing
    contacts: when it was finalised, or sent again from its page (a resend is a new row)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="deliveries")
    contact = models.ForeignKey("msp.Contact", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(help_text="The address it was sent to, as it was then.")
    sent_by = models.ForeignKey(
        "msp.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Blank: sent by the schedule.",
    )
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["invoice", "sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.invoice_id} to {self.email} at {self.sent_at:%Y-%m-%d %H:%M}"


class AccountingExport(TimeStampedModel):
    """A CSV of finalised invoices and credit notes in an accounting product's import format
    (reporting/billing/exports.py), as it was handed over: who, when, which documents. A
    document goes into one export only, unless it is exported again on purpose (`again`)."""

    format = models.CharField(
        max_length=12, choices=[("quickbooks", "QuickBooks Online"), ("xero", "Xero")]
    )
    created_by = models.ForeignKey(
        "msp.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    again = models.BooleanField(default=False, help_text="Re-exported documents already exported.")
    content = models.TextField(help_text="The CSV as handed over.")
    row_count = models.PositiveIntegerField(default=0)
    invoices = models.ManyToManyField(
        Invoice, through="AccountingExportDocument", related_name="accounting_exports"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(format__in=["quickbooks", "xero"]),
                name="accounting_export_format_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_format_display()} export {self.pk}"


class AccountingExportDocument(models.Model):
    """An invoice or credit note in an export. The first export of a document is its one
    export (the partial unique constraint); a deliberate re-export is recorded as `repeated`."""

    export = models.ForeignKey(AccountingExport, on_delete=models.CASCADE, related_name="documents")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="export_documents")
    repeated = models.BooleanField(default=False)

    class Meta:
        ordering = ["export", "invoice"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(repeated=False), name="accounting_export_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} in export {self.export_id}"
