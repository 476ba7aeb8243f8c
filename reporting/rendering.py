"""A report as a file: PDF (WeasyPrint, from the same template as the page) and CSV (the
stored figures, one row each)."""

import io

from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from msp.metrics.recorder import metric_timer
from msp.text import spreadsheet_writer
from reporting.models import Report
from reporting.presentation import ReportContent

CSV_HEADER = ["section", "key", "dimension", "value", "count", "target", "detail"]


def report_title(report: Report) -> str:
    kind = "Quarterly business review" if report.kind == "quarter" else "Monthly service report"
    return f"{kind}, {report.period.label}"


def report_filename(report: Report, extension: str) -> str:
    return f"{report.client.slug}-{report.kind}-{report.period.slug}-v{report.version}.{extension}"


# A report needs no outside resource (its charts are inline SVG, its fonts the system's):
# whatever URL the HTML names (a link in the account manager's Markdown), the server fetches
# nothing, on no protocol.
FETCH_NOTHING = URLFetcher(allowed_protocols=())


def report_pdf(report: Report) -> bytes:
    with metric_timer("document_generation", document="report", stage="pdf"):
        html = render_to_string(
            "reporting/report_pdf.html",
            {
                "report": report,
                "content": ReportContent(report.figures),
                "title": report_title(report),
            },
        )
        return HTML(string=html, url_fetcher=FETCH_NOTHING).write_pdf()


def report_csv(report: Report) -> str:
    figures = report.figures
    out = io.StringIO()
    writer = spreadsheet_writer(out)
    writer.writerow(CSV_HEADER)
    for row in figures["metrics"]:
        dimension = row["dimension"]
        writer.writerow(
            ["metric", row["key"], dimension, row["value"], row["count"], row["target"], ""]
        )
    for point in figures["trend"]:
        for name, value in point.items():
            if name not in ("period", "first_day"):
                writer.writerow(["trend", name, point["period"], value, "", "", ""])
    for breach in figures["breaches"]["rows"]:
        exemption = breach["exemption"]
        writer.writerow(
            ["breach", breach["clock"], breach["ticket"], breach["breached_at"], "", "", exemption]
        )
    return out.getvalue()


def report_attachment(report_id: str) -> tuple[str, bytes, str]:
    """The PDF attached to report emails (outbox attachment kind "report")."""
    report = Report.objects.select_related("client").get(pk=int(report_id))
    return report_filename(report, "pdf"), report_pdf(report), "application/pdf"
