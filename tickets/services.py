"""Every change to a ticket. Each service is atomic: the ticket row is locked, the change, its
timeline event and its SLA clock effects commit together or not at all."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from contracts.selectors import contract_active_for
from msp.choices import OutboxChannel, Tier
from msp.models import Asset, Client, Contact, Site, Team, User
from msp.services import outbox_enqueue, outbox_message_id
from msp.text import one_line
from sla import services as sla_services
from sla.choices import Priority
from sla.models import SLAPolicy
from sla.selectors import default_policy
from tickets import selectors
from tickets.choices import (
    OPEN_STATUSES,
    STATUS_TRANSITIONS,
    EventKind,
    Impact,
    TicketSource,
    TicketStatus,
    TicketType,
    Urgency,
    WorkType,
)
from tickets.csat import survey_send
from tickets.models import (
    Alert,
    Attachment,
    Comment,
    EmailThreadMessage,
    Ticket,
    TimeEntry,
    TimelineEvent,
)
from tickets.rendering import markdown_to_safe_html
from tickets.reply_address import reply_address

NEXT_TIER = {Tier.L1: Tier.L2, Tier.L2: Tier.L3}
FINISHED_STATUSES = (TicketStatus.CLOSED, TicketStatus.CANCELLED)


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _event(ticket: Ticket, kind: str, actor: User | None, at: datetime, **values) -> TimelineEvent:
    return TimelineEvent.objects.create(ticket=ticket, kind=kind, actor=actor, at=at, **values)


def _apply_clock_summary(ticket: Ticket, summary: sla_services.ClockSummary) -> None:
    ticket.sla_due_at = summary.due_at
    ticket.sla_warn_at = summary.warn_at
    ticket.sla_breached = summary.breached


def _save(ticket: Ticket, *fields: str) -> None:
    ticket.save(update_fields=[*fields, "sla_due_at", "sla_warn_at", "sla_breached", "updated_at"])


def ticket_sla_summary_save(*, ticket: Ticket, summary: sla_services.ClockSummary) -> None:
    """Store the nearest SLA deadline after the sweep changed clocks (ticket row locked)."""
    ticket.refresh_from_db()
    _apply_clock_summary(ticket, summary)
    _save(ticket)


def ticket_system_event(*, ticket: Ticket, kind: str, at: datetime, detail: str = ""):
    """A timeline entry made by the system (no actor), e.g. a maintenance pause."""
    return _event(ticket, kind, None, at, detail=detail)


def _require_staff(user: User | None) -> None:
    if user is None or not user.is_msp_staff:
        raise ValidationError("Only MSP staff may do this.")


def _require_open(ticket: Ticket, action: str) -> None:
    if ticket.status in FINISHED_STATUSES:
        raise ValidationError(
            f"Ticket {ticket.number} is {ticket.get_status_display().lower()}; it cannot {action}."
        )


def _is_paused_status(ticket: Ticket, status: str) -> bool:
    return status in ticket.sla_policy.pause_statuses


# Opening ----------------------------------------------------------------------------------


@transaction.atomic
def ticket_open(
    *,
    client: Client,
    subject: str,
    description: str = "",
    contact: Contact | None = None,
    site: Site | None = None,
    asset: Asset | None = None,
    type: str = TicketType.INCIDENT,
    category: str = "",
    source: str = TicketSource.PHONE,
    impact: str = Impact.LOW,
    urgency: str = Urgency.MEDIUM,
    priority: str | None = None,
    priority_override_reason: str = "",
    created_by: User | None = None,
    assignee: User | None = None,
    team: Team | None = None,
    tier: str = Tier.L1,
    parent: Ticket | None = None,
    sla_policy: SLAPolicy | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Open a ticket and start its response and resolution clocks.

    The priority comes from the impact x urgency matrix; a different `priority` needs a reason.
    """
    at = _now(at)
    errors = {}
    for field, value in (
        ("contact", contact),
        ("site", site),
        ("asset", asset),
        ("parent", parent),
    ):
        if value is not None and value.client_id != client.pk:
            errors[field] = f"The {field} belongs to another client."
    matrix_priority = selectors.priority_from_matrix(impact=impact, urgency=urgency)
    if priority and priority != matrix_priority and not priority_override_reason.strip():
        errors["priority_override_reason"] = (
            f"The matrix gives {matrix_priority}; say why this ticket is {priority}."
        )
    # The SLA is the engagement: the client's active contract decides the policy, and both are
    # fixed at creation; without a contract the default policy applies.
    contract = contract_active_for(
        client_id=client.pk, on=timezone.localtime(at, ZoneInfo(client.timezone)).date()
    )
    policy = sla_policy or (contract.sla_policy if contract else None) or default_policy()
    if policy is None:
        errors["sla_policy"] = "No SLA policy applies: create a default SLA policy first."
    if assignee is not None and not assignee.is_msp_staff:
        errors["assignee"] = "Tickets are assigned to MSP staff."
    if errors:
        raise ValidationError(errors)
    ticket = Ticket(
        client=client,
        contact=contact,
        site=site or (asset.site if asset else None),
        asset=asset,
        subject=one_line(subject).strip(),
        description=description,
        type=type,
        category=category.strip(),
        source=source,
        impact=impact,
        urgency=urgency,
        priority=priority or matrix_priority,
        priority_override_reason=priority_override_reason.strip()
        if priority and priority != matrix_priority
        else "",
        tier=tier,
        team=team or Team.objects.filter(tier=tier).order_by("name").first(),
        assignee=assignee,
        created_by=created_by,
        sla_policy=policy,
        contract=contract,
        parent=parent,
        created_at=at,
    )
    # Related rows are objects the caller already holds, and the table's check constraints
    # hold at INSERT: validating fields here is enough (and saves a query per constraint).
    ticket.full_clean(
        exclude=[
            "client",
            "contact",
            "site",
            "asset",
            "team",
            "assignee",
            "created_by",
            "sla_policy",
            "contract",
            "parent",
        ],
        validate_unique=False,
        validate_constraints=False,
    )
    ticket.save()
    _apply_clock_summary(ticket, sla_services.sla_clocks_start(ticket=ticket, at=at))
    _save(ticket)
    _event(
        ticket, EventKind.CREATED, created_by, at, new_value=ticket.priority, detail=ticket.subject
    )
    return ticket


