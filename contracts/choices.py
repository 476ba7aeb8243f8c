from django.db import models


class ContractType(models.TextChoices):
    FULLY_MANAGED = "fully_managed", "Fully managed"
    CO_MANAGED = "co_managed", "Co-managed"
    MONITORING_ONLY = "monitoring_only", "Monitoring only"
    BLOCK_HOURS = "block_hours", "Block hours"
    TIME_AND_MATERIALS = "time_and_materials", "Time and materials"
    PROJECT = "project", "Project"


class ContractStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"


CONTRACT_TRANSITIONS: dict[str, frozenset[str]] = {
    ContractStatus.DRAFT: frozenset({ContractStatus.ACTIVE, ContractStatus.TERMINATED}),
    ContractStatus.ACTIVE: frozenset({ContractStatus.EXPIRED, ContractStatus.TERMINATED}),
    ContractStatus.EXPIRED: frozenset(),
    ContractStatus.TERMINATED: frozenset(),
}


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ANNUALLY = "annually", "Annually"


class Service(models.TextChoices):
    INFRASTRUCTURE = "infrastructure", "Managed infrastructure"
    SECURITY = "security", "Security"
    CLOUD = "cloud", "Cloud"
    SERVICE_DESK = "service_desk", "Service desk"
    BACKUP = "backup", "Backup"
    NETWORK = "network", "Network"
    DATABASE = "database", "Database"


class PricingModel(models.TextChoices):
    PER_DEVICE = "per_device", "Per device"
    PER_SEAT = "per_seat", "Per seat"
    FIXED_RETAINER = "fixed_retainer", "Fixed retainer"
    BLOCK_OF_HOURS = "block_of_hours", "Block of hours"
    HOURLY = "hourly", "Hourly (time and materials)"
    PERCENT_OF_SPEND = "percent_of_spend", "Percentage of managed spend"
    PER_TICKET = "per_ticket", "Per ticket"


class UnusedHours(models.TextChoices):
    """What becomes of a block's hours left at the end of a billing period."""

    EXPIRE = "expire", "Expire at the end of the period"
    ROLL_OVER = "roll_over", "Roll over (for a number of months)"


class ComplianceMetric(models.TextChoices):
    RESPONSE = "response", "Response within target"
    RESOLUTION = "resolution", "Resolution within target"


class LadderStep(models.TextChoices):
    """The governance ladder, in order: each consecutive missed month climbs one rung."""

    OK = "ok", "On target"
    WARNING = "warning", "Warning"
    REMEDIATION = "remediation", "Remediation plan required"
    CREDIT = "credit", "Service credit"
    TERMINATION = "termination", "Termination right"


class TargetKind(models.TextChoices):
    COMPLIANCE = "compliance", "SLA compliance"
    AVAILABILITY = "availability", "Availability"


class ExemptionCause(models.TextChoices):
    CLIENT = "client", "Caused by the client"
    EXCLUSION = "exclusion", "Agreed exclusion"
    MAINTENANCE = "maintenance", "Maintenance window"
