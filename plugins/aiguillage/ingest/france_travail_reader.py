"""France Travail CSV flows (inscriptions_, cessations_, radiations_, stock_) into raw rows.

Contract: docs/data-contracts.md §3. ``;``-separated, header line, dates JJ/MM/AAAA, no quoting,
ISO-8859-1 or UTF-8 with or without BOM, CRLF or LF (see :mod:`aiguillage.ingest.text_files`).

Each data line becomes a ``france_travail_record`` or, when it breaks a line rule, a
``france_travail_reject`` keeping the line as received; the other lines still load. Rules, in
order, the first failing one wins: COLUMN_COUNT, NIR_MISMATCH, NIR_FORMAT, NIR_KEY,
IDENTIFIANTPE_FORMAT, DATE_INVALID, CODE_MISSING. Reject details never quote a NIR or a name.

Whole-file failures (empty file, header not the kind's columns, binary content) raise QuarantineError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from aiguillage.ingest.raw_tables import RawRow
from aiguillage.ingest.text_files import first_header_problem, iter_lines, quarantine
from aiguillage.nir import is_valid_nir

__all__ = ["COLUMNS_BY_KIND", "read_france_travail"]

RECORD_TABLE = "france_travail_record"
REJECT_TABLE = "france_travail_reject"

_REGISTRATION_COLUMNS = (
    "nir", "identifiantpe", "nom", "prenom", "dtnai", "date", "code", "nir2",
    "codeinsee", "localite", "adresse", "ale",
)
_EXIT_COLUMNS = (
    "nir", "identifiantpe", "nom", "prenom", "dtnai", "date", "code", "motif", "nir2",
    "codeinsee", "localite", "adresse", "ale",
)
COLUMNS_BY_KIND: dict[str, tuple[str, ...]] = {
    "inscriptions": _REGISTRATION_COLUMNS,
    "stock": _REGISTRATION_COLUMNS,
    "cessations": _EXIT_COLUMNS,
    "radiations": _EXIT_COLUMNS,
}

_IDENTIFIANTPE = re.compile(r"[0-9]{7}[A-Za-z0-9][0-9]{3}")
_FT_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_CODE = re.compile(r"0?[1-8]")
_KEY_DIGITS = re.compile(r"[0-9]{2}")
# A bad date or code is quoted in the detail only when it cannot be personal data: short, and made
# of date characters (a 13-digit NIR never fits in 12 characters).
_QUOTABLE_DATE = re.compile(r"[0-9/.\- ]{1,12}")
_QUOTABLE_CODE = re.compile(r"[0-9]{1,3}")


class _Reject(Exception):
    """A line rule failed: its reason code and a detail free of NIR and names."""

    def __init__(self, reason_code: str, detail: str) -> None:
        super().__init__(reason_code, detail)
        self.reason_code = reason_code
        self.detail = detail


class _Layout:
    """Where each field sits for one kind of file (the motif column shifts nir2 and what follows)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.columns = COLUMNS_BY_KIND[kind]
        self.index = {name: position for position, name in enumerate(self.columns)}
        self.has_motif = "motif" in self.index


def read_france_travail(path: Path, kind: str) -> Iterator[RawRow]:
    """Rows of one France Travail file of `kind` (inscriptions, cessations, radiations, stock).

    Yields ``RawRow("france_travail_record", values)`` for good lines and
    ``RawRow("france_travail_reject", (line_number, reason_code, detail, raw_line))`` for bad ones;
    values follow ``raw_tables.COLUMNS`` without ``file_id``. Raises QuarantineError (possibly before
    the first row) when the file as a whole cannot be used.
    """
    if kind not in COLUMNS_BY_KIND:
        raise ValueError(f"unknown France Travail file kind {kind!r}")
    layout = _Layout(kind)
    lines = iter_lines(path)
    _check_header(path, lines, layout)
    for line_number, text in lines:
        if not text.strip():
            continue  # a blank line carries nothing
        try:
            yield RawRow(RECORD_TABLE, _record_values(line_number, text, layout))
        except _Reject as reject:
            yield RawRow(REJECT_TABLE, (line_number, reject.reason_code, reject.detail, text))