# Conversation -----------------------------------------------------------------------------


def _comment(
    ticket: Ticket,
    author: User | None,
    body: str,
    *,
    public: bool,
    automatic: bool,
    at,
    email_sender: str = "",
    sender_verified: bool = True,
    reached_nobody: bool = False,
    body_html: str = "",
):
    # A person typing must write something; an email is kept as it came, blank or not (its
    # files, if any, are the message).
    if not body.strip() and not email_sender:
        raise ValidationError({"body": "Write a message."})
    # An email's own HTML (`body_html`, sanitised again here) is kept as it was written;
    # otherwise the body is Markdown.
    return Comment.objects.create(
        ticket=ticket,
        author=author,
        is_public=public,
        is_automatic=automatic,
        body=body,
        body_html=nh3.clean(body_html) if body_html.strip() else markdown_to_safe_html(body),
        created_at=at,
        email_sender=email_sender[:320],
        sender_verified=sender_verified,
        reached_nobody=reached_nobody,
    )


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    automatic: bool = False,
    attachments: list[UploadedFile] = (),
    at: datetime | None = None,
    email_sender: str = "",
    body_html: str = "",
) -> Comment:
    """A public reply by staff (`email_sender`: sent by email, to the signed reply address
    issued to `author`). The first one that a person writes stops the response clock; each one
    stops a running next-update clock. A reply that reaches nobody (no contact with an email
    address) is marked so and is no response: the clocks keep running."""
    at = _now(at)
    _require_staff(author)
    ticket = _lock(ticket)
    _require_open(ticket, "take replies; reopen it or open a new ticket")
    comment = _comment(
        ticket,
        author,
        body,
        public=True,
        automatic=automatic,
        at=at,
        email_sender=email_sender,
        reached_nobody=_reply_recipient(ticket) is None,
        body_html=body_html,
    )
    _event(ticket, EventKind.REPLY, author, at, comment=comment)
    _email_contact(ticket, comment)
    fields = []
    if not automatic and not comment.reached_nobody:
        if ticket.first_response_at is None:
            ticket.first_response_at = at
            fields.append("first_response_at")
            sla_services.sla_response_stop(ticket=ticket, at=at)
        _apply_clock_summary(ticket, sla_services.sla_next_update_stop(ticket=ticket, at=at))
    _save(ticket, *fields)
    for upload in attachments:
        _attachment_add(ticket, upload, author, comment, at)
    return comment


