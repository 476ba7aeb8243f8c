"""A report's PDF or CSV as a download: the one response for the workspace, the portal and
the API, each of which has already found the report through its permission-checked queryset."""

from django.http import FileResponse, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header

from reporting.models import Report
from reporting.rendering import report_csv, report_filename
from reporting.services import report_pdf_ensure


def _stored_pdf(report: Report) -> FileResponse | None:
    """The stored PDF streamed from storage; None when there is none yet (or it went missing),
    for report_pdf_ensure to draw and store."""
    if not report.pdf:
        return None
    try:
        return FileResponse(report.pdf.open("rb"), content_type="application/pdf")
    except FileNotFoundError:
        return None


def report_file_response(report: Report, file_format: str) -> HttpResponse:
    """A report's PDF (the stored one, drawn first if it never was) or CSV as a download, for
    a caller that has already checked access to the report."""
    if file_format == "pdf":
        response = _stored_pdf(report)
        if response is None:
            response = HttpResponse(report_pdf_ensure(report=report), "application/pdf")
    else:
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    filename = report_filename(report, file_format)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    # A shared cache (proxy, CDN) must never keep one client's report for another.
    patch_cache_control(response, private=True, no_store=True)
    return response
