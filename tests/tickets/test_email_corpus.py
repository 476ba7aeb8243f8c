"""The whole stored corpus (tests/tickets/emails/, one file per real-world shape) delivered to
a real IMAP server (dovecot on loopback) and polled once: for each file, what must happen."""

import imaplib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import ContactFactory
from tests.helpers import mailbox_on
from tests.tickets.emails import compose
from tickets.choices import InboundStatus
from tickets.intake.mailboxes import mailbox_poll
from tickets.models import InboundEmail
from tickets.services import ticket_open

pytestmark = pytest.mark.django_db
EMAILS = Path(__file__).parent / "emails"
OPENED, THREADED, IGNORED, QUARANTINED = "opened", "threaded", "ignored", "quarantined"


@dataclass(frozen=True)
class Expect:
    outcome: str
    text: str = ""  # in the new ticket's description or the threaded comment's body
    files: tuple[str, ...] = ()  # attachment names, exactly
    html: str = ""  # in the threaded comment's HTML, or in the new ticket's message.html
    reason: str = ""  # how the reason of an ignored or quarantined message starts


CORPUS = {
    # People writing in: new tickets, their text, HTML and files kept.
    "plain.eml": Expect(OPENED, 'shows "paper jam" again.'),
    "outlook_reply.eml": Expect(OPENED, "I have ordered a new fuser unit"),
    "gmail_reply.eml": Expect(OPENED, "It jammed again this morning, same tray."),
    "reply_quoted.eml": Expect(OPENED, "It works again, thanks!"),
    "outlook_web_new_ticket.eml": Expect(
        OPENED, "Teams signs me out every hour", ("message.html",), "<td>24.11.2</td>"
    ),
    "apple_mail_inline_image.eml": Expect(
        OPENED, "It started after lunch.", ("Screenshot 2026-11-24.png",)
    ),
    "thunderbird_flowed_text.eml": Expect(OPENED, "the S: drive is no longer mapped"),
    "multipart_attachment.eml": Expect(
        OPENED, "See the attached screenshot.", ("inline.png", "log.txt")
    ),
    "html_only.eml": Expect(OPENED, "The VPN is down for everyone."),
    "text_only_in_html_alternative.eml": Expect(OPENED, "laptop LT-0042 is very loud"),
    "text_and_html_siblings_in_mixed.eml": Expect(
        OPENED, "Both monitors on desk 14 flicker.\n\nModel numbers: P2422H and P2419H."
    ),
    "html_with_plain_signature_part.eml": Expect(
        OPENED, "missing the F and J keys.\n\n--\nAcme Ltd, 1 High Street"
    ),
    "broken_mime_missing_closing_boundary.eml": Expect(
        OPENED, "no longer sends scans to email since Friday.", ("scan-log.txt",)
    ),
    "multipart_declared_without_parts.eml": Expect(OPENED, "blinks red for every badge."),
    "multipart_without_boundary_parameter.eml": Expect(OPENED, "drops every few minutes."),
    "encoded_subject_latin1.eml": Expect(OPENED, "Der Drucker im Büro stört"),
    "iso_8859_1_legacy_client.eml": Expect(OPENED, "Die Cafémaschine im Büro zeigt «Entkalken»."),
    "windows_1252_outlook_smart_quotes.eml": Expect(
        OPENED, "The \u201cInvoice\u201d PDF won\u2019t open \u2013 it costs us € every day."
    ),
    "shift_jis_japanese.eml": Expect(OPENED, "3階のプリンターが動きません。"),
    "koi8_r_russian.eml": Expect(OPENED, "VPN не подключается с утра."),  # noqa: RUF001
    "lying_charset.eml": Expect(OPENED, "Café machine broken"),
    "quoted_printable_soft_breaks.eml": Expect(
        OPENED, 'failed after 30 seconds (SQL error 53)" \u2014 every time'
    ),
    "base64_text_body.eml": Expect(OPENED, "never arrives \u2014 I checked junk mail too."),
    "crlf_and_cr_line_endings.eml": Expect(OPENED, "First line\nSecond line\nThird line"),
    "very_long_encoded_subject.eml": Expect(OPENED, "Siehe Betreff."),
    "x_uuencode_attachment.eml": Expect(OPENED, "export from the old monitoring", ("status.csv",)),
    "uuencoded_in_plain_text_body.eml": Expect(
        OPENED, "Here is the config file from the old firewall.", ("fw01.conf",)
    ),
    "tnef_winmail_dat.eml": Expect(OPENED, "The quote is attached", ("winmail.dat",)),
    "outlook_calendar_invite.eml": Expect(
        OPENED, "walk the server room with me", ("attachment-1.ics",)
    ),
    "smime_signed_message.eml": Expect(OPENED, "please disable the account.", ("smime.p7s",)),
    "forwarded_message_attached.eml": Expect(OPENED, "Is this phishing?", ("attachment-1.eml",)),
    "scanner_blank_body_with_pdf.eml": Expect(OPENED, "", ("scan_0001.pdf",)),
    "poison_nul_and_windows_path.eml": Expect(OPENED, "after every reboot.", ("win.ini",)),
    # Replies to the open ticket ([#1] in the files), quoted history trimmed, HTML kept.
    "outlook_desktop_reply_html.eml": Expect(
        THREADED, "Thanks, the new roller works.", html="roller <b>works</b>."
    ),
    "gmail_html_reply.eml": Expect(
        THREADED, "Tray 2 is fine now, tray 3 still jams.", html="<span>tray 3 still jams</span>"
    ),
    "ios_mail_reply.eml": Expect(
        THREADED, "Jammed again \u2013 I\u2019m at the printer now.\n\nSent from my iPhone"
    ),
    "android_gmail_reply.eml": Expect(THREADED, "Ok thanks", html="<div>Ok thanks</div>"),
    # Machines: stored, no ticket, no answer.
    "out_of_office.eml": Expect(IGNORED, reason="Auto-Submitted: auto-replied"),
    "exchange_out_of_office.eml": Expect(
        IGNORED, reason="X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent"
    ),
    "exchange_inbox_rule_forward_loop.eml": Expect(
        IGNORED, reason="X-MS-Exchange-Inbox-Rules-Loop"
    ),
    "exchange_ndr_undeliverable.eml": Expect(IGNORED, reason="Auto-Submitted: auto-replied"),
    "gmail_vacation_responder.eml": Expect(IGNORED, reason="Auto-Submitted: auto-replied"),
    "zimbra_out_of_office.eml": Expect(IGNORED, reason="Auto-Submitted: auto-replied (zimbra"),
    "bounce.eml": Expect(IGNORED, reason="Delivery status report (bounce)"),
    "postfix_dsn_bounce.eml": Expect(IGNORED, reason="Auto-Submitted: auto-replied"),
    "read_receipt_mdn.eml": Expect(IGNORED, reason="Delivery status report (read receipt)"),
    "empty_return_path_notification.eml": Expect(IGNORED, reason="Empty Return-Path <>"),
    "mailing_list_with_list_id.eml": Expect(IGNORED, reason="Mailing list (List-Id:"),
    "html_only_marketing_newsletter.eml": Expect(IGNORED, reason="Precedence: bulk"),
    "jira_notification_robot.eml": Expect(IGNORED, reason="Auto-Submitted: auto-generated"),
    "zendesk_notification_robot.eml": Expect(IGNORED, reason="Auto-Submitted: auto-generated"),
    # Unreadable: kept with the reason.
    "no_sender.eml": Expect(QUARANTINED, reason="Unreadable message: The message has no sender"),
}
# Templates with placeholders (tests/tickets/emails/__init__.py), each given its own id.
TEMPLATES = {
    "gmail_reply.eml": {},
    "outlook_reply.eml": {"MESSAGE_ID": "<AM9PR07MB7202A1B2C3@AM9PR07MB7202.eurprd07.outlook.com>"},
}