def ticket_email_subject(ticket: Ticket) -> str:
    """Every email about a ticket carries its number, so that replies find it."""
    return f"[{ticket.number}] {ticket.subject}"


def _reply_recipient(ticket: Ticket) -> Contact | None:
    """Who a public reply is emailed to: the ticket's contact, while active and with an
    address (a deactivated contact is no longer written to)."""
    contact = ticket.contact
    return contact if contact is not None and contact.is_active and contact.email else None


def _email_contact(ticket: Ticket, comment: Comment) -> None:
    """A public reply goes to the ticket's contact by email (through the outbox, after the
    commit), threaded under the conversation so far, with the reply address signed for this
    ticket and this contact."""
    contact = _reply_recipient(ticket)
    if contact is None:
        return
    key = f"ticket-reply:{comment.pk}"
    thread = list(
        EmailThreadMessage.objects.filter(ticket=ticket)
        .order_by("pk")
        .values_list("message_id", flat=True)
    )
    headers = {
        "X-PSA-Ticket": str(ticket.pk),
        "Reply-To": reply_address(ticket_id=ticket.pk, contact=contact),
    }
    if thread:
        headers["In-Reply-To"] = thread[-1]
        # The first message and the last nine, each once (RFC 5322 keeps the thread's root).
        headers["References"] = " ".join(dict.fromkeys([thread[0], *thread[-9:]]))
    if comment.is_automatic:
        headers["Auto-Submitted"] = "auto-generated"
    author = comment.author.full_name if comment.author else "Service desk"
    outbox_enqueue(
        key=key,
        channel=OutboxChannel.EMAIL,
        email=contact.email,
        subject=ticket_email_subject(ticket),
        body=f"{comment.body}\n\n{author}\n-- \nReply to this email to add to ticket "
        f"{ticket.number}; keep [{ticket.number}] in the subject.\n",
        headers=headers,
    )
    EmailThreadMessage.objects.get_or_create(
        message_id=outbox_message_id(key), defaults={"ticket": ticket, "outbound": True}
    )


def requester_contact_record(*, client: Client, email: str, name: str = "") -> Contact | None:
    """The contact for someone who emailed a client's ticket in without being a contact yet:
    recorded as the email claimed, flagged unverified, with no portal login and not counted
    as a seat. None when the address is not one a contact can hold."""
    email = email.strip().lower()
    existing = Contact.objects.filter(client=client, email__iexact=email).order_by("pk").first()
    if existing is not None:
        return existing
    contact = Contact(
        client=client,
        email=email,
        full_name=(" ".join(name.split()) or email.split("@", 1)[0])[:150],
        unverified_from_email=True,
        is_seat=False,
    )
    try:
        contact.full_clean(exclude=["client"], validate_unique=False, validate_constraints=False)
    except ValidationError:
        return None
    try:
        with transaction.atomic():  # a savepoint: the same sender's other message may win
            contact.save()
    except IntegrityError:
        return Contact.objects.get(client=client, email=email)
    return contact


