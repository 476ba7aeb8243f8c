"""CSV exports: no cell a spreadsheet would run as a formula."""

import csv
import io

import pytest

from msp.text import spreadsheet_cell, spreadsheet_writer


@pytest.mark.parametrize(
    "value, written",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("  =cmd|' /C calc'!A0", "'  =cmd|' /C calc'!A0"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n\u00a0@x", "'\n\u00a0@x"),
        ("\tplain", "'\tplain"),
        ("Printer = jammed", "Printer = jammed"),
        ("-5", "-5"),
        ("-0.25", "-0.25"),
        (-5, -5),
        (None, None),
        ("", ""),
    ],
)
def test_cells_that_would_be_formulas_get_an_apostrophe(value, written):
    assert spreadsheet_cell(value) == written


def test_the_writer_sanitises_every_cell():
    out = io.StringIO()
    spreadsheet_writer(out).writerows([["=1+1", 3, " -x"], ["ok", None, "@y"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'=1+1", "3", "' -x"],
        ["ok", "", "'@y"],
    ]
