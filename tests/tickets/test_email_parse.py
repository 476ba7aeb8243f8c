"""Parsing a varied set of messages written for these tests (tests/tickets/emails/)."""

from pathlib import Path

import pytest

from tests.tickets.emails import compose
from tickets.intake.email_parse import UnreadableEmail, html_to_text, parse_email, trim_quoted

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


# Content is never lost (issue 18, point 9) ------------------------------------------------


def test_text_and_html_siblings_in_mixed_are_both_kept():
    email = parsed("text_and_html_siblings_in_mixed.eml")
    assert email.text == "Both monitors on desk 14 flicker.\n\nModel numbers: P2422H and P2419H."
    assert "<b>P2422H</b>" in email.html and "desk 14 flicker" in email.html


def test_html_with_a_plain_signature_part_keeps_both_and_is_sanitised():
    email = parsed("html_with_plain_signature_part.eml")
    assert email.text.startswith("The keyboard at reception is missing the F and J keys.")
    assert email.text.endswith("disclaimer added by the mail gateway")
    assert "<b>F</b>" in email.html and "disclaimer added" in email.html
    assert "<script>" not in email.html


def test_text_only_in_the_html_alternative():
    email = parsed("text_only_in_html_alternative.eml")
    assert email.text == "The fan of laptop LT-0042 is very loud since the BIOS update."
    assert "<b>LT-0042</b>" in email.html


def test_the_html_alternative_is_kept_beside_the_text():
    email = parsed("outlook_web_new_ticket.eml")
    assert email.text == "Hi,\n\nTeams signs me out every hour since the update.\n\nPaula"
    assert "<b>every hour</b>" in email.html and "24.11.2" in email.html
    assert "<style" not in email.html


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "broken_mime_missing_closing_boundary.eml",
            "The scanner on floor 3 no longer sends scans to email since Friday.",
        ),
        (
            "multipart_declared_without_parts.eml",
            "The badge reader at the back door blinks red for every badge.\n"
            "Can someone look at it today?",
        ),
        (
            "multipart_without_boundary_parameter.eml",
            "The Wi-Fi in meeting room B drops every few minutes.",
        ),
    ],
)
def test_broken_mime_gives_its_text_back(name, text):
    assert parsed(name).text == text


def test_broken_mime_keeps_the_file_before_the_missing_boundary():
    (log,) = parsed("broken_mime_missing_closing_boundary.eml").attachments
    assert (log.filename, log.content.strip()) == ("scan-log.txt", b"SMTP AUTH failed 535")


def test_an_x_uuencode_part_is_decoded():
    (export,) = parsed("x_uuencode_attachment.eml").attachments
    assert export.filename == "status.csv"
    assert export.content == b"host,status\nsrv01,down\nsrv02,up\n"


def test_a_file_uuencoded_into_the_text_is_decoded_and_taken_out_of_it():
    email = parsed("uuencoded_in_plain_text_body.eml")
    assert email.text == "Here is the config file from the old firewall."
    (conf,) = email.attachments
    assert conf.filename == "fw01.conf"
    assert conf.content == b"set hostname fw01" + bytes(range(256))


def test_an_inline_image_is_kept_with_its_content_id_and_both_html_parts():
    email = parsed("apple_mail_inline_image.eml")
    (image,) = email.attachments
    assert image.filename == "Screenshot 2026-11-24.png" and image.inline
    assert image.content_id == "9C8B7A6F-5E4D-3C2B-1A09-F8E7D6C5B4A3"
    assert image.content.startswith(b"\x89PNG")
    assert "<i>after lunch</i>" in email.html  # the HTML part after the image as well


def test_an_attached_message_is_kept_whole_as_a_file():
    email = parsed("forwarded_message_attached.eml")
    (original,) = email.attachments
    assert original.filename == "attachment-1.eml"
    assert b"Subject: Invoice overdue" in original.content
    assert "evil.example/pay" not in email.text


# Fidelity (point 13) ----------------------------------------------------------------------


def test_line_endings_are_normalised_to_lf():
    assert parsed("crlf_and_cr_line_endings.eml").text == "First line\nSecond line\nThird line"


def test_a_blank_body_stays_blank():
    email = parsed("scanner_blank_body_with_pdf.eml")
    assert email.text == "" and email.reply_text == ""
    assert [item.filename for item in email.attachments] == ["scan_0001.pdf"]


@pytest.mark.parametrize(
    ("name", "subject", "sender_name", "text"),
    [
        ("iso_8859_1_legacy_client.eml", "Cafémaschine im Büro", "Renée François", "«Entkalken»"),
        (
            "windows_1252_outlook_smart_quotes.eml",
            "Invoice PDF won\u2019t open",
            "Paula Smith",
            "\u201cInvoice\u201d PDF won\u2019t open \u2013 it costs us €",
        ),
        ("shift_jis_japanese.eml", "プリンターが動きません", "山田 花子", "3階のプリンター"),
        ("koi8_r_russian.eml", "\u041d\u0435 работает VPN", "Paula Smith", "не подключается"),
        ("base64_text_body.eml", "Password reset does not arrive", "Paula Smith", "— I checked"),
    ],
)
def test_legacy_charsets_and_encodings(name, subject, sender_name, text):
    email = parsed(name)
    assert (email.subject, email.sender_name) == (subject, sender_name)
    assert text in email.text


