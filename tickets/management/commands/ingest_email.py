import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tickets.intake.mail import email_ingest
from tickets.models import Mailbox


class Command(BaseCommand):
    help = "Ingest raw RFC 5322 messages (files, or - for standard input) as inbound email."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="message files (.eml), or - for stdin")
        parser.add_argument("--mailbox", help="treat as received by this mailbox (its name)")

    def handle(self, *args, paths, mailbox=None, **options):
        box = None
        if mailbox:
            box = Mailbox.objects.filter(name=mailbox).first()
            if box is None:
                raise CommandError(f"No mailbox named {mailbox!r}.")
        for path in paths:
            try:
                raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
            except OSError as exc:
                raise CommandError(f"Cannot read {path}: {exc}") from None
            row = email_ingest(raw=raw, mailbox=box)
            ticket = f" -> ticket #{row.ticket_id}" if row.ticket_id else ""
            reason = f" ({row.reason})" if row.reason else ""
            self.stdout.write(f"{path}: {row.get_status_display()}{ticket}{reason}")