@transaction.atomic
def ticket_unverified_note(
    *,
    ticket: Ticket,
    body: str,
    email_sender: str,
    reason: str,
    attachments: list[UploadedFile] = (),
    at: datetime | None = None,
    body_html: str = "",
) -> Comment:
    """An email claiming to come from staff whose sender is not verified: kept as an internal
    note by no one, marked unverified. It reaches no client and changes no clock."""
    at = _now(at)
    ticket = _lock(ticket)
    comment = _comment(
        ticket,
        None,
        body,
        public=False,
        automatic=False,
        at=at,
        email_sender=email_sender,
        sender_verified=False,
        body_html=body_html,
    )
    _event(ticket, EventKind.NOTE, None, at, comment=comment, detail=reason)
    for upload in attachments:
        _attachment_add(ticket, upload, None, comment, at)
    return comment


@transaction.atomic
def ticket_note(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    attachments: list[UploadedFile] = (),
    at: datetime | None = None,
    body_html: str = "",
) -> Comment:
    """An internal note: never shown to the client, never stops a clock."""
    at = _now(at)
    _require_staff(author)
    ticket = _lock(ticket)
    _require_open(ticket, "take notes")
    comment = _comment(
        ticket, author, body, public=False, automatic=False, at=at, body_html=body_html
    )
    _event(ticket, EventKind.NOTE, author, at, comment=comment)
    for upload in attachments:
        _attachment_add(ticket, upload, author, comment, at)
    return comment


@transaction.atomic
def ticket_client_message(
    *,
    ticket: Ticket,
    body: str,
    author: User | None = None,
    attachments: list[UploadedFile] = (),
    at: datetime | None = None,
    email_sender: str = "",
    unverified_reason: str = "",
    body_html: str = "",
) -> Comment:
    """A message from the client (portal user, or by email from `email_sender`, `author` then
    being the verified contact's login if any).

    It starts a next-update cycle, moves a ticket waiting on the client back to in progress,
    and reopens a resolved ticket. An email whose sender is not verified (`unverified_reason`)
    does the same, marked unverified: it is the client's side, which a forger gains nothing
    by acting for; it never acts for staff.
    """
    at = _now(at)
    ticket = _lock(ticket)
    if author is not None and (author.is_msp_staff or author.client_id != ticket.client_id):
        raise ValidationError("Only the ticket's client may post client messages.")
    _require_open(ticket, "take replies; open a new ticket")
    comment = _comment(
        ticket,
        author,
        body,
        public=True,
        automatic=False,
        at=at,
        email_sender=email_sender,
        sender_verified=not unverified_reason,
        body_html=body_html,
    )
    _event(ticket, EventKind.CLIENT_MESSAGE, author, at, comment=comment, detail=unverified_reason)
    if ticket.status == TicketStatus.RESOLVED:
        _reopen(ticket, author, at, reason="The client replied.")
    elif ticket.status == TicketStatus.WAITING_ON_CLIENT:
        _set_status(ticket, author, TicketStatus.IN_PROGRESS, at, detail="The client replied.")
    _apply_clock_summary(ticket, sla_services.sla_next_update_start(ticket=ticket, at=at))
    _save(ticket, "status", "resolved_at")
    for upload in attachments:
        _attachment_add(ticket, upload, author, comment, at)
    return comment


@transaction.atomic
def ticket_acknowledge(*, ticket: Ticket, actor: User, at: datetime | None = None) -> Ticket:
    """Explicit acknowledgement: stops the response clock like a first reply would."""
    at = _now(at)
    _require_staff(actor)
    ticket = _lock(ticket)
    _require_open(ticket, "be acknowledged")
    if ticket.first_response_at is not None:
        raise ValidationError("This ticket has been responded to already.")
    ticket.first_response_at = at
    _apply_clock_summary(ticket, sla_services.sla_response_stop(ticket=ticket, at=at))
    if ticket.status == TicketStatus.NEW:
        _set_status(ticket, actor, TicketStatus.IN_PROGRESS, at)
    _save(ticket, "first_response_at", "status")
    _event(ticket, EventKind.ACKNOWLEDGED, actor, at)
    return ticket


