"""France Travail CSV flows (inscriptions_, cessations_, radiations_, stock_) into raw rows.

Contract: docs/data-contracts.md §3. ``;``-separated, header line, dates JJ/MM/AAAA, no quoting,
ISO-8859-1 or UTF-8 with or without BOM, CRLF or LF (see :mod:`aiguillage.ingest.text_files`).

Each data line becomes a ``france_travail_record`` or, when it breaks a line rule, a
``france_travail_reject`` keeping the line as received; the other lines still load. Rules, in
order, the first failing one wins: COLUMN_COUNT, FIELD_TOO_LONG (a free-text value longer than the
contract allows, :data:`MAX_CHARS`), NIR_MISMATCH, NIR_FORMAT, NIR_KEY, IDENTIFIANTPE_FORMAT,
DATE_INVALID, CODE_MISSING (a job-seeker category not in the seed ``codes_categorie_france_travail``:
1 to 8, and F and G since 2025; the code is stored as the seed writes it, "01" as "1", "g" as "G").
Reject details never quote a NIR or a name.

Whole-file failures (empty file, header not the kind's columns, binary content) raise QuarantineError.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

from aiguillage import config
from aiguillage.ingest.raw_tables import RawRow
from aiguillage.ingest.text_files import first_header_problem, iter_lines, quarantine
from aiguillage.nir import is_valid_nir

__all__ = ["COLUMNS_BY_KIND", "MAX_CHARS", "job_seeker_categories", "read_france_travail"]

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

# Longest value of each free-text column (characters, once trimmed; data contract §3): names as
# WebRSA stores them (50), an INSEE code (5). The other columns have rules of their own (NIR,
# identifiantpe, dates, category) that bound them.
MAX_CHARS: dict[str, int] = {
    "nom": 50,
    "prenom": 50,
    "motif": 100,
    "codeinsee": 5,
    "localite": 100,
    "adresse": 250,
    "ale": 10,
}
# The job-seeker categories: a seed of the warehouse, read here so that the list lives in one place.
CATEGORY_SEED = Path("seeds") / "codes_categorie_france_travail.csv"

_IDENTIFIANTPE = re.compile(r"[0-9]{7}[A-Za-z0-9][0-9]{3}")
_FT_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_KEY_DIGITS = re.compile(r"[0-9]{2}")
# A bad date or code is quoted in the detail only when it cannot be personal data: short, and made
# of date characters (a 13-digit NIR never fits in 12 characters).
_QUOTABLE_DATE = re.compile(r"[0-9/.\- ]{1,12}")
_QUOTABLE_CODE = re.compile(r"[0-9A-Za-z]{1,3}")


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


def job_seeker_categories() -> frozenset[str]:
    """The category codes of the seed ``codes_categorie_france_travail`` (dbt project's seeds folder)."""
    return _categories_of(config.dbt_project_dir() / CATEGORY_SEED)


@functools.lru_cache(maxsize=4)
def _categories_of(seed: Path) -> frozenset[str]:
    try:
        with open(seed, encoding="utf-8", newline="") as handle:
            codes = frozenset(row["code"].strip() for row in csv.DictReader(handle) if row.get("code"))
    except (OSError, KeyError) as error:
        raise RuntimeError(f"cannot read the France Travail categories from {seed}: {error}") from error
    if not codes:
        raise RuntimeError(f"the France Travail category seed {seed} lists no code")
    return codes


def read_france_travail(path: Path | BinaryIO, kind: str) -> Iterator[RawRow]:
    """Rows of one France Travail file of `kind` (inscriptions, cessations, radiations, stock);
    ``path``: the file, or a binary stream opened on it (see :mod:`aiguillage.ingest.text_files`).

    Yields ``RawRow("france_travail_record", values)`` for good lines and
    ``RawRow("france_travail_reject", (line_number, reason_code, detail, raw_line))`` for bad ones;
    values follow ``raw_tables.COLUMNS`` without ``file_id``. Raises QuarantineError (possibly before
    the first row) when the file as a whole cannot be used.
    """
    if kind not in COLUMNS_BY_KIND:
        raise ValueError(f"unknown France Travail file kind {kind!r}")
    layout = _Layout(kind)
    categories = job_seeker_categories()
    lines = iter_lines(path)
    _check_header(path, lines, layout)
    for line_number, text in lines:
        if not text.strip():
            continue  # a blank line carries nothing
        try:
            yield RawRow(RECORD_TABLE, _record_values(line_number, text, layout, categories))
        except _Reject as reject:
            yield RawRow(REJECT_TABLE, (line_number, reject.reason_code, reject.detail, text))


def _check_header(path: Path | BinaryIO, lines: Iterator[tuple[int, str]], layout: _Layout) -> None:
    """Consume the header (the first non-blank line) or quarantine the file."""
    for line_number, text in lines:
        if not text.strip():
            continue
        problem = first_header_problem(text.split(";"), layout.columns)
        if problem:
            raise quarantine(path, line_number, f"{problem} for a France Travail {layout.kind} file")
        return
    raise quarantine(path, 1, "empty file: a header line is expected")


def _record_values(line_number: int, text: str, layout: _Layout, categories: frozenset[str]) -> tuple:
    """The france_travail_record values of one line, or _Reject."""
    fields = text.split(";")
    if len(fields) != len(layout.columns):
        raise _Reject("COLUMN_COUNT", f"{len(layout.columns)} columns expected, {len(fields)} found")
    index = layout.index
    _check_lengths(fields, layout)
    nir = fields[index["nir"]].strip()
    _check_nir(nir, fields[index["nir2"]].strip())
    identifiantpe = fields[index["identifiantpe"]].strip()
    _check_identifiantpe(identifiantpe)
    dtnai = _parse_date("dtnai", fields[index["dtnai"]])
    date_evenement = _parse_date("date", fields[index["date"]])
    code = _check_code(fields[index["code"]].strip(), categories)

    def optional(name: str) -> str | None:
        return fields[index[name]].strip() or None

    return (
        line_number, layout.kind, nir, identifiantpe, optional("nom"), optional("prenom"), dtnai,
        date_evenement, code, optional("motif") if layout.has_motif else None,
        optional("codeinsee"), optional("localite"), optional("adresse"), optional("ale"),
    )


def _check_lengths(fields: list[str], layout: _Layout) -> None:
    # Lengths only in the details: the values may be names or addresses.
    for name, limit in MAX_CHARS.items():
        position = layout.index.get(name)
        if position is not None and len(fields[position].strip()) > limit:
            raise _Reject("FIELD_TOO_LONG", f"column {name} has {len(fields[position].strip())} characters, "
                                            f"at most {limit} allowed")


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


def _check_code(code: str, categories: frozenset[str]) -> str:
    """The category as the seed writes it: upper case, a single digit without its leading zero."""
    normalised = code.upper()
    if len(normalised) == 2 and normalised[0] == "0" and normalised[1].isdigit():
        normalised = normalised[1]
    if normalised in categories:
        return normalised
    if not code:
        raise _Reject("CODE_MISSING", "code is empty")
    shown = repr(code) if _QUOTABLE_CODE.fullmatch(code) else f"a value of {len(code)} characters"
    listed = ", ".join(sorted(categories, key=lambda c: (not c.isdigit(), c)))
    raise _Reject("CODE_MISSING", f"code: {shown} is not a France Travail category ({listed})")
