from django.db import models


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoiceStatus(models.TextChoices):
    """draft -> reviewed -> finalised (numbered, immutable) -> void (by a full credit note).
    A draft or reviewed invoice may be discarded; a run recomputes a draft."""

    DRAFT = "draft", "Draft"
    REVIEWED = "reviewed", "Reviewed"
    FINALISED = "finalised", "Finalised"
    VOID = "void", "Void"


class BillingCycleKind(models.TextChoices):
    """The period an invoice covers (contracts.choices.BillingCycle's values)."""

    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ANNUALLY = "annually", "Annually"


class LineKind(models.TextChoices):
    FIXED_FEE = "fixed_fee", "Monthly fee"
    PER_DEVICE = "per_device", "Per device"
    PER_SEAT = "per_seat", "Per seat"
    RETAINER = "retainer", "Retainer"
    BLOCK_HOURS = "block_hours", "Block of hours"
    BLOCK_OVERAGE = "block_overage", "Hours beyond the block"
    TIME = "time", "Time and materials"
    PER_TICKET = "per_ticket", "Per ticket"
    MANAGED_SPEND = "managed_spend", "Percentage of managed spend"
    SERVICE_CREDIT = "service_credit", "Service credit"
    TAX = "tax", "Tax"
    CORRECTION = "correction", "Correction"


class SpendSource(models.TextChoices):
    ENTERED = "entered", "Entered"
    CSV = "csv", "Imported from CSV"
    API = "api", "Sent over the API"
