"""Values that a spreadsheet reads as text, never as a formula (CSV injection).

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a carriage return, which some
spreadsheets skip before reading the rest as a formula) is run as a formula when a CSV file is opened
in a spreadsheet: a value that came from outside (a commune's or a structure's label, a rule's text
edited in a seed) could then fetch a URL or run a command on the reader's machine. Such a value is
written with a leading apostrophe, which spreadsheets take as "this cell is text" and do not show.

Every CSV that people open in a spreadsheet goes through :func:`neutralised` (the orientation team's
morning list today; the agencies' extracts can use it the same way).
"""

from __future__ import annotations

__all__ = ["FORMULA_STARTS", "neutralised"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> str:
    """``value`` as the text of a CSV cell: empty for None, ISO for a date, and never a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
