"""ALI activity reports (agency → Département) into raw rows.

Contract: docs/data-contracts.md §4. ``;``-separated, header line, dates YYYY-MM-DD, UTF-8 (BOM
tolerated; ISO-8859-1 accepted too, see :mod:`aiguillage.ingest.text_files`); fields may be quoted
as a spreadsheet saves them (:mod:`aiguillage.ingest.csv_fields`).

Each line becomes an ``ali_report_line`` or an ``ali_report_reject``; the others still load. Checks,
first failing one wins:

1. SCHEMA: column count; then FIELD_TOO_LONG: a value longer than its column allows
   (:data:`MAX_CHARS`); then SCHEMA: required fields present, quoting, dates YYYY-MM-DD,
   referent_email shape;
2. STRUCTURE_MISMATCH: code_structure is not the agency folder the file was dropped in;
3. UNKNOWN_EVENT, then UNKNOWN_MOTIF: the events and their motifs are the warehouse's seeds
   ``codes_evenement_ali`` and ``codes_motif_ali`` (:func:`event_motifs`), read here so that the
   lists live in one place; a motif is required where the seed says ``exige_motif`` (SORTIE,
   REORIENTATION_DEMANDEE, CONTRAT_REFUSE), empty otherwise;
4. DATE_INCOHERENT: date_evenement after `today` or after date_rapport;
5. DUPLICATE_EVENT: (id_orientation, evenement, date_evenement) already accepted earlier in the file.

Whether the referral exists and is held by this agency needs the warehouse: checked downstream.
Codes (code_structure, evenement, motif) are read case-insensitively and stored upper-case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import BinaryIO

from aiguillage.ingest.csv_fields import (
    LineReject,
    check_lengths,
    consume_header,
    iso_date,
    seed_rows,
    shown_code,
    split_fields,
)
from aiguillage.ingest.raw_tables import RawRow
from aiguillage.ingest.text_files import iter_lines

__all__ = ["ALI_COLUMNS", "MAX_CHARS", "event_motifs", "read_ali_report"]

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

_EMAIL = re.compile(r"[^@\s;]+@[^@\s;.]+(?:\.[^@\s;.]+)+")


def event_motifs() -> dict[str, frozenset[str]]:
    """Allowed motifs per event code, from the seeds ``codes_evenement_ali`` and ``codes_motif_ali``;
    an empty set means the motif must be empty. Raises RuntimeError when the seeds cannot be read or
    disagree (an event requiring a motif with none listed, or motifs listed for an event without)."""
    try:
        requires = {row["code"].upper(): row["exige_motif"].lower() == "true"
                    for row in seed_rows("codes_evenement_ali") if row["code"]}
        motifs: dict[str, set[str]] = {}
        for row in seed_rows("codes_motif_ali"):
            if row["code"]:
                motifs.setdefault(row["evenement"].upper(), set()).add(row["code"].upper())
    except KeyError as error:
        raise RuntimeError(f"the ALI event or motif seed has no column {error}") from None
    if not requires:
        raise RuntimeError("the ALI event seed codes_evenement_ali lists no event")
    disagreeing = sorted(event for event in requires.keys() | motifs.keys()
                         if requires.get(event) is not bool(motifs.get(event)))
    if disagreeing:
        raise RuntimeError(f"the ALI event and motif seeds disagree on {', '.join(disagreeing)}: an event "
                           f"requires a motif (exige_motif) exactly when codes_motif_ali lists motifs for it")
    return {event: frozenset(motifs.get(event, ())) for event in requires}


class _ReportChecks:
    """The line rules of one file: its agency, its day, its event list, and the events already accepted."""

    def __init__(self, agency_code: str, today: date) -> None:
        self.agency_code = agency_code.strip().upper()
        self.today = today
        self.event_motifs = event_motifs()
        # line of each accepted (id_orientation, evenement, date_evenement): a report is small
        self.accepted: dict[tuple[str, str, date], int] = {}

    def line_values(self, line_number: int, fields: list[str]) -> tuple:
        """The ali_report_line values of one line, or LineReject."""
        value, date_rapport, date_evenement = _schema_checked(fields)
        code_structure = value["code_structure"].upper()
        if code_structure != self.agency_code:
            raise LineReject("STRUCTURE_MISMATCH", f"code_structure {shown_code(value['code_structure'])} differs "
                                                   f"from the agency folder {self.agency_code}")
        evenement = _check_event(self.event_motifs, value["evenement"])
        motif = _check_motif(self.event_motifs[evenement], evenement, value["motif"])
        self._check_dates(date_evenement, date_rapport)
        key = (value["id_orientation"], evenement, date_evenement)
        if key in self.accepted:
            raise LineReject("DUPLICATE_EVENT", f"same id_orientation, evenement and date_evenement "
                                                f"as line {self.accepted[key]}")
        self.accepted[key] = line_number
        return (
            line_number, code_structure, date_rapport, value["id_orientation"], evenement, date_evenement,
            motif, value["referent_nom"] or None, value["referent_email"] or None,
        )

    def _check_dates(self, date_evenement: date, date_rapport: date) -> None:
        if date_evenement > self.today:
            raise LineReject("DATE_INCOHERENT", f"date_evenement {date_evenement} is in the future "
                                                f"(today is {self.today})")
        if date_evenement > date_rapport:
            raise LineReject("DATE_INCOHERENT", f"date_evenement {date_evenement} is after "
                                                f"date_rapport {date_rapport}")


def read_ali_report(path: Path | BinaryIO, agency_code: str, today: date) -> Iterator[RawRow]:
    """Rows of one ALI activity report dropped in the folder `agency_code` (e.g. ``ALI05``).
    ``path``: the file, or a binary stream opened on it (see :mod:`aiguillage.ingest.text_files`).

    Yields ``RawRow("ali_report_line", values)`` for good lines and
    ``RawRow("ali_report_reject", (line_number, reason_code, detail, raw_line))`` for bad ones;
    values follow ``raw_tables.COLUMNS`` without ``file_id``. `today` bounds date_evenement.
    Raises QuarantineError when the file as a whole cannot be used, RuntimeError when the event
    seeds cannot be read.
    """
    checks = _ReportChecks(agency_code, today)
    lines = iter_lines(path)
    consume_header(path, lines, ALI_COLUMNS, "an ALI activity report")
    for line_number, text in lines:
        try:
            fields = split_fields(text)
            if all(not field.strip() for field in fields):
                continue  # blank line, or a spreadsheet's empty row (";;;;;;;")
            yield RawRow(LINE_TABLE, checks.line_values(line_number, fields))
        except LineReject as reject:
            yield RawRow(REJECT_TABLE, (line_number, reject.reason_code, reject.detail, text))


def _schema_checked(fields: list[str]) -> tuple[dict[str, str], date, date]:
    """Stripped values by column, date_rapport and date_evenement, or a SCHEMA LineReject."""
    if len(fields) != len(ALI_COLUMNS):
        raise LineReject("SCHEMA", f"{len(ALI_COLUMNS)} columns expected, {len(fields)} found")
    value = dict(zip(ALI_COLUMNS, (field.strip() for field in fields), strict=True))
    check_lengths(value, MAX_CHARS)
    for name in _REQUIRED:
        if not value[name]:
            raise LineReject("SCHEMA", f"required column {name} is empty")
    date_rapport = iso_date("date_rapport", value["date_rapport"])
    date_evenement = iso_date("date_evenement", value["date_evenement"])
    if value["referent_email"] and not _EMAIL.fullmatch(value["referent_email"]):
        raise LineReject("SCHEMA", "column referent_email is not an e-mail address")
    return value, date_rapport, date_evenement


def _check_event(known: dict[str, frozenset[str]], raw: str) -> str:
    evenement = raw.upper()
    if evenement not in known:
        raise LineReject("UNKNOWN_EVENT", f"evenement {shown_code(raw)} is not one of {', '.join(known)}")
    return evenement


def _check_motif(allowed: frozenset[str], evenement: str, raw: str) -> str | None:
    """The motif as stored (upper-case, None when empty), if in `allowed` for `evenement`."""
    motif = raw.upper() or None
    if not allowed:
        if motif is not None:
            raise LineReject("UNKNOWN_MOTIF", f"motif must be empty for {evenement}")
        return None
    if motif is None:
        raise LineReject("UNKNOWN_MOTIF", f"motif is required for {evenement} ({', '.join(sorted(allowed))})")
    if motif not in allowed:
        raise LineReject("UNKNOWN_MOTIF", f"motif {shown_code(raw)} is not allowed for {evenement} "
                                          f"({', '.join(sorted(allowed))})")
    return motif
