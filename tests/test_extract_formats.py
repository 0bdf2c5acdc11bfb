"""The formats an agency receives (CSV, XLSX, WebRSA registered), safe in a spreadsheet: read back with
openpyxl and opened by a real LibreOffice, on a real PostgreSQL; the check that withholds an unsafe
day; the contract's field lengths; the delivery configuration's ``formats``."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from test_extract_writer import DAY, create_lines, line

from aiguillage.extracts import columns, files, formats, safety, xlsx
from aiguillage.extracts.daily import ExtractWithheld, deliver_extract
from aiguillage.extracts.delivery import deliver, redeliver
from aiguillage.extracts.destinations import (
    DeliveryConfigError,
    Destination,
    ReferentialRow,
    load_destinations,
)
from aiguillage.extracts.spreadsheet import FORMULA_STARTS
from aiguillage.extracts.writer import write_extract
from aiguillage.retention import archives

HYPERLINK = '=HYPERLINK("http://x","Cliquez ici")'
# Values a spreadsheet would run, each in a text column; the first line also carries leading zeros.
LINES = [
    line("mouvements", "O-0001", "NOUVELLE", nom=HYPERLINK, prenom="Émilie", numero_caf="0012345",
         code_postal="01234", code_commune="01053", commune="Bourg-en-Bresse"),
    line("mouvements", "O-0002", "NOUVELLE", nom="+SUM(1)", prenom="@x", code_postal="93200",
         code_commune="93066", commune="Saint-Denis"),
    line("mouvements", "O-0003", "CLOTUREE", nom="-2+3", prenom="\tTab", adresse="\rRetour",
         motif_cloture="DEMENAGEMENT"),
    # "_x003D_" is how a workbook escapes "=": written as such, it must read back as these seven characters.
    line("mouvements", "O-0004", "MODIFIEE", nom="_x003D_1+1", nom_naissance="D'ARC", prenom="Zoë"),
    line("stock", "O-0001", "STOCK", nom=HYPERLINK),
]
INERT = {"O-0001": HYPERLINK, "O-0002": "+SUM(1)", "O-0003": "-2+3"}


@pytest.fixture
def lines(conn, monkeypatch):
    monkeypatch.delenv("AIGUILLAGE_DELIVERY_CONFIG", raising=False)
    create_lines(conn, LINES)
    return conn


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";"))


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """Run LibreOffice headless with a private profile: ``office(outdir, *args)``."""
    profile = tmp_path_factory.mktemp("lo_profile")

    def run(outdir: Path, *args: str) -> None:
        result = subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", *args,
                                 "--outdir", str(outdir)], capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stderr

    return run


def lo_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""), delimiter=";"))


TO_CSV = "csv:Text - txt - csv (StarCalc):59,34,76,1"


# --- CSV ---------------------------------------------------------------------------------------------


def test_csv_cells_that_would_run_are_written_as_text(lines, tmp_path):
    written = write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-1")
    rows = {row["id_orientation"]: row for row in read_csv(Path(written["path"]))}
    assert rows["O-0001"]["nom"] == "'" + HYPERLINK and rows["O-0001"]["prenom"] == "Émilie"
    assert rows["O-0002"]["nom"] == "'+SUM(1)" and rows["O-0002"]["prenom"] == "'@x"
    assert rows["O-0003"]["nom"] == "'-2+3" and rows["O-0003"]["prenom"] == "'\tTab"
    assert rows["O-0003"]["adresse"] == "'\rRetour"
    # Everything else as it is: leading zeros, apostrophes inside, dates.
    assert (rows["O-0001"]["numero_caf"], rows["O-0001"]["code_postal"]) == ("0012345", "01234")
    assert rows["O-0004"]["nom_naissance"] == "D'ARC" and rows["O-0004"]["nom"] == "_x003D_1+1"
    assert rows["O-0001"]["date_naissance"] == "1980-01-31"
    manifest = json.loads(Path(written["manifest"]).read_text(encoding="utf-8"))
    assert manifest["format"] == "csv" and manifest["file_name"] == "orientations_ALI05_20261102.csv"


def test_csv_opened_by_libreoffice_with_the_documented_options(lines, tmp_path, office):
    """docs/dictionnaire-extrait.md: separator ;, UTF-8, every column as Text. The same file opened with
    formulas evaluated and standard columns shows what the apostrophe protects against."""
    written = Path(write_extract(lines, DAY, "ALI05", "mouvements", tmp_path / "in", "run-1")["path"])
    as_text = "/".join(f"{n}/2" for n in range(1, len(columns.EXTRACT_COLUMNS) + 1))
    office(tmp_path / "text", f"--infilter=CSV:59,34,76,1,{as_text}", "--convert-to", TO_CSV, str(written))
    table = lo_csv(tmp_path / "text" / written.name)
    assert table[0] == list(columns.EXTRACT_COLUMNS)
    rows = {row[0]: dict(zip(columns.EXTRACT_COLUMNS, row, strict=True)) for row in table[1:]}
    assert (rows["O-0001"]["numero_caf"], rows["O-0001"]["code_postal"], rows["O-0001"]["code_commune"]) == (
        "0012345", "01234", "01053")
    assert rows["O-0001"]["prenom"] == "Émilie" and rows["O-0004"]["prenom"] == "Zoë"
    for key, text in INERT.items():
        assert rows[key]["nom"] == "'" + text

    # Formulas evaluated, standard columns: a raw "=1+1" is run (the check can see it), ours are not.
    raw = tmp_path / "raw.csv"
    raw.write_bytes(written.read_bytes() + b"=1+1\n")
    office(tmp_path / "run", "--infilter=CSV:59,34,76,1,,1036,false,false,false,false,false,0,true",
           "--convert-to", TO_CSV, str(raw))
    table = lo_csv(tmp_path / "run" / raw.name)
    assert table[-1][0] == "2"
    rows = {row[0]: dict(zip(columns.EXTRACT_COLUMNS, row, strict=True)) for row in table[1:-1]}
    for key, text in INERT.items():
        assert rows[key]["nom"] == "'" + text
    assert rows["O-0002"]["prenom"] == "'@x"


# --- XLSX --------------------------------------------------------------------------------------------


def test_xlsx_cell_types_layout_and_inert_cells(lines, tmp_path):
    written = write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-1", "xlsx")
    path = Path(written["path"])
    assert path.name == "orientations_ALI05_20261102.xlsx"
    assert Path(written["manifest"]).name == "orientations_ALI05_20261102.xlsx.manifest.json"
    assert written["rows"] == 4 and written["rows_by_type"] == {"CLOTUREE": 1, "MODIFIEE": 1, "NOUVELLE": 2}
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "orientations"
    header = [cell.value for cell in sheet[1]]
    assert header == list(columns.EXTRACT_COLUMNS)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{xlsx.column_letters(len(header) - 1)}5"
    assert sheet.column_dimensions["A"].width > len("id_orientation")
    at = {row[0].value: {name: cell for name, cell in zip(header, row, strict=True)}
          for row in sheet.iter_rows(min_row=2)}
    assert list(at) == ["O-0003", "O-0004", "O-0001", "O-0002"]  # the CSV's order
    first = at["O-0001"]
    for name in ("numero_caf", "code_postal", "code_commune", "id_orientation"):
        assert first[name].data_type == "s" and first[name].number_format == "@", name
    assert (first["numero_caf"].value, first["code_postal"].value) == ("0012345", "01234")
    assert first["date_naissance"].is_date and first["date_naissance"].value.date() == date(1980, 1, 31)
    assert first["date_naissance"].number_format == "yyyy-mm-dd"
    assert first["nom_naissance"].value is None and first["prenom"].value == "Émilie"
    for key, text in INERT.items():
        cell = at[key]["nom"]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True), key
    assert at["O-0002"]["prenom"].quotePrefix and at["O-0003"]["prenom"].value == "\tTab"
    assert at["O-0003"]["adresse"].value == "\rRetour" and at["O-0003"]["adresse"].quotePrefix
    # Escaped as the format says (openpyxl shows the escape raw; LibreOffice reads it back, test below).
    assert at["O-0004"]["nom"].value == "_x005F_x003D_1+1" and not at["O-0004"]["nom"].quotePrefix
    assert not first["prenom"].quotePrefix
    with zipfile.ZipFile(path) as book:
        assert b"<f>" not in book.read("xl/worksheets/sheet1.xml")


def test_xlsx_is_byte_reproducible(lines, tmp_path):
    one = write_extract(lines, DAY, "ALI05", "stock", tmp_path / "one", "run-1", "xlsx")
    two = write_extract(lines, DAY, "ALI05", "stock", tmp_path / "two", "run-2", "xlsx")
    assert Path(one["path"]).read_bytes() == Path(two["path"]).read_bytes() and one["sha256"] == two["sha256"]
    again = write_extract(lines, DAY, "ALI05", "stock", tmp_path / "one", "run-3", "xlsx")
    assert again["unchanged"] and again["sha256"] == one["sha256"]
    with zipfile.ZipFile(one["path"]) as book:
        assert {info.date_time for info in book.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert openpyxl.load_workbook(one["path"]).active.title == "stock"
    # Content changes, bytes change.
    lines.execute("UPDATE identifiants.identifiants__extract_lines SET prenom = 'Léa' WHERE fichier = 'stock'")
    lines.commit()
    changed = write_extract(lines, DAY, "ALI05", "stock", tmp_path / "two", "run-4", "xlsx")
    assert changed["sha256"] != one["sha256"]


def test_xlsx_opened_by_libreoffice(lines, tmp_path, office):
    path = Path(write_extract(lines, DAY, "ALI05", "mouvements", tmp_path / "in", "run-1", "xlsx")["path"])
    office(tmp_path / "out", "--convert-to", TO_CSV, str(path))
    table = lo_csv(tmp_path / "out" / (path.stem + ".csv"))
    assert table[0] == list(columns.EXTRACT_COLUMNS) and len(table) == 5
    assert all(len(row) == len(columns.EXTRACT_COLUMNS) for row in table)
    rows = {row[0]: dict(zip(columns.EXTRACT_COLUMNS, row, strict=True)) for row in table[1:]}
    first = rows["O-0001"]
    assert (first["numero_caf"], first["code_postal"], first["code_commune"]) == ("0012345", "01234", "01053")
    assert (first["prenom"], rows["O-0004"]["prenom"], first["date_naissance"]) == ("Émilie", "Zoë", "1980-01-31")
    for key, text in INERT.items():  # shown as typed, not as a result ("Cliquez ici", 1, 1)
        assert rows[key]["nom"] == text
    assert rows["O-0002"]["prenom"] == "@x" and rows["O-0004"]["nom"] == "_x003D_1+1"


# --- The check before delivery, and the contract's lengths ----------------------------------------------


def test_check_names_file_line_and_column_of_a_cell_that_would_run(tmp_path):
    kinds = dict.fromkeys(columns.EXTRACT_COLUMNS, "text") | {"nombre_enfants": "number"}
    bad = tmp_path / "bad.csv"
    header = ";".join(columns.EXTRACT_COLUMNS)
    cells = ["O-1"] + ["x"] * (len(columns.EXTRACT_COLUMNS) - 1)
    bad.write_text(f"\ufeff{header}\n{';'.join(cells)}\n" + ";".join(["O-2", "=1+1", *cells[2:]]) + "\n",
                   encoding="utf-8")
    with pytest.raises(safety.UnsafeExtract, match=r"orientations_X\.csv: line 3, column type_mouvement: starts "
                                                   r"with '=', a spreadsheet would run it") as error:
        safety.check_file(bad, "orientations_X.csv", kinds)
    assert "1+1" not in str(error.value)  # the value itself is never shown
    fine = tmp_path / "fine.csv"
    numbers = [("-2" if name == "nombre_enfants" else "'-2") for name in columns.EXTRACT_COLUMNS]
    fine.write_text(f"{header}\n{';'.join(numbers)}\n", encoding="utf-8")
    safety.check_file(fine, "fine.csv", kinds)  # a negative number is a number; "'-2" is text


@pytest.mark.parametrize("broken", ["csv", "xlsx"])
def test_a_day_with_a_cell_that_would_run_is_withheld(lines, tmp_path, monkeypatch, broken):
    """Were the writer to forget the rule, the check reading each written file withholds the agency."""
    if broken == "csv":
        monkeypatch.setattr("aiguillage.extracts.writer.neutralised_sql", lambda expression: expression)
    else:
        monkeypatch.setattr(xlsx, "runs_as_formula", lambda text: False)
    outbox = tmp_path / "outbox"
    destination = {"code_structure": "ALI05", "stock": False, "verdict": "deliver", "reasons": [],
                   "destination": Destination("ALI05", formats=("csv", "xlsx")).as_dict()}
    with pytest.raises(ExtractWithheld, match=rf"orientations_ALI05_20261102\.{broken}: line \d, column nom: "
                                              r"starts with"):
        deliver_extract(datetime(2026, 11, 2, 6, tzinfo=UTC), "run-1", str(outbox), destination)
    state, reason = lines.execute("SELECT state, reason FROM registry.extract_outcome").fetchone()
    assert state == "withheld" and f".{broken}: line" in reason and "(and " in reason
    assert lines.execute("SELECT count(*) FROM registry.extract_delivery").fetchone()[0] == 0
    assert not (outbox / "ALI05").exists()


def test_the_delivery_task_sends_every_format_of_the_agency(lines, tmp_path):
    outbox = tmp_path / "outbox"
    destination = {"code_structure": "ALI05", "stock": True, "verdict": "deliver", "reasons": [],
                   "destination": Destination("ALI05", formats=("xlsx", "csv")).as_dict()}
    result = deliver_extract(datetime(2026, 11, 2, 6, tzinfo=UTC), "run-1", str(outbox), destination)
    assert result["state"] == "delivered"
    assert [(f["fichier"], f["format"], f["rows"]) for f in result["files"]] == [
        ("mouvements", "xlsx", 4), ("mouvements", "csv", 4), ("stock", "xlsx", 1), ("stock", "csv", 1)]
    assert len(list((outbox / "ALI05" / "2026-11-02").iterdir())) == 8
    assert not files.staging_folder(outbox, "ALI05", DAY).exists()
    (state,) = lines.execute("SELECT state FROM registry.extract_outcome").fetchone()
    assert state == "delivered"


def test_a_value_longer_than_the_contract_is_refused_never_cut(lines, tmp_path):
    assert set(columns.MAX_LENGTHS) == set(columns.EXTRACT_COLUMNS)
    lines.execute("UPDATE identifiants.identifiants__extract_lines SET nom = repeat('A', 5000000)"
                  " WHERE id_orientation = 'O-0002'")
    lines.commit()
    for kind in formats.FORMATS:
        if kind == formats.WEBRSA:
            continue
        with pytest.raises(safety.UnsafeExtract, match=r"line 5, column nom: 5000000 characters, the contract "
                                                       r"allows 100\. A value longer .* is never cut") as error:
            write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-1", kind)
        assert len(str(error.value)) < 400
    assert list(tmp_path.iterdir()) == []


def test_the_dictionary_lists_the_contract_lengths():
    """docs/dictionnaire-extrait.md tells the agencies the same maximum lengths as columns.MAX_LENGTHS."""
    import re

    text = (Path(__file__).parents[1] / "docs" / "dictionnaire-extrait.md").read_text(encoding="utf-8")
    listed = text[text.index("**Longueurs maximales**"):text.index("## Ouvrir le fichier dans un tableur")]
    found = {name: int(n) for name, n in re.findall(r"`([a-z_]+)`\s+(\d+)", listed)}
    assert "les dates : 10" in listed
    expected = {name: most for name, most in columns.MAX_LENGTHS.items() if not name.startswith("date_")}
    assert found == expected
    assert {most for name, most in columns.MAX_LENGTHS.items() if name.startswith("date_")} == {10}


def test_one_rule_for_the_sql_and_the_files(conn):
    """The CSV's SQL is built from FORMULA_STARTS: PostgreSQL quotes exactly what the Python rule quotes."""
    from psycopg import sql

    from aiguillage.extracts.spreadsheet import neutralised, neutralised_sql, runs_as_formula

    samples = [start + "x" for start in FORMULA_STARTS] + ["x=1", "Émilie", "'déjà", "93200"]
    for text in samples:
        (in_sql,) = conn.execute(sql.SQL("SELECT {}").format(neutralised_sql(sql.Literal(text)))).fetchone()
        assert in_sql == neutralised(text) and (in_sql != text) == runs_as_formula(text), repr(text)
    assert runs_as_formula("-2") and not runs_as_formula("-2", numeric=True)
    assert runs_as_formula("-2+3", numeric=True)


