"""The Département's suspension-remobilisation steps file: accepted steps, each line rule and its
reject code, the code lists read from the seeds, quarantine of a file that is not one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aiguillage.ingest.raw_tables import COLUMNS, REJECT_REASONS, REJECT_TABLES, QuarantineError
from aiguillage.ingest.remobilisation_reader import MAX_CHARS, read_remobilisation_steps, step_codes

HEADER = "id_remobilisation;etape;date_etape;decision"
TODAY = date(2026, 11, 26)
CASE = "0123456789abcdef0123456789abcdef"
OTHER_CASE = "fedcba9876543210fedcba9876543210"


def write(folder: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    directory = folder / "departement"
    directory.mkdir(exist_ok=True)
    path = directory / "remobilisation_20261126.csv"
    path.write_bytes("".join(line + newline for line in lines).encode(encoding))
    return path


def read(path: Path, today: date = TODAY) -> list:
    return list(read_remobilisation_steps(path, today))


def test_each_step_of_a_procedure_is_read(tmp_path):
    lines = [HEADER, f"{CASE};OBSERVATIONS_INVITEES;2026-10-01;",
             f"{CASE.upper()};observations_recues;2026-10-12;",
             f'"{CASE}";"EP_CONSULTEE";"2026-11-05";""',
             f"{CASE};DECISION;2026-11-20;suspension",
             f"{OTHER_CASE};DECISION;2026-11-26;MAINTIEN"]
    rows = read(write(tmp_path, lines, "utf-8-sig", "\r\n"))
    assert [row.table for row in rows] == ["departement_remobilisation_step"] * 5
    assert [row.values for row in rows] == [
        (2, CASE, "OBSERVATIONS_INVITEES", date(2026, 10, 1), None),
        (3, CASE, "OBSERVATIONS_RECUES", date(2026, 10, 12), None),
        (4, CASE, "EP_CONSULTEE", date(2026, 11, 5), None),
        (5, CASE, "DECISION", date(2026, 11, 20), "SUSPENSION"),
        (6, OTHER_CASE, "DECISION", date(2026, 11, 26), "MAINTIEN")]
    assert all(len(row.values) == len(COLUMNS["departement_remobilisation_step"]) for row in rows)
    assert "departement_remobilisation_reject" in REJECT_TABLES


RULE_CASES = {
    "too few columns": (f"{CASE};DECISION;2026-11-20", "SCHEMA", "4 columns expected, 3 found"),
    "id missing": (";EP_CONSULTEE;2026-11-05;", "SCHEMA", "required column id_remobilisation is empty"),
    "id not a case id": ("ORI-000123;EP_CONSULTEE;2026-11-05;", "SCHEMA", "32 hexadecimal characters"),
    "id too long": ("a" * 65 + ";EP_CONSULTEE;2026-11-05;", "FIELD_TOO_LONG",
                    "column id_remobilisation has 65 characters, at most 64 allowed"),
    "a name in the step": (f"{CASE};{'X' * 41};2026-11-05;", "FIELD_TOO_LONG", "column etape has 41 characters"),
    "date French": (f"{CASE};EP_CONSULTEE;05/11/2026;", "SCHEMA",
                    "column date_etape: '05/11/2026' is not a YYYY-MM-DD date"),
    "unknown step": (f"{CASE};RELANCE;2026-11-05;", "UNKNOWN_STEP", "etape 'RELANCE' is not one of"),
    "decision missing": (f"{CASE};DECISION;2026-11-20;", "UNKNOWN_DECISION",
                         "decision is required for DECISION (MAINTIEN, SUSPENSION)"),
    "decision unknown": (f"{CASE};DECISION;2026-11-20;RADIATION", "UNKNOWN_DECISION",
                         "decision 'RADIATION' is not one of MAINTIEN, SUSPENSION"),
    "decision on another step": (f"{CASE};EP_CONSULTEE;2026-11-05;SUSPENSION", "UNKNOWN_DECISION",
                                 "decision must be empty for EP_CONSULTEE"),
    "step in the future": (f"{CASE};EP_CONSULTEE;2026-11-27;", "DATE_INCOHERENT",
                           "date_etape 2026-11-27 is in the future (today is 2026-11-26)"),
    "malformed quoting": (f'"{CASE};EP_CONSULTEE;2026-11-05;', "SCHEMA", "malformed quoting"),
}


@pytest.mark.parametrize(("line", "reason", "detail_part"), RULE_CASES.values(), ids=RULE_CASES.keys())
def test_each_line_rule_rejects_with_its_code(tmp_path, line, reason, detail_part):
    good = f"{OTHER_CASE};OBSERVATIONS_INVITEES;2026-11-02;"
    rows = read(write(tmp_path, [HEADER, line, good]))
    assert [row.table for row in rows] == ["departement_remobilisation_reject", "departement_remobilisation_step"]
    line_number, reason_code, detail, raw_line = rows[0].values
    assert (line_number, reason_code, raw_line) == (2, reason, line)
    assert reason_code in REJECT_REASONS
    assert detail_part in detail


def test_a_value_that_is_not_a_code_is_never_quoted(tmp_path):
    """A name typed in the wrong column is never repeated in a reject detail, only its length."""
    (row,) = read(write(tmp_path, [HEADER, f"{CASE};Mme Dupont;2026-11-05;"]))
    assert row.values[1:3] == ("UNKNOWN_STEP", "etape (a value of 10 characters) is not one of "
                                               "OBSERVATIONS_INVITEES, OBSERVATIONS_RECUES, EP_CONSULTEE, DECISION")


def test_the_same_step_twice_rejects_the_second(tmp_path):
    step = f"{CASE};EP_CONSULTEE;2026-11-05;"
    rows = read(write(tmp_path, [HEADER, step, f"{CASE};EP_CONSULTEE;2026-11-06;", step.upper()]))
    assert [row.table for row in rows] == ["departement_remobilisation_step"] * 2 + ["departement_remobilisation_reject"]
    assert rows[2].values[:3] == (4, "DUPLICATE_STEP", "same id_remobilisation, etape and date_etape as line 2")


def test_blank_lines_and_empty_spreadsheet_rows_are_skipped(tmp_path):
    rows = read(write(tmp_path, [HEADER, "", ";;;", f"{CASE};EP_CONSULTEE;2026-11-05;", '"";"";"";""']))
    assert [(row.table, row.values[0]) for row in rows] == [("departement_remobilisation_step", 4)]


@pytest.mark.parametrize(("lines", "message"), [
    ([], "empty file"),
    ([f"{CASE};EP_CONSULTEE;2026-11-05;"], "line 1: header column 1 should be .id_remobilisation."),
    (["id_remobilisation;etape;date;decision"], "header column 3 should be 'date_etape'"),
])
def test_a_file_that_is_not_a_steps_file_is_quarantined(tmp_path, lines, message):
    with pytest.raises(QuarantineError, match=message):
        read(write(tmp_path, lines))


def test_a_value_at_its_bound_is_accepted(tmp_path):
    assert MAX_CHARS["etape"] >= max(len(code) for code in step_codes()[0])
    (row,) = read(write(tmp_path, [HEADER, f"{CASE};DECISION;2026-11-20;{'SUSPENSION':<40}"]))
    assert row.table == "departement_remobilisation_step"


def test_the_step_and_decision_lists_are_the_seeds(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    (project / "seeds").mkdir(parents=True)
    (project / "seeds" / "codes_etape_remobilisation.csv").write_text(
        "code,rang,libelle,exige_decision\nDECISION,1,Décision,true\nRELANCE,2,Relance,false\n", encoding="utf-8")
    (project / "seeds" / "codes_decision_remobilisation.csv").write_text(
        "code,libelle,est_suspension\nSURSIS,Sursis,false\n", encoding="utf-8")
    monkeypatch.setenv("AIGUILLAGE_DBT_PROJECT_DIR", str(project))
    rows = read(write(tmp_path, [HEADER, f"{CASE};RELANCE;2026-11-05;", f"{CASE};DECISION;2026-11-20;SURSIS",
                                 f"{CASE};EP_CONSULTEE;2026-11-06;", f"{CASE};DECISION;2026-11-21;SUSPENSION"]))
    assert [row.values[1] if row.table.endswith("reject") else row.values[2] for row in rows] == [
        "RELANCE", "DECISION", "UNKNOWN_STEP", "UNKNOWN_DECISION"]


def test_seeds_that_cannot_be_read_stop_the_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGUILLAGE_DBT_PROJECT_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match="cannot read the seed"):
        read(write(tmp_path, [HEADER, f"{CASE};EP_CONSULTEE;2026-11-05;"]))
