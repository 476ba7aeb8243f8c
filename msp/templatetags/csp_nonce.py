"""The response's Content-Security-Policy nonce on markup we draw on the server."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

STYLE_TAG = re.compile(r"<style(?=[\s>])")
SCRIPT_ELEMENT = re.compile(r"<script\b.*?</script>", re.DOTALL)


@register.simple_tag(takes_context=True)
def with_style_nonce(context, markup):
    """Trusted server-drawn markup (the pygal SVG charts) with the response's nonce on each of
    its <style> elements, so that the policy lets them apply without allowing inline styles at
    large; and without its <script> elements (pygal's tooltip settings, for a script that is
    never loaded), which the policy would refuse. Outside a request (the PDF) the markup is
    returned as it is."""
    request = context.get("request")
    if not isinstance(markup, SafeString) or not hasattr(request, "csp_nonce"):
        return markup
    nonce = escape(str(request.csp_nonce))
    markup = SCRIPT_ELEMENT.sub("", markup)
    return mark_safe(STYLE_TAG.sub(f'<style nonce="{nonce}"', markup))  # noqa: S308
