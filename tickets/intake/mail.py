"""Email into tickets. Each message is processed once (its Message-ID is unique in
InboundEmail) and never lost: it is stored raw first, then either processed (a new ticket or
a reply threaded into one), ignored (auto-replies and bounces: no ticket, no answer, so no mail
loop), or quarantined with the reason, to be retried from the admin.

Threading: a signed reply address among the recipients (tickets.reply_address), else the ticket
tag in the subject ("[#123]"), else In-Reply-To / References against the Message-IDs we sent or
received for a ticket; a merged ticket's replies land on the ticket it was merged into.

Authenticity: `From:` proves nothing. A message is from a verified sender only when it was sent
to a signed reply address issued to that very sender for that ticket, and the receiving
server's DMARC check did not fail. Only a verified staff member's email is their public reply;
any other email from a staff address is kept as an unverified internal note by no one, with no
effect on a clock. Client emails count as the client writing either way, marked verified or not.

The sender decides the client: the contact a verified address was issued to, else a contact
with that address, else a client whose email domains include the sender's, else the mailbox's
default client; someone who is not a contact yet is recorded as an unverified one, so that
replies reach them.
"""

import hashlib
import html
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from msp.models import Client, Contact, User
from tickets import services
from tickets.choices import EventKind, InboundStatus, TicketSource, TicketStatus
from tickets.intake.email_parse import ParsedEmail, UnreadableEmail, html_to_text, parse_email
from tickets.models import EmailThreadMessage, InboundEmail, Mailbox, Ticket
from tickets.reply_address import reply_address_check
from tickets.selectors import ticket_surviving

log = logging.getLogger(__name__)
FINISHED = (TicketStatus.CLOSED, TicketStatus.CANCELLED)
# More than this many messages from one sender to one ticket within an hour is a mail loop.
MESSAGES_PER_SENDER_AND_TICKET_PER_HOUR = 10


class Quarantine(Exception):
    """A message we cannot place: kept with this reason."""


class Ignore(Exception):
    """A message stored and deliberately not acted on (a loop cut short): kept with this
    reason and the ticket it was for."""

    def __init__(self, reason: str, ticket: Ticket):
        super().__init__(reason)
        self.ticket = ticket


@dataclass(frozen=True)
class Sender:
    client: Client
    contact: Contact | None = None
    staff: User | None = None


@dataclass(frozen=True)
class Authenticity:
    """What the message proves: the ticket its signed reply address is for (whoever sent it),
    and whether its sender is the one that address was issued to."""

    ticket: Ticket | None = None
    verified_as: Sender | None = None
    reason: str = ""  # why the sender is not verified; "" when verified
    internal: bool = False  # sent to an address issued on internal mail: a note, not a reply

    @property
    def verified(self) -> bool:
        return self.verified_as is not None

    @property
    def note(self) -> str:
        """What the inbound email and the timeline say of an unverified sender."""
        return "" if self.verified else f"Sender not verified: {self.reason}."


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


def _finish(
    row: InboundEmail, status: str, reason: str = "", ticket=None, verified: bool = False
) -> InboundEmail:
    row.status, row.reason, row.ticket = status, reason[:2000], ticket
    row.sender_verified = verified
    row.save(update_fields=["status", "reason", "ticket", "sender_verified"])
    if status == InboundStatus.QUARANTINED:
        log.warning("Email %s quarantined: %s", row.message_id, reason)
    return row


def _process(row: InboundEmail, parsed: ParsedEmail, mailbox: Mailbox | None) -> InboundEmail:
    if parsed.automatic_reason:
        return _finish(row, InboundStatus.IGNORED, parsed.automatic_reason)
    authenticity = _authenticity(parsed)
    try:
        with transaction.atomic():
            ticket = _place(parsed, mailbox, authenticity)
            if parsed.message_id:
                EmailThreadMessage.objects.get_or_create(
                    message_id=parsed.message_id[:998], defaults={"ticket": ticket}
                )
    except Quarantine as exc:
        return _finish(row, InboundStatus.QUARANTINED, str(exc))
    except Ignore as exc:
        return _finish(row, InboundStatus.IGNORED, str(exc), ticket=exc.ticket)
    except ValidationError as exc:
        return _finish(row, InboundStatus.QUARANTINED, "; ".join(exc.messages))
    except Exception as exc:
        # One message we fail on must not block the others: kept, with the reason, for an
        # administrator to release after a fix (nothing of it was written but this row).
        log.exception("Email %s could not be processed", row.message_id)
        return _finish(
            row, InboundStatus.QUARANTINED, f"Processing failed: {type(exc).__name__}: {exc}"
        )
    return _finish(
        row,
        InboundStatus.PROCESSED,
        authenticity.note,
        ticket=ticket,
        verified=authenticity.verified,
    )


def _authenticity(parsed: ParsedEmail) -> Authenticity:
    check = reply_address_check([*parsed.recipients, *parsed.delivered_to])
    signed = check.signed
    ticket = Ticket.objects.filter(pk=signed.ticket_id).first() if signed else None
    reasons = []
    if parsed.dmarc_failed:
        reasons.append("DMARC failed (Authentication-Results: dmarc=fail)")
    if ticket is None:
        reasons.append(
            "the reply address's signature does not match its ticket and recipient (refused)"
            if check.refused
            else "no signed reply address"
        )
        return Authenticity(reason="; ".join(reasons))
    issued_to = _issued_to(ticket, signed.contact_id, signed.user_id)
    if issued_to is None or (issued_to.contact or issued_to.staff).email.lower() != parsed.sender:
        reasons.append(f"the reply address was issued to someone else, not {parsed.sender}")
    if reasons:
        return Authenticity(ticket=ticket, reason="; ".join(reasons))
    return Authenticity(ticket=ticket, verified_as=issued_to, internal=signed.internal)


