"""Polling a real IMAP server (dovecot on loopback, started by the test suite)."""

import imaplib
from pathlib import Path

import pytest

from msp.celery import app
from tests.factories import ContactFactory, StaffFactory
from tests.helpers import mailbox_on
from tests.tickets.emails import compose
from tickets.choices import InboundStatus
from tickets.intake.mailboxes import mailbox_poll, mailboxes_poll
from tickets.models import InboundEmail, Ticket
from tickets.reply_address import reply_address

pytestmark = pytest.mark.django_db
EMAILS = Path(__file__).parent / "emails"


@pytest.fixture
def mailbox(imap_server, client_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ContactFactory(client=client_a, email="paula@acme.example")
    return mailbox_on(imap_server)


def deliver(server, *messages: bytes) -> None:
    with imaplib.IMAP4(server["host"], server["port"]) as imap:
        imap.login(server["username"], server["password"])
        for message in messages:
            imap.append("INBOX", None, None, message.replace(b"\n", b"\r\n"))


def unseen(server) -> int:
    with imaplib.IMAP4(server["host"], server["port"]) as imap:
        imap.login(server["username"], server["password"])
        imap.select("INBOX")
        return len(imap.uid("SEARCH", None, "UNSEEN")[1][0].split())


def test_poll_opens_tickets_threads_replies_and_ignores_bounces(imap_server, mailbox):
    deliver(
        imap_server,
        (EMAILS / "plain.eml").read_bytes(),
        (EMAILS / "bounce.eml").read_bytes(),
        (EMAILS / "multipart_attachment.eml").read_bytes(),
    )
    result = mailbox_poll(mailbox=mailbox)
    assert (result.fetched, result.error) == (3, "")
    assert Ticket.objects.count() == 2
    assert InboundEmail.objects.filter(status=InboundStatus.IGNORED).count() == 1
    assert unseen(imap_server) == 0
    ticket = Ticket.objects.get(subject="Printer on floor 2 is jammed")
    deliver(
        imap_server,
        f"Message-ID: <r-9@acme.example>\nFrom: paula@acme.example\n"
        f"Subject: Re: [#{ticket.pk}] Printer\n\nStill jammed.\n".encode(),
    )
    assert mailbox_poll(mailbox=mailbox).fetched == 1
    assert ticket.comments.get().body == "Still jammed."
    assert mailbox_poll(mailbox=mailbox).fetched == 0  # nothing new
    mailbox.refresh_from_db()
    assert mailbox.last_polled_at is not None and mailbox.last_error == ""


def test_only_the_reply_sent_to_the_signed_address_acts_for_staff(imap_server, mailbox):
    deliver(imap_server, (EMAILS / "plain.eml").read_bytes())
    mailbox_poll(mailbox=mailbox)
    ticket = Ticket.objects.get()
    tom = StaffFactory(email="tom@msp.example")
    signed = reply_address(ticket_id=ticket.pk, user=tom)
    subject = f"RE: [#{ticket.pk}] Printer on floor 2 is jammed"
    deliver(
        imap_server,
        compose("outlook_reply.eml", FROM=tom.email, SUBJECT=subject, MESSAGE_ID="<forged@x>"),
        compose("outlook_reply.eml", FROM=tom.email, SUBJECT=subject, TO=signed),
    )
    assert mailbox_poll(mailbox=mailbox).fetched == 2
    forged, real = InboundEmail.objects.filter(ticket=ticket).exclude(subject__startswith="Pr")
    assert {forged.sender_verified, real.sender_verified} == {False, True}
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.comments.get(is_public=True).author == tom


def test_wrong_password_is_recorded_not_raised(imap_server, mailbox):
    mailbox.password = "wrong"
    mailbox.save()
    (result,) = mailboxes_poll()
    assert result.error.startswith("error:")
    mailbox.refresh_from_db()
    assert "error" in mailbox.last_error


def test_beat_polls_mailboxes():
    app.loader.import_default_modules()
    assert app.conf.beat_schedule["poll-mailboxes"]["task"] == "tickets.poll_mailboxes"


def test_a_poison_message_never_blocks_the_rest_of_the_poll(imap_server, mailbox, monkeypatch):
    """The NUL-byte, Windows-path message is made safe; one that cannot even be stored is left
    unseen for the next poll while the messages after it are processed."""
    from tickets.intake import mailboxes

    real_ingest = mailboxes.email_ingest

    def ingest(*, raw, mailbox):
        if b"Subject: Cannot be stored" in raw:
            raise RuntimeError("database went away")
        return real_ingest(raw=raw, mailbox=mailbox)

    monkeypatch.setattr(mailboxes, "email_ingest", ingest)
    deliver(
        imap_server,
        (EMAILS / "poison_nul_and_windows_path.eml").read_bytes(),
        b"Message-ID: <x-1@acme.example>\nFrom: paula@acme.example\n"
        b"Subject: Cannot be stored\n\nHello\n",
        (EMAILS / "plain.eml").read_bytes(),
    )
    result = mailbox_poll(mailbox=mailbox)
    assert (result.fetched, result.error) == (2, "")
    # (dovecot itself turns the NUL in the header into a replacement character)
    subjects = sorted(Ticket.objects.values_list("subject", flat=True))
    assert subjects[0].startswith("Log from the scanner") and subjects[0].endswith("PC")
    assert subjects[1] == "Printer on floor 2 is jammed"
    assert unseen(imap_server) == 1  # the one that failed, for the next poll
