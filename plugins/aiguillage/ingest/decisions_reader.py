"""The orientation team's decisions (Département → Aiguillage) into raw rows.

Contract: docs/data-contracts.md §6. ``<landing>/departement/decisions_<YYYYMMDD>.csv``, ``;``-separated,
a header line, UTF-8 (a BOM is tolerated; ISO-8859-1 accepted too, see
:mod:`aiguillage.ingest.text_files`), fields quoted as a spreadsheet saves them
(:mod:`aiguillage.ingest.csv_fields`). Columns are found by their header's names, in any order:

- required: :data:`DECISION_COLUMNS`; optional: :data:`OPTIONAL_COLUMNS`;
- the morning list's own columns (:data:`LIST_COLUMNS`) may stay in the file, so that the list itself,
  filled in, can be sent back: their values are never read nor stored;
- any other column, a column twice or a required one missing quarantines the file (a misspelt column
  must not silently drop the team's decisions).

A line whose decision and decision columns are all empty is skipped: a proposal of the returned list
the team has not decided yet (it keeps waiting). Every other line becomes a ``departement_decision`` or
a ``departement_decision_reject``; the others still load. Checks, first failing one wins:

1. SCHEMA: column count; FIELD_TOO_LONG: a value longer than its column allows (:data:`MAX_CHARS`);
   SCHEMA: required values present, dates (YYYY-MM-DD, or DD/MM/YYYY as a French spreadsheet writes
   them), delai_revision_mois 6 or 12, parcours and code_structure empty unless MODIFIEE, at least one
   of them for MODIFIEE;
2. UNKNOWN_PROPOSAL: not the shape of an id_proposition (``PR`` and 16 hexadecimal digits);
3. UNKNOWN_DECISION: not VALIDEE, REFUSEE or MODIFIEE;
4. UNKNOWN_ROLE: decide_par is not a role of the seed ``codes_decideur`` that a person holds (a role
   code, never a name; POLITIQUE_AUTOMATIQUE is the pipeline's own);
5. UNKNOWN_PARCOURS, UNKNOWN_DESTINATION: not in the seeds ``codes_parcours`` and ``destinations``,
   or a destination of another parcours than the one given;
6. UNKNOWN_MOTIF: motif not in the seed ``codes_motif_decision``;
7. DATE_INCOHERENT: date_decision or date_notification after `today`, or notified before decided;
8. DUPLICATE_DECISION: the same id_proposition decided earlier in the file.

Whether the proposal exists, still waits for a decision and the destination is active needs the
warehouse: checked there (``int_orientations__decisions_checked``: UNKNOWN_PROPOSAL, ALREADY_DECIDED,
PROPOSAL_OBSOLETE, DATE_INCOHERENT, DESTINATION_INACTIVE). Codes are read case-insensitively and stored
upper-case. Details name columns and codes, never a value that could be personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

from aiguillage.ingest.csv_fields import LineReject, check_lengths, seed_rows, shown_code, split_fields
from aiguillage.ingest.raw_tables import RawRow
from aiguillage.ingest.text_files import iter_lines, quarantine

__all__ = ["DECISIONS", "DECISION_COLUMNS", "LIST_COLUMNS", "MAX_CHARS", "OPTIONAL_COLUMNS", "read_decisions"]

LINE_TABLE = "departement_decision"
REJECT_TABLE = "departement_decision_reject"

DECISIONS = ("VALIDEE", "REFUSEE", "MODIFIEE")
DECISION_COLUMNS = (
    "id_proposition", "decision", "parcours", "code_structure", "date_decision", "date_notification", "decide_par",
)
OPTIONAL_COLUMNS = ("motif", "delai_revision_mois")
# The columns of the morning list of proposals waiting for a decision (extracts.waiting_proposals), before
# the decision columns: what the team reads to decide. Tolerated in a returned list, never read.
LIST_COLUMNS = (
    "date_proposition", "jours_attente", "numero_caf", "role", "code_commune", "commune", "code_territoire",
    "origine", "parcours_propose", "libelle_parcours_propose", "code_structure_proposee", "structure_proposee",
    "code_regle", "motif_proposition", "parcours_actuel", "structure_actuelle", "date_limite_orientation",
)

# Longest value of each read column (characters, once trimmed).
MAX_CHARS: dict[str, int] = {
    "id_proposition": 18,
    "decision": 10,
    "parcours": 10,
    "code_structure": 12,
    "date_decision": 10,
    "date_notification": 10,
    "decide_par": 40,
    "motif": 40,
    "delai_revision_mois": 2,
}

# The pipeline's own role: the automatic-validation policy of a rule. No file may claim it.
AUTOMATIC_ROLE = "POLITIQUE_AUTOMATIQUE"

_PROPOSAL_ID = re.compile(r"PR[0-9A-F]{16}")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FRENCH_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_QUOTABLE_DATE = re.compile(r"[0-9/.\- ]{1,12}")


class _Codes:
    """The code lists a decision line is checked against, read once per file from the seeds."""

    def __init__(self) -> None:
        self.roles = frozenset(row["code"].upper() for row in seed_rows("codes_decideur")
                               if row["code"].upper() != AUTOMATIC_ROLE)
        self.parcours = frozenset(row["code"].upper() for row in seed_rows("codes_parcours"))
        self.destinations = {row["code_structure"].upper(): row["parcours"].upper()
                             for row in seed_rows("destinations")}
        self.motifs = frozenset(row["code"].upper() for row in seed_rows("codes_motif_decision"))


class _Layout:
    """Where each read column sits in the file's lines, from its header."""

    def __init__(self, path, line_number: int, names: list[str]) -> None:
        self.width = len(names)
        self.index: dict[str, int] = {}
        seen: set[str] = set()
        for position, raw_name in enumerate(names):
            name = raw_name.strip().lower()
            if name in seen and (name in self.index or name in LIST_COLUMNS):
                raise quarantine(path, line_number, f"header: column {name!r} appears twice")
            seen.add(name)
            if name in DECISION_COLUMNS or name in OPTIONAL_COLUMNS:
                self.index[name] = position
            elif name not in LIST_COLUMNS:
                shown = repr(name) if re.fullmatch(r"[a-z_]{1,40}", name) else f"column {position + 1}"
                raise quarantine(path, line_number, f"header: {shown} is not a column of a decisions file"
                                                    f" (expected {';'.join(DECISION_COLUMNS + OPTIONAL_COLUMNS)})")
        missing = [name for name in DECISION_COLUMNS if name not in self.index]
        if missing:
            raise quarantine(path, line_number, f"header: required column(s) {', '.join(missing)} missing"
                                                f" (expected {';'.join(DECISION_COLUMNS + OPTIONAL_COLUMNS)})")

    def values(self, fields: list[str]) -> dict[str, str]:
        if len(fields) != self.width:
            raise LineReject("SCHEMA", f"{self.width} columns expected (as in the header), {len(fields)} found")
        value = {name: fields[position].strip() for name, position in self.index.items()}
        for name in OPTIONAL_COLUMNS:
            value.setdefault(name, "")
        return value


