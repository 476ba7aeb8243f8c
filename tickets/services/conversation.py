"""The conversation on a ticket: replies by staff, messages from the client, internal notes,
acknowledgement, and the email that carries public replies to the client's contact."""

from datetime import datetime

import nh3
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from msp.choices import OutboxChannel
from msp.models import Client, Contact, User
from msp.services import outbox_enqueue, outbox_message_id
from msp.validators import CONFLICT
from sla.ticket_clocks import sla_next_update_start, sla_next_update_stop, sla_response_stop
from tickets.choices import EventKind, TicketStatus
from tickets.models import Comment, EmailThreadMessage, Ticket
from tickets.rendering import markdown_to_safe_html
from tickets.reply_address import reply_address
from tickets.services.files import attach
from tickets.services.write import TicketWrite


def comment_add(
    write: TicketWrite,
    body: str,
    *,
    public: bool,
    automatic: bool,
    email_sender: str = "",
    sender_verified: bool = True,
    reached_nobody: bool = False,
    body_html: str = "",
) -> Comment:
    """A comment by the write's actor. A person typing must write something; an email is kept
    as it came, blank or not (its files, if any, are the message)."""
    if not body.strip() and not email_sender:
        raise ValidationError({"body": "Write a message."})
    # An email's own HTML (`body_html`, sanitised again here) is kept as it was written;
    # otherwise the body is Markdown.
    return Comment.objects.create(
        ticket=write.ticket,
        author=write.actor,
        is_public=public,
        is_automatic=automatic,
        body=body,
        body_html=nh3.clean(body_html) if body_html.strip() else markdown_to_safe_html(body),
        created_at=write.at,
        email_sender=email_sender[:320],
        sender_verified=sender_verified,
        reached_nobody=reached_nobody,
    )


def reply(
    write: TicketWrite,
    body: str,
    *,
    automatic: bool = False,
    email_sender: str = "",
    body_html: str = "",
) -> Comment:
    """A public reply by the write's actor, emailed to the contact. The first one a person
    writes stops the response clock; each one stops a running next-update clock. A reply that
    reaches nobody (no contact with an email address) is no response: the clocks keep running."""
    write.require_open("take replies; reopen it or open a new ticket")
    comment = comment_add(
        write,
        body,
        public=True,
        automatic=automatic,
        email_sender=email_sender,
        reached_nobody=_reply_recipient(write.ticket) is None,
        body_html=body_html,
    )
    write.event(EventKind.REPLY, comment=comment)
    _email_contact(write.ticket, comment)
    if not automatic and not comment.reached_nobody:
        if write.ticket.first_response_at is None:
            write.ticket.first_response_at = write.at
            sla_response_stop(write.clocks, at=write.at)
        sla_next_update_stop(write.clocks, at=write.at)
    return comment


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
    issued to `author`)."""
    write = TicketWrite.begin(ticket, author, at)
    write.require_staff()
    comment = reply(
        write, body, automatic=automatic, email_sender=email_sender, body_html=body_html
    )
    write.save("first_response_at")
    for upload in attachments:
        attach(write, upload, comment)
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
    write = TicketWrite.begin(ticket, None, at)
    comment = comment_add(
        write,
        body,
        public=False,
        automatic=False,
        email_sender=email_sender,
        sender_verified=False,
        body_html=body_html,
    )
    write.event(EventKind.NOTE, comment=comment, detail=reason)
    for upload in attachments:
        attach(write, upload, comment)
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
    write = TicketWrite.begin(ticket, author, at)
    write.require_staff()
    write.require_open("take notes")
    comment = comment_add(write, body, public=False, automatic=False, body_html=body_html)
    write.event(EventKind.NOTE, comment=comment)
    for upload in attachments:
        attach(write, upload, comment)
    return comment


@transaction.atomic
def ticket_system_note(*, ticket: Ticket, body: str, at: datetime | None = None) -> Comment:
    """An internal note written by the system (no author)."""
    write = TicketWrite.begin(ticket, None, at)
    comment = comment_add(write, body, public=False, automatic=True)
    write.event(EventKind.NOTE, comment=comment)
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
    write = TicketWrite.begin(ticket, author, at)
    if author is not None and (author.is_msp_staff or author.client_id != write.ticket.client_id):
        raise ValidationError("Only the ticket's client may post client messages.")
    write.require_open("take replies; open a new ticket")
    comment = comment_add(
        write,
        body,
        public=True,
        automatic=False,
        email_sender=email_sender,
        sender_verified=not unverified_reason,
        body_html=body_html,
    )
    write.event(EventKind.CLIENT_MESSAGE, comment=comment, detail=unverified_reason)
    if write.ticket.status == TicketStatus.RESOLVED:
        write.reopen("The client replied.")
    elif write.ticket.status == TicketStatus.WAITING_ON_CLIENT:
        write.set_status(TicketStatus.IN_PROGRESS, detail="The client replied.")
    sla_next_update_start(write.clocks, at=write.at)
    write.save("status", "resolved_at")
    for upload in attachments:
        attach(write, upload, comment)
    return comment


@transaction.atomic
def ticket_acknowledge(*, ticket: Ticket, actor: User, at: datetime | None = None) -> Ticket:
    """Explicit acknowledgement: stops the response clock like a first reply would."""
    write = TicketWrite.begin(ticket, actor, at)
    write.require_staff()
    write.require_open("be acknowledged")
    if write.ticket.first_response_at is not None:
        raise ValidationError("This ticket has been responded to already.", code=CONFLICT)
    write.ticket.first_response_at = write.at
    sla_response_stop(write.clocks, at=write.at)
    if write.ticket.status == TicketStatus.NEW:
        write.set_status(TicketStatus.IN_PROGRESS)
    write.save("first_response_at", "status")
    write.event(EventKind.ACKNOWLEDGED)
    return write.ticket
