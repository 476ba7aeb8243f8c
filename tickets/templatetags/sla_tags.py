from datetime import datetime, timedelta

from django import template

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


@register.inclusion_tag("tickets/_sla_badge.html")
def sla_badge(due, warn, now, paused=False):
    """A countdown to an SLA deadline, coloured by state; workspace.js keeps it ticking."""
    state = sla_state(due, warn, now, paused)
    if state == "breached":
        text = f"overdue {_duration(now - due)}"
    elif due is not None:
        text = _duration(due - now)
    else:
        text = "paused" if paused else "—"
    return {"due": due, "warn": warn, "state": state, "text": text}


@register.filter
def seconds_as_duration(seconds: int) -> str:
    return _duration(timedelta(seconds=seconds or 0))
