"""Formatting of report figures, shared by the report page, its PDF and the live dashboard."""

from decimal import Decimal

from django import template

from reporting.presentation import Headline
from tickets.templatetags.sla_tags import seconds_as_duration

register = template.Library()
DASH = "—"


def _format(value, unit: str) -> str:
    if value is None or value == "":  # "": a missing figure's attribute, in a template
        return DASH
    if unit == "%":
        return f"{Decimal(value):.1f} %"
    if unit == "seconds":
        return seconds_as_duration(Decimal(value))
    if unit == "rating":
        return f"{Decimal(value):.2f}"
    return str(value)


@register.filter
def percent(value) -> str:
    return _format(value, "%")


@register.filter
def duration(value) -> str:
    return _format(value, "seconds")


@register.filter
def headline_value(headline: Headline) -> str:
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
        return f"{sign}{abs(change):.1f} pts"
    if headline.unit == "seconds":
        return f"{sign}{seconds_as_duration(abs(change))}"
    if headline.unit == "rating":
        return f"{sign}{abs(change):.2f}"
    return f"{sign}{abs(change)}"


@register.filter
def figure(account, name: str):
    """An account's figure by "key" or "key:dimension", e.g. account|figure:"response_p50:all"."""
    key, _, dimension = name.partition(":")
    return account.figure(key, dimension)
