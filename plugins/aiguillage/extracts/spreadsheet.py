"""Values that a spreadsheet reads as text, never as a formula (CSV injection).

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a carriage return, which some
spreadsheets skip before reading the rest as a formula) is run as a formula when a CSV file is opened
in a spreadsheet: a value that came from outside (a commune's or a structure's label, a rule's text
edited in a seed) could then fetch a URL or run a command on the reader's machine. Such a value is
written with a leading apostrophe, which spreadsheets take as "this cell is text" and do not show.

Every file that people open in a spreadsheet follows this one rule: :func:`neutralised` for CSV written
from Python (the orientation team's morning list), :func:`neutralised_sql` for the agencies' CSV extracts
streamed by ``COPY``, :func:`runs_as_formula` for the XLSX writer (which marks such cells as text with a
quote prefix instead of an apostrophe) and for the check of every written file before delivery.
"""

from __future__ import annotations

import re

from psycopg import sql

__all__ = ["FORMULA_STARTS", "neutralised", "neutralised_sql", "runs_as_formula"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> str:
    """``value`` as the text of a CSV cell: empty for None, ISO for a date, and never a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# A plain number (``-2``, ``-0.5``) is read as a number, not run: only such a cell may start with ``-``/``+``
# in a numeric column. A text column never holds one unneutralised (``-2`` there is written ``'-2``).
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+([.,][0-9]+)?\Z")


def runs_as_formula(text: str, *, numeric: bool = False) -> bool:
    """Whether a spreadsheet would run ``text`` as a formula if it were a cell of its own: it starts with
    one of FORMULA_STARTS (for a numeric column, unless it is a plain number)."""
    if not text.startswith(FORMULA_STARTS):
        return False
    return not (numeric and _PLAIN_NUMBER.match(text))


def neutralised_sql(expression: sql.Composable) -> sql.Composed:
    """SQL for the text ``expression`` with an apostrophe before a value that starts like a formula:
    the same rule as :func:`neutralised`, built from FORMULA_STARTS."""
    starts = sql.SQL(", ").join(sql.Literal(start) for start in FORMULA_STARTS)
    return sql.SQL("CASE WHEN left({0}, 1) IN ({1}) THEN '''' || {0} ELSE {0} END").format(expression, starts)
