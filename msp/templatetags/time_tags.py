"""`{% when %}`: the one way a page shows an instant (see msp/timetext.py).

    {% load time_tags %}
    {% when ticket.created_at %}                                  30 Nov 14:05 CET
    {% when ticket.sla_due_at client_tz=ticket.client.timezone %}  and the client's time on hover
    {% when report.generated_at zone=report.client.timezone %}     a client's document
    {% when token.last_used_at empty="never" %}                    nothing to show
    {% when mail.date style="full" %}                              Mon 30 Nov 2026 14:05:09 CET

It renders <time datetime="2026-11-30T13:05:00Z" title="...">30 Nov 14:05 CET</time>: the
machine-readable instant in UTC, the reading in the viewer's zone (or `zone`), and on hover
either the client's local time (`client_tz`, where it matters for the SLA) or the full date.
"""

from datetime import UTC, date, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from msp.timetext import STYLES, date_text, time_text, zone_or_none

register = template.Library()


@register.simple_tag
def when(value, client_tz=None, zone=None, style="short", empty=""):
    if value in (None, ""):
        return empty
    if isinstance(value, datetime):
        return _instant(value, client_tz, zone, style if style in STYLES else "short")
    if isinstance(value, date):  # a calendar day is the same in every zone
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), date_text(value))
    return value


def _instant(value: datetime, client_tz, zone, style: str) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    shown_in = zone_or_none(zone) if zone else None
    text = time_text(value, shown_in, style)
    client_zone = zone_or_none(client_tz) if client_tz else None
    if client_zone is not None:
        title = f"Client's time: {time_text(value, client_zone, 'weekday')}"
    else:
        viewer = shown_in or timezone.get_current_timezone()
        title = f"{time_text(value, viewer, 'full')} ({getattr(viewer, 'key', str(viewer))})"
    iso = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, title, text)
