from django.db import models


class WebhookEventType(models.TextChoices):
    TICKET_CREATED = "ticket.created", "Ticket created"
    TICKET_UPDATED = "ticket.updated", "Ticket updated (priority, contact, links, pauses)"
    TICKET_STATUS_CHANGED = "ticket.status_changed", "Ticket status changed"
    TICKET_ASSIGNED = "ticket.assigned", "Ticket assigned"
    TICKET_ESCALATED = "ticket.escalated", "Ticket escalated"
    TICKET_MERGED = "ticket.merged", "Ticket merged"
    TICKET_COMMENT_ADDED = "ticket.comment_added", "Public comment added"
    SLA_WARNING = "sla.warning", "SLA warning"
    SLA_BREACH = "sla.breach", "SLA breach"
    SLA_BREACH_EXEMPTED = "sla.breach_exempted", "SLA breach exempted"
    ALERT_UNROUTED = "alert.unrouted", "Alert not routed to a client"
    CONTRACT_EVALUATED = "contract.evaluated", "Contract month evaluated"
    REPORT_SENT = "report.sent", "Report sent"
    # Only ever sent by "send test event"; not offered for subscription.
    TEST = "webhook.test", "Test event"


# What an endpoint owned by a client may subscribe to: its own tickets and their SLA, and its
# reports; nothing about the MSP's contracts or alert routing.
CLIENT_EVENT_TYPES = frozenset(
    {
        WebhookEventType.TICKET_CREATED,
        WebhookEventType.TICKET_UPDATED,
        WebhookEventType.TICKET_STATUS_CHANGED,
        WebhookEventType.TICKET_ASSIGNED,
        WebhookEventType.TICKET_ESCALATED,
        WebhookEventType.TICKET_MERGED,
        WebhookEventType.TICKET_COMMENT_ADDED,
        WebhookEventType.SLA_WARNING,
        WebhookEventType.SLA_BREACH,
        WebhookEventType.SLA_BREACH_EXEMPTED,
        WebhookEventType.REPORT_SENT,
    }
)

SUBSCRIBABLE_EVENT_TYPES = [
    (value, label) for value, label in WebhookEventType.choices if value != WebhookEventType.TEST
]


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"