class _DecisionChecks:
    """The line rules of one file: its day, the code lists and the proposals already decided in it."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.codes = _Codes()
        self.accepted: dict[str, int] = {}  # line of each id_proposition decided earlier in the file

    def line_values(self, line_number: int, value: dict[str, str]) -> tuple:
        check_lengths(value, MAX_CHARS)
        decision = value["decision"].upper()
        for name in ("id_proposition", "decision", "date_decision", "date_notification", "decide_par"):
            if not value[name]:
                raise LineReject("SCHEMA", f"required column {name} is empty")
        date_decision = _date("date_decision", value["date_decision"])
        date_notification = _date("date_notification", value["date_notification"])
        delai = _delai(value["delai_revision_mois"])
        parcours, structure = value["parcours"].upper() or None, value["code_structure"].upper() or None
        if decision in ("VALIDEE", "REFUSEE") and (parcours or structure):
            raise LineReject("SCHEMA", f"parcours and code_structure must be empty for {decision}"
                                       " (MODIFIEE changes them)")
        if decision == "MODIFIEE" and not (parcours or structure):
            raise LineReject("SCHEMA", "MODIFIEE needs the parcours or the code_structure decided")
        id_proposition = value["id_proposition"].upper()
        if not _PROPOSAL_ID.fullmatch(id_proposition):
            raise LineReject("UNKNOWN_PROPOSAL", "id_proposition is not the id of a proposal "
                                                 "(PR and 16 hexadecimal digits, as in the list)")
        if decision not in DECISIONS:
            raise LineReject("UNKNOWN_DECISION", f"decision {shown_code(decision)} is not one of {', '.join(DECISIONS)}")
        decide_par = value["decide_par"].upper()
        if decide_par not in self.codes.roles:
            raise LineReject("UNKNOWN_ROLE", f"decide_par {shown_code(decide_par)} is not a role code of the seed"
                                             " codes_decideur (a role, never a name)")
        self._check_destination(parcours, structure)
        motif = value["motif"].upper() or None
        if motif is not None and motif not in self.codes.motifs:
            raise LineReject("UNKNOWN_MOTIF", f"motif {shown_code(motif)} is not a code of the seed codes_motif_decision")
        self._check_dates(date_decision, date_notification)
        if id_proposition in self.accepted:
            raise LineReject("DUPLICATE_DECISION", f"id_proposition already decided at line {self.accepted[id_proposition]}")
        self.accepted[id_proposition] = line_number
        return (line_number, id_proposition, decision, parcours, structure, date_decision, date_notification,
                decide_par, motif, delai)

    def _check_destination(self, parcours: str | None, structure: str | None) -> None:
        if parcours is not None and parcours not in self.codes.parcours:
            raise LineReject("UNKNOWN_PARCOURS", f"parcours {shown_code(parcours)} is not one of "
                                                 f"{', '.join(sorted(self.codes.parcours))}")
        if structure is None:
            return
        if structure not in self.codes.destinations:
            raise LineReject("UNKNOWN_DESTINATION", f"code_structure {shown_code(structure)} is not a destination"
                                                    " of the seed destinations")
        if parcours is not None and self.codes.destinations[structure] != parcours:
            raise LineReject("UNKNOWN_DESTINATION", f"code_structure {structure} is a destination of parcours "
                                                    f"{self.codes.destinations[structure]}, not {parcours}")

    def _check_dates(self, date_decision: date, date_notification: date) -> None:
        for column, when in (("date_decision", date_decision), ("date_notification", date_notification)):
            if when > self.today:
                raise LineReject("DATE_INCOHERENT", f"{column} {when} is in the future (today is {self.today})")
        if date_notification < date_decision:
            raise LineReject("DATE_INCOHERENT", f"date_notification {date_notification} is before "
                                                f"date_decision {date_decision}")


def read_decisions(path: Path | BinaryIO, today: date) -> Iterator[RawRow]:
    """Rows of one decisions file. ``path``: the file, or a binary stream opened on it. ``today``
    (the run's day) bounds the dates, so that a rerun judges them the same way.

    Yields ``RawRow("departement_decision", values)`` for good lines and
    ``RawRow("departement_decision_reject", (line_number, reason_code, detail, raw_line))`` for bad
    ones; values follow ``raw_tables.COLUMNS`` without ``file_id``. Raises QuarantineError when the
    file as a whole cannot be used (no header, a header that is not a decisions file's).
    """
    checks = _DecisionChecks(today)
    lines = iter_lines(path)
    layout = _header(path, lines)
    for line_number, text in lines:
        try:
            fields = split_fields(text)
            if all(not field.strip() for field in fields):
                continue  # blank line, or a spreadsheet's empty row
            value = layout.values(fields)
            if not any(value[name] for name in DECISION_COLUMNS + OPTIONAL_COLUMNS if name != "id_proposition"):
                continue  # a proposal of the returned list not decided yet: it keeps waiting
            yield RawRow(LINE_TABLE, checks.line_values(line_number, value))
        except LineReject as reject:
            yield RawRow(REJECT_TABLE, (line_number, reject.reason_code, reject.detail, text))


def _header(path, lines: Iterator[tuple[int, str]]) -> _Layout:
    """Read the header (the first non-blank line) into the file's layout, or quarantine the file."""
    for line_number, text in lines:
        if not text.strip():
            continue
        try:
            return _Layout(path, line_number, split_fields(text))
        except LineReject as reject:
            raise quarantine(path, line_number, f"header: {reject.detail} for a decisions file") from None
    raise quarantine(path, 1, "empty file: a header line is expected")


def _date(column: str, value: str) -> date:
    """YYYY-MM-DD, or DD/MM/YYYY as a French spreadsheet saves a date; else a SCHEMA reject."""
    found = _ISO_DATE.fullmatch(value)
    parts = found.groups() if found else None
    if parts is None and (french := _FRENCH_DATE.fullmatch(value)):
        day, month, year = french.groups()
        parts = (year, month, day)
    if parts is not None:
        try:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            pass
    shown = repr(value) if _QUOTABLE_DATE.fullmatch(value) else f"a value of {len(value)} characters"
    raise LineReject("SCHEMA", f"column {column}: {shown} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _delai(value: str) -> int | None:
    if not value:
        return None
    if value not in ("6", "12"):
        raise LineReject("SCHEMA", "column delai_revision_mois must be empty, 6 or 12")
    return int(value)
