"""Which outbound webhook each timeline entry is, and what it carries.

`TicketWrite.event()` (single writes) and `TicketWrites.flush()` (the sweep's batches) pass
every timeline entry they create here. Payloads hold only what the client may see: no internal
notes, no reasons staff wrote for themselves (escalation reasons, priority overrides), and ids
rather than names, so that building them reads nothing from the database.
"""

from msp.webhooks.choices import WebhookEventType
from msp.webhooks.services import WebhookEvent, webhook_emit_many, webhook_wanted_types
from tickets.choices import EventKind
from tickets.models import Ticket, TimelineEvent

EVENT_TYPES: dict[str, str] = {
    EventKind.CREATED: WebhookEventType.TICKET_CREATED,
    EventKind.STATUS: WebhookEventType.TICKET_STATUS_CHANGED,
    EventKind.RESOLVED: WebhookEventType.TICKET_STATUS_CHANGED,
    EventKind.REOPENED: WebhookEventType.TICKET_STATUS_CHANGED,
    EventKind.CLOSED: WebhookEventType.TICKET_STATUS_CHANGED,
    EventKind.ASSIGNED: WebhookEventType.TICKET_ASSIGNED,
    EventKind.ESCALATED: WebhookEventType.TICKET_ESCALATED,
    EventKind.MERGED: WebhookEventType.TICKET_MERGED,
    EventKind.REPLY: WebhookEventType.TICKET_COMMENT_ADDED,
    EventKind.CLIENT_MESSAGE: WebhookEventType.TICKET_COMMENT_ADDED,
    EventKind.SLA_WARNING: WebhookEventType.SLA_WARNING,
    EventKind.SLA_BREACH: WebhookEventType.SLA_BREACH,
    EventKind.PRIORITY: WebhookEventType.TICKET_UPDATED,
    EventKind.CONTACT: WebhookEventType.TICKET_UPDATED,
    EventKind.LINKED: WebhookEventType.TICKET_UPDATED,
    EventKind.ACKNOWLEDGED: WebhookEventType.TICKET_UPDATED,
    EventKind.MAINTENANCE_PAUSE: WebhookEventType.TICKET_UPDATED,
    EventKind.MAINTENANCE_RESUME: WebhookEventType.TICKET_UPDATED,
    # Not sent: internal notes, time logged, attachments (possibly of a note), alert repeats.
}

# Kinds whose old and new values are client-facing facts (a status, a priority, a tier...).
_VALUES_SHOWN = {
    EventKind.STATUS,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.CLOSED,
    EventKind.PRIORITY,
    EventKind.ESCALATED,
    EventKind.MERGED,
    EventKind.LINKED,
    EventKind.SLA_WARNING,
    EventKind.SLA_BREACH,
}


def ticket_data(ticket: Ticket) -> dict:
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "client_id": ticket.client_id,
        "subject": ticket.subject,
        "type": ticket.type,
        "source": ticket.source,
        "status": ticket.status,
        "priority": ticket.priority,
        "tier": ticket.tier,
        "team_id": ticket.team_id,
        "assignee_id": ticket.assignee_id,
        "contact_id": ticket.contact_id,
        "parent_id": ticket.parent_id,
        "merged_into_id": ticket.merged_into_id,
        "sla_due_at": ticket.sla_due_at,
        "sla_breached": ticket.sla_breached,
        "created_at": ticket.created_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
    }


def webhook_event_of(event: TimelineEvent) -> WebhookEvent | None:
    """The webhook for one timeline entry, or None (not sent, or an internal comment)."""
    event_type = EVENT_TYPES.get(event.kind)
    if event_type is None:
        return None
    change = {"kind": event.kind, "timeline_event_id": event.pk}
    if event.kind in _VALUES_SHOWN:
        change.update(old=event.old_value, new=event.new_value)
    data = {"ticket": ticket_data(event.ticket), "change": change}
    if event_type == WebhookEventType.TICKET_COMMENT_ADDED:
        comment = event.comment
        if comment is None or not comment.is_public:
            return None
        data["comment"] = {
            "id": comment.pk,
            "author_id": comment.author_id,
            "from_client": event.kind == EventKind.CLIENT_MESSAGE,
            # A client message that came by email from an address not proven to be the
            # contact's is stored unverified (SPEC §11).
            "verified": not (event.kind == EventKind.CLIENT_MESSAGE and event.detail),
            "body": comment.body,
            "created_at": comment.created_at,
        }
    return WebhookEvent(event_type, data, event.ticket.client_id, event.at)


def ticket_events_emit(events: list[TimelineEvent]) -> int:
    """Queue the webhooks of these timeline entries (saved already): no query when no endpoint
    subscribes to their types, else one read of endpoints and one insert for all of them."""
    wanted = webhook_wanted_types()
    if not wanted:
        return 0
    webhooks = [
        webhook
        for event in events
        if EVENT_TYPES.get(event.kind) in wanted and (webhook := webhook_event_of(event))
    ]
    return webhook_emit_many(webhooks) if webhooks else 0
