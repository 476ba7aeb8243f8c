"""Parsing a varied set of messages written for these tests (tests/tickets/emails/)."""

from pathlib import Path

import pytest

from tests.tickets.emails import compose
from tickets.email_parse import UnreadableEmail, html_to_text, parse_email, trim_quoted

EMAILS = Path(__file__).parent / "emails"


def parsed(name: str):
    return parse_email((EMAILS / name).read_bytes())


def test_plain_message():
    email = parsed("plain.eml")
    assert email.message_id == "<plain-1@acme.example>"
    assert (email.sender, email.sender_name) == ("paula@acme.example", "Paula Smith")
    assert email.subject == "Printer on floor 2 is jammed"
    assert email.text.startswith("Hello,") and 'shows "paper jam" again.' in email.text
    assert email.automatic_reason == "" and email.attachments == ()


def test_encoded_words_and_latin1_body():
    email = parsed("encoded_subject_latin1.eml")
    assert email.subject == "Drucker stört - dringend"
    assert email.sender_name == "Jürgen Müller"
    assert email.text == "Der Drucker im Büro stört seit heute Morgen."


def test_html_only_is_sanitised_and_gets_a_text_version():
    email = parsed("html_only.eml")
    assert "<script>" not in email.html and "onerror" not in email.html
    assert "<b>down</b>" in email.html
    assert email.text == "The VPN is down for everyone.\nError & code 809"


def test_attachments_and_inline_images_are_kept():
    email = parsed("multipart_attachment.eml")
    assert email.text == "See the attached screenshot."
    files = {item.filename: item for item in email.attachments}
    assert files["log.txt"].content == b"error 809 at 09:14"
    assert not files["log.txt"].inline
    image = next(item for item in email.attachments if item.content_type == "image/png")
    assert image.content_id == "logo@acme"
    assert image.content.startswith(b"\x89PNG")


def test_reply_threading_headers_and_quoted_history_trimmed():
    email = parsed("reply_quoted.eml")
    assert email.in_reply_to == ("<REPLACED-BY-TEST>",)
    assert email.reply_text == "It works again, thanks!"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("out_of_office.eml", "Auto-Submitted: auto-replied"),
        ("bounce.eml", "Delivery status report (bounce)"),
    ],
)
def test_auto_replies_and_bounces_are_recognised(name, reason):
    assert parsed(name).automatic_reason == reason


def test_unknown_charset_is_decoded_not_fatal():
    email = parsed("lying_charset.eml")
    assert email.text.startswith("Café machine broken")


def test_ticket_tag_in_subject():
    email = parse_email(b"From: a@b.example\nSubject: Re: [#1234] Printer\n\nok\n")
    assert email.ticket_number == 1234
    assert parse_email(b"From: a@b.example\nSubject: Invoice #99\n\nx\n").ticket_number is None


def test_no_sender_is_unreadable():
    with pytest.raises(UnreadableEmail):
        parsed("no_sender.eml")


@pytest.mark.parametrize(
    "quote_start",
    [
        "-----Original Message-----",
        "From: Service desk <support@demo.msp>",
        "Am 22.11.2026 um 10:00 schrieb Service desk <support@demo.msp>:",
        "> quoted",
    ],
)
def test_trim_quoted_formats(quote_start):
    assert trim_quoted(f"New text\nsecond line\n\n{quote_start}\nold text") == (
        "New text\nsecond line"
    )


def test_html_to_text_keeps_paragraphs():
    assert html_to_text("<p>One</p><p>Two<br>Three</p>") == "One\nTwo\nThree"


def test_dmarc_verdict_and_delivery_address_are_read():
    signed = "support+t1-c2-abcdefghijklmnopqrst@demo.msp"
    passed = parse_email(compose("gmail_reply.eml", DELIVERED_TO=signed))
    assert not passed.dmarc_failed
    assert passed.delivered_to == (signed,)
    assert passed.recipients == ("support@demo.msp",)
    assert parse_email(compose("outlook_reply.eml", DMARC="fail")).dmarc_failed
    assert parse_email(compose("gmail_reply.eml", DMARC="FAIL")).dmarc_failed
    assert not parsed("plain.eml").dmarc_failed  # no Authentication-Results at all


def test_the_subject_keeps_its_spacing_and_unfolds_to_one_line():
    email = parse_email(
        b"From: Paula Smith <paula@acme.example>\r\n"
        b"Subject: RE:  VPN   down since 09:00 -- floor 2 and\r\n the warehouse\r\n"
        b"Message-ID: <spacing@acme.example>\r\n\r\nStill down.\r\n"
    )
    assert email.subject == "RE:  VPN   down since 09:00 -- floor 2 and the warehouse"
