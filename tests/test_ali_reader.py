"""ALI activity report reader: encodings, quoting, line rules and their reject codes, quarantine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aiguillage.ingest.ali_reader import read_ali_report
from aiguillage.ingest.raw_tables import COLUMNS, REJECT_REASONS, QuarantineError

HEADER = "code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email"
TODAY = date(2026, 11, 26)
GOOD_FIELDS = ["ALI05", "2026-11-26", "ORI-000123", "PRISE_EN_CHARGE", "2026-11-24", "", "Nadia Ferhat",
               "n.ferhat@example.org"]
GOOD_LINE = ";".join(GOOD_FIELDS)


def line_with(**changes: str) -> str:
    columns = HEADER.split(";")
    fields = list(GOOD_FIELDS)
    for name, value in changes.items():
        fields[columns.index(name)] = value
    return ";".join(fields)


def write(folder: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n",
          agency: str = "ALI05") -> Path:
    directory = folder / agency
    directory.mkdir(exist_ok=True)
    path = directory / f"ali_{agency}_20261126.csv"
    path.write_bytes("".join(line + newline for line in lines).encode(encoding))
    return path


def read(path: Path, agency: str = "ALI05", today: date = TODAY) -> list:
    return list(read_ali_report(path, agency, today))


def read_one(tmp_path: Path, line: str):
    (row,) = read(write(tmp_path, [HEADER, line]))
    return row


def test_good_report(tmp_path):
    lines = [HEADER, GOOD_LINE,
             line_with(evenement="RDV_HONORE", date_evenement="2026-11-25"),
             line_with(id_orientation="ORI-000456", evenement="SORTIE", date_evenement="2026-11-20",
                       motif="EMPLOI", referent_nom="Paul Mercier", referent_email="")]
    rows = read(write(tmp_path, lines))
    assert [row.table for row in rows] == ["ali_report_line"] * 3
    assert rows[0].values == (2, "ALI05", date(2026, 11, 26), "ORI-000123", "PRISE_EN_CHARGE",
                              date(2026, 11, 24), None, "Nadia Ferhat", "n.ferhat@example.org")
    assert rows[2].values == (4, "ALI05", date(2026, 11, 26), "ORI-000456", "SORTIE", date(2026, 11, 20),
                              "EMPLOI", "Paul Mercier", None)
    assert all(len(row.values) == len(COLUMNS["ali_report_line"]) for row in rows)


@pytest.mark.parametrize(("encoding", "newline"), [
    ("utf-8-sig", "\r\n"), ("utf-8", "\n"), ("iso-8859-1", "\r\n"),
])
def test_bom_and_iso_8859_1_are_tolerated(tmp_path, encoding, newline):
    path = write(tmp_path, [HEADER, line_with(referent_nom="Hélène Çelik")], encoding, newline)
    (row,) = read(path)
    assert row.table == "ali_report_line"
    assert row.values[7] == "Hélène Çelik"


def test_quoted_fields_as_a_spreadsheet_saves_them(tmp_path):
    quoted_header = ";".join(f'"{name}"' for name in HEADER.split(";"))
    fields = list(GOOD_FIELDS)
    fields[6] = 'Ferhat; Nadia "N."'
    quoted_line = ";".join('"' + field.replace('"', '""') + '"' for field in fields)
    (row,) = read(write(tmp_path, [quoted_header, quoted_line], "utf-8-sig", "\r\n"))
    assert row.table == "ali_report_line"
    assert row.values[7] == 'Ferhat; Nadia "N."'
    assert row.values[2] == date(2026, 11, 26)


def test_codes_are_read_case_insensitively_and_stored_upper_case(tmp_path):
    row = read_one(tmp_path, line_with(code_structure="ali05", evenement="sortie", motif="Formation "))
    assert row.table == "ali_report_line"
    assert (row.values[1], row.values[4], row.values[6]) == ("ALI05", "SORTIE", "FORMATION")


def test_spreadsheet_empty_rows_and_blank_lines_are_skipped(tmp_path):
    rows = read(write(tmp_path, [HEADER, ";;;;;;;", "", GOOD_LINE, "  ", '"";"";;;;;;']))
    assert [(row.table, row.values[0]) for row in rows] == [("ali_report_line", 4)]


RULE_CASES = {
    "too few columns": (GOOD_LINE.rsplit(";", 1)[0], "SCHEMA", "8 columns expected, 7 found"),
    "too many columns": (GOOD_LINE + ";x", "SCHEMA", "8 columns expected, 9 found"),
    "code_structure empty": (line_with(code_structure=""), "SCHEMA", "required column code_structure is empty"),
    "date_rapport empty": (line_with(date_rapport=" "), "SCHEMA", "required column date_rapport is empty"),
    "id_orientation empty": (line_with(id_orientation=""), "SCHEMA", "required column id_orientation"),
    "evenement empty": (line_with(evenement=""), "SCHEMA", "required column evenement is empty"),
    "date_evenement empty": (line_with(date_evenement=""), "SCHEMA", "required column date_evenement"),
    "date_rapport French": (line_with(date_rapport="26/11/2026"), "SCHEMA",
                            "column date_rapport: '26/11/2026' is not a YYYY-MM-DD date"),
    "date_rapport impossible": (line_with(date_rapport="2026-02-30"), "SCHEMA", "'2026-02-30'"),
    "date_evenement compact": (line_with(date_evenement="20261124"), "SCHEMA", "column date_evenement"),
    "referent_email malformed": (line_with(referent_email="n.ferhat.example.org"), "SCHEMA", "e-mail"),
    "malformed quoting": (line_with(referent_nom='"Nadia'), "SCHEMA", "malformed quoting"),
    "other agency": (line_with(code_structure="ALI06"), "STRUCTURE_MISMATCH",
                     "code_structure 'ALI06' differs from the agency folder ALI05"),
    "unknown event": (line_with(evenement="RDV_ANNULE"), "UNKNOWN_EVENT", "evenement 'RDV_ANNULE'"),
    "sortie without motif": (line_with(evenement="SORTIE"), "UNKNOWN_MOTIF", "motif is required for SORTIE"),
    "sortie bad motif": (line_with(evenement="SORTIE", motif="PARCOURS_SOCIAL"), "UNKNOWN_MOTIF",
                         "motif 'PARCOURS_SOCIAL' is not allowed for SORTIE"),
    "reorientation without motif": (line_with(evenement="REORIENTATION_DEMANDEE"), "UNKNOWN_MOTIF",
                                    "required for REORIENTATION_DEMANDEE"),
    "reorientation bad motif": (line_with(evenement="REORIENTATION_DEMANDEE", motif="EMPLOI"),
                                "UNKNOWN_MOTIF", "not allowed"),
    "motif where none is allowed": (line_with(motif="EMPLOI"), "UNKNOWN_MOTIF",
                                    "motif must be empty for PRISE_EN_CHARGE"),
    "event in the future": (line_with(date_rapport="2026-11-30", date_evenement="2026-11-27"),
                            "DATE_INCOHERENT", "date_evenement 2026-11-27 is in the future"),
    "event after the report": (line_with(date_rapport="2026-11-20", date_evenement="2026-11-24"),
                               "DATE_INCOHERENT", "is after date_rapport 2026-11-20"),
    "refused contract without motif": (line_with(evenement="CONTRAT_REFUSE"), "UNKNOWN_MOTIF",
                                       "motif is required for CONTRAT_REFUSE (ACTUALISATION, ELABORATION)"),
    "refused contract, another event's motif": (line_with(evenement="CONTRAT_REFUSE", motif="ABANDON"),
                                                "UNKNOWN_MOTIF", "motif 'ABANDON' is not allowed for CONTRAT_REFUSE"),
    "unmet commitment with a motif": (line_with(evenement="ENGAGEMENT_NON_TENU", motif="ELABORATION"),
                                      "UNKNOWN_MOTIF", "motif must be empty for ENGAGEMENT_NON_TENU"),
    "missed appointment with a motif": (line_with(evenement="RDV_NON_HONORE", motif="AUTRE"),
                                        "UNKNOWN_MOTIF", "motif must be empty for RDV_NON_HONORE"),
    "a breach not in the list": (line_with(evenement="SANCTION"), "UNKNOWN_EVENT", "evenement 'SANCTION'"),
}


@pytest.mark.parametrize(("line", "reason", "detail_part"), RULE_CASES.values(), ids=RULE_CASES.keys())
def test_each_line_rule_rejects_with_its_code(tmp_path, line, reason, detail_part):
    row = read_one(tmp_path, line)
    assert row.table == "ali_report_reject"
    line_number, reason_code, detail, raw_line = row.values
    assert (line_number, reason_code) == (2, reason)
    assert reason_code in REJECT_REASONS
    assert detail_part in detail
    assert raw_line == line


def test_event_of_today_is_accepted(tmp_path):
    row = read_one(tmp_path, line_with(date_evenement="2026-11-26"))
    assert row.table == "ali_report_line"


def test_future_is_relative_to_today(tmp_path):
    path = write(tmp_path, [HEADER, line_with(date_rapport="2026-11-30", date_evenement="2026-11-28")])
    assert read(path, today=date(2026, 11, 27))[0].values[1] == "DATE_INCOHERENT"
    assert read(path, today=date(2026, 11, 28))[0].table == "ali_report_line"


def test_file_in_another_agency_folder(tmp_path):
    rows = read(write(tmp_path, [HEADER, GOOD_LINE, GOOD_LINE.replace("ALI05", "ALI07")], agency="ALI07"),
                agency="ALI07")
    assert [(row.values[0], row.values[1]) for row in rows] == [(2, "STRUCTURE_MISMATCH"), (3, "ALI07")]


def test_duplicate_event_rejects_the_second_line(tmp_path):
    other_event = line_with(evenement="RDV_HONORE")
    rows = read(write(tmp_path, [HEADER, GOOD_LINE, other_event, GOOD_LINE.replace("Nadia", "Paul")]))
    assert [row.table for row in rows] == ["ali_report_line", "ali_report_line", "ali_report_reject"]
    assert rows[2].values[:3] == (4, "DUPLICATE_EVENT",
                                  "same id_orientation, evenement and date_evenement as line 2")


def test_a_rejected_line_does_not_count_as_recorded(tmp_path):
    rows = read(write(tmp_path, [HEADER, line_with(referent_email="bad"), GOOD_LINE]))
    assert [(row.table, row.values[0]) for row in rows] == [("ali_report_reject", 2), ("ali_report_line", 3)]


def test_header_mismatch_is_quarantined(tmp_path):
    path = write(tmp_path, [HEADER.replace("motif", "motifs"), GOOD_LINE])
    with pytest.raises(QuarantineError, match=r"ALI05/ali_ALI05_20261126\.csv: line 1: header column 6"):
        read(path)


def test_headerless_report_is_quarantined(tmp_path):
    with pytest.raises(QuarantineError, match="line 1"):
        read(write(tmp_path, [GOOD_LINE]))


def test_empty_report_is_quarantined(tmp_path):
    with pytest.raises(QuarantineError, match="empty file"):
        read(write(tmp_path, []))


def test_binary_report_is_quarantined(tmp_path):
    path = write(tmp_path, [HEADER])
    path.write_bytes(path.read_bytes() + b"PK\x03\x04\x00\x00")
    with pytest.raises(QuarantineError, match="line 2: binary content"):
        read(path)


def test_a_value_longer_than_its_column_allows_rejects_the_line():
    """A huge referent name must not reach the warehouse: the line is rejected, the others load."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), [HEADER, line_with(referent_nom="N" * 90_000),
                                    line_with(id_orientation="O" * 65), GOOD_LINE.replace("ORI-000123", "ORI-9")])
        rows = read(path)
    assert [row.table for row in rows] == ["ali_report_reject", "ali_report_reject", "ali_report_line"]
    assert [row.values[1] for row in rows[:2]] == ["FIELD_TOO_LONG", "FIELD_TOO_LONG"]
    assert rows[0].values[2] == "column referent_nom has 90000 characters, at most 200 allowed"
    assert "FIELD_TOO_LONG" in REJECT_REASONS


