"""France Travail CSV reader: encodings, line rules and their reject codes, whole-file quarantine."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from aiguillage.ingest import text_files
from aiguillage.ingest.france_travail_reader import read_france_travail
from aiguillage.ingest.raw_tables import COLUMNS, REJECT_REASONS, QuarantineError
from aiguillage.nir import make_nir

FIXTURE = Path(__file__).parent / "fixtures" / "inscriptions_20261126.csv"

REGISTRATION_HEADER = "nir;identifiantpe;nom;prenom;dtnai;date;code;nir2;codeinsee;localite;adresse;ale"
EXIT_HEADER = "nir;identifiantpe;nom;prenom;dtnai;date;code;motif;nir2;codeinsee;localite;adresse;ale"
NIR13 = "2900599350045"
GOOD_FIELDS = [NIR13, "4521877K012", "BENALI", "SAMIRA", "03/05/1990", "14/10/2026", "1", NIR13,
               "93066", "SAINT-DENIS", "12 RUE DE LA REPUBLIQUE", "93061"]
GOOD_LINE = ";".join(GOOD_FIELDS)
THIRTEEN_DIGITS = re.compile(r"[0-9]{13}")


def write(path: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes("".join(line + newline for line in lines).encode(encoding))
    return path


def line_with(**changes: str) -> str:
    """GOOD_LINE with some registration-file fields replaced (by column name)."""
    columns = REGISTRATION_HEADER.split(";")
    fields = list(GOOD_FIELDS)
    for name, value in changes.items():
        fields[columns.index(name)] = value
    return ";".join(fields)


def read_one(tmp_path: Path, line: str, kind: str = "stock"):
    header = EXIT_HEADER if kind in ("cessations", "radiations") else REGISTRATION_HEADER
    rows = list(read_france_travail(write(tmp_path / f"{kind}_20261126.csv", [header, line]), kind))
    assert len(rows) == 1
    return rows[0]


# --- the sample file and its encodings -------------------------------------------------------------

EXPECTED_SAMPLE = [
    (2, "inscriptions", NIR13, "4521877K012", "BENALI", "SAMIRA", date(1990, 5, 3), date(2026, 10, 14),
     "1", None, "93066", "SAINT-DENIS", "12 RUE DE LA REPUBLIQUE", "93061"),
    (3, "inscriptions", "1781093048012", "0345678A901", "DUPRÉ", "FRANÇOIS", date(1978, 10, 1),
     date(2025, 9, 2), "2", None, "93048", "MONTREUIL", "3 RUE ROBESPIERRE", "93045"),
]


def test_sample_file_in_iso_8859_1_reads_accents_right():
    assert text_files.detect_encoding(FIXTURE) == "iso-8859-1"
    rows = list(read_france_travail(FIXTURE, "inscriptions"))
    assert [row.table for row in rows] == ["france_travail_record"] * 2
    assert [row.values for row in rows] == EXPECTED_SAMPLE
    assert all(len(row.values) == len(COLUMNS["france_travail_record"]) for row in rows)


@pytest.mark.parametrize(("encoding", "newline", "detected"), [
    ("utf-8-sig", "\r\n", "utf-8-sig"),
    ("utf-8", "\n", "utf-8"),
    ("utf-8", "\r\n", "utf-8"),
    ("iso-8859-1", "\n", "iso-8859-1"),
    ("iso-8859-1", "\r\n", "iso-8859-1"),
])
def test_same_content_in_every_encoding_and_line_ending(tmp_path, encoding, newline, detected):
    text = FIXTURE.read_bytes().decode("iso-8859-1")
    lines = text.splitlines()
    path = write(tmp_path / "inscriptions_20261126.csv", lines, encoding, newline)
    assert text_files.detect_encoding(path) == detected
    rows = list(read_france_travail(path, "inscriptions"))
    assert [row.values for row in rows] == EXPECTED_SAMPLE


def test_last_line_without_line_ending(tmp_path):
    path = tmp_path / "stock_20261126.csv"
    path.write_bytes(f"{REGISTRATION_HEADER}\r\n{GOOD_LINE}".encode())
    (row,) = read_france_travail(path, "stock")
    assert row.table == "france_travail_record"
    assert row.values[-1] == "93061"


def test_blank_lines_are_skipped_and_line_numbers_stay_physical(tmp_path):
    path = write(tmp_path / "stock_20261126.csv",
                 ["", REGISTRATION_HEADER, GOOD_LINE, "   ", "", line_with(code="")])
    rows = list(read_france_travail(path, "stock"))
    assert [(row.table, row.values[0]) for row in rows] == [
        ("france_travail_record", 3), ("france_travail_reject", 6)]


def test_header_is_compared_trimmed_and_case_insensitively(tmp_path):
    header = " NIR;IdentifiantPE ;nom;prenom;DTNAI;date;code;nir2;codeinsee;localite;adresse;ale "
    (row,) = read_france_travail(write(tmp_path / "stock_20261126.csv", [header, GOOD_LINE]), "stock")
    assert row.table == "france_travail_record"


def test_fields_are_stripped_and_empty_optional_fields_are_none(tmp_path):
    line = line_with(nir=f" {NIR13} ", nom=" BENALI ", prenom="", codeinsee="", localite=" ", adresse="",
                     ale="")
    row = read_one(tmp_path, line)
    record = dict(zip(COLUMNS["france_travail_record"], row.values, strict=True))
    assert record["nir"] == NIR13
    assert record["nom"] == "BENALI"
    assert record["prenom"] is None
    assert [record[name] for name in ("codeinsee", "localite", "adresse", "ale", "motif")] == [None] * 5


@pytest.mark.parametrize("kind", ["cessations", "radiations"])
def test_exit_files_keep_their_motif(tmp_path, kind):
    fields = GOOD_FIELDS[:7] + ["ABSENCE AU CONTROLE"] + GOOD_FIELDS[7:]
    row = read_one(tmp_path, ";".join(fields), kind)
    record = dict(zip(COLUMNS["france_travail_record"], row.values, strict=True))
    assert record["kind"] == kind
    assert record["motif"] == "ABSENCE AU CONTROLE"
    assert record["codeinsee"] == "93066"


def test_a_valid_15_character_nir_is_stored_as_given(tmp_path):
    nir15 = make_nir(2, 1990, 5, "93", 66, 45)
    row = read_one(tmp_path, line_with(nir=nir15, nir2=nir15))
    assert row.table == "france_travail_record"
    assert row.values[2] == nir15


def test_corsican_nir_is_accepted(tmp_path):
    nir15 = make_nir(1, 1975, 3, "2A", 4, 12)
    row = read_one(tmp_path, line_with(nir=nir15, nir2=nir15))
    assert row.table == "france_travail_record"


# --- line rules -----------------------------------------------------------------------------------

BAD_KEY_NIR = NIR13 + "00"  # keys run from 01 to 97

RULE_CASES = {
    "too few columns": (GOOD_LINE.rsplit(";", 1)[0], "COLUMN_COUNT", "12 columns expected, 11 found"),
    "too many columns": (GOOD_LINE + ";", "COLUMN_COUNT", "12 columns expected, 13 found"),
    "nir differs from nir2": (line_with(nir2="2900599350046"), "NIR_MISMATCH",
                              "nir (13 chars) differs from nir2 (13 chars)"),
    "nir 12 characters": (line_with(nir=NIR13[:12], nir2=NIR13[:12]), "NIR_FORMAT",
                          "nir has 12 characters, 13 or 15 expected"),
    "nir 14 characters": (line_with(nir=NIR13 + "1", nir2=NIR13 + "1"), "NIR_FORMAT", "14 characters"),
    "nir empty": (line_with(nir="", nir2=""), "NIR_FORMAT", "nir is empty"),
    "nir bad sex digit": (line_with(nir="3" + NIR13[1:], nir2="3" + NIR13[1:]), "NIR_FORMAT", "shape"),
    "nir letters in key": (line_with(nir=NIR13 + "AB", nir2=NIR13 + "AB"), "NIR_FORMAT", "shape"),
    "nir 15 bad key": (line_with(nir=BAD_KEY_NIR, nir2=BAD_KEY_NIR), "NIR_KEY", "nir (15 chars) fails its key"),
    "identifiantpe short": (line_with(identifiantpe="4521877K01"), "IDENTIFIANTPE_FORMAT", "10 chars"),
    "identifiantpe letter in digits": (line_with(identifiantpe="45218X7K012"), "IDENTIFIANTPE_FORMAT",
                                       "7 digits"),
    "dtnai impossible": (line_with(dtnai="31/02/1990"), "DATE_INVALID",
                         "column dtnai: '31/02/1990' is not a JJ/MM/AAAA date"),
    "date ISO": (line_with(date="2026-10-14"), "DATE_INVALID", "column date: '2026-10-14'"),
    "date empty": (line_with(date=""), "DATE_INVALID", "column date is empty"),
    "dtnai text": (line_with(dtnai="SAMIRA"), "DATE_INVALID", "column dtnai: a value of 6 characters"),
    "code empty": (line_with(code=""), "CODE_MISSING", "code is empty"),
    "code 9": (line_with(code="9"), "CODE_MISSING",
               "code: '9' is not a France Travail category (1, 2, 3, 4, 5, 6, 7, 8, F, G)"),
    "code 0": (line_with(code="0"), "CODE_MISSING", "'0'"),
    "code H": (line_with(code="H"), "CODE_MISSING", "code: 'H' is not a France Travail category"),
    "nom too long": (line_with(nom="B" * 51), "FIELD_TOO_LONG", "column nom has 51 characters, at most 50"),
    "adresse too long": (line_with(adresse="12 RUE " + "X" * 300), "FIELD_TOO_LONG",
                         "column adresse has 307 characters, at most 250"),
    "codeinsee too long": (line_with(codeinsee="930660"), "FIELD_TOO_LONG", "column codeinsee has 6 characters"),
}


@pytest.mark.parametrize(("line", "reason", "detail_part"), RULE_CASES.values(), ids=RULE_CASES.keys())
def test_each_line_rule_rejects_with_its_code(tmp_path, line, reason, detail_part):
    row = read_one(tmp_path, line)
    assert row.table == "france_travail_reject"
    line_number, reason_code, detail, raw_line = row.values
    assert (line_number, reason_code) == (2, reason)
    assert reason_code in REJECT_REASONS
    assert detail_part in detail
    assert raw_line == line
    assert NIR13 not in detail and "BENALI" not in detail and "SAMIRA" not in detail


@pytest.mark.parametrize(("written", "stored"), [("F", "F"), ("G", "G"), ("g", "G"), (" G ", "G"), ("01", "1"),
                                                  ("8", "8")])
def test_categories_since_2025_are_read_as_the_seed_writes_them(tmp_path, written, stored):
    row = read_one(tmp_path, line_with(code=written))
    assert row.table == "france_travail_record"
    assert row.values[COLUMNS["france_travail_record"].index("code")] == stored


def test_the_category_list_is_the_warehouse_seed(tmp_path, monkeypatch):
    """One list, in the dbt seed: a category added there is accepted by the reader, a category
    removed is rejected."""
    import csv

    from aiguillage.ingest import france_travail_reader

    seeds = tmp_path / "dbt" / "seeds"
    seeds.mkdir(parents=True)
    with open(seeds / "codes_categorie_france_travail.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "libelle", "est_demandeur_emploi"])
        writer.writerows([["1", "Un", "true"], ["H", "Une catégorie à venir", "false"]])
    monkeypatch.setenv("AIGUILLAGE_DBT_PROJECT_DIR", str(tmp_path / "dbt"))
    assert france_travail_reader.job_seeker_categories() == {"1", "H"}
    assert read_one(tmp_path, line_with(code="H")).table == "france_travail_record"
    refused = read_one(tmp_path, line_with(code="G"))
    assert refused.values[1:3] == ("CODE_MISSING", "code: 'G' is not a France Travail category (1, H)")


def test_the_project_seed_lists_1_to_8_f_and_g():
    from aiguillage.ingest.france_travail_reader import job_seeker_categories

    assert job_seeker_categories() == {"1", "2", "3", "4", "5", "6", "7", "8", "F", "G"}


def test_a_long_value_is_measured_once_trimmed_and_never_quoted(tmp_path):
    assert read_one(tmp_path, line_with(nom=" " * 20 + "B" * 50 + " " * 20)).table == "france_travail_record"
    row = read_one(tmp_path, line_with(localite="SAINT-DENIS " * 10, code="", dtnai="x"))
    assert row.values[1] == "FIELD_TOO_LONG"  # before the rules of the other columns
    assert "SAINT" not in row.values[2]


def test_reject_line_numbers_and_raw_line_without_crlf(tmp_path):
    lines = [REGISTRATION_HEADER, GOOD_LINE, line_with(code=""), GOOD_LINE, line_with(dtnai="1990-05-03")]
    path = write(tmp_path / "stock_20261126.csv", lines, "iso-8859-1", "\r\n")
    rejects = [row.values for row in read_france_travail(path, "stock") if row.table.endswith("reject")]
    assert [(number, code) for number, code, _, _ in rejects] == [(3, "CODE_MISSING"), (5, "DATE_INVALID")]
    assert [raw for *_, raw in rejects] == [lines[2], lines[4]]


def test_first_failing_rule_wins(tmp_path):
    # nir2 differs, the identifiantpe, a date and the code are wrong as well: nir comes first
    line = line_with(nir2="2900599350046", identifiantpe="X", dtnai="x", code="")
    assert read_one(tmp_path, line).values[1] == "NIR_MISMATCH"
    line = line_with(identifiantpe="X", dtnai="x", code="")
    assert read_one(tmp_path, line).values[1] == "IDENTIFIANTPE_FORMAT"
    assert read_one(tmp_path, line_with(dtnai="x", code="")).values[1] == "DATE_INVALID"


def test_exit_file_line_without_motif_column_is_a_column_count_reject(tmp_path):
    row = read_one(tmp_path, GOOD_LINE, "cessations")
    assert row.values[1:3] == ("COLUMN_COUNT", "13 columns expected, 12 found")


# --- whole-file failures --------------------------------------------------------------------------


def test_header_mismatch_quarantines_without_quoting_the_line(tmp_path):
    path = write(tmp_path / "stock_20261126.csv", [GOOD_LINE, GOOD_LINE])  # no header line
    with pytest.raises(QuarantineError) as caught:
        list(read_france_travail(path, "stock"))
    message = str(caught.value)
    assert "stock_20261126.csv" in message and "line 1" in message and "header" in message
    assert NIR13 not in message and "BENALI" not in message


def test_exit_header_in_a_stock_file_is_quarantined(tmp_path):
    path = write(tmp_path / "stock_20261126.csv", [EXIT_HEADER, GOOD_LINE])
    with pytest.raises(QuarantineError, match="13 columns, 12 expected"):
        list(read_france_travail(path, "stock"))


def test_misnamed_header_column_is_named(tmp_path):
    path = write(tmp_path / "stock_20261126.csv", [REGISTRATION_HEADER.replace("dtnai", "dtnaiss"), GOOD_LINE])
    with pytest.raises(QuarantineError, match="column 5 should be 'dtnai'"):
        list(read_france_travail(path, "stock"))


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n  \r\n\n"], ids=["empty", "bom only", "blank"])
def test_empty_file_is_quarantined(tmp_path, content):
    path = tmp_path / "stock_20261126.csv"
    path.write_bytes(content)
    with pytest.raises(QuarantineError, match=r"stock_20261126\.csv: line 1: empty file"):
        list(read_france_travail(path, "stock"))


def test_nul_bytes_are_quarantined_as_binary_content(tmp_path):
    path = tmp_path / "stock_20261126.csv"
    path.write_bytes(f"{REGISTRATION_HEADER}\n{GOOD_LINE}\n".encode() + b"abc\x00def\n")
    with pytest.raises(QuarantineError, match=r"line 3: binary content"):
        list(read_france_travail(path, "stock"))


def test_utf16_is_quarantined(tmp_path):
    path = tmp_path / "stock_20261126.csv"
    path.write_bytes(f"{REGISTRATION_HEADER}\r\n{GOOD_LINE}\r\n".encode("utf-16"))
    with pytest.raises(QuarantineError, match="UTF-16"):
        list(read_france_travail(path, "stock"))


def test_bom_with_invalid_utf8_is_quarantined(tmp_path):
    path = tmp_path / "stock_20261126.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{REGISTRATION_HEADER}\n".encode() + "DUPRÉ\n".encode("latin-1"))
    with pytest.raises(QuarantineError, match="byte-order mark but is not valid UTF-8"):
        list(read_france_travail(path, "stock"))


def test_endless_line_is_quarantined(tmp_path, monkeypatch):
    monkeypatch.setattr(text_files, "MAX_LINE_CHARS", 200)
    path = write(tmp_path / "stock_20261126.csv", [REGISTRATION_HEADER, GOOD_LINE, "x" * 500])
    rows = read_france_travail(path, "stock")
    assert next(rows).table == "france_travail_record"
    with pytest.raises(QuarantineError, match="line 3: line longer than 200 characters"):
        next(rows)


def test_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown France Travail file kind"):
        list(read_france_travail(FIXTURE, "inscription"))


# --- a generated landing zone with defects ---------------------------------------------------------

DEFECT_CODES = {
    "nir and nir2 differ": "NIR_MISMATCH",
    "identifiantpe does not match": "IDENTIFIANTPE_FORMAT",
    "unparseable date": "DATE_INVALID",
    "code (job-seeker category) missing": "CODE_MISSING",
    "wrong column count": "COLUMN_COUNT",
    "15-character NIR failing its key": "NIR_KEY",
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    from aiguillage.synth import generate

    root = tmp_path_factory.mktemp("landing")
    summary = generate(root, date(2026, 11, 2), 300, 3, seed=5, defects=True)
    return root, summary


def expected_defects(summary, file_name: str) -> dict[int, str]:
    expected = {}
    for description in summary.defects:
        found = re.fullmatch(rf"france_travail/{re.escape(file_name)} line (\d+): (.*)", description)
        if found:
            (code,) = [code for label, code in DEFECT_CODES.items() if found.group(2).startswith(label)]
            expected[int(found.group(1))] = code
    return expected


def test_generated_defects_are_rejected_with_their_codes(landing):
    root, summary = landing
    expected = expected_defects(summary, "stock_20261102.csv")
    assert sorted(expected.values()) == sorted(DEFECT_CODES.values())  # every defect kind was injected
    rows = list(read_france_travail(root / "france_travail" / "stock_20261102.csv", "stock"))
    rejects = {row.values[0]: row.values[1] for row in rows if row.table == "france_travail_reject"}
    assert rejects == expected
    records = [row for row in rows if row.table == "france_travail_record"]
    assert len(records) + len(rejects) == summary.ft_lines[date(2026, 11, 2)]
    assert all(len(row.values) == len(COLUMNS["france_travail_record"]) for row in records)


def test_every_generated_file_reads_in_its_encoding(landing):
    root, summary = landing
    files = sorted((root / "france_travail").glob("*.csv"))
    assert len(files) > 1
    for path in files:
        rows = list(read_france_travail(path, path.name.split("_")[0]))
        rejects = [row for row in rows if row.table == "france_travail_reject"]
        assert len(rejects) == len(expected_defects(summary, path.name)), path.name
        for row in rows:
            assert len(row.values) == len(COLUMNS[row.table])


def test_no_reject_detail_contains_a_nir(landing):
    root, _ = landing
    details = [row.values[2] for path in (root / "france_travail").glob("*.csv")
               for row in read_france_travail(path, path.name.split("_")[0])
               if row.table == "france_travail_reject"]
    assert details
    assert not [detail for detail in details if THIRTEEN_DIGITS.search(detail)]
