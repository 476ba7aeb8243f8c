"""Small text rules shared by every app."""

import csv
import re
import unicodedata

# Every character that ends a line somewhere (email headers, str.splitlines, browsers).
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def one_line(text: str) -> str:
    """`text` on one line: each run of line breaks becomes one space, other spacing is kept.
    For what users type that later becomes an email header (a ticket's subject)."""
    return _LINE_BREAKS.sub(" ", text)


# Characters Windows does not allow in file names (":" also opens an NTFS alternate stream).
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')


def file_name(name: str, *, default: str = "file", max_length: int = 255) -> str:
    """An uploaded file's name as it will be stored and checked: the last path part, in NFKC
    form, without control and format characters (NUL, right-to-left override, zero-width
    spaces), characters Windows refuses, or the leading and trailing spaces and trailing dots
    that Windows drops (so `evil.exe .` is `evil.exe`); cut to `max_length` keeping the
    extension."""
    name = unicodedata.normalize("NFKC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        char for char in name if unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp")
    )
    name = _WINDOWS_RESERVED.sub("_", name).strip().rstrip(". ").strip() or default
    if len(name) > max_length:
        stem, dot, extension = name.rpartition(".")
        if dot and len(extension) < 20:
            name = stem[: max_length - len(extension) - 1] + "." + extension
        else:
            name = name[:max_length]
    return name


def file_extension(name: str) -> str:
    """The lower-case extension of a name made by file_name ("" when it has none)."""
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def spreadsheet_cell(value):
    """A CSV cell that a spreadsheet will not run as a formula: text starting with =, +, -, @
    (also after spaces), a tab or a carriage return gets a leading apostrophe. Numbers, and
    text that is just a number (-5, -0.25), stay as they are."""
    if not isinstance(value, str) or _PLAIN_NUMBER.fullmatch(value):
        return value
    if value[:1] in ("\t", "\r") or value.lstrip()[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


class spreadsheet_writer:
    """csv.writer for every CSV export: each cell goes through spreadsheet_cell."""

    def __init__(self, out, **options):
        self._writer = csv.writer(out, **options)

    def writerow(self, row):
        return self._writer.writerow([spreadsheet_cell(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