# Routing ----------------------------------------------------------------------------------


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, actor: User, assignee: User | None, team: Team | None = None, at=None
) -> Ticket:
    at = _now(at)
    if actor is not None:  # None: the system, acting on an escalation rule
        _require_staff(actor)
    ticket = _lock(ticket)
    _require_open(ticket, "be assigned")
    if assignee is not None and (not assignee.is_msp_staff or not assignee.is_active):
        raise ValidationError({"assignee": "Tickets are assigned to active MSP staff."})
    old = str(ticket.assignee or "nobody")
    ticket.assignee = assignee
    fields = ["assignee"]
    if team is not None and team != ticket.team:
        ticket.team = team
        fields.append("team")
    ticket.save(update_fields=[*fields, "updated_at"])
    _event(
        ticket, EventKind.ASSIGNED, actor, at, old_value=old, new_value=str(assignee or "nobody")
    )
    return ticket


@transaction.atomic
def ticket_set_contact(
    *, ticket: Ticket, actor: User, contact: Contact | None, at: datetime | None = None
) -> Ticket:
    """Who the client side of the ticket is: public replies are emailed to them."""
    at = _now(at)
    _require_staff(actor)
    ticket = _lock(ticket)
    _require_open(ticket, "change its contact")
    if contact is not None and (contact.client_id != ticket.client_id or not contact.is_active):
        raise ValidationError({"contact": "Choose an active contact of this ticket's client."})
    old = str(ticket.contact or "nobody")
    ticket.contact = contact
    _save(ticket, "contact")
    _event(
        ticket,
        EventKind.CONTACT,
        actor,
        at,
        old_value=old[:200],
        new_value=str(contact or "nobody")[:200],
    )
    return ticket


@transaction.atomic
def ticket_escalate(
    *, ticket: Ticket, actor: User | None, reason: str, assignee: User | None = None, at=None
) -> Ticket:
    """Functional escalation: the next tier up, that tier's team, unassigned unless given."""
    at = _now(at)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the ticket is escalated."})
    ticket = _lock(ticket)
    _require_open(ticket, "be escalated")
    if ticket.tier not in NEXT_TIER:
        raise ValidationError("This ticket is at the top tier (L3) already.")
    old_tier = ticket.tier
    ticket.tier = NEXT_TIER[old_tier]
    ticket.team = Team.objects.filter(tier=ticket.tier).order_by("name").first() or ticket.team
    if assignee is not None and assignee.tier != ticket.tier:
        raise ValidationError({"assignee": f"Choose a technician of tier {ticket.tier}."})
    ticket.assignee = assignee
    ticket.save(update_fields=["tier", "team", "assignee", "updated_at"])
    _event(
        ticket,
        EventKind.ESCALATED,
        actor,
        at,
        old_value=old_tier,
        new_value=ticket.tier,
        detail=reason.strip(),
    )
    return ticket


