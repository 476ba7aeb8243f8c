"""Email into tickets: new tickets, threading both ways, loops avoided, quarantine and retry,
each message once, and outbound replies that thread back."""

from pathlib import Path

import pytest
from django.core.management import call_command

from msp.models import OutboxMessage
from tests.factories import ContactFactory
from tickets.choices import InboundStatus
from tickets.intake.mail import email_ingest, email_retry
from tickets.models import EmailThreadMessage, InboundEmail, Mailbox, Ticket
from tickets.reply_address import reply_address
from tickets.services import ticket_open, ticket_reply

pytestmark = pytest.mark.django_db
EMAILS = Path(__file__).parent / "emails"


@pytest.fixture(autouse=True)
def setup(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def raw(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def test_a_contacts_message_opens_an_email_ticket(paula):
    row = email_ingest(raw=raw("plain.eml"))
    assert row.status == InboundStatus.PROCESSED
    ticket = row.ticket
    assert (ticket.client, ticket.contact, ticket.source) == (paula.client, paula, "email")
    assert ticket.subject == "Printer on floor 2 is jammed"
    assert 'shows "paper jam" again.' in ticket.description


def test_each_message_once(paula):
    first = email_ingest(raw=raw("plain.eml"))
    again = email_ingest(raw=raw("plain.eml"))
    assert again.pk == first.pk
    assert Ticket.objects.count() == 1 and InboundEmail.objects.count() == 1


def test_attachments_land_on_the_ticket(paula):
    ticket = email_ingest(raw=raw("multipart_attachment.eml")).ticket
    names = sorted(ticket.attachments.values_list("filename", flat=True))
    assert "log.txt" in names and len(names) == 2


def test_the_domain_decides_the_client_for_an_unknown_sender(paula):
    message = raw("plain.eml").replace(b"Paula@Acme.example", b"new.person@acme.example")
    ticket = email_ingest(raw=message).ticket
    assert ticket.client == paula.client
    # Recorded as the requester, unverified (tests/tickets/test_email_requesters.py).
    assert ticket.contact.email == "new.person@acme.example"
    assert ticket.contact.unverified_from_email


def test_unknown_sender_is_quarantined_then_retried(client_a):
    row = email_ingest(raw=raw("plain.eml"))
    assert row.status == InboundStatus.QUARANTINED
    assert row.reason.startswith("Unknown sender paula@acme.example")
    assert not Ticket.objects.exists()
    ContactFactory(client=client_a, email="paula@acme.example")
    row = email_retry(inbound=row)
    assert row.status == InboundStatus.PROCESSED and row.ticket.client == client_a
    assert row.attempts == 2


def test_mailbox_default_client(client_b):
    box = Mailbox.objects.create(
        name="b", host="h", username="u", password="p", default_client=client_b
    )
    assert email_ingest(raw=raw("plain.eml"), mailbox=box).ticket.client == client_b


def test_our_reply_goes_out_threaded_and_their_answer_comes_back(paula, technician):
    ticket = email_ingest(raw=raw("plain.eml")).ticket
    ticket_reply(ticket=ticket, author=technician, body="We replaced the roller.")
    outgoing = OutboxMessage.objects.get(key__startswith="ticket-reply:")
    assert outgoing.subject == f"[#{ticket.pk}] Printer on floor 2 is jammed"
    assert outgoing.email == "paula@acme.example"
    assert outgoing.headers["In-Reply-To"] == "<plain-1@acme.example>"
    assert outgoing.headers["References"] == "<plain-1@acme.example>"  # each id once
    sent_id = EmailThreadMessage.objects.get(outbound=True).message_id
    answer = raw("reply_quoted.eml").replace(b"<REPLACED-BY-TEST>", sent_id.encode())
    row = email_ingest(raw=answer)
    assert row.ticket == ticket
    comment = ticket.comments.order_by("-pk").first()
    assert comment.body == "It works again, thanks!"  # the quoted history trimmed
    assert ticket.events.filter(kind="client_message").count() == 1


def test_the_subject_tag_threads_too(paula, technician):
    ticket = email_ingest(raw=raw("plain.eml")).ticket
    message = (
        f"Message-ID: <tag-1@acme.example>\nFrom: paula@acme.example\n"
        f"Subject: Re: [#{ticket.pk}] Printer\n\nStill jammed.\n"
    ).encode()
    assert email_ingest(raw=message).ticket == ticket
    assert Ticket.objects.count() == 1


def test_staff_reply_by_email_is_a_public_reply(paula, technician):
    """To the reply address signed for this technician; anything less is unverified
    (tests/tickets/test_email_authenticity.py)."""
    ticket = email_ingest(raw=raw("plain.eml")).ticket
    address = reply_address(ticket_id=ticket.pk, user=technician)
    message = (
        f"Message-ID: <staff-1@demo.msp>\nFrom: {technician.email}\nTo: {address}\n"
        f"Subject: Re: [#{ticket.pk}] Printer\n\nOn my way.\n"
    ).encode()
    email_ingest(raw=message)
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.comments.get(author=technician).body == "On my way."


def test_reply_to_another_clients_ticket_is_quarantined(paula, client_b):
    foreign = ticket_open(client=client_b, subject="Theirs")
    message = (
        f"Message-ID: <x-1@acme.example>\nFrom: paula@acme.example\n"
        f"Subject: Re: [#{foreign.pk}] Theirs\n\nhello\n"
    ).encode()
    row = email_ingest(raw=message)
    assert row.status == InboundStatus.QUARANTINED
    assert "a ticket of another client" in row.reason
    assert foreign.comments.count() == 0


@pytest.mark.parametrize("name", ["out_of_office.eml", "bounce.eml"])
def test_auto_replies_and_bounces_never_open_tickets_or_answer(paula, name):
    row = email_ingest(raw=raw(name))
    assert row.status == InboundStatus.IGNORED and row.reason
    assert not Ticket.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_unreadable_message_is_kept_in_quarantine(paula):
    row = email_ingest(raw=raw("no_sender.eml"))
    assert row.status == InboundStatus.QUARANTINED
    assert "no sender address" in row.reason
    assert bytes(row.raw) == raw("no_sender.eml")


def test_management_command(paula, capsys):
    call_command("ingest_email", str(EMAILS / "plain.eml"), str(EMAILS / "bounce.eml"))
    output = capsys.readouterr().out
    assert "plain.eml: Processed -> ticket #" in output
    assert "bounce.eml: Ignored (automatic message) (Delivery status report (bounce))" in output


def test_admin_retries_quarantined_messages(client_a, admin_user, client):
    row = email_ingest(raw=raw("plain.eml"))
    assert row.status == InboundStatus.QUARANTINED
    ContactFactory(client=client_a, email="paula@acme.example")
    client.force_login(admin_user)
    response = client.post(
        "/admin/tickets/inboundemail/",
        {"action": "retry", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "1 message(s) processed" in response.content.decode()
    row.refresh_from_db()
    assert row.status == InboundStatus.PROCESSED
    assert client.get(f"/admin/tickets/inboundemail/{row.pk}/change/").status_code == 200


def test_a_nul_byte_and_a_windows_path_in_a_file_name_are_made_safe(paula):
    """Thunderbird-shaped mail with NUL bytes in its subject and text (PostgreSQL refuses NUL)
    and an attachment named ..\\..\\win.ini: a ticket, NULs dropped, the file named win.ini."""
    row = email_ingest(raw=raw("poison_nul_and_windows_path.eml"))
    assert row.status == InboundStatus.PROCESSED, row.reason
    ticket = row.ticket
    assert ticket.subject == "Log from the scanner PC"
    assert "log: after every reboot" in ticket.description
    assert [a.filename for a in ticket.attachments.all()] == ["win.ini"]


def test_a_message_that_fails_is_quarantined_and_the_next_goes_through(paula, monkeypatch):
    from tickets import services as ticket_services

    real_open = ticket_services.ticket_open

    def broken_once(**kwargs):
        monkeypatch.setattr(ticket_services, "ticket_open", real_open)
        raise RuntimeError("disk full while saving")

    monkeypatch.setattr(ticket_services, "ticket_open", broken_once)
    failed = email_ingest(raw=raw("plain.eml"))
    assert failed.status == InboundStatus.QUARANTINED
    assert failed.reason == "Processing failed: RuntimeError: disk full while saving"
    assert not Ticket.objects.exists()  # nothing half-written
    assert email_ingest(raw=raw("multipart_attachment.eml")).status == InboundStatus.PROCESSED
    released = email_retry(inbound=failed)  # after the fix, an administrator releases it
    assert released.status == InboundStatus.PROCESSED


# Content (issue 18, point 9), loops (point 10), fidelity (point 13) -----------------------


def tagged(name: str, ticket) -> bytes:
    """A stored reply or auto-reply aimed at `ticket` (the fixtures say [#1])."""
    return raw(name).replace(b"[#1]", f"[#{ticket.pk}]".encode())


def test_a_reply_keeps_its_sanitised_html_and_its_text(paula):
    ticket = email_ingest(raw=raw("plain.eml")).ticket
    row = email_ingest(raw=tagged("gmail_html_reply.eml", ticket))
    assert row.status == InboundStatus.PROCESSED and row.ticket == ticket
    comment = ticket.comments.get()
    assert comment.body == "Tray 2 is fine now, tray 3 still jams."
    assert "<span>tray 3 still jams</span>" in comment.body_html
    assert "style=" not in comment.body_html
    assert "We replaced the roller" not in comment.body_html  # the quoted history trimmed


def test_the_ticket_page_and_the_portal_show_the_html(paula, dispatcher, client_user_a):
    from django.urls import reverse

    from tests.helpers import signed_in

    ticket = email_ingest(raw=raw("plain.eml")).ticket
    email_ingest(raw=tagged("outlook_desktop_reply_html.eml", ticket))
    staff_page = signed_in(dispatcher).get(reverse("tickets:detail", args=[ticket.pk]))
    portal_page = signed_in(client_user_a).get(f"/portal/tickets/{ticket.pk}/")
    for page in (staff_page, portal_page):
        assert "Thanks, the new roller <b>works</b>." in page.content.decode()


def test_a_new_ticket_keeps_html_the_text_lacks_as_a_file(paula):
    siblings = email_ingest(raw=raw("text_and_html_siblings_in_mixed.eml")).ticket
    assert "Model numbers: P2422H and P2419H." in siblings.description  # text from the HTML
    message = (
        b"From: paula@acme.example\nSubject: Portal link\nMessage-ID: <link@acme.example>\n"
        b'Content-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
        b"The link below fails.\n--b\nContent-Type: text/html\n\n<p>The <a href="
        b'"https://erp.acme.example/login?x=1">link below</a> fails.</p>\n--b--\n'
    )
    ticket = email_ingest(raw=message).ticket
    (page,) = ticket.attachments.all()
    assert page.filename == "message.html"
    assert b'href="https://erp.acme.example/login?x=1"' in page.file.read()
    owa = email_ingest(raw=raw("outlook_web_new_ticket.eml")).ticket  # a table only in HTML
    assert [a.filename for a in owa.attachments.all()] == ["message.html"]
    # The same words in both versions need no file.
    only_html = email_ingest(raw=raw("text_only_in_html_alternative.eml")).ticket
    assert not only_html.attachments.exists()


def test_a_uuencoded_file_and_an_inline_image_land_decoded_on_the_ticket(paula):
    ticket = email_ingest(raw=raw("x_uuencode_attachment.eml")).ticket
    (export,) = ticket.attachments.all()
    assert export.filename == "status.csv"
    assert export.file.read() == b"host,status\nsrv01,down\nsrv02,up\n"
    ticket = email_ingest(raw=raw("apple_mail_inline_image.eml")).ticket
    assert [a.filename for a in ticket.attachments.all()] == ["Screenshot 2026-11-24.png"]


def test_broken_mime_opens_a_ticket_with_its_text(paula):
    ticket = email_ingest(raw=raw("multipart_declared_without_parts.eml")).ticket
    assert ticket.description.startswith("The badge reader at the back door blinks red")


def test_an_exchange_out_of_office_never_reopens_a_resolved_ticket_or_restarts_a_clock(
    paula, technician
):
    from sla.models import SLAClock
    from tickets.services import ticket_resolve

    ticket = email_ingest(raw=raw("plain.eml")).ticket
    ticket_resolve(ticket=ticket, actor=technician, resolution="New roller fitted.")
    ticket.refresh_from_db()
    clocks = list(SLAClock.objects.filter(ticket=ticket).order_by("pk").values())
    events = ticket.events.count()
    outbox = OutboxMessage.objects.count()
    for name in ("exchange_out_of_office.eml", "exchange_inbox_rule_forward_loop.eml"):
        row = email_ingest(raw=tagged(name, ticket))
        assert row.status == InboundStatus.IGNORED, row.reason
        assert row.reason.startswith("X-MS-Exchange-")
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    assert list(SLAClock.objects.filter(ticket=ticket).order_by("pk").values()) == clocks
    assert ticket.events.count() == events and ticket.comments.count() == 1
    assert OutboxMessage.objects.count() == outbox


def test_more_than_ten_messages_an_hour_from_one_sender_to_one_ticket_are_ignored(paula):
    ticket = email_ingest(raw=raw("plain.eml")).ticket  # the first of the hour
    rows = [
        email_ingest(
            raw=(
                f"Message-ID: <loop-{n}@acme.example>\nFrom: paula@acme.example\n"
                f"Subject: Re: [#{ticket.pk}] Printer\n\nStill jammed ({n}).\n"
            ).encode()
        )
        for n in range(10)
    ]
    assert [row.status for row in rows[:9]] == [InboundStatus.PROCESSED] * 9
    assert rows[9].status == InboundStatus.IGNORED and rows[9].ticket == ticket
    assert rows[9].reason.startswith("Mail loop guard: paula@acme.example already wrote 10")
    assert ticket.comments.count() == 9
    # Another sender on the same ticket is not held back.
    ContactFactory(client=paula.client, email="tom@acme.example")
    other = email_ingest(
        raw=f"Message-ID: <o@acme.example>\nFrom: tom@acme.example\nSubject: Re: [#{ticket.pk}] "
        "Printer\n\nHere too.\n".encode()
    )
    assert other.status == InboundStatus.PROCESSED


def test_the_opening_note_names_the_sender_with_their_display_name(paula):
    ticket = email_ingest(raw=raw("plain.eml")).ticket
    note = ticket.events.filter(detail__startswith="Opened by email").get()
    assert note.detail.startswith("Opened by email from Paula Smith <paula@acme.example>.")


def test_a_blank_body_is_stored_blank_and_line_endings_as_lf(paula):
    ticket = email_ingest(raw=raw("scanner_blank_body_with_pdf.eml")).ticket
    assert ticket.description == ""
    assert [a.filename for a in ticket.attachments.all()] == ["scan_0001.pdf"]
    ticket = email_ingest(raw=raw("crlf_and_cr_line_endings.eml")).ticket
    assert ticket.description == "First line\nSecond line\nThird line"


def test_our_mail_asks_robots_not_to_answer_and_marks_what_is_automatic(
    paula, technician, settings
):
    """Every email we send carries X-Auto-Response-Suppress: All (Exchange sends no
    out-of-office to it); automatic ones also Auto-Submitted (RFC 3834) and Precedence: bulk.
    A reply a person wrote is not automatic."""
    from django.core import mail

    from msp.choices import OutboxChannel
    from msp.services import outbox_deliver, outbox_enqueue
    from tickets.services import ticket_resolve

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ticket = email_ingest(raw=raw("plain.eml")).ticket
    ticket_reply(ticket=ticket, author=technician, body="We replaced the roller.")
    human = OutboxMessage.objects.get(key__startswith="ticket-reply:")
    robot = outbox_enqueue(
        key="sla-warning:1",
        channel=OutboxChannel.EMAIL,
        email="tom@msp.example",
        subject="SLA warning",
        body="Due soon.",
    )
    sent = {}
    for message in (human, robot):
        outbox_deliver(message_id=message.pk)
        sent[message.key] = mail.outbox[-1].message()
    reply, warning = sent[human.key], sent["sla-warning:1"]
    assert reply["X-Auto-Response-Suppress"] == warning["X-Auto-Response-Suppress"] == "All"
    assert reply["Auto-Submitted"] is None and reply["Precedence"] is None
    assert (warning["Auto-Submitted"], warning["Precedence"]) == ("auto-generated", "bulk")
    # The satisfaction survey sent on resolve is automatic too (an out-of-office answering it
    # would be ignored anyway: test_an_exchange_out_of_office_never_reopens...).
    ticket_resolve(ticket=ticket, actor=technician, resolution="New roller fitted.")
    survey = OutboxMessage.objects.get(key__startswith="csat:")
    outbox_deliver(message_id=survey.pk)
    sent_survey = mail.outbox[-1].message()
    assert sent_survey["Auto-Submitted"] == "auto-generated"
    assert sent_survey["X-Auto-Response-Suppress"] == "All"


def test_a_blank_reply_is_stored_blank_with_its_file(paula):
    """iOS Mail sending only a photo in reply: the comment is blank, not "(no text)"."""
    ticket = email_ingest(raw=raw("plain.eml")).ticket
    reply = (
        f"From: Paula Smith <paula@acme.example>\nTo: support@demo.msp\n"
        f"Subject: Re: [#{ticket.pk}] Printer on floor 2 is jammed\n"
        f"Message-ID: <blank-photo@acme.example>\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="b1"\n\n'
        f"--b1\nContent-Type: text/plain; charset=us-ascii\n\n\n"
        f"--b1\nContent-Type: image/jpeg; name=IMG_0042.jpg\n"
        f"Content-Disposition: attachment; filename=IMG_0042.jpg\n"
        f"Content-Transfer-Encoding: base64\n\n/9j/4AAQSkZJRgABAQ==\n--b1--\n"
    ).encode()
    row = email_ingest(raw=reply)
    assert row.status == InboundStatus.PROCESSED, row.reason
    comment = ticket.comments.order_by("-pk").first()
    assert comment.body == ""
    assert [a.filename for a in comment.attachments.all()] == ["IMG_0042.jpg"]