def test_a_value_at_its_bound_is_accepted(tmp_path):
    from aiguillage.ingest.ali_reader import MAX_CHARS

    path = write(tmp_path, [HEADER, line_with(referent_nom="N" * MAX_CHARS["referent_nom"],
                                              id_orientation="O" * MAX_CHARS["id_orientation"])])
    [row] = read(path)
    assert row.table == "ali_report_line"


def test_breaches_of_the_contract_are_report_events(tmp_path):
    """A missed appointment, a refusal to draw up or update the contract, commitments not met: read as
    events, with the motif the seed allows, case-insensitively."""
    lines = [HEADER, line_with(evenement="RDV_NON_HONORE"),
             line_with(evenement="contrat_refuse", motif="elaboration"),
             line_with(id_orientation="ORI-000456", evenement="CONTRAT_REFUSE", motif="ACTUALISATION"),
             line_with(evenement="ENGAGEMENT_NON_TENU", date_evenement="2026-11-25")]
    rows = read(write(tmp_path, lines))
    assert [row.table for row in rows] == ["ali_report_line"] * 4
    assert [(row.values[3], row.values[4], row.values[5], row.values[6]) for row in rows] == [
        ("ORI-000123", "RDV_NON_HONORE", date(2026, 11, 24), None),
        ("ORI-000123", "CONTRAT_REFUSE", date(2026, 11, 24), "ELABORATION"),
        ("ORI-000456", "CONTRAT_REFUSE", date(2026, 11, 24), "ACTUALISATION"),
        ("ORI-000123", "ENGAGEMENT_NON_TENU", date(2026, 11, 25), None)]