@transaction.atomic
def ticket_change_priority(
    *,
    ticket: Ticket,
    actor: User,
    priority: str | None = None,
    impact: str | None = None,
    urgency: str | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> Ticket:
    """New impact/urgency and/or priority. The clocks keep the business time spent and apply
    the new priority's targets. A priority that differs from the matrix needs a reason."""
    at = _now(at)
    _require_staff(actor)
    ticket = _lock(ticket)
    _require_open(ticket, "change priority")
    impact = impact or ticket.impact
    urgency = urgency or ticket.urgency
    matrix_priority = selectors.priority_from_matrix(impact=impact, urgency=urgency)
    priority = priority or matrix_priority
    if priority not in Priority.values:
        raise ValidationError({"priority": f"{priority!r} is not a priority."})
    if priority != matrix_priority and not reason.strip():
        raise ValidationError(
            {"reason": f"The matrix gives {matrix_priority}; say why this ticket is {priority}."}
        )
    old_priority = ticket.priority
    ticket.impact, ticket.urgency, ticket.priority = impact, urgency, priority
    ticket.priority_override_reason = reason.strip() if priority != matrix_priority else ""
    if priority != old_priority:
        _apply_clock_summary(ticket, sla_services.sla_clocks_retarget(ticket=ticket, at=at))
    _save(ticket, "impact", "urgency", "priority", "priority_override_reason")
    _event(
        ticket,
        EventKind.PRIORITY,
        actor,
        at,
        old_value=old_priority,
        new_value=priority,
        detail=reason.strip(),
    )
    return ticket


# Status -----------------------------------------------------------------------------------


def _set_status(ticket: Ticket, actor: User | None, status: str, at: datetime, detail: str = ""):
    """Change the status field and the resolution clock's pause state (ticket locked)."""
    old = ticket.status
    if old == status:
        return
    was_paused, now_paused = _is_paused_status(ticket, old), _is_paused_status(ticket, status)
    ticket.status = status
    if now_paused and not was_paused:
        _apply_clock_summary(ticket, sla_services.sla_resolution_pause(ticket=ticket, at=at))
    elif was_paused and not now_paused:
        _apply_clock_summary(ticket, sla_services.sla_resolution_resume(ticket=ticket, at=at))
    _event(ticket, EventKind.STATUS, actor, at, old_value=old, new_value=status, detail=detail)


@transaction.atomic
def ticket_change_status(
    *, ticket: Ticket, actor: User, status: str, note: str = "", at: datetime | None = None
) -> Ticket:
    """Move between open statuses, or cancel. Resolve, reopen and close have their own."""
    at = _now(at)
    _require_staff(actor)
    ticket = _lock(ticket)
    if status == TicketStatus.RESOLVED:
        raise ValidationError({"status": "Resolve the ticket with a resolution note."})
    if status not in STATUS_TRANSITIONS.get(ticket.status, ()):
        wanted = TicketStatus(status).label if status in TicketStatus.values else status
        raise ValidationError(
            {
                "status": f"A ticket that is {ticket.get_status_display().lower()} cannot become "
                f"{wanted.lower()}."
            }
        )
    if status == TicketStatus.CLOSED:
        return ticket_close(ticket=ticket, actor=actor, at=at)
    _set_status(ticket, actor, status, at, detail=note.strip())
    if status == TicketStatus.CANCELLED:
        ticket.closed_at = at
        _apply_clock_summary(ticket, sla_services.sla_clocks_stop_all(ticket=ticket, at=at))
    _save(ticket, "status", "closed_at")
    return ticket


@transaction.atomic
def ticket_resolve(
    *, ticket: Ticket, actor: User, resolution: str, at: datetime | None = None
) -> Ticket:
    """Resolve with a resolution note, sent to the client as a public reply."""
    at = _now(at)
    _require_staff(actor)
    if not resolution.strip():
        raise ValidationError({"resolution": "Describe the resolution for the client."})
    ticket = _lock(ticket)
    if ticket.status not in OPEN_STATUSES:
        raise ValidationError(f"A {ticket.get_status_display().lower()} ticket cannot be resolved.")
    ticket_reply(ticket=ticket, author=actor, body=resolution, at=at)
    ticket.refresh_from_db()
    _set_status(ticket, actor, TicketStatus.RESOLVED, at)
    ticket.resolved_at = at
    if ticket.first_response_at is None:
        # Resolving is the response of last resort (a ticket with nobody to write to, such as
        # an alert's): its response clock ends here, met or breached.
        ticket.first_response_at = at
        sla_services.sla_response_stop(ticket=ticket, at=at)
    _apply_clock_summary(ticket, sla_services.sla_resolution_stop(ticket=ticket, at=at))
    _save(ticket, "status", "resolved_at", "first_response_at")
    _event(ticket, EventKind.RESOLVED, actor, at, detail=resolution.strip()[:500])
    survey_send(ticket=ticket, at=at)
    return ticket


@transaction.atomic
def ticket_resolve_automatically(*, ticket: Ticket, resolution: str, at: datetime | None = None):
    """Resolved by the system (a monitoring alert that cleared): an automatic public comment,
    which counts as no one's response, and every clock stops."""
    at = _now(at)
    ticket = _lock(ticket)
    _require_open(ticket, "be resolved")
    comment = _comment(ticket, None, resolution, public=True, automatic=True, at=at)
    _event(ticket, EventKind.REPLY, None, at, comment=comment)
    _set_status(ticket, None, TicketStatus.RESOLVED, at)
    ticket.resolved_at = at
    _apply_clock_summary(ticket, sla_services.sla_clocks_stop_all(ticket=ticket, at=at))
    _save(ticket, "status", "resolved_at")
    _event(ticket, EventKind.RESOLVED, None, at, detail=resolution.strip()[:500])
    return ticket


@transaction.atomic
def ticket_system_note(*, ticket: Ticket, body: str, at: datetime | None = None) -> Comment:
    """An internal note written by the system (no author)."""
    at = _now(at)
    ticket = _lock(ticket)
    comment = _comment(ticket, None, body, public=False, automatic=True, at=at)
    _event(ticket, EventKind.NOTE, None, at, comment=comment)
    return comment


def _reopen(ticket: Ticket, actor: User | None, at: datetime, reason: str) -> None:
    ticket.status = TicketStatus.IN_PROGRESS
    ticket.resolved_at = None
    _apply_clock_summary(ticket, sla_services.sla_resolution_reopen(ticket=ticket, at=at))
    _event(
        ticket,
        EventKind.REOPENED,
        actor,
        at,
        old_value=TicketStatus.RESOLVED,
        new_value=TicketStatus.IN_PROGRESS,
        detail=reason,
    )


@transaction.atomic
def ticket_reopen(
    *, ticket: Ticket, actor: User, reason: str, at: datetime | None = None
) -> Ticket:
    """Reopen a resolved ticket: the resolution clock resumes with the time already spent."""
    at = _now(at)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the ticket is reopened."})
    ticket = _lock(ticket)
    if ticket.status != TicketStatus.RESOLVED:
        raise ValidationError("Only a resolved ticket can be reopened.")
    _reopen(ticket, actor, at, reason.strip())
    _save(ticket, "status", "resolved_at")
    return ticket


@transaction.atomic
def ticket_close(*, ticket: Ticket, actor: User | None, at: datetime | None = None) -> Ticket:
    at = _now(at)
    ticket = _lock(ticket)
    if ticket.status != TicketStatus.RESOLVED:
        raise ValidationError("Only a resolved ticket can be closed.")
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = at
    ticket.save(update_fields=["status", "closed_at", "updated_at"])
    _event(ticket, EventKind.CLOSED, actor, at, old_value=TicketStatus.RESOLVED, new_value="closed")
    return ticket


@transaction.atomic
def ticket_merge(
    *, source: Ticket, target: Ticket, actor: User, at: datetime | None = None
) -> Ticket:
    """Merge a duplicate into another ticket of the same client: its conversation, time and
    files move over, and the duplicate is closed with its clocks stopped."""
    at = _now(at)
    _require_staff(actor)
    if source.pk == target.pk:
        raise ValidationError({"target": "A ticket cannot be merged into itself."})
    # Lock both in primary-key order so that two opposite merges cannot deadlock.
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.client_id != target.client_id:
        raise ValidationError({"target": "Only tickets of the same client can be merged."})
    _require_open(source, "be merged")
    _require_open(target, "take a merge")
    Comment.objects.filter(ticket=source).update(ticket=target)
    TimeEntry.objects.filter(ticket=source).update(ticket=target)
    Attachment.objects.filter(ticket=source).update(ticket=target)
    # Alerts still firing for the duplicate repeat and resolve on the surviving ticket.
    Alert.objects.filter(ticket=source, resolved_at__isnull=True).update(ticket=target)
    _apply_clock_summary(source, sla_services.sla_clocks_stop_all(ticket=source, at=at))
    old_status = source.status
    source.status = TicketStatus.CLOSED
    source.closed_at = at
    source.merged_into = target
    _save(source, "status", "closed_at", "merged_into")
    _event(source, EventKind.MERGED, actor, at, old_value=old_status, new_value=target.number)
    _event(
        target,
        EventKind.LINKED,
        actor,
        at,
        new_value=source.number,
        detail="Merged into this ticket.",
    )
    return target


# Time and files ---------------------------------------------------------------------------


@transaction.atomic
def time_entry_log(
    *,
    ticket: Ticket,
    user: User,
    minutes: int,
    billable: bool = True,
    work_type: str = WorkType.REMOTE,
    note: str = "",
    spent_on: date | None = None,
    at: datetime | None = None,
) -> TimeEntry:
    at = _now(at)
    _require_staff(user)
    ticket = _lock(ticket)
    entry = TimeEntry(
        ticket=ticket,
        client_id=ticket.client_id,
        user=user,
        minutes=minutes,
        billable=billable,
        work_type=work_type,
        note=note.strip(),
        spent_on=spent_on or timezone.localdate(at),
    )
    entry.full_clean()
    entry.save()
    detail = (
        f"{minutes} min {WorkType(work_type).label.lower()}{'' if billable else ' (not billable)'}"
    )
    _event(ticket, EventKind.TIME_LOGGED, user, at, new_value=str(minutes), detail=detail)
    return entry


def _attachment_add(ticket, upload: UploadedFile, user, comment, at) -> Attachment:
    name = (upload.name or "file").rsplit("/", 1)[-1][:255]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            {"attachments": f"{name} is larger than {settings.ATTACHMENT_MAX_BYTES // 2**20} MB."}
        )
    if extension in settings.ATTACHMENT_BLOCKED_EXTENSIONS:
        raise ValidationError({"attachments": f"{name}: .{extension} files are not accepted."})
    attachment = Attachment(
        ticket=ticket,
        comment=comment,
        filename=name,
        content_type=getattr(upload, "content_type", "") or "application/octet-stream",
        size=upload.size,
        uploaded_by=user,
        created_at=at,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    _event(ticket, EventKind.ATTACHMENT, user, at, new_value=name[:200])
    return attachment


@transaction.atomic
def attachment_add(
    *, ticket: Ticket, upload: UploadedFile, user: User | None, at=None
) -> Attachment:
    """A file on a ticket, from a user or (user None) from an email."""
    at = _now(at)
    ticket = _lock(ticket)
    if user is not None and not user.is_msp_staff and user.client_id != ticket.client_id:
        raise ValidationError("You may not add files to this ticket.")
    return _attachment_add(ticket, upload, user, None, at)


@transaction.atomic
def ticket_link_parent(
    *, ticket: Ticket, parent: Ticket | None, actor: User, at: datetime | None = None
) -> Ticket:
    """Make `ticket` a child of `parent` (same client; no cycles), or unlink it with None."""
    at = _now(at)
    _require_staff(actor)
    ticket = _lock(ticket)
    if parent is not None:
        if parent.client_id != ticket.client_id:
            raise ValidationError({"parent": "The parent ticket belongs to another client."})
        ancestor_id = parent.pk
        while ancestor_id is not None:  # walk the stored chain, not in-memory instances
            if ancestor_id == ticket.pk:
                raise ValidationError({"parent": "A ticket cannot be its own ancestor."})
            ancestor_id = Ticket.objects.filter(pk=ancestor_id).values_list("parent_id", flat=True)[
                0
            ]
    old = ticket.parent.number if ticket.parent_id else ""
    ticket.parent = parent
    ticket.save(update_fields=["parent", "updated_at"])
    _event(
        ticket,
        EventKind.LINKED,
        actor,
        at,
        old_value=old,
        new_value=parent.number if parent else "",
    )
    return ticket
