"""Formatting of report figures, shared by the report page, its PDF and the live dashboard."""

from decimal import Decimal

from django import template

from reporting.presentation import Headline, as_shown, figure_label, markdown_as_html
from tickets.templatetags.sla_tags import seconds_as_duration

register = template.Library()
DASH = "—"


def _format(value, unit: str) -> str:
    if value is None or value == "":  # "": a missing figure's attribute, in a template
        return DASH
    return _with_unit(as_shown(value, unit), unit)


def _with_unit(shown: Decimal, unit: str) -> str:
    if unit == "%":
        return f"{shown} %"
    if unit == "seconds":
        return seconds_as_duration(shown)
    return str(shown)


@register.filter
def percent(value) -> str:
    return _format(value, "%")


@register.filter
def duration(value) -> str:
    return _format(value, "seconds")


@register.filter
def rating(value) -> str:
    return _format(value, "rating")


@register.filter
def headline_value(headline: Headline) -> str:
    if headline.under_a_minute:
        return "under 1 min"  # not "0 min": some time it took, less than the minute shown
    return _format(headline.value, headline.unit)


@register.filter
def headline_change(headline: Headline) -> str:
    """e.g. "+2.5 pts", "-1 h 10 m", "+3" against the previous period; "" when unknown."""
    change = headline.change
    if change is None:
        return ""
    if change == 0:
        return "no change"
    sign = "+" if change > 0 else "-"
    if headline.unit == "%":
        return f"{sign}{abs(change)} pts"
    return f"{sign}{_with_unit(abs(change), headline.unit)}"


@register.filter
def figure(account, name: str):
    """An account's figure by "key" or "key:dimension", e.g. account|figure:"response_p50:all"."""
    key, _, dimension = name.partition(":")
    return account.figure(key, dimension)


@register.filter
def figure_name(figure) -> str:
    """A compliance or availability figure (with .key and .dimension) as the report names it."""
    return figure_label(figure.key, figure.dimension)


@register.filter
def report_markdown(text: str):
    """The account manager's Markdown, sanitised (presentation.markdown_as_html)."""
    return markdown_as_html(text or "")
