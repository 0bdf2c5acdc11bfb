"""What must never reach an agency's file: a value longer than the contract allows, a cell that a
spreadsheet would run.

Both are checked by ``writer.write_extract`` before a file is placed, whatever wrote it: the lengths on
the lines table (set-based, before writing), the cells on the written CSV or XLSX file itself, read
back as a spreadsheet would read it. A fault raises :class:`UnsafeExtract`, naming the file, the line,
the column and the rule, never the value (it may be personal data, or 50 MB long); the agency's files
of the day are then withheld (aiguillage.extracts.daily).
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import psycopg
from psycopg import sql

from aiguillage.extracts import columns
from aiguillage.extracts.spreadsheet import runs_as_formula

_SHOWN = 3  # faults named in a message; the count says how many more
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


class UnsafeExtract(ValueError):
    """A written extract that must not be delivered; the message names file, line, column and rule."""


def _message(file_name: str, faults: list[tuple[int, str, str]], total: int, rule: str) -> str:
    shown = "; ".join(f"line {line}, column {column}: {what}" for line, column, what in faults[:_SHOWN])
    more = f" (and {total - _SHOWN} more)" if total > _SHOWN else ""
    return f"{file_name}: {shown}{more}. {rule}"


def check_lengths(conn: psycopg.Connection, code_structure: str, fichier: str, file_name: str) -> None:
    """Refuse the agency's lines of ``fichier`` when a value is longer than columns.MAX_LENGTHS allows.
    Lines are numbered as in the CSV and XLSX (the header is line 1)."""
    from aiguillage.extracts.writer import LINE_ORDER, lines_table

    missing = [name for name in columns.EXTRACT_COLUMNS if name not in columns.MAX_LENGTHS]
    if missing:
        raise ValueError(f"columns {', '.join(missing)} have no maximum length in columns.MAX_LENGTHS: "
                         f"the contract must bound every column of the extract")
    checks = sql.SQL(", ").join(
        sql.SQL("({0}, length(n.{1}::text), {2})").format(
            sql.Literal(name), sql.Identifier(name), sql.Literal(columns.MAX_LENGTHS[name]))
        for name in columns.EXTRACT_COLUMNS)
    rows = conn.execute(sql.SQL(
        "SELECT n.line, v.name, v.length, v.most, count(*) OVER () FROM ("
        " SELECT row_number() OVER (ORDER BY {order}) + 1 AS line, l.* FROM {table} AS l"
        " WHERE l.fichier = %s AND l.code_structure = %s) AS n"
        " CROSS JOIN LATERAL (VALUES {checks}) AS v(name, length, most)"
        " WHERE v.length > v.most ORDER BY n.line, v.name LIMIT {shown}"
    ).format(order=LINE_ORDER, table=lines_table(), checks=checks, shown=sql.Literal(_SHOWN)),
        (fichier, code_structure)).fetchall()
    if rows:
        faults = [(line, name, f"{length} characters, the contract allows {most}")
                  for line, name, length, most, _ in rows]
        raise UnsafeExtract(_message(file_name, faults, rows[0][4], (
            "A value longer than the contract allows (docs/dictionnaire-extrait.md) is never cut: "
            "correct it at its source, then rerun the day.")))


def check_file(path: Path, file_name: str, kinds: dict[str, str]) -> None:
    """Read the written ``path`` (named ``file_name`` for the agency) as a spreadsheet would, and refuse it
    when a cell would run as a formula. ``kinds``: column → "text", "date" or "number"."""
    if file_name.endswith(".csv"):
        faults, total = _csv_faults(Path(path), kinds)
    elif file_name.endswith(".xlsx"):
        faults, total = _xlsx_faults(Path(path))
    else:
        raise ValueError(f"{file_name}: not a file opened in a spreadsheet (CSV or XLSX)")
    if total:
        raise UnsafeExtract(_message(file_name, faults, total, (
            "A spreadsheet would run these cells as formulas: every text cell starting with "
            "=, +, -, @, a tab or a carriage return must be written as text (aiguillage.extracts.spreadsheet).")))


def _what(text: str) -> str:
    return f"starts with {text[0]!r}, a spreadsheet would run it as a formula"


def _csv_faults(path: Path, kinds: dict[str, str]) -> tuple[list, int]:
    faults, total = [], 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader, [])
        for line, row in enumerate(reader, start=2):
            for name, cell in zip(header, row, strict=False):
                if runs_as_formula(cell, numeric=kinds.get(name) == "number"):
                    total += 1
                    if len(faults) < _SHOWN:
                        faults.append((line, name, _what(cell)))
    return faults, total


def _quote_prefixed(book: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles that mark a cell as text whatever it starts with."""
    styles = ElementTree.fromstring(book.read("xl/styles.xml"))
    xfs = styles.find(f"{_MAIN}cellXfs")
    return {index for index, xf in enumerate(xfs if xfs is not None else [])
            if xf.get("quotePrefix") in ("1", "true")}


def _cell_text(cell: ElementTree.Element, shared: list[str]) -> str | None:
    kind = cell.get("t")
    if kind == "inlineStr":
        text = "".join(t.text or "" for t in cell.iter(f"{_MAIN}t"))
    elif kind == "s":
        text = shared[int(cell.findtext(f"{_MAIN}v") or 0)]
    elif kind == "str":
        text = cell.findtext(f"{_MAIN}v")
    else:  # a number, a boolean, a date: never run
        return None
    # Excel decodes _xHHHH_ in strings: "_x003D_…" shows as "=…".
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if text else text


def _xlsx_faults(path: Path) -> tuple[list, int]:
    faults, total = [], 0
    with zipfile.ZipFile(path) as book:
        quoted = _quote_prefixed(book)
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():  # we write none; a file with some is still checked
            strings = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{_MAIN}t")) for si in strings]
        for sheet in sorted(name for name in book.namelist() if name.startswith("xl/worksheets/sheet")):
            header: dict[str, str] = {}
            with book.open(sheet) as stream:
                for _, row in ElementTree.iterparse(stream):
                    if row.tag != f"{_MAIN}row":
                        continue
                    line = int(row.get("r"))
                    for cell in row.iter(f"{_MAIN}c"):
                        letters = re.sub(r"[0-9]", "", cell.get("r", ""))
                        text = _cell_text(cell, shared)
                        if line == 1:
                            header[letters] = text or letters
                        if cell.find(f"{_MAIN}f") is not None:
                            what = "is a formula"
                        elif text and runs_as_formula(text) and int(cell.get("s", 0)) not in quoted:
                            what = _what(text)
                        else:
                            continue
                        total += 1
                        if len(faults) < _SHOWN:
                            faults.append((line, header.get(letters, letters), what))
                    row.clear()
    return faults, total
