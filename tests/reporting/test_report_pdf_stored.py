"""A report's PDF is drawn once, when the report is generated, and stored (default storage);
downloads and every recipient's email read it. Drawn again only when the account manager's
text changes; an older report without one is drawn on first need, once."""

import io

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.urls import reverse
from pypdf import PdfReader

from msp.models import OutboxMessage
from msp.services import outbox_deliver
from reporting import services
from reporting.models import Report
from reporting.services import REPORT_PDF_DRAW_TASK, report_annotate, report_send
from reporting.tasks import report_pdf_draw_task
from tests.factories import ContactFactory, ReportFactory
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(media) -> list:
    return list(media.rglob("*.pdf"))


@pytest.fixture
def drawn(monkeypatch) -> list[int]:
    """The ids of the reports whose PDF was drawn, one entry per drawing."""
    calls: list[int] = []
    draw = services.report_pdf

    def counting(report):
        calls.append(report.pk)
        return draw(report)

    monkeypatch.setattr(services, "report_pdf", counting)
    return calls


@pytest.fixture
def queued_tasks(monkeypatch) -> list[tuple]:
    sent: list[tuple] = []
    monkeypatch.setattr(
        services.current_app, "send_task", lambda name, args: sent.append((name, *args))
    )
    return sent


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_drawn_once_at_generation_then_read_by_every_download_and_email(
    client_a, client_user_a, account_manager, api_as, drawn, queued_tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    for n in range(3):
        ContactFactory(client=client_a, email=f"r{n}@a.example", receives_reports=True)
    with django_capture_on_commit_callbacks(execute=True):
        report = ReportFactory(client=client_a)
    assert queued_tasks == [(REPORT_PDF_DRAW_TASK, report.pk)]  # drawn by the worker
    report_pdf_draw_task(report.pk)
    report.refresh_from_db()
    assert drawn == [report.pk]
    assert report.pdf.name.startswith("reports/") and default_storage.exists(report.pdf.name)

    report_send(report=report)
    for message in OutboxMessage.objects.filter(key__startswith="report:"):
        outbox_deliver(message_id=message.pk)
    attachments = [email.attachments[0][1] for email in mail.outbox]
    assert len(attachments) == 3
    stored = report.pdf.open("rb").read()
    assert all(content == stored for content in attachments)

    workspace = signed_in(account_manager).get(
        reverse("reporting:download", args=[report.pk, "pdf"])
    )
    portal = signed_in(client_user_a).get(
        reverse("portal:report-download", args=[report.pk, "pdf"])
    )
    api = api_as(account_manager).get(f"/api/v1/reports/{report.pk}/pdf/")
    for response in (workspace, portal, api):
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == stored
        assert response["Content-Disposition"].startswith("attachment; filename=")
        assert "no-store" in response["Cache-Control"]
    assert drawn == [report.pk]  # one drawing for 3 emails and 3 downloads


def test_an_older_report_is_drawn_on_first_need_once(client_a, account_manager, drawn, media):
    report = ReportFactory(client=client_a)  # its drawing task never ran
    assert not report.pdf
    http = signed_in(account_manager)
    url = reverse("reporting:download", args=[report.pk, "pdf"])
    first, second = http.get(url), http.get(url)
    assert drawn == [report.pk]
    assert first.content == b"".join(second.streaming_content)
    assert Report.objects.get(pk=report.pk).pdf
    assert len(stored_files(media)) == 1


def test_new_text_is_drawn_again_and_the_old_file_removed(
    client_a, account_manager, drawn, queued_tasks, django_capture_on_commit_callbacks
):
    report = ReportFactory(client=client_a)
    report_pdf_draw_task(report.pk)
    report.refresh_from_db()
    old = report.pdf.name
    with django_capture_on_commit_callbacks(execute=True):
        report_annotate(
            report=report, summary="A calm month.", recommendations="", by=account_manager
        )
    assert not Report.objects.get(pk=report.pk).pdf and not default_storage.exists(old)
    assert queued_tasks[-1] == (REPORT_PDF_DRAW_TASK, report.pk)
    report_pdf_draw_task(report.pk)
    report.refresh_from_db()
    assert len(drawn) == 2 and default_storage.exists(report.pdf.name)
    assert "A calm month." in pdf_text(report.pdf.open("rb").read())


def test_a_drawing_of_text_changed_meanwhile_is_not_kept(client_a, account_manager, media):
    report = ReportFactory(client=client_a)
    stale = Report.objects.get(pk=report.pk)  # read before the text changed
    report_annotate(report=report, summary="New text", recommendations="", by=account_manager)
    services.report_pdf_ensure(report=stale)  # drawn from the old text: not stored
    assert not Report.objects.get(pk=report.pk).pdf
    assert stored_files(media) == []  # its file was deleted, not left behind
    fresh = Report.objects.get(pk=report.pk)
    assert "New text" in pdf_text(services.report_pdf_ensure(report=fresh))
    assert Report.objects.get(pk=report.pk).pdf


def test_a_stored_file_gone_missing_is_drawn_again(client_a, account_manager, drawn):
    report = ReportFactory(client=client_a)
    report_pdf_draw_task(report.pk)
    report.refresh_from_db()
    default_storage.delete(report.pdf.name)
    response = signed_in(account_manager).get(
        reverse("reporting:download", args=[report.pk, "pdf"])
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    report.refresh_from_db()
    assert len(drawn) == 2 and default_storage.exists(report.pdf.name)