def _issued_to(ticket: Ticket, contact_id: int | None, user_id: int | None) -> Sender | None:
    """The recipient a signed address names, while they still stand: an active contact of the
    ticket's client, or active staff."""
    if contact_id is not None:
        contact = (
            Contact.objects.filter(pk=contact_id, client_id=ticket.client_id, is_active=True)
            .select_related("client", "user")
            .first()
        )
        return Sender(client=contact.client, contact=contact) if contact else None
    staff = User.objects.staff().filter(pk=user_id, is_active=True).first()
    return Sender(client=None, staff=staff) if staff else None


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


def _unknown(parsed: ParsedEmail) -> Quarantine:
    return Quarantine(
        f"Unknown sender {parsed.sender}: no contact, client domain or mailbox default."
    )


def _loop_check(parsed: ParsedEmail, ticket: Ticket) -> None:
    """Two robots answering each other (an auto-responder we failed to recognise, a
    monitoring system writing to a ticket) are cut short: past the hourly cap, a sender's
    messages to one ticket are stored and ignored."""
    since = timezone.now() - timedelta(hours=1)
    count = InboundEmail.objects.filter(
        sender=parsed.sender[:320],
        ticket=ticket,
        status=InboundStatus.PROCESSED,
        received_at__gte=since,
    ).count()
    if count >= MESSAGES_PER_SENDER_AND_TICKET_PER_HOUR:
        raise Ignore(
            f"Mail loop guard: {parsed.sender} already wrote {count} messages to "
            f"{ticket.number} within the hour; stored, not added to the ticket.",
            ticket,
        )


def _html_adds_content(parsed: ParsedEmail) -> bool:
    """Whether the HTML holds words or links that the text version lacks (it then travels as
    a file with a new ticket, whose description is text only)."""
    if not parsed.html:
        return False
    words = set(re.findall(r"\w+", parsed.text.lower()))
    links = " ".join(re.findall(r'href="(?!mailto:)([^"]*)"', parsed.html))
    html_words = re.findall(r"\w+", f"{html_to_text(parsed.html)} {html.unescape(links)}".lower())
    return bool(set(html_words) - words)


def _place(parsed: ParsedEmail, mailbox: Mailbox | None, authenticity: Authenticity) -> Ticket:
    sender = authenticity.verified_as or _sender(parsed, mailbox)
    ticket = ticket_surviving(authenticity.ticket or _threaded_ticket(parsed))
    body = parsed.reply_text  # blank stays blank: an email is kept as it came
    html_body = parsed.reply_html  # trimmed like the text: the history is on the ticket already
    if ticket is not None and ticket.status not in FINISHED:
        _loop_check(parsed, ticket)
        if sender is not None and sender.staff is not None:
            if authenticity.verified and authenticity.internal:
                services.ticket_note(
                    ticket=ticket,
                    author=sender.staff,
                    body=body,
                    attachments=_uploads(parsed),
                    body_html=html_body,
                )
            elif authenticity.verified:
                services.ticket_reply(
                    ticket=ticket,
                    author=sender.staff,
                    body=body,
                    attachments=_uploads(parsed),
                    email_sender=parsed.sender,
                    body_html=html_body,
                )
            else:
                services.ticket_unverified_note(
                    ticket=ticket,
                    body=body,
                    email_sender=parsed.sender,
                    reason=authenticity.note,
                    attachments=_uploads(parsed),
                    body_html=html_body,
                )
            return ticket
        # Someone we cannot place may still answer at an address we issued for this ticket
        # (a colleague in copy, a forward): kept on it, unverified.
        if sender is None and authenticity.ticket is None:
            raise _unknown(parsed)
        if sender is not None and sender.client.pk != ticket.client_id:
            raise Quarantine(
                f"{parsed.sender} replied to {ticket.number}, a ticket of another client."
            )
        contact = sender.contact if sender is not None else None
        services.ticket_client_message(
            ticket=ticket,
            body=body,
            author=contact.user if contact is not None and authenticity.verified else None,
            attachments=_uploads(parsed),
            email_sender=parsed.sender,
            unverified_reason=authenticity.note,
            body_html=html_body,
        )
        return ticket
    if sender is None:
        raise _unknown(parsed)
    if sender.staff is not None:
        raise Quarantine(f"Staff member {parsed.sender} wrote without a ticket to reply to.")
    description = parsed.text
    if ticket is not None:  # a reply to a closed ticket starts a follow-up
        description = f"Follow-up to {ticket.number}.\n\n{description}".strip()
    new = services.ticket_open(
        client=sender.client,
        contact=sender.contact
        or services.requester_contact_record(
            client=sender.client, email=parsed.sender, name=parsed.sender_name
        ),
        subject=(parsed.subject or "(no subject)")[:200],
        description=description,
        source=TicketSource.EMAIL,
        parent=ticket if ticket is not None and ticket.client_id == sender.client.pk else None,
    )
    services.ticket_system_event(
        ticket=new,
        kind=EventKind.NOTE,
        at=timezone.now(),
        detail=f"Opened by email from {formataddr((parsed.sender_name, parsed.sender))}. "
        f"{authenticity.note or 'Sender verified.'}",
    )
    uploads = _uploads(parsed)
    if _html_adds_content(parsed):
        uploads.append(
            SimpleUploadedFile(
                "message.html", parsed.html.encode(), content_type="text/html; charset=utf-8"
            )
        )
    for upload in uploads:
        services.attachment_add(ticket=new, upload=upload, user=None)
    return new
