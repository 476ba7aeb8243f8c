from datetime import datetime, timedelta

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from msp.timetext import time_text

register = template.Library()


def _duration(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def sla_state(due: datetime | None, warn: datetime | None, now: datetime, paused: bool) -> str:
    if due is None:
        return "paused" if paused else "none"
    if now > due:
        return "breached"
    if warn is not None and now >= warn:
        return "warning"
    return "ok"


@register.simple_tag
def sla_badge(due, warn, now, paused=False):
    """A countdown to an SLA deadline, coloured by state; workspace.js keeps it ticking.

    Built in Python rather than an included template: a queue renders fifty of them.
    """
    state = sla_state(due, warn, now, paused)
    if state == "breached":
        text = f"overdue {_duration(now - due)}"
    elif due is not None:
        text = _duration(due - now)
    else:
        text = "paused" if paused else "—"
    if due is None:
        return format_html('<span class="sla sla-{}">{}</span>', state, text)
    return format_html(
        '<span class="sla sla-{}" data-due="{}"{} title="Due {}">{}</span>',
        state,
        due.isoformat(),
        format_html(' data-warn="{}"', warn.isoformat()) if warn else "",
        time_text(due, style="weekday"),  # the viewer's zone, named (msp/timetext.py)
        text,
    )


@register.simple_tag
def select_field(bound_field):
    """A <select> for a choice field, built directly: Django's widget templates render each
    option through the template engine, which is slow for long lists (hundreds of clients)."""
    current = bound_field.value()
    current = "" if current is None else str(current)
    options = []
    for value, label in bound_field.field.choices:
        value = str(value)
        selected = " selected" if value == current else ""
        options.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
    return mark_safe(  # noqa: S308 (every value and label above is escaped)
        f'<select name="{escape(bound_field.html_name)}" id="{escape(bound_field.auto_id)}">'
        + "".join(options)
        + "</select>"
    )


@register.filter
def seconds_as_duration(seconds) -> str:
    return _duration(timedelta(seconds=int(seconds or 0)))
