"""The PDF as a client reads it: no page holds a stray line or two, and no chart label is cut.

Rendered from the figures of demo reports (Acme's month and QBR, Initech's QBR, stored in
fixtures/), as they are and with their breach list grown to fill pages, with and without the
account manager's text."""

import copy
import io
import json
import re
import shutil
import subprocess
from datetime import date, datetime
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from reporting import charts
from reporting.models import Report
from reporting.rendering import report_pdf

FIXTURES = Path(__file__).with_name("fixtures")
MIN_LINES = 5
FOOTER = re.compile(r"Page \d+ of \d+")
SVG = "{http://www.w3.org/2000/svg}"
SUMMARY = (
    "Service desk volume was steady and satisfaction stayed high, but the first response to "
    "one P1 outage a month came late. We have added an on-call engineer to the rota."
)
RECOMMENDATIONS = (
    "1. **Replace the file server** (the top recurring asset) before year end.\n"
    "2. Move the VPN to the new firewall to stop the hourly drops.\n"
    "3. Review the backup window with [the runbook](https://example.com/runbook)."
)


def demo_report(name: str, *, breaches: int | None = None, annotated: bool = False) -> Report:
    """An unsaved report with a demo report's figures; `breaches` rows listed if given."""
    stored = json.loads((FIXTURES / f"{name}.json").read_text())
    figures = copy.deepcopy(stored["figures"])
    if breaches is not None:
        rows = figures["breaches"]["rows"] or [
            {
                "ticket_id": 46,
                "ticket": "#46",
                "subject": "Server unreachable",
                "priority": "P1",
                "clock": "response",
                "breached_at": "2026-10-03T18:18:00+00:00",
                "exemption": None,
            }
        ]
        figures["breaches"] = {
            "total": breaches,
            "rows": [{**rows[n % len(rows)], "ticket": f"#{100 + n}"} for n in range(breaches)],
        }
    return Report(
        kind=stored["kind"],
        period_start=date.fromisoformat(stored["period_start"]),
        version=1,
        figures=figures,
        generated_at=datetime.fromisoformat(stored["generated_at"]),
        summary=SUMMARY if annotated else "",
        recommendations=RECOMMENDATIONS if annotated else "",
    )


def body_lines_per_page(pdf: bytes) -> list[int]:
    """Lines of text on each page, the running footer (client, title, page number) left out."""
    counts = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        lines = [line for line in page.extract_text().splitlines() if line.strip()]
        counts.append(sum(not FOOTER.search(line) for line in lines))
    return counts


@pytest.mark.parametrize(
    ("name", "breaches", "annotated"),
    [
        ("demo_month", None, False),
        ("demo_month", 0, True),
        ("demo_month", 25, False),
        ("demo_month", 100, True),
        ("demo_quarter", None, True),
        ("demo_quarter", 0, False),
        ("demo_quarter", 40, True),
        # Initech's QBR: two lines of the definitions were left alone on its last page.
        ("demo_quarter_no_breach", None, False),
    ],
)
def test_no_page_holds_fewer_than_five_lines(name, breaches, annotated):
    pdf = report_pdf(demo_report(name, breaches=breaches, annotated=annotated))
    lines = body_lines_per_page(pdf)
    assert len(lines) >= 2
    assert min(lines) >= MIN_LINES, lines


@cache
def _font() -> TTFont:
    """The font WeasyPrint and the charts use (DejaVu Sans), found as fontconfig finds it."""
    if not shutil.which("fc-match"):
        pytest.skip("fontconfig's fc-match is not installed")
    path = subprocess.run(
        ["fc-match", "--format=%{file}", "DejaVu Sans"], capture_output=True, text=True, check=True
    ).stdout
    return TTFont(path)


def text_width(text: str, font_size: float) -> float:
    font = _font()
    cmap, metrics = font.getBestCmap(), font["hmtx"].metrics
    units = sum(metrics[cmap[ord(character)]][0] for character in text)
    return units * font_size / font["head"].unitsPerEm


def _translation(group) -> tuple[float, float]:
    found = re.match(r"translate\(([-\d.]+)[ ,]+([-\d.]+)\)", group.get("transform", ""))
    return (float(found[1]), float(found[2])) if found else (0.0, 0.0)


def x_label_extents(svg: str) -> tuple[float, list[tuple[str, float, float]]]:
    """The chart's width and each x-axis label's left and right edge in its coordinates
    (labels are centred on their x; pygal puts the axes in the translated plot group)."""
    root = ElementTree.fromstring(svg)  # noqa: S314 (our own chart, not outside input)
    width = float(root.get("viewBox").split()[2])
    plot = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "plot")
    left, _ = _translation(plot)
    axis = next(g for g in plot.iter(f"{SVG}g") if g.get("class") == "axis x")
    extents = []
    for text in axis.iter(f"{SVG}text"):
        assert text.get("transform") is None, "x labels are not rotated"
        middle, half = left + float(text.get("x")), text_width(text.text, 11) / 2
        extents.append((text.text, middle - half, middle + half))
    return width, extents


def trend(labels: list[str]) -> list[dict]:
    return [{"period": label, "compliance": "97.5", "volume": 12, "backlog": 3} for label in labels]


MONTHS = ["May 2026", "Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026"]
QUARTERS = ["Q4 2025", "Q1 2026", "Q2 2026", "Q3 2026"]


@pytest.mark.parametrize("labels", [MONTHS, QUARTERS, ["Dec 2026", "Jan 2027"]])
@pytest.mark.parametrize("chart", [charts.trend_lines, charts.volume_bars])
def test_every_x_label_of_the_trend_charts_lies_whole_inside_the_chart(chart, labels):
    width, extents = x_label_extents(chart(trend(labels)))
    assert [label for label, _, _ in extents] == labels  # every label, in full
    for label, left, right in extents:
        assert left >= 0 and right <= width, (label, left, right, width)


def test_the_demo_reports_charts_keep_their_labels_whole():
    from reporting.presentation import ReportContent

    for name in ("demo_month", "demo_quarter"):
        content = ReportContent(demo_report(name).figures)
        for svg in (content.trend_chart, content.volume_chart, content.compliance_chart):
            width, extents = x_label_extents(svg)
            assert extents
            assert all(left >= 0 and right <= width for _, left, right in extents), extents
