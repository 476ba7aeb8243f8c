from django.db import models


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_CLIENT = "waiting_on_client", "Waiting on client"
    WAITING_ON_THIRD_PARTY = "waiting_on_third_party", "Waiting on third party"
    SCHEDULED = "scheduled", "Scheduled"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.IN_PROGRESS,
    TicketStatus.WAITING_ON_CLIENT,
    TicketStatus.WAITING_ON_THIRD_PARTY,
    TicketStatus.SCHEDULED,
)

# Which status a ticket may move to through a plain status change. Resolving (with a note),
# reopening, closing and merging have their own services.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset(OPEN_STATUSES) | {TicketStatus.CANCELLED},
    TicketStatus.IN_PROGRESS: frozenset(OPEN_STATUSES) | {TicketStatus.CANCELLED},
    TicketStatus.WAITING_ON_CLIENT: frozenset(OPEN_STATUSES) | {TicketStatus.CANCELLED},
    TicketStatus.WAITING_ON_THIRD_PARTY: frozenset(OPEN_STATUSES) | {TicketStatus.CANCELLED},
    TicketStatus.SCHEDULED: frozenset(OPEN_STATUSES) | {TicketStatus.CANCELLED},
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
    TicketStatus.CANCELLED: frozenset(),
}


class TicketType(models.TextChoices):
    INCIDENT = "incident", "Incident"
    SERVICE_REQUEST = "service_request", "Service request"
    PROBLEM = "problem", "Problem"
    CHANGE = "change", "Change"


class TicketSource(models.TextChoices):
    PORTAL = "portal", "Portal"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    ALERT = "alert", "Monitoring alert"
    API = "api", "API"


class Impact(models.TextChoices):
    HIGH = "high", "High - many users or a whole site"
    MEDIUM = "medium", "Medium - a team or a service degraded"
    LOW = "low", "Low - one user"


class Urgency(models.TextChoices):
    HIGH = "high", "High - work has stopped"
    MEDIUM = "medium", "Medium - work is impaired"
    LOW = "low", "Low - a workaround exists"


class WorkType(models.TextChoices):
    REMOTE = "remote", "Remote support"
    ONSITE = "onsite", "On-site"
    PROJECT = "project", "Project work"
    TRAVEL = "travel", "Travel"
    ADMIN = "admin", "Administration"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS = "status", "Status changed"
    PRIORITY = "priority", "Priority changed"
    ASSIGNED = "assigned", "Assigned"
    CONTACT = "contact", "Contact changed"
    ESCALATED = "escalated", "Escalated"
    REPLY = "reply", "Public reply"
    NOTE = "note", "Internal note"
    CLIENT_MESSAGE = "client_message", "Client message"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    TIME_LOGGED = "time_logged", "Time logged"
    ATTACHMENT = "attachment", "Attachment added"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    CLOSED = "closed", "Closed"
    MERGED = "merged", "Merged"
    LINKED = "linked", "Linked"
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACH = "sla_breach", "SLA breached"
    MAINTENANCE_PAUSE = "maintenance_pause", "Paused for maintenance"
    MAINTENANCE_RESUME = "maintenance_end", "Maintenance ended"
    ALERT = "alert", "Monitoring alert"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class InboundStatus(models.TextChoices):
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (automatic message)"
    QUARANTINED = "quarantined", "Quarantined"


class TimeEntryState(models.TextChoices):
    """A time entry's approval: the technician's draft, submitted with the week, then approved
    (locked: billing reads it) or rejected with a reason (back to the technician to fix)."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


# Who the technician may still change an entry in: their own work in progress.
TIME_ENTRY_EDITABLE_STATES = (TimeEntryState.DRAFT, TimeEntryState.REJECTED)
