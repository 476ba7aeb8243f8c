"""Export finalised invoices and credit notes not exported yet as CSV for QuickBooks Online or
Xero, recorded like an export from the API (reporting/billing/exports.py)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from reporting.billing import exports


class Command(BaseCommand):
    help = "Export finalised invoices and credit notes as CSV (QuickBooks Online or Xero)."

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=sorted(exports.FORMATS))
        parser.add_argument("--client", type=int, action="append", help="A client id (repeat).")
        parser.add_argument("--invoice", type=int, action="append", help="A document id (repeat).")
        parser.add_argument("--issued-from", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--issued-until", type=date.fromisoformat, help="YYYY-MM-DD, exclusive")
        parser.add_argument(
            "--again", action="store_true", help="Export named documents already exported."
        )
        parser.add_argument("--output", help="Write the CSV to this file (default: stdout).")

    def handle(self, *args, **options):
        try:
            export = exports.accounting_export_create(
                format=options["format"],
                by=None,
                invoice_ids=options["invoice"],
                client_ids=options["client"],
                issued_from=options["issued_from"],
                issued_until=options["issued_until"],
                again=options["again"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.write(export.content)
            self.stderr.write(
                f"Export {export.pk}: {export.documents.count()} documents, "
                f"{export.row_count} rows -> {options['output']}"
            )
        else:
            self.stdout.write(export.content, ending="")
