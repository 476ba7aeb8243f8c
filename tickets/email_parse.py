"""Inbound email, parsed with the standard library (email.policy.default): headers decoded
(RFC 2047 words, odd charsets), plain and HTML bodies (HTML sanitised, text derived from it
when there is none), attachments and inline images kept, auto-replies and bounces recognised,
quoted history trimmed, the receiving server's DMARC verdict read. Pure: no database."""

import html
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

import nh3

from msp.text import one_line

TICKET_TAG = re.compile(r"\[#(\d{1,12})\]")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Where the quoted history of a reply starts (English and the usual client formats).
QUOTE_STARTS = [
    re.compile(r"^On .{4,200}wrote:\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{5,}\s*$"),
    re.compile(r"^From:\s.+", re.IGNORECASE),
    re.compile(r"^Am .{4,200}schrieb .{0,200}:\s*$", re.IGNORECASE),
]
BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
DMARC_FAIL = re.compile(r"(?:^|[;\s])dmarc\s*=\s*fail\b", re.IGNORECASE)
# Where receiving servers record the address a message was delivered to (a Bcc, a forward).
DELIVERY_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool
    content_id: str = ""


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender_name: str
    sender: str
    recipients: tuple[str, ...]
    text: str
    html: str
    attachments: tuple[ParsedAttachment, ...] = field(default_factory=tuple)
    automatic_reason: str = ""  # why this is an auto-reply or bounce; "" for a person
    delivered_to: tuple[str, ...] = ()
    dmarc_failed: bool = False  # an Authentication-Results header says dmarc=fail

    @property
    def ticket_number(self) -> int | None:
        match = TICKET_TAG.search(self.subject)
        return int(match.group(1)) if match else None

    @property
    def reply_text(self) -> str:
        return trim_quoted(self.text)


class UnreadableEmail(ValueError):
    """A message that cannot be read at all (no sender, not MIME)."""


def safe_filename(name: str, fallback: str) -> str:
    """An attachment's name as a file may be called: the last part of a path in either
    convention (`..\\..\\win.ini` is `win.ini`), without NULs, control characters or leading
    dots, at most 255 characters; `fallback` when nothing is left."""
    name = re.split(r"[\\/]", name.replace("\x00", ""))[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".").strip()
    return name[:255] or fallback


def _no_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL; no mail client means one in readable text.
    return text.replace("\x00", "")


def parse_email(raw: bytes) -> ParsedEmail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not message.keys():
        raise UnreadableEmail("The message has no headers.")
    sender_name, sender = parseaddr(_header(message, "From"))
    if "@" not in sender:
        raise UnreadableEmail("The message has no sender address.")
    text, html_body, attachments = _bodies(message)
    text, html_body = _no_nul(text), _no_nul(html_body)
    if not text.strip() and html_body:
        text = html_to_text(html_body)
    message_ids = _ids(_header(message, "Message-ID"))
    return ParsedEmail(
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=_ids(_header(message, "In-Reply-To")),
        references=_ids(_header(message, "References")),
        subject=one_line(_header(message, "Subject")).strip()[:500],
        sender_name=_no_nul(sender_name),
        sender=sender.lower(),
        recipients=tuple(
            address.lower()
            for _, address in getaddresses([_header(message, "To"), _header(message, "Cc")])
            if address
        ),
        text=text.strip(),
        html=nh3.clean(html_body) if html_body else "",
        attachments=tuple(attachments),
        automatic_reason=_automatic_reason(message, sender.lower()),
        delivered_to=tuple(
            address.lower()
            for _, address in getaddresses(
                [value for name in DELIVERY_HEADERS for value in _all_headers(message, name)]
            )
            if address
        ),
        dmarc_failed=any(
            DMARC_FAIL.search(value) for value in _all_headers(message, "Authentication-Results")
        ),
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        return _no_nul(str(message.get(name) or ""))
    except (ValueError, IndexError, TypeError):  # a header too malformed to decode: take it raw
        wanted = name.lower()
        raw = next((str(raw) for key, raw in message.raw_items() if key.lower() == wanted), "")
        return _no_nul(raw)


def _all_headers(message: EmailMessage, name: str) -> list[str]:
    wanted = name.lower()
    return [_no_nul(str(raw)) for key, raw in message.raw_items() if key.lower() == wanted]


def _ids(value: str) -> tuple[str, ...]:
    return tuple(MESSAGE_ID.findall(value))


def _content(part) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError):
        # An unknown or lying charset: decode as UTF-8, replacing what does not fit.
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _bodies(message: EmailMessage):
    text, html_body, attachments = "", "", []
    body = message.get_body(preferencelist=("plain",))
    if body is not None:
        text = _content(body)
    html_part = message.get_body(preferencelist=("html",))
    if html_part is not None:
        html_body = _content(html_part)
    for part in message.walk():
        if part.is_multipart() or part in (body, html_part):
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition is None and not filename and not part.get("Content-ID"):
            continue
        content = part.get_payload(decode=True) or b""
        attachments.append(
            ParsedAttachment(
                filename=safe_filename(filename or "", f"inline.{part.get_content_subtype()}"),
                content_type=part.get_content_type(),
                content=content,
                inline=disposition == "inline",
                content_id=(part.get("Content-ID") or "").strip("<>"),
            )
        )
    return text, html_body, attachments


def html_to_text(html_body: str) -> str:
    """Readable text from HTML: block ends become line breaks, tags go, entities decode."""
    spaced = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h[1-6])>", "\n", html_body)
    stripped = nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style", "head"})
    lines = [" ".join(line.split()) for line in html.unescape(stripped).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _automatic_reason(message: EmailMessage, sender: str) -> str:
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = _header(message, name).strip().lower()
        if value:
            return f"{name}: {value}"
    if message.get_content_type() == "multipart/report":
        return "Delivery status report (bounce)"
    if sender.startswith(BOUNCE_SENDERS):
        return f"Sent by {sender}"
    return ""


def trim_quoted(text: str) -> str:
    """The new part of a reply: up to where the quoted history starts."""
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or any(pattern.match(stripped) for pattern in QUOTE_STARTS):
            break
        kept.append(line)
    return "\n".join(kept).strip() or text.strip()
