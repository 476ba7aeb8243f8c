"""Report charts as SVG, rendered on the server (pygal) so that the page and the PDF show the
same picture; no script is embedded."""

from django.utils.safestring import SafeString, mark_safe
from pygal import Bar, Line
from pygal.style import Style

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#333",
    foreground_strong="#111",
    foreground_subtle="#999",
    colors=("#0d6efd", "#adb5bd", "#dc3545", "#198754"),
    font_family="DejaVu Sans, Helvetica, Arial, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=13,
    value_font_size=10,
)
CONFIG = {
    "style": STYLE,
    "js": [],  # no scripts: the PDF cannot run them and the page must not fetch them
    "disable_xml_declaration": True,
    "width": 640,
    "height": 260,
    "truncate_label": -1,
    "truncate_legend": -1,
    "print_values": False,
    "show_y_guides": True,
    "margin": 8,
}


# An x label is centred under its point, and a line chart's last point is at the plot's right
# edge: half the widest label must fit in the right margin or the SVG cuts it ("Oct 202").
# DejaVu Sans is about 0.64 em a character at most for these labels (digits, capitals).
LABEL_EM_PER_CHARACTER = 0.7


def _half_label_width(labels: list[str]) -> int:
    widest = max((len(label) for label in labels), default=0)
    return int(widest * STYLE.label_font_size * LABEL_EM_PER_CHARACTER / 2) + 1


def _render(chart) -> SafeString:
    # pygal escapes labels and values itself (it builds the SVG as an XML tree).
    return mark_safe(chart.render(is_unicode=True))  # noqa: S308


def _number(value) -> float | None:
    return None if value is None else float(value)


def compliance_bars(rows: list) -> SafeString | None:
    """Met % against target % per priority and measure."""
    if not rows:
        return None
    chart = Bar(title="SLA compliance against target (%)", range=(0, 100), **CONFIG)
    chart.x_labels = [row.short_label for row in rows]
    chart.add("Met", [_number(row.value) for row in rows])
    chart.add("Target", [_number(row.target) for row in rows])
    return _render(chart)


def trend_lines(trend: list[dict]) -> SafeString | None:
    """Overall compliance and tickets opened, period by period."""
    if len(trend) < 2:
        return None
    labels = [point["period"] for point in trend]
    config = {**CONFIG, "margin_right": CONFIG["margin"] + _half_label_width(labels)}
    chart = Line(
        title="Compliance (%) by period",
        range=(0, 100),
        dots_size=3,
        show_legend=False,  # one series, named by the title
        **config,
    )
    chart.x_labels = labels
    chart.add("Compliance", [_number(point["compliance"]) for point in trend])
    return _render(chart)


def volume_bars(trend: list[dict]) -> SafeString | None:
    if len(trend) < 2:
        return None
    chart = Bar(title="Tickets opened and open at period end", **CONFIG)
    chart.x_labels = [point["period"] for point in trend]
    chart.add("Opened", [point["volume"] or 0 for point in trend])
    chart.add("Backlog", [point["backlog"] or 0 for point in trend])
    return _render(chart)
