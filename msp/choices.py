from django.db import models


class UserRole(models.TextChoices):
    TECHNICIAN = "technician", "Technician"
    DISPATCHER = "dispatcher", "Dispatcher"
    ACCOUNT_MANAGER = "account_manager", "Account manager"
    ADMIN = "admin", "Administrator"
    CLIENT = "client", "Client user"


STAFF_ROLES = (
    UserRole.TECHNICIAN,
    UserRole.DISPATCHER,
    UserRole.ACCOUNT_MANAGER,
    UserRole.ADMIN,
)


class Tier(models.TextChoices):
    L1 = "L1", "Tier 1"
    L2 = "L2", "Tier 2"
    L3 = "L3", "Tier 3"


class ClientStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    ONBOARDING = "onboarding", "Onboarding"
    ACTIVE = "active", "Active"
    OFFBOARDING = "offboarding", "Offboarding"
    INACTIVE = "inactive", "Inactive"


class ContactRole(models.TextChoices):
    PRIMARY = "primary", "Primary"
    TECHNICAL = "technical", "Technical"
    BILLING = "billing", "Billing"
    EXECUTIVE = "executive", "Executive"


class AssetKind(models.TextChoices):
    WORKSTATION = "workstation", "Workstation"
    LAPTOP = "laptop", "Laptop"
    SERVER = "server", "Server"
    VIRTUAL_MACHINE = "virtual_machine", "Virtual machine"
    NETWORK_DEVICE = "network_device", "Network device"
    FIREWALL = "firewall", "Firewall"
    PRINTER = "printer", "Printer"
    MOBILE = "mobile", "Mobile device"
    CLOUD_SERVICE = "cloud_service", "Cloud service"
    OTHER = "other", "Other"


# Roles that configure service settings (calendars, SLA policies, contracts).
SERVICE_MANAGER_ROLES = (UserRole.ADMIN, UserRole.ACCOUNT_MANAGER)


class OutboxChannel(models.TextChoices):
    EMAIL = "email", "Email"
    IN_APP = "in_app", "In-app notification"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class TokenScope(models.TextChoices):
    """What an API token may do: read, read and write, or only post monitoring alerts."""

    READ = "read", "Read"
    WRITE = "write", "Read and write"
    ALERTS = "alerts", "Alerts only"


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
