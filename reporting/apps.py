from django.apps import AppConfig
from django.urls import register_converter


class FileFormatConverter:
    """Report downloads: /<pk>/pdf/ or /<pk>/csv/."""

    regex = "pdf|csv"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def _report_attachment(report_id: str) -> tuple[str, bytes, str]:
    # Imported when a report is emailed, not at start-up: WeasyPrint is slow to load.
    from reporting.services import report_attachment

    return report_attachment(report_id)


def _invoice_attachment(invoice_id: str) -> tuple[str, bytes, str]:
    from reporting.billing.documents import invoice_attachment

    return invoice_attachment(invoice_id)


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self) -> None:
        from msp.services import outbox_attachment_renderer_register

        # Only reporting's URLconfs use it (urls.py and portal_urls.py); registered once here,
        # before any URLconf is loaded.
        register_converter(FileFormatConverter, "file_format")
        outbox_attachment_renderer_register("report", _report_attachment)
        outbox_attachment_renderer_register("invoice", _invoice_attachment)
        _billing_audit_register()


def _billing_audit_register() -> None:
    """Audit trail of billing: every state an invoice or credit note goes through (draft,
    reviewed, finalised, void, who and when), and the rates, taxes and spend it is billed
    from. Lines are the invoice's working, written with it."""
    from msp.audit.registry import audit_register
    from reporting.billing.models import ClientTaxRate, HourlyRate, Invoice, SpendRecord, TaxRate

    audit_register(Invoice, exclude=("computed_at", "pdf"), label=lambda row: str(row))
    for model in (HourlyRate, TaxRate, ClientTaxRate, SpendRecord):
        audit_register(model)