@pytest.mark.skipif("nombre_enfants" not in columns.EXTRACT_COLUMNS, reason="no numeric column in the contract")
def test_a_numeric_column_gives_numbers_never_quoted(lines, tmp_path):
    """A number, even negative, is a number cell (XLSX) and a bare field (CSV): never taken for a formula."""
    lines.execute("ALTER TABLE identifiants.identifiants__extract_lines ALTER nombre_enfants TYPE integer"
                  " USING nombre_enfants::integer")
    lines.execute("UPDATE identifiants.identifiants__extract_lines SET nombre_enfants = -1"
                  " WHERE id_orientation = 'O-0002'")
    lines.commit()
    path = Path(write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-1", "xlsx")["path"])
    sheet = openpyxl.load_workbook(path).active
    header = [cell.value for cell in sheet[1]]
    cell = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "O-0002")[
        header.index("nombre_enfants")]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (-1, "n", False)
    written = write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-1")
    assert {row["id_orientation"]: row["nombre_enfants"] for row in read_csv(Path(written["path"]))}["O-0002"] == "-1"


# --- Every format through the same delivery, archive, re-delivery and retention --------------------------


def test_each_format_is_delivered_recorded_archived_and_redelivered(lines, tmp_path):
    outbox = tmp_path / "outbox"
    staging = files.staging_folder(outbox, "ALI05", DAY)
    for kind in ("csv", "xlsx"):
        extract = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-1", kind)
        assert deliver(lines, DAY, "ALI05", extract, Destination("ALI05"), outbox, "run-1")["state"] == "delivered"
        again = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-2", kind)
        assert deliver(lines, DAY, "ALI05", again, Destination("ALI05"), outbox, "run-2")["state"] == \
            "already_delivered"
    recorded = lines.execute("SELECT format, fichier, row_count FROM registry.extract_delivery ORDER BY format")
    assert recorded.fetchall() == [("csv", "mouvements", 4), ("xlsx", "mouvements", 4)]
    names = ["orientations_ALI05_20261102.csv", "orientations_ALI05_20261102.manifest.json",
             "orientations_ALI05_20261102.xlsx", "orientations_ALI05_20261102.xlsx.manifest.json"]
    assert sorted(p.name for p in (outbox / "ALI05" / "2026-11-02").iterdir()) == names
    assert sorted(p.name for p in files.archive_folder(outbox, "ALI05", DAY).iterdir()) == names

    (outbox / "ALI05" / "2026-11-02" / names[2]).unlink()  # the agency lost its workbook
    placed = redeliver(lines, DAY, "ALI05", Destination("ALI05"), outbox, formats_wanted=("xlsx",))
    assert [(p["fichier"], p["format"]) for p in placed] == [("mouvements", "xlsx")]
    assert (outbox / "ALI05" / "2026-11-02" / names[2]).is_file()

    expired = archives.expired_folders(outbox, date(2026, 11, 3))
    assert expired.files >= 8  # the day's folder and its archive, every format, go together


