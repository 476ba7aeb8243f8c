"""A report as a file: PDF (WeasyPrint, from the same template as the page) and CSV (the
stored figures, one row each)."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from msp.metrics.recorder import metric_timer
from msp.text import spreadsheet_writer
from reporting.models import Report
from reporting.presentation import ReportContent
from reporting.templatetags.report_tags import duration, percent, rating

# The first seven columns are as they always were; `unit` says what `value` is counted in
# (durations in seconds) and `shown` is the value as the report reads it ("1 h 5 min").
CSV_HEADER = ["section", "key", "dimension", "value", "count", "target", "detail", "unit", "shown"]
# Unit of each figure's value; figures not listed are counts (their number is in `count`).
METRIC_UNITS = {
    "compliance": "%",
    "fcr": "%",
    "csat_response": "%",
    "availability": "% (0.001)",
    "credit_percent": "%",
    "credit_missed": "%",
    "response_p50": "seconds",
    "response_p90": "seconds",
    "resolution_p50": "seconds",
    "resolution_p90": "seconds",
    "mttr": "seconds",
    "csat": "rating (1-5)",
    "maintenance": "hours",
    "hours_used": "hours",
    "block_hours": "hours",
    "credit": "money",
    "credit_month": "money",
}
TREND_UNITS = {
    "compliance": "%",
    "fcr": "%",
    "mttr": "seconds",
    "response_p50": "seconds",
    "csat": "rating (1-5)",
}


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


def _shown(value, unit: str, count) -> str:
    """A figure as the report page reads it."""
    if unit == "%":
        return percent(value)
    if unit == "% (0.001)":
        return "—" if value is None else f"{floatformat(value, 3)} %"
    if unit == "seconds":
        return duration(value)
    if unit == "rating (1-5)":
        return rating(value)
    if unit == "hours":
        return "—" if value is None else f"{floatformat(value, 1)} h"
    if unit == "money":
        return "—" if value is None else floatformat(value, 2)
    return "" if count in ("", None) else str(count)


def report_csv(report: Report) -> str:
    figures = report.figures
    zone = ZoneInfo(figures["client"]["timezone"])
    out = io.StringIO()
    writer = spreadsheet_writer(out)
    writer.writerow(CSV_HEADER)
    for row in figures["metrics"]:
        value, count = row["value"], row["count"]
        unit = METRIC_UNITS.get(row["key"], "count")
        if row["key"] == "credit_missed" and " availability " in row["dimension"]:
            unit = "% (0.001)"
        shown = _shown(value, unit, count)
        writer.writerow(
            ["metric", row["key"], row["dimension"], value, count, row["target"], "", unit, shown]
        )
    for point in figures["trend"]:
        for name, value in point.items():
            if name not in ("period", "first_day"):
                unit = TREND_UNITS.get(name, "count")
                shown = _shown(value, unit, value) if unit != "count" else _shown(None, unit, value)
                writer.writerow(["trend", name, point["period"], value, "", "", "", unit, shown])
    for breach in figures["breaches"]["rows"]:
        at = breach["breached_at"]
        local = datetime.fromisoformat(at).astimezone(zone)
        shown = f"{local:%Y-%m-%d %H:%M} {zone.key}"
        exemption = breach["exemption"]
        writer.writerow(
            ["breach", breach["clock"], breach["ticket"], at, "", "", exemption, "time", shown]
        )
    return out.getvalue()
