"""How time reads on the timesheet, approval and timer: "2 h 05 min"."""

from django import template

register = template.Library()


@register.filter
def hours_minutes(minutes) -> str:
    minutes = int(minutes or 0)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
