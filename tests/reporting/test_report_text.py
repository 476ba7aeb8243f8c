"""The account manager's summary and recommendations are Markdown: shown formatted on the
report page, in the portal and in the PDF, and sanitised, so that nothing in them runs or loads."""

import io
import socket

import pytest
from django.urls import reverse
from pypdf import PdfReader
from weasyprint import HTML

from reporting.presentation import markdown_as_html
from reporting.rendering import FETCH_NOTHING, report_pdf
from reporting.services import report_annotate
from tests.factories import ContactFactory, ReportFactory
from tests.helpers import signed_in

HOSTILE = [
    "<script>alert('x')</script>",
    '<img src="x" onerror="alert(1)">',
    '<a href="https://example.com" onclick="alert(1)">click</a>',
    '<p onmouseover="alert(1)">hover</p>',
    "[link](javascript:alert(1))",
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://example.com"></iframe>',
    "<style>body{display:none}</style>",
    '<div style="background:url(http://10.0.0.1/)">styled</div>',
]
STEPS = "1. **Replace the file server** before year end.\n2. Move the VPN.\n\n"
RECOMMENDATIONS = STEPS + "\n".join(HOSTILE)


@pytest.mark.parametrize("text", HOSTILE)
def test_nothing_that_runs_or_loads_survives(text):
    html = markdown_as_html(text).lower()
    for forbidden in ("<script", "onerror", "onclick", "onmouseover", "onload", "javascript:"):
        assert forbidden not in html
    for forbidden in ("<img", "<svg", "<iframe", "<style", "style=", "alert("):
        assert forbidden not in html


def test_markdown_is_formatted():
    html = markdown_as_html("1. **Bold** step\n2. [Runbook](https://example.com/r)\n\nA\nB")
    assert "<ol>" in html and "<strong>Bold</strong>" in html
    assert 'href="https://example.com/r"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "A<br>" in html  # a line break stays one


@pytest.fixture
def annotated(client_a, account_manager):
    ContactFactory(client=client_a, receives_reports=True)
    report = ReportFactory(client=client_a, sent=True)
    return report_annotate(
        report=report,
        summary="A **calm** month.",
        recommendations=RECOMMENDATIONS,
        by=account_manager,
    )


@pytest.mark.django_db
def test_the_pages_show_it_formatted_and_harmless(annotated, account_manager, client_user_a):
    pages = ((account_manager, "reporting:detail"), (client_user_a, "portal:report-detail"))
    for user, name in pages:
        page = signed_in(user).get(reverse(name, args=[annotated.pk])).content.decode()
        start, end = 'data-testid="summary"', 'data-testid="compliance-section"'
        shown = page[page.index(start) : page.index(end)]
        assert "<strong>calm</strong>" in shown
        assert "<strong>Replace the file server</strong>" in shown and "<ol>" in shown
        assert "<script" not in shown and "alert(" not in shown
        assert " on" not in shown.replace(" one", "")  # no on* attribute
        assert "**" not in shown


@pytest.mark.django_db
def test_the_pdf_shows_it_formatted_and_harmless(annotated):
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(report_pdf(annotated))).pages)
    assert "Replace the file server" in text and "**" not in text
    assert "alert(" not in text


def test_the_pdf_renderer_fetches_nothing():
    # A listening socket on loopback: nothing may connect to it while the PDF is drawn.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        port = server.getsockname()[1]
        html = (
            f'<link rel="stylesheet" href="http://127.0.0.1:{port}/a.css">'
            f'<img src="http://127.0.0.1:{port}/x.png"><img src="file:///etc/hostname">text'
        )
        assert HTML(string=html, url_fetcher=FETCH_NOTHING).write_pdf().startswith(b"%PDF")
        with pytest.raises(TimeoutError):
            server.accept()
