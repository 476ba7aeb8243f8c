"""What the live ticket page and queues compare to know whether anything changed, and the
stale-write check of the composers (see msp/live.py for the polling itself)."""

from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import QueryDict

from msp import live
from msp.models import User
from tickets.choices import EventKind
from tickets.models import Ticket, TimelineEvent

PRESENCE_KIND = "ticket"

# Entries that make a reply written without seeing them stale: someone else said something.
CONVERSATION_KINDS = (EventKind.REPLY, EventKind.NOTE, EventKind.CLIENT_MESSAGE)


def ticket_state(*, user: User, pk: int) -> tuple | None:
    """(updated_at, latest timeline entry id) of a ticket the user sees, in one query; None if
    the ticket is not theirs to see. Every service saves the ticket (moving `updated_at`) or
    adds a timeline entry (replies, notes, files, the sweep's warnings and escalations)."""
    latest = TimelineEvent.objects.filter(ticket=OuterRef("pk")).order_by("-pk").values("pk")[:1]
    row = (
        Ticket.objects.for_user(user)
        .filter(pk=pk)
        .annotate(latest_event=Subquery(latest))
        .values_list("updated_at", "latest_event")
        .first()
    )
    return row


def ticket_fingerprint(*, user: User, state: tuple, others: list[live.Presence]) -> str:
    """The ETag of the ticket's live fragment for this user: the ticket's state and who else
    is on the page (a fragment is per user: it leaves the viewer out of the presence line)."""
    presence = [(p.user_id, p.state) for p in others]
    return live.fingerprint("ticket", user.pk, *state, presence)


def queue_fingerprint(*, user: User, tickets: QuerySet, query: QueryDict) -> str:
    """The ETag of a queue's results: the row count and latest change of exactly the tickets
    the page lists from (the user's scope, queue and filters), and how they are shown (the
    query: page, sort, page size)."""
    rows, latest = live.queryset_fingerprint(tickets)
    shown = sorted((key, value) for key, value in query.lists() if key != "live")
    return live.fingerprint("queue", user.pk, rows, latest, shown)


def latest_event_id(ticket: Ticket) -> int:
    return (
        TimelineEvent.objects.filter(ticket=ticket).order_by("-pk").values_list("pk", flat=True)
    ).first() or 0


@dataclass(frozen=True)
class StaleWrite:
    """Others' replies, notes or client messages added after the composer was drawn."""

    names: tuple[str, ...]
    latest_event_id: int

    @property
    def message(self) -> str:
        who = " and ".join(self.names) if len(self.names) <= 2 else "Others"
        return f"{who} replied while you were typing - review and send again."


def stale_write_check(
    *, ticket: Ticket, user: User, seen_event_id: int | None
) -> StaleWrite | None:
    """None if nobody else wrote on the ticket since entry `seen_event_id` (None: the form
    did not say, e.g. an API-like post; nothing to compare, so no refusal)."""
    if seen_event_id is None:
        return None
    newer = list(
        TimelineEvent.objects.filter(
            ticket=ticket, pk__gt=seen_event_id, kind__in=CONVERSATION_KINDS
        )
        .exclude(actor=user)
        .select_related("actor", "comment")
        .order_by("pk")
    )
    # A client's email has no actor: exclude(actor=user) keeps it (NULL is not the user).
    if not newer:
        return None
    names = []
    for event in newer:
        if event.actor is not None:
            name = event.actor.full_name
        elif event.comment is not None and event.comment.email_sender:
            name = event.comment.email_sender
        else:
            name = "The client"
        if name not in names:
            names.append(name)
    return StaleWrite(names=tuple(names), latest_event_id=latest_event_id(ticket))