def _check_header(path: Path, lines: Iterator[tuple[int, str]], layout: _Layout) -> None:
    """Consume the header (the first non-blank line) or quarantine the file."""
    for line_number, text in lines:
        if not text.strip():
            continue
        problem = first_header_problem(text.split(";"), layout.columns)
        if problem:
            raise quarantine(path, line_number, f"{problem} for a France Travail {layout.kind} file")
        return
    raise quarantine(path, 1, "empty file: a header line is expected")


def _record_values(line_number: int, text: str, layout: _Layout) -> tuple:
    """The france_travail_record values of one line, or _Reject."""
    fields = text.split(";")
    if len(fields) != len(layout.columns):
        raise _Reject("COLUMN_COUNT", f"{len(layout.columns)} columns expected, {len(fields)} found")
    index = layout.index
    nir = fields[index["nir"]].strip()
    _check_nir(nir, fields[index["nir2"]].strip())
    identifiantpe = fields[index["identifiantpe"]].strip()
    _check_identifiantpe(identifiantpe)
    dtnai = _parse_date("dtnai", fields[index["dtnai"]])
    date_evenement = _parse_date("date", fields[index["date"]])
    code = _check_code(fields[index["code"]].strip())

    def optional(name: str) -> str | None:
        return fields[index[name]].strip() or None

    return (
        line_number, layout.kind, nir, identifiantpe, optional("nom"), optional("prenom"), dtnai,
        date_evenement, code, optional("motif") if layout.has_motif else None,
        optional("codeinsee"), optional("localite"), optional("adresse"), optional("ale"),
    )


def _check_nir(nir: str, nir2: str) -> None:
    # Lengths only in the details: the values are personal data.
    if nir.upper() != nir2.upper():
        raise _Reject("NIR_MISMATCH", f"nir ({len(nir)} chars) differs from nir2 ({len(nir2)} chars)")
    if not nir:
        raise _Reject("NIR_FORMAT", "nir is empty")
    if len(nir) not in (13, 15):
        raise _Reject("NIR_FORMAT", f"nir has {len(nir)} characters, 13 or 15 expected")
    if not is_valid_nir(nir[:13]) or (len(nir) == 15 and not _KEY_DIGITS.fullmatch(nir[13:])):
        raise _Reject("NIR_FORMAT", f"nir ({len(nir)} chars) does not have the NIR shape "
                                    "(sex, year, month, department, commune, order, key)")
    if len(nir) == 15 and not is_valid_nir(nir):
        raise _Reject("NIR_KEY", "nir (15 chars) fails its key")


def _check_identifiantpe(identifiantpe: str) -> None:
    if not _IDENTIFIANTPE.fullmatch(identifiantpe):
        raise _Reject("IDENTIFIANTPE_FORMAT", f"identifiantpe ({len(identifiantpe)} chars) is not "
                                              "7 digits + 1 letter or digit + 3 digits")


def _parse_date(column: str, raw: str) -> date:
    value = raw.strip()
    found = _FT_DATE.fullmatch(value)
    if found:
        day, month, year = found.groups()
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            pass
    if not value:
        raise _Reject("DATE_INVALID", f"column {column} is empty")
    shown = repr(value) if _QUOTABLE_DATE.fullmatch(value) else f"a value of {len(value)} characters"
    raise _Reject("DATE_INVALID", f"column {column}: {shown} is not a JJ/MM/AAAA date")


def _check_code(code: str) -> str:
    if _CODE.fullmatch(code):
        return code
    if not code:
        raise _Reject("CODE_MISSING", "code is empty")
    shown = repr(code) if _QUOTABLE_CODE.fullmatch(code) else f"a value of {len(code)} characters"
    raise _Reject("CODE_MISSING", f"code: {shown} is not a job-seeker category 1 to 8")
