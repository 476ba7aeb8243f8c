"""Every change to a ticket. Each service is atomic: the ticket row is locked, the change, its
timeline event and its SLA clock effects commit together or not at all (`write.TicketWrite`).

Modules by what they change: opening, conversation, routing, status, merge, timekeeping,
files. The services below are the public surface; the steps on an open `TicketWrite` (e.g.
`routing.escalate`) are for the timers that compose a change of their own.
"""

from tickets.services.conversation import (
    requester_contact_record,
    ticket_acknowledge,
    ticket_client_message,
    ticket_email_subject,
    ticket_note,
    ticket_reply,
    ticket_system_note,
    ticket_unverified_note,
)
from tickets.services.files import attachment_add
from tickets.services.merge import ticket_link_parent, ticket_merge, tickets_group_under
from tickets.services.opening import ticket_open
from tickets.services.routing import (
    NEXT_TIER,
    ticket_assign,
    ticket_change_priority,
    ticket_escalate,
    ticket_route,
    ticket_set_contact,
)
from tickets.services.status import (
    ticket_change_status,
    ticket_close,
    ticket_reopen,
    ticket_resolve,
    ticket_resolve_automatically,
)
from tickets.services.timekeeping import time_entry_log
from tickets.services.write import TicketWrite, ticket_system_event

__all__ = [
    "NEXT_TIER",
    "TicketWrite",
    "attachment_add",
    "requester_contact_record",
    "ticket_acknowledge",
    "ticket_assign",
    "ticket_change_priority",
    "ticket_change_status",
    "ticket_client_message",
    "ticket_close",
    "ticket_email_subject",
    "ticket_escalate",
    "ticket_link_parent",
    "ticket_merge",
    "ticket_note",
    "ticket_open",
    "ticket_reopen",
    "ticket_reply",
    "ticket_resolve",
    "ticket_resolve_automatically",
    "ticket_route",
    "ticket_set_contact",
    "ticket_system_event",
    "ticket_system_note",
    "ticket_unverified_note",
    "tickets_group_under",
    "time_entry_log",
]
