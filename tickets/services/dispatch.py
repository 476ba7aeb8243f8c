"""Telling the dispatchers: every P1/P2 breach and every escalation reaches the dispatchers of
the ticket's client, in the app and by email, through the outbox (written in the same
transaction as the change, delivered after commit, each message once by its key).

The dispatchers of a client are the active staff with the dispatcher role whose teams serve
it (the scope rule of msp.querysets, read the other way round); a client that no dispatcher
serves falls back to the administrators, so that a breach is never told to no one and never
to someone who may not see the client's tickets.
The timer sweep reads the dispatchers once per run and the staff serving each client once
per batch; a single escalation reads both once.
"""

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from msp.choices import OutboxChannel, UserRole
from msp.models import User
from msp.timetext import time_text, zone_or_none
from sla.choices import Priority
from tickets.models import Ticket
from tickets.reply_address import reply_address

# Breaches of these priorities are told to the dispatchers; escalations of any.
DISPATCHED_BREACHES = (Priority.P1, Priority.P2)


def dispatchers_active() -> list[User]:
    """The active dispatchers, and the administrators they fall back to."""
    roles = (UserRole.DISPATCHER, UserRole.ADMIN)
    return list(
        User.objects.filter(role__in=roles, is_active=True, client__isnull=True).order_by("pk")
    )


def dispatchers_of(everyone: list[User], serving: frozenset[int]) -> list[User]:
    """Of `everyone` (dispatchers_active), the dispatchers who see the client (`serving`: the
    ids of the staff who see it), or the administrators who do when no dispatcher does."""
    seeing = [person for person in everyone if person.pk in serving]
    dispatchers = [person for person in seeing if person.role == UserRole.DISPATCHER]
    return dispatchers or [person for person in seeing if person.role == UserRole.ADMIN]


def dispatcher_messages(
    *,
    ticket: Ticket,
    people: list[User],
    key: str,
    escalated: bool,
    what: str,
    due_at: datetime | None = None,
    reason: str = "",
) -> list[dict]:
    """In-app and email messages to each of `people` (outbox_enqueue_many's dicts). The email
    reads times in the recipient's zone (their setting, else the client's): one rendering per
    zone, however many people."""
    url = f"{settings.SITE_URL}{reverse('tickets:detail', args=[ticket.pk])}"
    by_zone: dict[str, list[User]] = defaultdict(list)
    for person in dict.fromkeys(people):
        zone = zone_or_none(person.timezone) or ZoneInfo(ticket.client.timezone)
        by_zone[zone.key].append(person)
    messages = []
    for zone_name, persons in by_zone.items():
        due = f" (due {time_text(due_at, zone_name, 'weekday')})" if due_at else ""
        detail = f"{what}{due}."
        if reason:
            detail = f"{detail} {reason}"
        subject = f"[{ticket.number}] {ticket.priority} {detail} {ticket.subject}"[:250]
        body = render_to_string(
            "email/dispatcher_alert.txt",
            {"ticket": ticket, "detail": detail, "escalated": escalated, "url": url},
        )
        for person in persons:
            for channel in (OutboxChannel.IN_APP, OutboxChannel.EMAIL):
                message = {
                    "key": f"{key}:dispatcher{person.pk}:{channel}",
                    "channel": channel,
                    "subject": subject,
                    "body": body,
                    "recipient": person,
                    "url": url,
                }
                if channel == OutboxChannel.EMAIL:
                    # As the rules' emails: answering adds an internal note as them.
                    message["headers"] = {
                        "Reply-To": reply_address(ticket_id=ticket.pk, user=person, internal=True)
                    }
                messages.append(message)
    return messages
