"""Email into tickets. Each message is processed once (its Message-ID is unique in
InboundEmail) and never lost: it is stored raw first, then either processed (a new ticket or
a reply threaded into one), ignored (auto-replies and bounces: no ticket, no answer, so no mail
loop), or quarantined with the reason, to be retried from the admin.

Threading: the ticket tag in the subject ("[#123]"), else In-Reply-To / References against the
Message-IDs we sent or received for a ticket. The sender decides the client: a contact with that
address, else a client whose email domains include the sender's, else the mailbox's default
client; staff replying by email post a public reply as themselves.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from msp.models import Client, Contact, User
from tickets import services
from tickets.choices import InboundStatus, TicketSource, TicketStatus
from tickets.email_parse import ParsedEmail, UnreadableEmail, parse_email
from tickets.models import EmailThreadMessage, InboundEmail, Mailbox, Ticket

log = logging.getLogger(__name__)
FINISHED = (TicketStatus.CLOSED, TicketStatus.CANCELLED)


class Quarantine(Exception):
    """A message we cannot place: kept with this reason."""


@dataclass(frozen=True)
class Sender:
    client: Client
    contact: Contact | None = None
    staff: User | None = None


def email_ingest(*, raw: bytes, mailbox: Mailbox | None = None) -> InboundEmail:
    """Store and process one raw message; a Message-ID seen before returns the stored row."""
    try:
        parsed = parse_email(raw)
    except (UnreadableEmail, ValueError, TypeError, LookupError) as exc:
        parsed = None
        problem = f"Unreadable message: {exc}"
    message_id = (parsed.message_id if parsed else "") or _fallback_id(raw)
    row, created = _store(raw, message_id, parsed, mailbox)
    if not created:
        return row
    if parsed is None:
        return _finish(row, InboundStatus.QUARANTINED, problem)
    return _process(row, parsed, mailbox)


def email_retry(*, inbound: InboundEmail) -> InboundEmail:
    """Process a quarantined message again (after a contact or client was added, say)."""
    if inbound.status != InboundStatus.QUARANTINED:
        return inbound
    inbound.attempts += 1
    inbound.save(update_fields=["attempts"])
    try:
        parsed = parse_email(bytes(inbound.raw))
    except (UnreadableEmail, ValueError, TypeError, LookupError) as exc:
        return _finish(inbound, InboundStatus.QUARANTINED, f"Unreadable message: {exc}")
    return _process(inbound, parsed, inbound.mailbox)


def _fallback_id(raw: bytes) -> str:
    # A message without Message-ID is identified by its content, so a re-fetch is not new.
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@no-message-id>"


def _store(raw, message_id, parsed, mailbox) -> tuple[InboundEmail, bool]:
    try:
        with transaction.atomic():
            row = InboundEmail.objects.create(
                mailbox=mailbox,
                message_id=message_id[:998],
                sender=parsed.sender[:320] if parsed else "",
                subject=parsed.subject[:500] if parsed else "",
                raw=raw,
                received_at=timezone.now(),
                status=InboundStatus.QUARANTINED,
                reason="Being processed.",
            )
            return row, True
    except IntegrityError:
        return InboundEmail.objects.get(message_id=message_id[:998]), False


def _finish(row: InboundEmail, status: str, reason: str = "", ticket=None) -> InboundEmail:
    row.status, row.reason, row.ticket = status, reason[:2000], ticket
    row.save(update_fields=["status", "reason", "ticket"])
    if status == InboundStatus.QUARANTINED:
        log.warning("Email %s quarantined: %s", row.message_id, reason)
    return row


def _process(row: InboundEmail, parsed: ParsedEmail, mailbox: Mailbox | None) -> InboundEmail:
    if parsed.automatic_reason:
        return _finish(row, InboundStatus.IGNORED, parsed.automatic_reason)
    try:
        with transaction.atomic():
            ticket = _place(parsed, mailbox)
            if parsed.message_id:
                EmailThreadMessage.objects.get_or_create(
                    message_id=parsed.message_id[:998], defaults={"ticket": ticket}
                )
    except Quarantine as exc:
        return _finish(row, InboundStatus.QUARANTINED, str(exc))
    except ValidationError as exc:
        return _finish(row, InboundStatus.QUARANTINED, "; ".join(exc.messages))
    return _finish(row, InboundStatus.PROCESSED, ticket=ticket)


def _threaded_ticket(parsed: ParsedEmail) -> Ticket | None:
    if parsed.ticket_number is not None:
        ticket = Ticket.objects.filter(pk=parsed.ticket_number).first()
        if ticket is not None:
            return ticket
    references = [*parsed.in_reply_to, *reversed(parsed.references)]
    if not references:
        return None
    known = EmailThreadMessage.objects.filter(message_id__in=references).select_related("ticket")
    by_id = {entry.message_id: entry.ticket for entry in known}
    return next((by_id[ref] for ref in references if ref in by_id), None)


def _sender(parsed: ParsedEmail, mailbox: Mailbox | None) -> Sender | None:
    staff = User.objects.staff().filter(email__iexact=parsed.sender, is_active=True).first()
    if staff is not None:
        return Sender(client=None, staff=staff)
    contact = (
        Contact.objects.filter(email__iexact=parsed.sender, is_active=True)
        .select_related("client", "user")
        .order_by("pk")
        .first()
    )
    if contact is not None:
        return Sender(client=contact.client, contact=contact)
    domain = parsed.sender.rsplit("@", 1)[-1]
    # The database narrows to clients whose list mentions the domain; the exact match is here.
    for client in Client.objects.filter(email_domains__icontains=domain).order_by("pk"):
        domains = {d.strip().lower() for d in client.email_domains.replace(";", ",").split(",")}
        if domain in domains:
            return Sender(client=client)
    if mailbox is not None and mailbox.default_client_id:
        return Sender(client=mailbox.default_client)
    return None


def _uploads(parsed: ParsedEmail) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(item.filename, item.content, content_type=item.content_type)
        for item in parsed.attachments
    ]


def _place(parsed: ParsedEmail, mailbox: Mailbox | None) -> Ticket:
    sender = _sender(parsed, mailbox)
    if sender is None:
        raise Quarantine(
            f"Unknown sender {parsed.sender}: no contact, client domain or mailbox default."
        )
    ticket = _threaded_ticket(parsed)
    body = parsed.reply_text or "(no text)"
    if ticket is not None and ticket.status not in FINISHED:
        if sender.staff is not None:
            services.ticket_reply(
                ticket=ticket, author=sender.staff, body=body, attachments=_uploads(parsed)
            )
            return ticket
        if sender.client.pk != ticket.client_id:
            raise Quarantine(
                f"{parsed.sender} replied to {ticket.number}, a ticket of another client."
            )
        services.ticket_client_message(
            ticket=ticket,
            body=body,
            author=sender.contact.user if sender.contact else None,
            attachments=_uploads(parsed),
        )
        return ticket
    if sender.staff is not None:
        raise Quarantine(f"Staff member {parsed.sender} wrote without a ticket to reply to.")
    description = parsed.text or "(no text)"
    if ticket is not None:  # a reply to a closed ticket starts a follow-up
        description = f"Follow-up to {ticket.number}.\n\n{description}"
    new = services.ticket_open(
        client=sender.client,
        contact=sender.contact,
        subject=(parsed.subject or "(no subject)")[:200],
        description=description,
        source=TicketSource.EMAIL,
        parent=ticket if ticket is not None and ticket.client_id == sender.client.pk else None,
    )
    for upload in _uploads(parsed):
        services.attachment_add(ticket=new, upload=upload, user=None)
    return new
