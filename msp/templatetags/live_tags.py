"""{% live_poll_seconds %}: how often a live page polls (msp/live.py), for hx-trigger."""

from django import template

from msp import live

register = template.Library()


@register.simple_tag
def live_poll_seconds() -> int:
    return live.poll_seconds()