def test_a_very_long_subject_of_encoded_words_is_one_line():
    subject = parsed("very_long_encoded_subject.eml").subject
    assert subject.startswith("Ärger mit dem Drucker im zweiten Stock \u2013 seit Montag")
    assert subject.endswith("kommt erst nächste Woche vorbei") and "\n" not in subject


# Auto-replies, bounces, lists and robots (point 10) ---------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("exchange_out_of_office.eml", "X-MS-Exchange-Generated-Message-Source: Mailbox Rules"),
        ("exchange_inbox_rule_forward_loop.eml", "X-MS-Exchange-Inbox-Rules-Loop:"),
        ("exchange_ndr_undeliverable.eml", "Auto-Submitted: auto-replied"),
        ("gmail_vacation_responder.eml", "Auto-Submitted: auto-replied"),
        ("zimbra_out_of_office.eml", "Auto-Submitted: auto-replied (zimbra; vacation)"),
        ("postfix_dsn_bounce.eml", "Auto-Submitted: auto-replied"),
        ("read_receipt_mdn.eml", "Delivery status report (read receipt)"),
        ("mailing_list_with_list_id.eml", "Mailing list (List-Id:"),
        ("html_only_marketing_newsletter.eml", "Precedence: bulk"),
        ("jira_notification_robot.eml", "Auto-Submitted: auto-generated"),
        ("zendesk_notification_robot.eml", "Auto-Submitted: auto-generated"),
        ("empty_return_path_notification.eml", "Empty Return-Path <>"),
    ],
)
def test_every_common_automatic_form_is_recognised(name, reason):
    assert parsed(name).automatic_reason.startswith(reason)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress: all"),
        ("X-Auto-Response-Suppress: DR, OOF, AutoReply", "X-Auto-Response-Suppress:"),
        ("Precedence: junk", "Precedence: junk"),
        ("Precedence: list", "Precedence: list"),
        ("List-Unsubscribe: <mailto:leave@lists.example>", "Mailing list (List-Unsubscribe"),
        ("X-Autogenerated: Reply", "X-Autogenerated: reply"),
        ("X-Failed-Recipients: gone@acme.example", "X-Failed-Recipients:"),
        ("Return-Path: <>", "Empty Return-Path"),
        ("Subject: Automatic reply: Printer", "Auto-reply subject:"),
        ("Subject: Out of Office: Printer", "Auto-reply subject:"),
    ],
)
def test_automatic_headers_one_by_one(header, reason):
    message = f"From: paula@acme.example\n{header}\nMessage-ID: <h@acme.example>\n\nHello\n"
    assert parse_email(message.encode()).automatic_reason.startswith(reason)


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: no",
        "X-Auto-Response-Suppress: DR",
        "Precedence: first-class",
        "Subject: Auto: renew the licence",
        "",
    ],
)
def test_a_person_is_not_taken_for_a_robot(header):
    message = f"From: paula@acme.example\n{header}\nSubject: Printer\n\nHello\n"
    assert parse_email(message.encode()).automatic_reason == ""


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("gmail_html_reply.eml", "<span>tray 3 still jams</span>"),
        ("android_gmail_reply.eml", "<div>Ok thanks</div>"),
        ("outlook_desktop_reply_html.eml", "roller <b>works</b>."),
    ],
)
def test_the_replys_html_is_trimmed_of_its_quoted_history_like_its_text(name, kept):
    email = parsed(name)
    assert kept in email.reply_html and "We replaced the roller" not in email.reply_html
    assert "We replaced the roller" in email.html  # the whole message is still there


def test_html_that_is_all_quote_is_kept_whole():
    email = parse_email(
        b"From: a@acme.example\nContent-Type: text/html\n\n<blockquote>Only this</blockquote>\n"
    )
    assert "Only this" in email.reply_html


def test_a_signature_line_is_not_taken_for_a_boundary():
    email = parse_email(
        b"From: paula@acme.example\nContent-Type: multipart/mixed; boundary=nowhere\n\n"
        b"The projector is broken.\n--Paula\nReception\n"
    )
    assert email.text == "The projector is broken.\n--Paula\nReception"


def test_an_x_uuencode_part_without_a_file_name_takes_the_name_on_its_begin_line():
    message = (EMAILS / "x_uuencode_attachment.eml").read_bytes()
    message = message.replace(b'; name="status.csv"', b"").replace(
        b'Content-Disposition: attachment; filename="status.csv"\n', b""
    )
    (export,) = parse_email(message).attachments
    assert export.filename == "status.csv"
    assert export.content == b"host,status\nsrv01,down\nsrv02,up\n"
