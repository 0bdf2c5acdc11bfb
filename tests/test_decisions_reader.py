"""The orientation team's decisions file: its place in the landing zone, the reader's line rules and
reject codes, the returned morning list it tolerates, quarantine, and the registry → loader → raw path."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aiguillage.ingest.decisions_reader import DECISION_COLUMNS, LIST_COLUMNS, read_decisions
from aiguillage.ingest.loader import load_pending
from aiguillage.ingest.raw_tables import COLUMNS, REJECT_REASONS, QuarantineError
from aiguillage.landing import layout
from aiguillage.landing.registry import scan_and_record
from aiguillage.pipeline_tasks import _reader_for

TODAY = date(2026, 11, 26)
HEADER = "id_proposition;decision;parcours;code_structure;date_decision;date_notification;decide_par;motif;" \
         "delai_revision_mois"
PROPOSAL = "PR0123456789ABCDEF"
GOOD = f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;ORIENTATION_ADAPTEE;"


def write(folder: Path, lines: list[str], encoding: str = "utf-8", name: str = "decisions_20261126.csv") -> Path:
    directory = folder / "departement"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes("".join(line + "\r\n" for line in lines).encode(encoding))
    return path


def read(path: Path, today: date = TODAY) -> list:
    return list(read_decisions(path, today))


def proposal(number: int) -> str:
    return f"PR{number:016X}"


def test_the_place_of_the_departements_files():
    assert layout.classify("departement/decisions_20261126.csv") == layout.Placement(
        "departement", "decisions", None, None)
    assert layout.classify("departement/DECISIONS_20261126.CSV").kind == "decisions"
    assert "must start with one of decisions_" in layout.classify("departement/choix_20261126.csv").problem
    assert "must be a .csv file" in layout.classify("departement/decisions_20261126.xlsx").problem
    assert layout.classify("departement/sub/decisions_20261126.csv").source == "unknown"


def test_good_decisions(tmp_path):
    rows = read(write(tmp_path, [
        HEADER, GOOD,
        f"{proposal(2)};refusee;;;26/11/2026;26/11/2026;responsable_orientation;orientation_inadaptee;",
        f"{proposal(3)};MODIFIEE;PSP;;2026-11-24;2026-11-25;EQUIPE_ORIENTATION;;12",
        f'"{proposal(4)}";"MODIFIEE";"PSO";"ALI05";"2026-11-24";"2026-11-24";"EQUIPE_ORIENTATION";"";""',
        f"{proposal(5)};MODIFIEE;;SSD05;2026-11-24;2026-11-24;EQUIPE_PLURIDISCIPLINAIRE;;6",
    ]))
    assert [row.table for row in rows] == ["departement_decision"] * 5
    assert all(len(row.values) == len(COLUMNS["departement_decision"]) for row in rows)
    assert rows[0].values == (2, PROPOSAL, "VALIDEE", None, None, date(2026, 11, 25), date(2026, 11, 26),
                              "EQUIPE_ORIENTATION", "ORIENTATION_ADAPTEE", None)
    # French dates as a spreadsheet writes them; codes read case-insensitively and stored upper-case.
    assert rows[1].values[2:9] == ("REFUSEE", None, None, date(2026, 11, 26), date(2026, 11, 26),
                                   "RESPONSABLE_ORIENTATION", "ORIENTATION_INADAPTEE")
    assert rows[2].values[2:5] + rows[2].values[9:] == ("MODIFIEE", "PSP", None, 12)
    assert rows[3].values[3:5] == ("PSO", "ALI05")
    assert rows[4].values[3:5] == (None, "SSD05")


@pytest.mark.parametrize(("line", "reason", "words"), [
    (f"{PROPOSAL};VALIDEE;;;2026-11-25", "SCHEMA", "9 columns expected"),
    (f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-26;{'X' * 41};;", "FIELD_TOO_LONG", "column decide_par"),
    (";VALIDEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "SCHEMA", "id_proposition is empty"),
    (f"{PROPOSAL};;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "SCHEMA", "decision is empty"),
    (f"{PROPOSAL};VALIDEE;;;25-11-2026;2026-11-26;EQUIPE_ORIENTATION;;", "SCHEMA", "is not a date"),
    (f"{PROPOSAL};VALIDEE;;;2026-02-30;2026-11-26;EQUIPE_ORIENTATION;;", "SCHEMA", "is not a date"),
    (f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;9", "SCHEMA", "delai_revision_mois"),
    (f"{PROPOSAL};VALIDEE;PSP;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "SCHEMA", "must be empty for VALIDEE"),
    (f"{PROPOSAL};REFUSEE;;ALI05;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "SCHEMA", "must be empty for REFUSEE"),
    (f"{PROPOSAL};MODIFIEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "SCHEMA", "MODIFIEE needs"),
    ("OR0123456789ABCDEF;VALIDEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "UNKNOWN_PROPOSAL", "not the id"),
    (f"{PROPOSAL};ACCEPTEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "UNKNOWN_DECISION", "'ACCEPTEE'"),
    (f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-26;Jeanne Martin;;", "UNKNOWN_ROLE", "a role, never a name"),
    (f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-26;POLITIQUE_AUTOMATIQUE;;", "UNKNOWN_ROLE", "POLITIQUE_AUTOMATIQUE"),
    (f"{PROPOSAL};MODIFIEE;PSX;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "UNKNOWN_PARCOURS", "'PSX'"),
    (f"{PROPOSAL};MODIFIEE;;ALI99;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "UNKNOWN_DESTINATION", "'ALI99'"),
    (f"{PROPOSAL};MODIFIEE;PSP;ALI05;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;", "UNKNOWN_DESTINATION",
     "of parcours PSO, not PSP"),
    (f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;TROP_JEUNE;", "UNKNOWN_MOTIF", "'TROP_JEUNE'"),
    (f"{PROPOSAL};VALIDEE;;;2026-11-27;2026-11-27;EQUIPE_ORIENTATION;;", "DATE_INCOHERENT", "in the future"),
    (f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-24;EQUIPE_ORIENTATION;;", "DATE_INCOHERENT", "before date_decision"),
    (f'{PROPOSAL};"VALIDEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;', "SCHEMA", "malformed quoting"),
])
def test_each_rule_rejects_the_line_with_its_code(tmp_path, line, reason, words):
    rows = read(write(tmp_path, [HEADER, line, GOOD]))
    assert [row.table for row in rows] == ["departement_decision_reject", "departement_decision"]
    line_number, code, detail, raw = rows[0].values
    assert (line_number, code, raw) == (2, reason, line)
    assert code in REJECT_REASONS
    assert words in detail


def test_a_proposal_decided_twice_in_the_file_keeps_the_first_decision(tmp_path):
    second = GOOD.replace("VALIDEE", "REFUSEE")
    rows = read(write(tmp_path, [HEADER, GOOD, second]))
    assert [row.table for row in rows] == ["departement_decision", "departement_decision_reject"]
    assert rows[1].values[1:3] == ("DUPLICATE_DECISION", "id_proposition already decided at line 2")


def test_details_never_quote_a_value_that_could_be_personal(tmp_path):
    name = "Jeanne Dupont-Martin"
    rows = read(write(tmp_path, [HEADER, f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-26;{name};;",
                                 f"{proposal(7)};VALIDEE;;;{name[:10]};2026-11-26;EQUIPE_ORIENTATION;;"]))
    assert [row.values[1] for row in rows] == ["UNKNOWN_ROLE", "SCHEMA"]
    assert all(name[:6] not in row.values[2] for row in rows)


def test_the_returned_morning_list_is_a_decisions_file(tmp_path):
    """The list itself, filled in: its own columns are ignored (never read nor stored), undecided lines
    keep waiting, and the file may come back from a spreadsheet in ISO-8859-1 with its header reordered."""
    header = ["id_proposition", *LIST_COLUMNS, *DECISION_COLUMNS[1:], "motif", "delai_revision_mois"]
    context = {name: "" for name in LIST_COLUMNS} | {"numero_caf": "1234567", "commune": "Saint-Ouen",
                                                      "motif_proposition": "Personne de moins de 26 ans : é"}

    def line(number: int, decision: str) -> str:
        values = {"id_proposition": proposal(number), **context, "decision": decision, "parcours": "",
                  "code_structure": "", "date_decision": "2026-11-25" if decision else "",
                  "date_notification": "2026-11-25" if decision else "",
                  "decide_par": "EQUIPE_ORIENTATION" if decision else "", "motif": "", "delai_revision_mois": ""}
        return ";".join(values[name] for name in header)

    rows = read(write(tmp_path, [";".join(header), line(1, "VALIDEE"), line(2, ""), line(3, "REFUSEE")],
                      encoding="iso-8859-1"))
    assert [(row.table, row.values[1], row.values[2]) for row in rows] == [
        ("departement_decision", proposal(1), "VALIDEE"), ("departement_decision", proposal(3), "REFUSEE")]
    assert not any("1234567" in str(value) or "Saint-Ouen" in str(value) for row in rows for value in row.values)

    reordered = "decide_par;date_notification;date_decision;code_structure;parcours;decision;id_proposition"
    (row,) = read(write(tmp_path, [reordered, f"EQUIPE_ORIENTATION;2026-11-26;2026-11-25;;;VALIDEE;{PROPOSAL}"],
                        name="decisions_20261127.csv"))
    assert row.values == (2, PROPOSAL, "VALIDEE", None, None, date(2026, 11, 25), date(2026, 11, 26),
                          "EQUIPE_ORIENTATION", None, None)


@pytest.mark.parametrize(("lines", "words"), [
    ([], "empty file"),
    (["", "   "], "empty file"),
    ([HEADER.replace("decide_par", "decide_par;nom_agent")], "'nom_agent' is not a column of a decisions file"),
    ([HEADER.replace(";decide_par", "")], "required column(s) decide_par missing"),
    ([HEADER + ";decision"], "column 'decision' appears twice"),
    ([f"{PROPOSAL};VALIDEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;"], "column 1 is not a column"),
])
def test_a_file_that_is_not_a_decisions_file_is_quarantined(tmp_path, lines, words):
    with pytest.raises(QuarantineError) as raised:
        read(write(tmp_path, lines))
    assert words in str(raised.value)
    assert "departement/decisions_20261126.csv: line" in str(raised.value)
    assert PROPOSAL not in str(raised.value)


def test_registry_and_loader_take_a_decisions_file_to_raw(conn, tmp_path):
    landing = tmp_path / "landing"
    write(landing, [HEADER, GOOD, f"{proposal(2)};ACCEPTEE;;;2026-11-25;2026-11-26;EQUIPE_ORIENTATION;;"])
    write(landing, ["nothing;to;see"], name="choix_20261126.csv")  # not a kind of the Département's files
    write(landing, [HEADER, GOOD], name="decisions_20261127.csv")  # tomorrow's: not due yet

    scan_and_record(conn, landing, TODAY, "run-1")
    recorded = dict(conn.execute(
        "SELECT relative_path, source || '/' || coalesce(kind, '-') || '/' || status FROM registry.landing_file"
    ).fetchall())
    assert recorded == {"departement/decisions_20261126.csv": "departement/decisions/registered",
                        "departement/choix_20261126.csv": "departement/-/quarantined"}

    [outcome] = load_pending(conn, "departement", landing, _reader_for("departement", TODAY))
    assert (outcome.status, outcome.rows, outcome.rejects) == (
        "loaded_with_rejects", {"departement_decision": 1, "departement_decision_reject": 1}, {"UNKNOWN_DECISION": 1})
    assert conn.execute("SELECT id_proposition, decision, decide_par FROM raw.departement_decision").fetchall() == [
        (PROPOSAL, "VALIDEE", "EQUIPE_ORIENTATION")]
    assert conn.execute("SELECT line_number, reason_code FROM raw.departement_decision_reject").fetchall() == [
        (3, "UNKNOWN_DECISION")]
    assert conn.execute("SELECT status, rejects FROM registry.landing_file"
                        " WHERE relative_path = 'departement/decisions_20261126.csv'").fetchone() == (
        "loaded_with_rejects", {"UNKNOWN_DECISION": 1})
    # A rerun of the day adds nothing: the file is loaded once.
    scan_and_record(conn, landing, TODAY, "run-2")
    assert load_pending(conn, "departement", landing, _reader_for("departement", TODAY)) == []
    assert conn.execute("SELECT count(*) FROM raw.departement_decision").fetchone() == (1,)


def test_the_teams_lists_are_purged_with_the_outbox(tmp_path):
    from aiguillage.retention.archives import expired_folders

    for day in ("2024-01-05", "2026-11-02"):
        folder = tmp_path / "_departement" / day
        folder.mkdir(parents=True)
        (folder / "propositions_en_attente.csv").write_text("id_proposition\n")
    (tmp_path / "_runs" / "2024-01-05").mkdir(parents=True)  # run reports hold counts only: kept
    found = expired_folders(tmp_path, date(2025, 1, 1))
    assert found.folders == [tmp_path / "_departement" / "2024-01-05"] and found.files == 1
