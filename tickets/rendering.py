"""Markdown from people and mailers, rendered to HTML that is safe to show."""

import threading

import markdown
import nh3

# A Markdown converter per thread, reset between texts: making one loads its extensions, which
# took longer than converting a reply.
_converters = threading.local()


def markdown_to_safe_html(text: str) -> str:
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = _converters.markdown = markdown.Markdown(
            extensions=["fenced_code", "tables", "sane_lists"]
        )
    html = converter.reset().convert(text)
    return nh3.clean(html)
