"""Polling inbound mailboxes over IMAP (imaplib). Unseen messages are fetched with BODY.PEEK,
ingested, then flagged \\Seen; a message whose ingestion failed stays unseen for the next poll,
and one fetched twice is recognised by its Message-ID, so nothing is lost or doubled."""

import imaplib
import logging
from dataclasses import dataclass

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from msp.metrics.recorder import metric_count
from tickets.intake.mail import email_ingest
from tickets.models import Mailbox

log = logging.getLogger(__name__)
BATCH = 200  # messages per poll and mailbox; the rest come at the next poll


@dataclass(frozen=True)
class PollResult:
    mailbox: str
    fetched: int
    error: str = ""


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    if mailbox.use_ssl:
        return imaplib.IMAP4_SSL(mailbox.host, mailbox.port, timeout=30)
    return imaplib.IMAP4(mailbox.host, mailbox.port, timeout=30)


@sensitive_variables("password")
def _login(imap: imaplib.IMAP4, mailbox: Mailbox) -> None:
    password = mailbox.password
    try:
        imap.login(mailbox.username, password)
    except UnicodeEncodeError:
        # imaplib sends LOGIN in ASCII; the exception would carry the password itself.
        raise imaplib.IMAP4.error(
            "LOGIN failed: the username or password has characters IMAP LOGIN cannot send."
        ) from None
    except imaplib.IMAP4.error as exc:
        # Whatever the server answered, the password does not go into last_error or logs.
        raise imaplib.IMAP4.error(_redacted(str(exc), password)) from None


def _redacted(text: str, secret: str) -> str:
    return text.replace(secret, "[password]") if secret else text


def mailbox_poll(*, mailbox: Mailbox) -> PollResult:
    fetched = 0
    try:
        with _connect(mailbox) as imap:
            _login(imap, mailbox)
            status, _ = imap.select(_quoted(mailbox.folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"Cannot open folder {mailbox.folder}.")
            _, data = imap.uid("SEARCH", None, "UNSEEN")
            for uid in (data[0] or b"").split()[:BATCH]:
                _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((part[1] for part in parts if isinstance(part, tuple)), None)
                if raw is None:
                    continue
                try:
                    email_ingest(raw=raw, mailbox=mailbox)
                except Exception:
                    # Not even stored: left unseen for the next poll, and the rest go on.
                    log.exception("Mailbox %s: message %s could not be stored", mailbox.name, uid)
                    continue
                imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
                fetched += 1
        error = ""
    except (OSError, imaplib.IMAP4.error) as exc:
        error = _redacted(f"{type(exc).__name__}: {exc}", mailbox.password)
        log.warning("Mailbox %s: %s", mailbox.name, error)
        metric_count("mailbox_poll_errors")
    mailbox.last_polled_at = timezone.now()
    mailbox.last_error = error
    mailbox.save(update_fields=["last_polled_at", "last_error"])
    return PollResult(mailbox.name, fetched, error)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailboxes_poll() -> list[PollResult]:
    return [mailbox_poll(mailbox=m) for m in Mailbox.objects.filter(is_active=True)]