def test_the_corpus_covers_every_stored_message_and_is_large_enough():
    assert set(CORPUS) == {path.name for path in EMAILS.glob("*.eml")}
    assert len(CORPUS) >= 40


def _message_id(raw: bytes) -> str:
    found = re.search(rb"^Message-I[dD]:\s*(<[^>]+>)", raw, re.MULTILINE)
    return found.group(1).decode() if found else ""


def test_the_whole_corpus_through_imap(imap_server, client_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client_a.email_domains = "acme.example"
    client_a.save()
    ContactFactory(client=client_a, email="paula@acme.example", full_name="Paula Smith")
    ticket = ticket_open(client=client_a, subject="Printer on floor 2 is jammed")
    mailbox = mailbox_on(imap_server)
    delivered = {}
    with imaplib.IMAP4(imap_server["host"], imap_server["port"]) as imap:
        imap.login(imap_server["username"], imap_server["password"])
        for name in sorted(CORPUS):
            raw = (
                compose(name, **TEMPLATES[name])
                if name in TEMPLATES
                else (EMAILS / name).read_bytes()
            )
            raw = raw.replace(b"[#1]", f"[#{ticket.pk}]".encode())
            imap.append("INBOX", None, None, re.sub(rb"\r?\n|\r(?!\n)", b"\r\n", raw))
            delivered[name] = raw

    started = time.monotonic()
    result = mailbox_poll(mailbox=mailbox)
    elapsed = time.monotonic() - started
    assert (result.fetched, result.error) == (len(CORPUS), "")
    assert InboundEmail.objects.count() == len(CORPUS)
    assert elapsed < 60, f"the corpus took {elapsed:.1f}s to poll"

    rows = {row.message_id: row for row in InboundEmail.objects.select_related("ticket")}
    problems = []
    for name, expect in CORPUS.items():
        message_id = _message_id(delivered[name])
        row = rows.get(message_id) if message_id else None
        if row is None:  # no Message-ID: found by what else we know of it
            row = next((r for r in rows.values() if r.message_id.endswith("@no-message-id>")), None)
        problems += _check(name, expect, row, ticket)
    assert not problems, "\n".join(problems)
    ticket.refresh_from_db()
    assert ticket.comments.count() == sum(e.outcome == THREADED for e in CORPUS.values())


def _check(name: str, expect: Expect, row, ticket) -> list[str]:
    if row is None:
        return [f"{name}: not stored"]
    wrong = []

    def check(condition: bool, what: str):
        if not condition:
            wrong.append(f"{name}: {what} (status {row.status}, reason {row.reason!r})")

    if expect.outcome == OPENED:
        check(row.status == InboundStatus.PROCESSED and row.ticket_id != ticket.pk, "no ticket")
        if row.ticket_id and row.ticket_id != ticket.pk:
            opened = row.ticket
            check(expect.text in opened.description, f"description {opened.description!r}")
            if not expect.text:
                check(opened.description == "", "description not blank")
            files = sorted(a.filename for a in opened.attachments.all())
            check(files == sorted(expect.files), f"files {files}")
            if expect.html:
                page = opened.attachments.get(filename="message.html").file.read().decode()
                check(expect.html in page, "HTML not kept")
    elif expect.outcome == THREADED:
        check(row.status == InboundStatus.PROCESSED and row.ticket_id == ticket.pk, "not threaded")
        comment = ticket.comments.filter(body__contains=expect.text).first()
        check(comment is not None and comment.body == expect.text, "body not the reply text")
        if comment is not None and expect.html:
            check(expect.html in comment.body_html, f"HTML {comment.body_html[:80]!r}")
    else:
        status = InboundStatus.IGNORED if expect.outcome == IGNORED else InboundStatus.QUARANTINED
        check(row.status == status, expect.outcome)
        check(row.reason.startswith(expect.reason), "reason")
        check(expect.outcome == QUARANTINED or row.ticket_id is None, "written to a ticket")
    return wrong
