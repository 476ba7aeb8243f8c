"""Services of the SLA timer sweep: record due warnings and breaches, act on the policy's
escalation rules, notify through the outbox. Called by a Celery beat task every few seconds.

Cost is O(due clocks): due tickets come from the partial index on SLAClock.next_check_at, never
from a scan of open tickets. Due tickets are handled in batches, one transaction each: the
tickets locked with skip_locked in one statement (so several workers, or two beats, share the
work without waiting on each other), their clocks in one, and the SLA events, clock updates,
timeline entries, outbox messages and ticket updates written in one statement each. A worker
that dies mid-sweep loses only its open transaction: the rows stay due and the next sweep
takes them.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from msp.choices import OutboxChannel
from msp.models import User
from msp.services import outbox_enqueue_many
from msp.timetext import zone_or_none
from sla import services as sla_services
from sla.choices import EscalationTrigger
from sla.models import EscalationRule
from sla.ticket_clocks import FiredMilestone, sla_due_ticket_ids, sla_milestones_fire
from tickets.choices import EventKind
from tickets.models import Ticket
from tickets.reply_address import reply_address
from tickets.services import dispatch, routing
from tickets.services.write import TicketWrite, TicketWrites

SWEEP_BATCH = 100
# What the escalation rules read of a ticket: who is told, and the team lead after a move.
NOTIFIED = ("client__account_manager", "team__lead", "assignee", "contact")
RESTRICT_VIOLATION = "23001"  # SQLSTATE of the append-only triggers' refusals

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    tickets: int = 0
    milestones: int = 0
    busy: int = 0
    lateness: list[timedelta] = field(default_factory=list)


def sla_sweep(
    *, now: datetime | None = None, batch_size: int = SWEEP_BATCH, budget_seconds: float = 20.0
) -> SweepResult:
    """Act on every clock milestone due by `now`, in batches, within a time budget."""
    now = now or timezone.now()
    result = SweepResult()
    # Tickets this run leaves to the next: locked by a service or another sweep, or due with
    # nothing to fire yet (a breach due at `now` exactly fires only once `now` has passed);
    # taken again in this run, they would be fetched until the budget ran out.
    passed_over: set[int] = set()
    rules_by_policy: dict[int, list[EscalationRule]] = {}  # read once per sweep
    serving: dict[int, frozenset[int]] = {}  # the staff who see each client, likewise
    dispatchers = Dispatchers()  # the active dispatchers, read once when first needed
    started = time.monotonic()
    while time.monotonic() - started < budget_seconds:
        ticket_ids = sla_due_ticket_ids(now=now, limit=batch_size, exclude=passed_over)
        if not ticket_ids:
            break
        swept = _sweep_batch(ticket_ids, now, rules_by_policy, serving, dispatchers)
        if swept is None and len(ticket_ids) > 1:
            # Another sweep recorded one of these milestones first, which undid the whole
            # batch: one ticket at a time, each of the others is still recorded once.
            swept = {}
            for ticket_id in ticket_ids:
                swept.update(
                    _sweep_batch([ticket_id], now, rules_by_policy, serving, dispatchers) or {}
                )
        for ticket_id in ticket_ids:
            fired = (swept or {}).get(ticket_id)
            if not fired:
                passed_over.add(ticket_id)
            if fired is None:
                result.busy += 1
                continue
            result.tickets += bool(fired)
            result.milestones += len(fired)
            result.lateness += [now - milestone.due_at for milestone in fired]
    return result


def _sweep_batch(
    ticket_ids: list[int],
    now: datetime,
    rules_by_policy: dict,
    serving: dict,
    dispatchers: "Dispatchers | None" = None,
) -> dict[int, list[FiredMilestone]] | None:
    """One transaction for a batch of due tickets: the milestones fired by ticket id, for the
    tickets this sweep could lock; None when the batch was refused and undone."""
    try:
        with transaction.atomic():
            writes = TicketWrites.begin(ticket_ids, now, related=NOTIFIED, serving=serving)
            fired = sla_milestones_fire([write.clocks for write in writes.writes], now=now)
            outbox: list[dict] = []
            dispatchers = dispatchers or Dispatchers()
            for write in writes.writes:
                policy_id = write.ticket.sla_policy_id
                if fired.get(write.ticket.pk) and policy_id not in rules_by_policy:
                    rules_by_policy[policy_id] = sla_services.escalation_rules_of(
                        policy_id=policy_id
                    )
                for milestone in fired.get(write.ticket.pk, ()):
                    _act_on(write, milestone, rules_by_policy[policy_id], outbox, dispatchers)
            outbox_enqueue_many(outbox)
            writes.flush(fired.keys())
            return {write.ticket.pk: fired.get(write.ticket.pk, []) for write in writes.writes}
    except IntegrityError as error:
        # Another sweep recorded the same milestone first (the unique constraint): nothing of
        # this attempt was kept. Any other refusal (the SLA record's append-only triggers) is
        # a bug to see, and must not hold the sweep on this ticket.
        if len(ticket_ids) == 1 and getattr(error.__cause__, "pgcode", None) == RESTRICT_VIOLATION:
            log.error("SLA sweep refused for ticket %s: %s", ticket_ids[0], error)
        return None


def _act_on(
    write: TicketWrite,
    milestone: FiredMilestone,
    policy_rules: list[EscalationRule],
    outbox: list[dict],
    dispatchers: "Dispatchers | None" = None,
) -> None:
    ticket = write.ticket
    clock = milestone.clock
    label = clock.get_kind_display()

    def describe(zone: ZoneInfo | None = None) -> str:
        """The milestone in words, its times in `zone` (default: the client's): the client's
        for the timeline, each staff member's own for their notification."""
        if milestone.trigger == EscalationTrigger.BREACH:
            return f"{label} target breached (due {_local(ticket, milestone.due_at, zone)})."
        if milestone.trigger == EscalationTrigger.UNACKNOWLEDGED:
            return f"Not acknowledged since {_local(ticket, ticket.created_at, zone)}."
        due = _local(ticket, clock.due_at, zone)
        return f"{label}: {milestone.percent} % of the target used (due {due})."

    kind = (
        EventKind.SLA_BREACH
        if milestone.trigger == EscalationTrigger.BREACH
        else EventKind.SLA_WARNING
    )
    detail = describe()
    write.event(kind, new_value=str(milestone.key), detail=detail)
    rules = sla_services.escalation_rules_matching(
        policy_rules,
        trigger=milestone.trigger,
        priority=ticket.priority,
        clock_kind=clock.kind,
        key=milestone.key,
    )
    told: set[int] = set()
    escalated = False
    for rule in rules:
        people, moved = _apply_rule(write, rule, milestone, describe, outbox)
        told.update(person.pk for person in people)
        escalated = escalated or moved
    breach = milestone.trigger == EscalationTrigger.BREACH
    if escalated or (breach and ticket.priority in dispatch.DISPATCHED_BREACHES):
        # The dispatchers hear of it once per milestone (a rule may have told some already).
        people = [
            person for person in (dispatchers or Dispatchers()).of(write) if person.pk not in told
        ]
        outbox.extend(
            dispatch.dispatcher_messages(
                ticket=ticket,
                people=people,
                key=f"dispatch:{clock.pk}:{milestone.key}",
                escalated=escalated,
                what=f"{label} target breached" if breach else detail.rstrip("."),
                due_at=milestone.due_at if breach else None,
                reason=f"Escalated to {ticket.tier}." if escalated and breach else "",
            )
        )


def _apply_rule(
    write: TicketWrite, rule: EscalationRule, milestone, describe, outbox: list[dict]
) -> tuple[list[User], bool]:
    """Act on one rule; the people it told and whether it escalated the ticket."""
    ticket = write.ticket
    detail = describe()
    # Whoever had the ticket before the rule acts hears about it, and so does the new team.
    people = _people_to_notify(ticket, rule)
    escalated = False
    # A breach may be recorded after the reply or resolve that concluded it: a ticket no
    # longer open is not moved or reassigned, but everyone is still told.
    if rule.raise_tier and ticket.is_open and ticket.tier in routing.NEXT_TIER:
        routing.escalate(write, f"Automatic, by rule: {rule.name}. {detail}")
        escalated = True
        if ticket.team and ticket.team.lead:
            people.append(ticket.team.lead)
    if (
        rule.reassign_to_id
        and rule.reassign_to.is_active
        and ticket.is_open
        and write.serves(rule.reassign_to)
    ):
        routing.assign(write, rule.reassign_to)
        people.append(rule.reassign_to)
    # Only people who see the client hear about its tickets (their teams serve it).
    people = [person for person in people if write.serves(person)]
    outbox.extend(_notifications(ticket, rule, milestone, describe, escalated, people))
    return people, escalated


class Dispatchers:
    """The active dispatchers, read once per sweep (and only if a breach or escalation is to
    be told); those of a ticket are the ones who see its client (tickets.services.dispatch)."""

    def __init__(self):
        self._everyone: list[User] | None = None

    def of(self, write: TicketWrite) -> list[User]:
        if self._everyone is None:
            self._everyone = dispatch.dispatchers_active()
        if not self._everyone:
            return []
        return dispatch.dispatchers_of(
            self._everyone, frozenset(p.pk for p in self._everyone if write.serves(p))
        )


def _people_to_notify(ticket: Ticket, rule: EscalationRule) -> list[User]:
    people = []
    if rule.notify_assignee and ticket.assignee:
        people.append(ticket.assignee)
    if rule.notify_team_lead and ticket.team and ticket.team.lead:
        people.append(ticket.team.lead)
    if rule.notify_account_manager and ticket.client.account_manager:
        people.append(ticket.client.account_manager)
    return people


def _notifications(
    ticket: Ticket,
    rule: EscalationRule,
    milestone,
    describe,
    escalated: bool,
    people: list[User],
) -> list[dict]:
    """The outbox messages a rule sends for one milestone (written by the caller in bulk):
    staff read its times in their own zone (else the client's), others in the client's; one
    rendering per zone."""
    url = f"{settings.SITE_URL}{reverse('tickets:detail', args=[ticket.pk])}"
    template = (
        "email/sla_breach.txt"
        if milestone.trigger == EscalationTrigger.BREACH
        else "email/sla_warning.txt"
    )
    if escalated:
        template = "email/escalation.txt"

    rendered: dict[str, tuple[str, str, dict]] = {}

    def written(zone: ZoneInfo | None) -> tuple[str, str, dict]:
        key = zone.key if zone else ""
        if key not in rendered:
            rendered[key] = _written(zone)
        return rendered[key]

    def _written(zone: ZoneInfo | None) -> tuple[str, str, dict]:
        detail = describe(zone)
        context = {
            "ticket": ticket,
            "detail": detail,
            "rule": rule,
            "escalated": escalated,
            "url": url,
            "milestone": milestone,
        }
        subject = f"[{ticket.number}] {detail} {ticket.subject}"[:250]
        return subject, render_to_string(template, context), context

    by_zone: dict[str, list[User]] = {}
    for person in dict.fromkeys(people):
        zone = zone_or_none(person.timezone)
        by_zone.setdefault(zone.key if zone else "", []).append(person)
    base_key = f"sla:{milestone.clock.pk}:{milestone.key}:rule{rule.pk}"
    messages = []
    for zone_name, persons in by_zone.items():
        subject, body, _ = written(zone_or_none(zone_name))
        # Each person's email carries their own signed internal reply address: answering it
        # adds an internal note as them (never a reply to the client); from anyone else,
        # unverified.
        messages += [
            {
                "key": f"{base_key}:user{person.pk}:{channel}",
                "channel": channel,
                "subject": subject,
                "body": body,
                "recipient": person,
                "url": url,
                **(
                    {
                        "headers": {
                            "Reply-To": reply_address(
                                ticket_id=ticket.pk, user=person, internal=True
                            )
                        }
                    }
                    if channel == OutboxChannel.EMAIL
                    else {}
                ),
            }
            for person in persons
            for channel in (OutboxChannel.IN_APP, OutboxChannel.EMAIL)
        ]
    if rule.notify_email:
        subject, body, _ = written(None)
        messages.append(
            {
                "key": f"{base_key}:{rule.notify_email}",
                "channel": OutboxChannel.EMAIL,
                "subject": subject,
                "body": body,
                "email": rule.notify_email,
            }
        )
    if rule.notify_client_contact and ticket.contact and ticket.contact.email:
        context = written(None)[2]
        messages.append(
            {
                "key": f"{base_key}:contact{ticket.contact.pk}",
                "channel": OutboxChannel.EMAIL,
                "subject": f"[{ticket.number}] Update on your request: {ticket.subject}"[:250],
                "body": render_to_string("email/client_update.txt", context),
                "email": ticket.contact.email,
                "headers": {"Reply-To": reply_address(ticket_id=ticket.pk, contact=ticket.contact)},
            }
        )
    return messages


def _local(ticket: Ticket, instant: datetime | None, zone: ZoneInfo | None = None) -> str:
    if instant is None:
        return "-"
    zone = zone or ZoneInfo(ticket.client.timezone)
    return timezone.localtime(instant, timezone=zone).strftime("%a %d %b %H:%M %Z")
