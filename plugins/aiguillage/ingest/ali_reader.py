"""ALI activity reports (agency → Département) into raw rows.

Contract: docs/data-contracts.md §4. ``;``-separated, header line, dates YYYY-MM-DD, UTF-8 (BOM
tolerated; ISO-8859-1 accepted too, see :mod:`aiguillage.ingest.text_files`). A spreadsheet may have
saved it, so fields may be quoted (``"ALI05";"2026-11-26";...``); each physical line is one report
line (a line break inside a quoted field is not supported: it makes two malformed lines).

Each line becomes an ``ali_report_line`` or an ``ali_report_reject``; the others still load. Checks,
first failing one wins:

1. SCHEMA: column count; then FIELD_TOO_LONG: a value longer than its column allows
   (:data:`MAX_CHARS`); then SCHEMA: required fields present, quoting, dates YYYY-MM-DD,
   referent_email shape;
2. STRUCTURE_MISMATCH: code_structure is not the agency folder the file was dropped in;
3. UNKNOWN_EVENT, then UNKNOWN_MOTIF (motif required for SORTIE and REORIENTATION_DEMANDEE, empty
   otherwise);
4. DATE_INCOHERENT: date_evenement after `today` or after date_rapport;
5. DUPLICATE_EVENT: (id_orientation, evenement, date_evenement) already accepted earlier in the file.

Whether the referral exists and is held by this agency needs the warehouse: checked downstream.
Codes (code_structure, evenement, motif) are read case-insensitively and stored upper-case.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

from aiguillage.ingest.raw_tables import RawRow
from aiguillage.ingest.text_files import first_header_problem, iter_lines, quarantine

__all__ = ["ALI_COLUMNS", "EVENT_MOTIFS", "MAX_CHARS", "read_ali_report"]

LINE_TABLE = "ali_report_line"
REJECT_TABLE = "ali_report_reject"

ALI_COLUMNS = (
    "code_structure", "date_rapport", "id_orientation", "evenement", "date_evenement", "motif",
    "referent_nom", "referent_email",
)
_REQUIRED = ("code_structure", "date_rapport", "id_orientation", "evenement", "date_evenement")

# Longest value of each column (characters, once trimmed; data contract §4). A longer value rejects
# the line (FIELD_TOO_LONG): it is no report value, and it must not reach the warehouse.
MAX_CHARS: dict[str, int] = {
    "code_structure": 10,
    "date_rapport": 10,
    "id_orientation": 64,
    "evenement": 40,
    "date_evenement": 10,
    "motif": 40,
    "referent_nom": 200,
    "referent_email": 254,  # the longest address SMTP carries
}

# Allowed motifs per event; an empty set means the motif must be empty.
EVENT_MOTIFS: dict[str, frozenset[str]] = {
    "PRISE_EN_CHARGE": frozenset(),
    "RDV_HONORE": frozenset(),
    "RDV_NON_HONORE": frozenset(),
    "CONTRAT_SIGNE": frozenset(),
    "REORIENTATION_DEMANDEE": frozenset({"PARCOURS_SOCIAL", "PARCOURS_EMPLOI"}),
    "SORTIE": frozenset({"EMPLOI", "FORMATION", "DEMENAGEMENT", "FIN_DE_DROITS", "ABANDON", "AUTRE"}),
}

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_EMAIL = re.compile(r"[^@\s;]+@[^@\s;.]+(?:\.[^@\s;.]+)+")
# Values quoted in a detail only when they look like codes or dates, never free text.
_QUOTABLE_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_QUOTABLE_DATE = re.compile(r"[0-9/.\- ]{1,12}")


class _Reject(Exception):
    def __init__(self, reason_code: str, detail: str) -> None:
        super().__init__(reason_code, detail)
        self.reason_code = reason_code
        self.detail = detail


class _ReportChecks:
    """The line rules of one file: its agency, its day, and the events already accepted."""

    def __init__(self, agency_code: str, today: date) -> None:
        self.agency_code = agency_code.strip().upper()
        self.today = today
        # line of each accepted (id_orientation, evenement, date_evenement): a report is small
        self.accepted: dict[tuple[str, str, date], int] = {}

    def line_values(self, line_number: int, fields: list[str]) -> tuple:
        """The ali_report_line values of one line, or _Reject."""
        value, date_rapport, date_evenement = _schema_checked(fields)
        code_structure = value["code_structure"].upper()
        if code_structure != self.agency_code:
            raise _Reject("STRUCTURE_MISMATCH", f"code_structure {_shown(value['code_structure'])} differs "
                                                f"from the agency folder {self.agency_code}")
        evenement = _check_event(value["evenement"])
        motif = _check_motif(evenement, value["motif"])
        self._check_dates(date_evenement, date_rapport)
        key = (value["id_orientation"], evenement, date_evenement)
        if key in self.accepted:
            raise _Reject("DUPLICATE_EVENT", f"same id_orientation, evenement and date_evenement "
                                             f"as line {self.accepted[key]}")
        self.accepted[key] = line_number
        return (
            line_number, code_structure, date_rapport, value["id_orientation"], evenement, date_evenement,
            motif, value["referent_nom"] or None, value["referent_email"] or None,
        )

    def _check_dates(self, date_evenement: date, date_rapport: date) -> None:
        if date_evenement > self.today:
            raise _Reject("DATE_INCOHERENT", f"date_evenement {date_evenement} is in the future "
                                             f"(today is {self.today})")
        if date_evenement > date_rapport:
            raise _Reject("DATE_INCOHERENT", f"date_evenement {date_evenement} is after "
                                             f"date_rapport {date_rapport}")


def read_ali_report(path: Path | BinaryIO, agency_code: str, today: date) -> Iterator[RawRow]:
    """Rows of one ALI activity report dropped in the folder `agency_code` (e.g. ``ALI05``).
    ``path``: the file, or a binary stream opened on it (see :mod:`aiguillage.ingest.text_files`).

    Yields ``RawRow("ali_report_line", values)`` for good lines and
    ``RawRow("ali_report_reject", (line_number, reason_code, detail, raw_line))`` for bad ones;
    values follow ``raw_tables.COLUMNS`` without ``file_id``. `today` bounds date_evenement.
    Raises QuarantineError when the file as a whole cannot be used.
    """
    checks = _ReportChecks(agency_code, today)
    lines = iter_lines(path)
    _check_header(path, lines)
    for line_number, text in lines:
        try:
            fields = _split(text)
            if all(not field.strip() for field in fields):
                continue  # blank line, or a spreadsheet's empty row (";;;;;;;")
            yield RawRow(LINE_TABLE, checks.line_values(line_number, fields))
        except _Reject as reject:
            yield RawRow(REJECT_TABLE, (line_number, reject.reason_code, reject.detail, text))


def _schema_checked(fields: list[str]) -> tuple[dict[str, str], date, date]:
    """Stripped values by column, date_rapport and date_evenement, or a SCHEMA _Reject."""
    if len(fields) != len(ALI_COLUMNS):
        raise _Reject("SCHEMA", f"{len(ALI_COLUMNS)} columns expected, {len(fields)} found")
    value = dict(zip(ALI_COLUMNS, (field.strip() for field in fields), strict=True))
    for name in ALI_COLUMNS:
        if len(value[name]) > MAX_CHARS[name]:
            raise _Reject("FIELD_TOO_LONG", f"column {name} has {len(value[name])} characters, "
                                            f"at most {MAX_CHARS[name]} allowed")
    for name in _REQUIRED:
        if not value[name]:
            raise _Reject("SCHEMA", f"required column {name} is empty")
    date_rapport = _parse_date("date_rapport", value["date_rapport"])
    date_evenement = _parse_date("date_evenement", value["date_evenement"])
    if value["referent_email"] and not _EMAIL.fullmatch(value["referent_email"]):
        raise _Reject("SCHEMA", "column referent_email is not an e-mail address")
    return value, date_rapport, date_evenement


def _check_header(path: Path | BinaryIO, lines: Iterator[tuple[int, str]]) -> None:
    """Consume the header (the first non-blank line) or quarantine the file."""
    for line_number, text in lines:
        if not text.strip():
            continue
        try:
            problem = first_header_problem(_split(text), ALI_COLUMNS)
        except _Reject as reject:
            problem = f"header: {reject.detail}"
        if problem:
            raise quarantine(path, line_number, f"{problem} for an ALI activity report")
        return
    raise quarantine(path, 1, "empty file: a header line is expected")


def _split(text: str) -> list[str]:
    """Fields of one line; the csv module only when quotes are present (the common case is plain)."""
    if '"' not in text:
        return text.split(";")
    try:
        return next(csv.reader([text], delimiter=";", strict=True))
    except csv.Error as error:
        raise _Reject("SCHEMA", f"malformed quoting: {error}") from None


def _parse_date(column: str, value: str) -> date:
    found = _ISO_DATE.fullmatch(value)
    if found:
        year, month, day = found.groups()
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            pass
    shown = repr(value) if _QUOTABLE_DATE.fullmatch(value) else f"a value of {len(value)} characters"
    raise _Reject("SCHEMA", f"column {column}: {shown} is not a YYYY-MM-DD date")


def _check_event(raw: str) -> str:
    evenement = raw.upper()
    if evenement not in EVENT_MOTIFS:
        raise _Reject("UNKNOWN_EVENT", f"evenement {_shown(raw)} is not one of {', '.join(EVENT_MOTIFS)}")
    return evenement


def _check_motif(evenement: str, raw: str) -> str | None:
    """The motif as stored (upper-case, None when empty), if allowed for `evenement`."""
    allowed = EVENT_MOTIFS[evenement]
    motif = raw.upper() or None
    if not allowed:
        if motif is not None:
            raise _Reject("UNKNOWN_MOTIF", f"motif must be empty for {evenement}")
        return None
    if motif is None:
        raise _Reject("UNKNOWN_MOTIF", f"motif is required for {evenement} ({', '.join(sorted(allowed))})")
    if motif not in allowed:
        raise _Reject("UNKNOWN_MOTIF", f"motif {_shown(raw)} is not allowed for {evenement} "
                                       f"({', '.join(sorted(allowed))})")
    return motif


def _shown(value: str) -> str:
    """A code as quoted in a detail, or just its length when it does not look like a code."""
    return repr(value) if _QUOTABLE_CODE.fullmatch(value) else f"(a value of {len(value)} characters)"
