"""The formats an agency can receive its extract in: the one registry (name → file name, writer).

Chosen per agency in the delivery configuration (``formats = ["csv", "xlsx"]``, see
aiguillage.extracts.destinations); ``["csv"]`` when it says nothing. Whatever the format, a file goes
through the same steps (aiguillage.extracts.writer then .delivery): written under a hidden name, its own
manifest beside it, delivered and recorded once per (agency, day, fichier, format), archived,
re-deliverable, purged with the outbox.

A writer is ``write(conn, day, code_structure, fichier, path) -> {"rows", "rows_by_type", "sha256"}``:
it reads the day's lines of the agency from the lines table and writes the whole file at ``path``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from aiguillage.extracts import columns, files

CSV = "csv"
XLSX = "xlsx"
WEBRSA = "webrsa"
DEFAULT_FORMATS: tuple[str, ...] = (CSV,)

Writer = Callable[..., dict]


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    # Opened by people in a spreadsheet: every written file is checked for cells a spreadsheet would run.
    spreadsheet: bool
    # The writer only reads (its transaction is then read-only); the WebRSA writer keeps its identifier table.
    reads_only: bool
    _file_name: Callable[[str, str, date], str]
    _writer: Callable[[], Writer]  # imported when asked for: a format nobody uses costs nothing

    def file_name(self, code_structure: str, fichier: str, day: date) -> str:
        return self._file_name(code_structure, fichier, day)

    def write(self, conn, day: date, code_structure: str, fichier: str, path: Path) -> dict:
        return self._writer()(conn, day, code_structure, fichier, path)


def _csv_writer() -> Writer:
    from aiguillage.extracts.writer import write_csv

    return write_csv


def _xlsx_writer() -> Writer:
    from aiguillage.extracts.xlsx import write_file

    return write_file


def _webrsa_writer() -> Writer:
    from aiguillage.extracts.webrsa_ali import write_file

    return write_file


def _webrsa_name(code_structure: str, fichier: str, day: date) -> str:
    """``export_webrsa_ali_<code>_stock_<YYYYMMDD>.xml`` or ``…_diff_…`` (the movements)."""
    kind = {columns.STOCK: "stock", columns.MOVEMENTS: "diff"}[files.check_fichier(fichier)]
    return f"export_webrsa_ali_{files.check_code(code_structure)}_{kind}_{day:%Y%m%d}.xml"


FORMATS: dict[str, Format] = {
    CSV: Format(CSV, ".csv", True, True, files.csv_name, _csv_writer),
    XLSX: Format(XLSX, ".xlsx", True, True,
                 lambda code, fichier, day: files.csv_name(code, fichier, day, ".xlsx"), _xlsx_writer),
    WEBRSA: Format(WEBRSA, ".xml", False, False, _webrsa_name, _webrsa_writer),
}


def get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown extract format {name!r}: expected one of {', '.join(FORMATS)}") from None
