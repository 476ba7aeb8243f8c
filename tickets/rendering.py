"""Markdown from people and mailers, rendered to HTML that is safe to show."""

import markdown
import nh3


def markdown_to_safe_html(text: str) -> str:
    html = markdown.markdown(text, extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(html)
