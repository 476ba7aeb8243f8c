"""Stored messages for the email tests, and a helper that fills in a template message's
%FIELD% placeholders (sender, recipients, subject, threading headers, DMARC result)."""

from pathlib import Path

EMAILS = Path(__file__).parent

DEFAULTS = {
    "FROM_NAME": "Paula Smith",
    "FROM": "paula@acme.example",
    "TO": "Service desk <support@demo.msp>",
    "DELIVERED_TO": "support@demo.msp",
    "SUBJECT": "Re: Printer on floor 2 is jammed",
    "MESSAGE_ID": "<CAF8x2kQ7Lm1vN0pR3sT5uW9yZ1bD3fH5jL7nP9rT1vX3z@mail.gmail.com>",
    "REFERENCES": "",
    "IN_REPLY_TO": "",
    "DMARC": "pass",
}


def raw(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def compose(name: str, **fields: str) -> bytes:
    """A template message with its placeholders filled: compose("gmail_reply.eml",
    FROM="tom@msp.example", TO="support+...@demo.msp", DMARC="fail")."""
    values = {**DEFAULTS, **fields}
    values.setdefault("FROM_DOMAIN", values["FROM"].rsplit("@", 1)[-1])
    message = raw(name).decode()
    for key in sorted(values, key=len, reverse=True):  # FROM_NAME before FROM
        message = message.replace(f"%{key}%", values[key])
    return message.encode()
