"""The Département's suspension-remobilisation steps (Département → Aiguillage) into raw rows.

Contract: docs/data-contracts.md §4b. ``<landing>/departement/remobilisation_<YYYYMMDD>.csv``,
``;``-separated, header line, dates YYYY-MM-DD, UTF-8 (BOM tolerated; ISO-8859-1 accepted too, see
:mod:`aiguillage.ingest.text_files`); fields may be quoted (:mod:`aiguillage.ingest.csv_fields`).
One line per step of a case of the équipe pluridisciplinaire's list (``id_remobilisation``, as the
list gives it): the person invited to present observations, the observations received, the EP
consulted, the président's decision. The file records what the Département did; the pipeline
decides nothing from it.

Each line becomes a ``departement_remobilisation_step`` or a ``departement_remobilisation_reject``;
the others still load. Checks, first failing one wins:

1. SCHEMA: column count; then FIELD_TOO_LONG (:data:`MAX_CHARS`); then SCHEMA: required fields,
   quoting, id_remobilisation of 32 hexadecimal characters, date YYYY-MM-DD;
2. UNKNOWN_STEP, then UNKNOWN_DECISION: the steps and decisions are the warehouse's seeds
   ``codes_etape_remobilisation`` and ``codes_decision_remobilisation`` (:func:`step_codes`); a
   decision is required where the step's ``exige_decision`` says so (DECISION), empty otherwise;
3. DATE_INCOHERENT: date_etape after `today`;
4. DUPLICATE_STEP: (id_remobilisation, etape, date_etape) already accepted earlier in the file.

Whether the case exists, and the step does not precede its breach, needs the warehouse: checked
downstream (int_remobilisation__steps_checked: UNKNOWN_CASE, DATE_INCOHERENT). Codes are read
case-insensitively and stored upper-case, id_remobilisation lower-case.
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

__all__ = ["MAX_CHARS", "STEP_COLUMNS", "read_remobilisation_steps", "step_codes"]

LINE_TABLE = "departement_remobilisation_step"
REJECT_TABLE = "departement_remobilisation_reject"

STEP_COLUMNS = ("id_remobilisation", "etape", "date_etape", "decision")
_REQUIRED = ("id_remobilisation", "etape", "date_etape")

# Longest value of each column (characters, once trimmed; data contract §4b).
MAX_CHARS: dict[str, int] = {"id_remobilisation": 64, "etape": 40, "date_etape": 10, "decision": 40}

_CASE_ID = re.compile(r"[0-9a-fA-F]{32}")


def step_codes() -> tuple[dict[str, bool], frozenset[str]]:
    """(whether each step requires a decision, the decision codes), from the seeds
    ``codes_etape_remobilisation`` and ``codes_decision_remobilisation``. Raises RuntimeError when
    they cannot be read or list nothing."""
    try:
        steps = {row["code"].upper(): row["exige_decision"].lower() == "true"
                 for row in seed_rows("codes_etape_remobilisation") if row["code"]}
        decisions = frozenset(row["code"].upper() for row in seed_rows("codes_decision_remobilisation") if row["code"])
    except KeyError as error:
        raise RuntimeError(f"a suspension-remobilisation seed has no column {error}") from None
    if not steps or not decisions:
        raise RuntimeError("the seeds codes_etape_remobilisation and codes_decision_remobilisation must list "
                           "the steps and the decisions")
    return steps, decisions


class _StepChecks:
    """The line rules of one file: its day, the code lists, and the steps already accepted."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.steps, self.decisions = step_codes()
        self.accepted: dict[tuple[str, str, date], int] = {}

    def line_values(self, line_number: int, fields: list[str]) -> tuple:
        """The departement_remobilisation_step values of one line, or LineReject."""
        if len(fields) != len(STEP_COLUMNS):
            raise LineReject("SCHEMA", f"{len(STEP_COLUMNS)} columns expected, {len(fields)} found")
        value = dict(zip(STEP_COLUMNS, (field.strip() for field in fields), strict=True))
        check_lengths(value, MAX_CHARS)
        for name in _REQUIRED:
            if not value[name]:
                raise LineReject("SCHEMA", f"required column {name} is empty")
        if not _CASE_ID.fullmatch(value["id_remobilisation"]):
            raise LineReject("SCHEMA", "column id_remobilisation is not the 32 hexadecimal characters of a case "
                                       "of the list")
        date_etape = iso_date("date_etape", value["date_etape"])
        etape = value["etape"].upper()
        if etape not in self.steps:
            raise LineReject("UNKNOWN_STEP", f"etape {shown_code(value['etape'])} is not one of "
                                             f"{', '.join(self.steps)}")
        decision = self._decision(etape, value["decision"])
        if date_etape > self.today:
            raise LineReject("DATE_INCOHERENT", f"date_etape {date_etape} is in the future (today is {self.today})")
        case_id = value["id_remobilisation"].lower()
        key = (case_id, etape, date_etape)
        if key in self.accepted:
            raise LineReject("DUPLICATE_STEP", f"same id_remobilisation, etape and date_etape as line "
                                               f"{self.accepted[key]}")
        self.accepted[key] = line_number
        return line_number, case_id, etape, date_etape, decision

    def _decision(self, etape: str, raw: str) -> str | None:
        decision = raw.upper() or None
        if not self.steps[etape]:
            if decision is not None:
                raise LineReject("UNKNOWN_DECISION", f"decision must be empty for {etape}")
            return None
        if decision is None:
            raise LineReject("UNKNOWN_DECISION", f"decision is required for {etape} "
                                                 f"({', '.join(sorted(self.decisions))})")
        if decision not in self.decisions:
            raise LineReject("UNKNOWN_DECISION", f"decision {shown_code(raw)} is not one of "
                                                 f"{', '.join(sorted(self.decisions))}")
        return decision


def read_remobilisation_steps(path: Path | BinaryIO, today: date) -> Iterator[RawRow]:
    """Rows of one Département steps file; ``path``: the file, or a binary stream opened on it.

    Yields ``RawRow("departement_remobilisation_step", values)`` for good lines and
    ``RawRow("departement_remobilisation_reject", (line_number, reason_code, detail, raw_line))`` for
    bad ones; values follow ``raw_tables.COLUMNS`` without ``file_id``. `today` bounds date_etape.
    Raises QuarantineError when the file as a whole cannot be used, RuntimeError when the seeds
    cannot be read.
    """
    checks = _StepChecks(today)
    lines = iter_lines(path)
    consume_header(path, lines, STEP_COLUMNS, "a Département suspension-remobilisation file")
    for line_number, text in lines:
        try:
            fields = split_fields(text)
            if all(not field.strip() for field in fields):
                continue  # blank line, or a spreadsheet's empty row (";;;")
            yield RawRow(LINE_TABLE, checks.line_values(line_number, fields))
        except LineReject as reject:
            yield RawRow(REJECT_TABLE, (line_number, reject.reason_code, reject.detail, text))
