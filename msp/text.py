"""Small text rules shared by every app."""

import re

# Every character that ends a line somewhere (email headers, str.splitlines, browsers).
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def one_line(text: str) -> str:
    """`text` on one line: each run of line breaks becomes one space, other spacing is kept.
    For what users type that later becomes an email header (a ticket's subject)."""
    return _LINE_BREAKS.sub(" ", text)