def test_webrsa_is_registered_with_its_exchange_names():
    webrsa = formats.get("webrsa")
    assert webrsa.file_name("ALI05", "mouvements", DAY) == "export_webrsa_ali_ALI05_diff_20261102.xml"
    assert webrsa.file_name("ALI05", "stock", DAY) == "export_webrsa_ali_ALI05_stock_20261102.xml"
    assert not webrsa.spreadsheet
    assert formats.get("xlsx").file_name("ALI05", "stock", DAY) == "stock_ALI05_20261102.xlsx"
    with pytest.raises(ValueError, match="unknown extract format 'pdf'"):
        formats.get("pdf")


# --- Configuration ---------------------------------------------------------------------------------------

REFERENTIAL = [ReferentialRow("ALI05", None, None, True), ReferentialRow("SSD05", None, None, True)]


def test_formats_chosen_per_agency_in_the_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv("AIGUILLAGE_DELIVERY_CONFIG", raising=False)
    assert {d.formats for d in load_destinations(DAY, referential=REFERENTIAL).values()} == {("csv",)}
    path = tmp_path / "delivery.toml"
    path.write_text('[default]\nformats = ["csv", "xlsx"]\n\n[destinations.ALI05]\nmethod = "sftp"\n'
                    'conn_id = "sftp_ali05"\nremote_dir = "/depot"\nformats = ["webrsa"]\n', encoding="utf-8")
    found = load_destinations(DAY, referential=REFERENTIAL, path=path)
    assert found["ALI05"].formats == ("webrsa",) and found["SSD05"].formats == ("csv", "xlsx")
    assert Destination.from_dict(found["SSD05"].as_dict()) == found["SSD05"]


@pytest.mark.parametrize(("text", "message"), [
    ('[default]\nformats = ["csv", "pdf"]\n', r"default\.formats names an unknown format 'pdf'"),
    ('[destinations.ALI05]\nformats = "xlsx"\n', r"destinations\.ALI05\.formats must be a non-empty list"),
    ('[destinations.ALI05]\nformats = []\n', r"destinations\.ALI05\.formats must be a non-empty list"),
    ('[default]\nformats = ["csv", "csv"]\n', r"default\.formats names a format twice"),
])
def test_bad_formats_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "delivery.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeliveryConfigError, match=message) as error:
        load_destinations(DAY, referential=REFERENTIAL, path=path)
    assert str(path) in str(error.value)
