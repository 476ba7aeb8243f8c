"""Sent mail in development: the emails written to files, read back.

The embedded default (msp.settings.dev) writes email to files under EMAIL_FILE_PATH instead of
sending it, with Django's file-based backend (FileEmailBackend below names the files);
administrators read them on the Sent mail page (msp.sent_mail_views). The backend writes the
messages of one connection into one file, each followed by a line of 79 dashes; every outbox
email is sent on a connection of its own, so a file mostly holds one message.
"""

import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from django.conf import settings
from django.core.mail.backends import filebased
from django.utils import timezone
from django.utils.module_loading import import_string

FILE_BACKEND = "msp.sent_mail.FileEmailBackend"
MESSAGE_END = b"\n" + b"-" * 79 + b"\n"
# The names the backends give their files: Django's "20261130-182751-140032.log", ours
# "20261130-182751-123456-1f2e3d4c.log" (UTC, to the microsecond). Nothing else is read, so a
# name from a URL can never reach outside the folder.
FILE_NAME = re.compile(r"\d{8}-\d{6}(-\d{6})?-[0-9a-f]+\.log")


class FileEmailBackend(filebased.EmailBackend):
    """Django's file-based backend, with a file of its own for every connection, named so that
    names sort in the order written. (Django names a file after the second and the backend
    object's id(), which Python reuses: two connections in one second often share a file.)"""

    def _get_filename(self) -> str:
        if self._fname is None:
            name = f"{timezone.now():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}.log"
            self._fname = os.path.join(self.file_path, name)
        return self._fname


class SentMailNotFound(LookupError):
    pass


def sent_mail_enabled() -> bool:
    """The page exists in development only, and only when email goes to files."""
    if not settings.DEBUG:
        return False
    try:
        return issubclass(import_string(settings.EMAIL_BACKEND), filebased.EmailBackend)
    except ImportError:
        return False


@dataclass(frozen=True)
class SentAttachment:
    part: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class SentMail:
    file: str
    index: int
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def sender(self) -> str:
        return str(self.message.get("From", ""))

    @property
    def to(self) -> str:
        return ", ".join(
            str(self.message.get(name, "")) for name in ("To", "Cc") if name in self.message
        )

    @property
    def date(self) -> datetime | None:
        header = self.message.get("Date")
        return getattr(header, "datetime", None)

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [(name, str(value)) for name, value in self.message.items()]

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        return body.get_content() if body is not None else ""

    @property
    def has_html(self) -> bool:
        return self.message.get_body(preferencelist=("html",)) is not None

    @property
    def attachments(self) -> list[SentAttachment]:
        return [
            SentAttachment(
                part=part,
                filename=attachment.get_filename() or f"attachment-{part}",
                content_type=attachment.get_content_type(),
                size=len(attachment.get_payload(decode=True) or b""),
            )
            for part, attachment in enumerate(self.message.iter_attachments())
        ]

    def attachment_content(self, part: int) -> tuple[SentAttachment, bytes]:
        for number, attachment in enumerate(self.message.iter_attachments()):
            if number == part:
                return self.attachments[part], attachment.get_payload(decode=True) or b""
        raise SentMailNotFound(f"{self.file} #{self.index} has no attachment {part}")


def _folder() -> Path:
    return Path(settings.EMAIL_FILE_PATH)


def sent_mail_files() -> list[str]:
    """The backend's files, newest first."""
    try:
        entries = [entry for entry in os.scandir(_folder()) if FILE_NAME.fullmatch(entry.name)]
    except FileNotFoundError:  # nothing sent yet
        return []
    entries.sort(key=lambda entry: (entry.stat().st_mtime_ns, entry.name), reverse=True)
    return [entry.name for entry in entries]


def sent_mail_read(file: str) -> list[SentMail]:
    """The messages of one file, in the order they were written."""
    if not FILE_NAME.fullmatch(file):
        raise SentMailNotFound(file)
    try:
        content = (_folder() / file).read_bytes()
    except FileNotFoundError:
        raise SentMailNotFound(file) from None
    parser = BytesParser(policy=policy.default)
    return [
        SentMail(file=file, index=index, message=parser.parsebytes(raw))
        for index, raw in enumerate(chunk for chunk in content.split(MESSAGE_END) if chunk.strip())
    ]


def sent_mail_get(*, file: str, index: int) -> SentMail:
    messages = sent_mail_read(file)
    if not 0 <= index < len(messages):
        raise SentMailNotFound(f"{file} #{index}")
    return messages[index]
