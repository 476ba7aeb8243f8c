"""Reports: immutable versioned snapshots, their PDF and CSV, sending, and the schedule."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from pypdf import PdfReader

from contracts.models import BreachExemption
from contracts.services import breach_exemption_revoke
from msp.celery import app
from msp.models import OutboxMessage
from msp.periods import Period
from msp.services import outbox_deliver
from reporting.models import Report
from reporting.rendering import report_csv, report_pdf
from reporting.services import report_generate, report_send, reports_run_scheduled
from reporting.templatetags.report_tags import duration
from tests.factories import ContactFactory
from tests.reporting.conftest import NOVEMBER, ny

pytestmark = pytest.mark.django_db
AFTER_NOVEMBER = ny(2026, 12, 1, 9)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def figure(report: Report, key: str, dimension: str = "") -> dict:
    return next(
        m for m in report.figures["metrics"] if (m["key"], m["dimension"]) == (key, dimension)
    )


def test_a_report_keeps_its_figures_and_a_new_version_takes_new_ones(month, account_manager):
    first = report_generate(client=month, period=NOVEMBER, by=account_manager, now=AFTER_NOVEMBER)
    assert (first.version, first.generated_by) == (1, account_manager)
    assert figure(first, "compliance", "P1/response")["value"] == "100.000"
    # The exemption is revoked later: the breach counts again, but only in a new version.
    breach_exemption_revoke(
        exemption=BreachExemption.objects.get(),
        user=account_manager,
        reason="Granted by mistake",
        at=ny(2026, 12, 2, 9),
    )
    first.refresh_from_db()
    assert figure(first, "compliance", "P1/response")["value"] == "100.000"
    second = report_generate(client=month, period=NOVEMBER, now=ny(2026, 12, 2, 10))
    assert second.version == 2
    assert figure(second, "compliance", "P1/response") == {
        "key": "compliance",
        "dimension": "P1/response",
        "value": "66.660",
        "count": 3,
        "target": "95.000",
    }


def test_figures_cannot_be_saved_over(month):
    report = report_generate(client=month, period=NOVEMBER, now=AFTER_NOVEMBER)
    report.figures["metrics"] = []
    with pytest.raises(ValueError, match="snapshot"):
        report.save()
    with pytest.raises(ValueError, match="snapshot"):
        report.save(update_fields=["figures"])
    report.summary = "Fine month"
    report.save(update_fields=["summary"])  # the account manager's text stays editable
    report.refresh_from_db()
    assert report.figures["metrics"]


def test_a_period_still_running_is_refused(month):
    with pytest.raises(ValidationError, match="has not ended"):
        report_generate(client=month, period=NOVEMBER, now=ny(2026, 11, 30, 23, 59))


def test_trend_and_breaches_are_in_the_snapshot(month):
    report = report_generate(client=month, period=NOVEMBER, now=AFTER_NOVEMBER)
    trend = report.figures["trend"]
    assert [point["period"] for point in trend] == [
        "Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026", "Nov 2026",
    ]  # fmt: skip
    assert (trend[-1]["volume"], trend[-2]["volume"]) == (5, 1)
    breaches = report.figures["breaches"]
    assert breaches["total"] == 2  # T2's exempted response, T3's resolution
    assert [row["exemption"] for row in breaches["rows"]] == [
        "Client asked us to call after 10:15.",
        None,
    ]


def test_pdf_shows_the_figures(month):
    report = report_generate(client=month, period=NOVEMBER, now=AFTER_NOVEMBER)
    content = report_pdf(report)
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    assert "Monthly service report, November 2026" in text
    assert "P1 resolution" in text and "66.66 %" in text
    assert "Client asked us to call after 10:15." in text
    assert "SRV-01" in text  # the recurring asset


def test_csv_has_every_figure(month):
    report = report_generate(client=month, period=NOVEMBER, now=AFTER_NOVEMBER)
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0][:7] == ["section", "key", "dimension", "value", "count", "target", "detail"]
    assert ["metric", "compliance", "P1/resolution", "66.660", "3", "", "", "%", "66.66 %"] in rows
    assert ["metric", "volume", "all", "", "5", "", "", "count", "5"] in rows
    assert sum(row[0] == "metric" for row in rows) == len(report.figures["metrics"])
    assert sum(row[0] == "breach" for row in rows) == 2


def test_a_month_without_tickets_is_a_valid_report_that_says_so(client_b):
    report = report_generate(
        client=client_b, period=Period("month", date(2026, 2, 1)), now=AFTER_NOVEMBER
    )
    text = pdf_text(report_pdf(report))
    assert "there is nothing to measure" in text
    assert "No breach in this period." in text


def test_sending_emails_the_pdf_to_each_recipient_once(month):
    paula = ContactFactory(client=month, email="paula@acme.example", receives_reports=True)
    ContactFactory(client=month, email="ted@acme.example")  # not a recipient
    report = report_generate(client=month, period=NOVEMBER, now=AFTER_NOVEMBER)
    assert report_send(report=report, now=AFTER_NOVEMBER) == 1
    assert report_send(report=report, now=AFTER_NOVEMBER) == 0  # already sent to Paula
    message = OutboxMessage.objects.get(key__startswith="report:")
    outbox_deliver(message_id=message.pk)
    email = mail.outbox[-1]
    assert email.to == [paula.email]
    filename, content, mimetype = email.attachments[0]
    assert filename.endswith("-month-2026-11-v1.pdf") and mimetype == "application/pdf"
    assert "66.66 %" in pdf_text(content)
    report.refresh_from_db()
    assert report.sent_at == AFTER_NOVEMBER


def test_sending_without_recipients_is_refused(month):
    report = report_generate(client=month, period=NOVEMBER, now=AFTER_NOVEMBER)
    with pytest.raises(ValidationError, match="no report recipients"):
        report_send(report=report)
    report.refresh_from_db()
    assert report.sent_at is None


class TestSchedule:
    def test_the_month_is_reported_once_it_has_ended_in_the_clients_zone(self, month):
        recipient = ContactFactory(client=month, receives_reports=True)
        # 04:40 UTC on 1 December is still 30 November in New York.
        made = reports_run_scheduled(now=datetime(2026, 12, 1, 4, 40, tzinfo=UTC))
        assert {(r.kind, r.period_start) for r in made} == {
            ("month", date(2026, 10, 1)),
            ("quarter", date(2026, 7, 1)),
        }
        made = reports_run_scheduled(now=datetime(2026, 12, 1, 5, 40, tzinfo=UTC))
        assert [(r.kind, r.period_start, r.version) for r in made] == [
            ("month", date(2026, 11, 1), 1)
        ]
        assert made[0].sent_at is not None
        assert OutboxMessage.objects.filter(key=f"report:{made[0].pk}:{recipient.pk}")
        # Later hours find everything done.
        assert reports_run_scheduled(now=datetime(2026, 12, 1, 6, 40, tzinfo=UTC)) == []
        assert Report.objects.filter(client=month, period_start=date(2026, 11, 1)).count() == 1

    def test_after_a_quarter_the_qbr_has_a_four_quarter_trend(self, month):
        made = reports_run_scheduled(now=datetime(2027, 1, 1, 5, 40, tzinfo=UTC))
        qbr = next(r for r in made if r.kind == "quarter")
        assert qbr.period_start == date(2026, 10, 1)
        trend = [p["period"] for p in qbr.figures["trend"]]
        assert trend == ["Q1 2026", "Q2 2026", "Q3 2026", "Q4 2026"]
        assert figure(qbr, "volume", "all")["count"] == 6
        assert qbr.sent_at is None  # no recipients: kept as a draft for the account manager

    def test_the_credit_comes_from_the_months_evaluation(self, month):
        made = reports_run_scheduled(now=datetime(2026, 12, 1, 5, 40, tzinfo=UTC))
        november = next(r for r in made if r.period_start == date(2026, 11, 1))
        # The 95 % P1 response target was met (the late answer is exempted).
        assert figure(november, "ladder", "ok")["count"] == 0

    def test_beat_runs_it_hourly(self):
        from msp.celery import _install_beat_schedule

        _install_beat_schedule(app)
        entry = app.conf.beat_schedule["scheduled-reports"]
        assert entry["task"] == "reporting.scheduled_reports"
        assert entry["schedule"].minute == {40}
        with time_machine.travel(datetime(2026, 12, 1, 5, 40, tzinfo=UTC), tick=False):
            assert entry["schedule"].is_due(datetime(2026, 12, 1, 4, 40, tzinfo=UTC))[0]


def test_csv_durations_read_as_the_report_reads_them(month):
    report = report_generate(client=month, period=NOVEMBER, now=AFTER_NOVEMBER)
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert list(rows[0]) == [
        "section", "key", "dimension", "value", "count", "target", "detail", "unit", "shown",
    ]  # fmt: skip
    mttr = next(row for row in rows if (row["section"], row["key"]) == ("metric", "mttr"))
    assert mttr["unit"] == "seconds"
    assert mttr["shown"] == duration(mttr["value"]) and mttr["shown"].endswith("min")
    compliance = next(
        r for r in rows if (r["key"], r["dimension"]) == ("compliance", "P1/resolution")
    )
    assert (compliance["unit"], compliance["shown"]) == ("%", "66.66 %")
    times = [row for row in rows if row["unit"] == "seconds" and row["value"]]
    assert times and all(" min" in row["shown"] or " h" in row["shown"] for row in times)
    breach = next(row for row in rows if row["section"] == "breach")
    assert breach["unit"] == "time" and breach["shown"].endswith("America/New_York")


@time_machine.travel(datetime(2026, 12, 1, 0, 30, tzinfo=UTC), tick=False)
def test_the_generate_form_offers_only_periods_ended_for_every_client_it_lists(
    client_a, account_manager
):
    """Just after midnight UTC on 1 December, November has not ended in New York: the form does
    not offer it (the service would refuse it), and offers it as soon as it has ended there."""
    from reporting.forms import ReportGenerateForm

    client_a.account_manager = account_manager
    client_a.save()
    choices = dict(ReportGenerateForm(user=account_manager).fields["period"].choices)
    assert "month:2026-11-01" not in choices and "month:2026-10-01" in choices
    assert "quarter:2026-07-01" in choices
    with time_machine.travel(datetime(2026, 12, 1, 5, 1, tzinfo=UTC), tick=False):
        choices = dict(ReportGenerateForm(user=account_manager).fields["period"].choices)
    assert next(iter(choices)) == "month:2026-11-01"