def _seed_folder(tmp_path: Path, events: str, motifs: str) -> Path:
    project = tmp_path / "dbt_project"
    (project / "seeds").mkdir(parents=True)
    (project / "seeds" / "codes_evenement_ali.csv").write_text(events, encoding="utf-8")
    (project / "seeds" / "codes_motif_ali.csv").write_text(motifs, encoding="utf-8")
    return project


def test_the_event_list_is_the_seeds(tmp_path, monkeypatch):
    """An event or motif added to the seeds is accepted in the reports, one removed is rejected: the
    reader holds no list of its own."""
    project = _seed_folder(
        tmp_path, "code,libelle,exige_motif,est_manquement,est_reengagement\n"
                  "PRISE_EN_CHARGE,Prise en charge,false,false,false\n"
                  "ABSENCE_ATELIER,Absence à un atelier,true,true,false\n",
        "code,evenement,libelle,parcours_demande\nSANS_PREVENIR,ABSENCE_ATELIER,Sans prévenir,\n")
    monkeypatch.setenv("AIGUILLAGE_DBT_PROJECT_DIR", str(project))
    rows = read(write(tmp_path, [HEADER, line_with(evenement="ABSENCE_ATELIER", motif="sans_prevenir"),
                                 line_with(evenement="SORTIE", motif="EMPLOI")]))
    assert [(row.table, row.values[4] if row.table == "ali_report_line" else row.values[1]) for row in rows] == [
        ("ali_report_line", "ABSENCE_ATELIER"), ("ali_report_reject", "UNKNOWN_EVENT")]
    assert rows[1].values[2] == "evenement 'SORTIE' is not one of PRISE_EN_CHARGE, ABSENCE_ATELIER"


