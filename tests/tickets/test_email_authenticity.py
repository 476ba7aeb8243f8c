"""Email authenticity: a staff reply by email acts for staff only when it was sent to the
ticket's signed reply address issued to that sender, and its DMARC check did not fail.
Everything else is kept and shown as from an unverified sender, with no SLA effect for staff."""

import re

import pytest
import time_machine
from django.urls import reverse

from msp.models import OutboxMessage
from msp.services import outbox_deliver
from sla.choices import ClockKind, ClockState
from tests.factories import StaffFactory
from tests.helpers import signed_in
from tests.tickets.emails import compose, raw
from tickets.choices import EventKind, InboundStatus, TicketStatus
from tickets.intake.mail import email_ingest
from tickets.models import EmailThreadMessage, Ticket
from tickets.reply_address import reply_address
from tickets.services import ticket_merge, ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def setup(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DEFAULT_FROM_EMAIL = "Service desk <support@demo.msp>"


@pytest.fixture
def tom(db):
    return StaffFactory(email="tom@msp.example", full_name="Tom Baker")


@pytest.fixture
def ticket(paula):
    return email_ingest(raw=raw("plain.eml")).ticket


def response_clock(ticket: Ticket):
    return ticket.sla_clocks.get(kind=ClockKind.RESPONSE)


def staff_reply(ticket: Ticket, *, to: str, sender: str = "tom@msp.example", **fields) -> bytes:
    """Tom answering from Outlook: the ticket's tag in the subject, threaded by References."""
    thread = " ".join(
        EmailThreadMessage.objects.filter(ticket=ticket).values_list("message_id", flat=True)
    )
    fields.setdefault("SUBJECT", f"RE: [#{ticket.pk}] Printer on floor 2 is jammed")
    return compose(
        "outlook_reply.eml",
        FROM=sender,
        FROM_NAME="Tom Baker",
        TO=to,
        REFERENCES=thread,
        IN_REPLY_TO=thread.split(" ")[-1],
        MESSAGE_ID=fields.pop("MESSAGE_ID", "<AM9PR07MB72021@AM9PR07MB7202.eurprd07.outlook.com>"),
        **fields,
    )


def test_forged_staff_from_stops_no_clock(ticket, tom):
    # Anyone can write "From: tom@msp.example"; sent to the plain support address.
    row = email_ingest(raw=staff_reply(ticket, to="Service desk <support@demo.msp>"))
    assert row.status == InboundStatus.PROCESSED and row.ticket == ticket
    assert not row.sender_verified
    assert "no signed reply address" in row.reason
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert response_clock(ticket).state == ClockState.RUNNING
    note = ticket.comments.get()
    # Kept as an internal note by nobody we know: never sent to the client, never a response.
    assert (note.is_public, note.author, note.sender_verified) == (False, None, False)
    assert note.email_sender == "tom@msp.example"
    assert note.body.startswith("I have ordered a new fuser unit")
    assert not OutboxMessage.objects.exists()
    assert not ticket.events.filter(kind=EventKind.REPLY).exists()


def test_signed_staff_reply_stops_the_response_clock(ticket, tom):
    address = reply_address(ticket_id=ticket.pk, user=tom)
    row = email_ingest(raw=staff_reply(ticket, to=f"Service desk <{address}>"))
    assert row.status == InboundStatus.PROCESSED and row.sender_verified
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert response_clock(ticket).state != ClockState.RUNNING
    reply = ticket.comments.get()
    assert (reply.is_public, reply.author, reply.sender_verified) == (True, tom, True)
    assert reply.email_sender == "tom@msp.example"
    assert OutboxMessage.objects.get().email == "paula@acme.example"


def test_signed_address_replayed_by_another_sender_is_unverified(ticket, tom):
    address = reply_address(ticket_id=ticket.pk, user=tom)
    StaffFactory(email="eve@msp.example")
    row = email_ingest(raw=staff_reply(ticket, to=address, sender="eve@msp.example"))
    assert row.ticket == ticket and not row.sender_verified
    assert "issued to someone else" in row.reason
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    note = ticket.comments.get()
    assert (note.is_public, note.author, note.sender_verified) == (False, None, False)


def test_signed_contact_address_used_by_staff_does_not_act_for_staff(ticket, tom):
    address = reply_address(ticket_id=ticket.pk, contact=ticket.contact)
    row = email_ingest(raw=staff_reply(ticket, to=address))
    assert not row.sender_verified
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.comments.get().is_public is False


def test_signature_for_ticket_a_used_on_ticket_b_is_refused(ticket, paula, tom):
    other = email_ingest(
        raw=raw("plain.eml").replace(b"<plain-1@", b"<plain-2@").replace(b"floor 2", b"floor 3")
    ).ticket
    moved = reply_address(ticket_id=ticket.pk, user=tom).replace(
        f"+t{ticket.pk}-", f"+t{other.pk}-"
    )
    # Not even threaded through the tampered address: no tag, no References, no ticket.
    row = email_ingest(
        raw=compose(
            "outlook_reply.eml",
            FROM="tom@msp.example",
            TO=moved,
            SUBJECT="RE: Printer on floor 3",
            MESSAGE_ID="<moved-1@outlook.com>",
        )
    )
    assert row.status == InboundStatus.QUARANTINED and not row.sender_verified
    # With ticket B's tag in the subject it lands on B, unverified, with the refusal recorded.
    row = email_ingest(
        raw=staff_reply(other, to=moved, MESSAGE_ID="<moved-2@outlook.com>"),
    )
    assert row.ticket == other and not row.sender_verified
    assert "signature does not match" in row.reason
    other.refresh_from_db()
    assert other.first_response_at is None
    assert other.comments.get().sender_verified is False
    assert not ticket.comments.exists()


def test_dmarc_fail_is_unverified_even_at_the_signed_address(ticket, tom):
    address = reply_address(ticket_id=ticket.pk, user=tom)
    row = email_ingest(raw=staff_reply(ticket, to=address, DMARC="fail"))
    assert not row.sender_verified
    assert "DMARC" in row.reason
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.comments.get().is_public is False


def test_our_reply_carries_the_contacts_signed_address(ticket, technician, mailoutbox):
    ticket_reply(ticket=ticket, author=technician, body="We replaced the roller.")
    outgoing = OutboxMessage.objects.get()
    signed = outgoing.headers["Reply-To"]
    assert signed == reply_address(ticket_id=ticket.pk, contact=ticket.contact)
    outbox_deliver(message_id=outgoing.pk)
    sent = mailoutbox[0].message()
    assert (sent["Reply-To"], sent["From"]) == (signed, "Service desk <support@demo.msp>")
    local, domain = signed.split("@")
    assert domain == "demo.msp" and re.fullmatch(r"support\+t\d+-c\d+-[a-z2-7]{20}", local)
    # Issued per ticket and recipient.
    assert reply_address(ticket_id=ticket.pk, user=technician) != signed
    assert reply_address(ticket_id=ticket.pk + 1, contact=ticket.contact) != signed


def test_client_reply_to_the_signed_address_is_verified_and_threads_by_it(ticket, technician):
    ticket_reply(ticket=ticket, author=technician, body="We replaced the roller.")
    address = OutboxMessage.objects.get().headers["Reply-To"]
    # A reply whose client dropped both the subject tag and the References still finds it.
    row = email_ingest(
        raw=compose(
            "gmail_reply.eml", TO=f"Service desk <{address}>", DELIVERED_TO=address, SUBJECT="jam"
        )
    )
    assert row.ticket == ticket and row.sender_verified and row.reason == ""
    message = ticket.comments.get(is_public=True, author=None)
    assert message.body == "It jammed again this morning, same tray."
    assert (message.sender_verified, message.email_sender) == (True, "paula@acme.example")


def test_client_reply_without_the_signed_address_is_unverified(ticket):
    row = email_ingest(
        raw=compose("gmail_reply.eml", SUBJECT=f"Re: [#{ticket.pk}] Printer on floor 2 is jammed")
    )
    assert row.ticket == ticket and not row.sender_verified
    message = ticket.comments.get()
    assert (message.is_public, message.sender_verified) == (True, False)
    # Still the client writing: a client message on the timeline.
    assert ticket.events.filter(kind=EventKind.CLIENT_MESSAGE).count() == 1


def test_forged_client_from_opens_a_ticket_marked_unverified(paula):
    row = email_ingest(
        raw=compose(
            "gmail_reply.eml", SUBJECT="Please reset my password", DMARC="fail", REFERENCES=""
        )
    )
    assert row.status == InboundStatus.PROCESSED and row.ticket.contact == paula
    assert not row.sender_verified and "DMARC" in row.reason
    opened = row.ticket.events.get(kind=EventKind.NOTE, comment=None)
    assert "paula@acme.example" in opened.detail and "Sender not verified" in opened.detail


def test_the_ticket_page_shows_who_is_verified(ticket, tom, technician):
    email_ingest(raw=staff_reply(ticket, to="support@demo.msp"))
    address = reply_address(ticket_id=ticket.pk, user=tom)
    email_ingest(raw=staff_reply(ticket, to=address, MESSAGE_ID="<AM9PR07MB72022@outlook.com>"))
    content = signed_in(technician).get(reverse("tickets:detail", args=[ticket.pk]))
    content = content.content.decode()
    assert content.count('data-testid="unverified-sender"') == 1
    assert content.count('data-testid="verified-sender"') == 1
    assert "Unverified sender tom@msp.example" in content


@pytest.mark.parametrize("kept", ["subject tag", "references", "signed address"])
def test_a_reply_to_a_merged_ticket_lands_on_the_surviving_one(ticket, technician, kept):
    """Merged twice (A into B, B into C): Paula's reply to A's email lands on C."""
    ticket_reply(ticket=ticket, author=technician, body="We replaced the roller.")
    sent = OutboxMessage.objects.get()
    survivors = [
        email_ingest(raw=raw("plain.eml").replace(b"<plain-1@", f"<plain-{n}@".encode())).ticket
        for n in (2, 3)
    ]
    ticket_merge(source=ticket, target=survivors[0], actor=technician)
    ticket_merge(source=survivors[0], target=survivors[1], actor=technician)
    sent_id = EmailThreadMessage.objects.get(ticket=ticket, outbound=True).message_id
    fields = {"SUBJECT": "Re: Printer on floor 2 is jammed"}
    if kept == "subject tag":
        fields["SUBJECT"] = f"Re: {sent.subject}"
    elif kept == "references":
        fields.update(REFERENCES=f"<plain-1@acme.example> {sent_id}", IN_REPLY_TO=sent_id)
    else:
        fields.update(TO=sent.headers["Reply-To"], DELIVERED_TO=sent.headers["Reply-To"])
    tickets_before = Ticket.objects.count()
    row = email_ingest(raw=compose("gmail_reply.eml", **fields))
    assert row.status == InboundStatus.PROCESSED
    assert row.ticket == survivors[1]
    assert Ticket.objects.count() == tickets_before  # no follow-up ticket
    assert survivors[1].comments.filter(body="It jammed again this morning, same tray.").exists()
    assert row.sender_verified == (kept == "signed address")
    survivors[1].refresh_from_db()
    assert survivors[1].status != TicketStatus.CLOSED


def test_a_staff_member_answers_an_sla_warning_by_email(ticket, tom, settings):
    """The sweep's warning email carries Tom's own signed internal address: answering it is a
    verified internal note by Tom (nothing reaches the client, no clock stops), while the same
    address in anyone else's hands is unverified."""
    from datetime import timedelta

    from tickets.services import ticket_assign
    from tickets.timers.sweep import sla_sweep

    ticket_assign(ticket=ticket, actor=tom, assignee=tom)
    ticket.refresh_from_db()
    later = ticket.created_at + timedelta(days=30)
    sla_sweep(now=later)
    warning = OutboxMessage.objects.filter(
        key__startswith="sla:", recipient=tom, channel="email"
    ).first()
    assert warning is not None
    signed = warning.headers["Reply-To"]
    assert signed == reply_address(ticket_id=ticket.pk, user=tom, internal=True)

    with time_machine.travel(later + timedelta(minutes=5), tick=False):
        forged = email_ingest(raw=staff_reply(ticket, to=signed, sender="mallory@evil.example"))
        row = email_ingest(
            raw=staff_reply(ticket, to=signed, MESSAGE_ID="<tom-answers-the-warning@msp.example>")
        )
    assert not forged.sender_verified
    assert row.sender_verified
    assert ticket.comments.filter(author=tom, is_public=False).exists()
    assert not ticket.comments.filter(author=tom, is_public=True).exists()
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