@pytest.mark.parametrize(("events", "motifs", "message"), [
    ("code,libelle,exige_motif\nSORTIE,Sortie,true\n", "code,evenement,libelle,parcours_demande\n",
     "seeds disagree on SORTIE"),
    ("code,libelle,exige_motif\nSORTIE,Sortie,false\n",
     "code,evenement,libelle,parcours_demande\nEMPLOI,SORTIE,Emploi,\n", "seeds disagree on SORTIE"),
    ("code,libelle,exige_motif\nSORTIE,Sortie,false\n",
     "code,evenement,libelle,parcours_demande\nEMPLOI,RDV,Emploi,\n", "seeds disagree on RDV"),
    ("code,libelle\nSORTIE,Sortie\n", "code,evenement,libelle,parcours_demande\n", "seed has no column .exige_motif."),
    ("code,libelle,exige_motif\n", "code,evenement,libelle,parcours_demande\n", "lists no event"),
])
def test_seeds_that_disagree_stop_the_reading_with_a_clear_error(tmp_path, monkeypatch, events, motifs, message):
    """A broken code list is the warehouse's configuration, not the agency's file: no line is judged by
    it (the loader leaves the file registered and tries it again, a bounded number of times)."""
    monkeypatch.setenv("AIGUILLAGE_DBT_PROJECT_DIR", str(_seed_folder(tmp_path, events, motifs)))
    with pytest.raises(RuntimeError, match=message):
        read(write(tmp_path, [HEADER, GOOD_LINE]))
