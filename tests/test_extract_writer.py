"""The agencies' extract files: format, content, reruns and atomicity, on a real PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date

import psycopg
import pytest

from aiguillage.extracts import columns
from aiguillage.extracts.writer import ExtractDayMismatch, write_extract

DAY = date(2026, 11, 2)

# The lines table as dbt builds it, from the contract's columns (dates typed as dates, the rest text).
LINES_DDL = (
    "CREATE SCHEMA IF NOT EXISTS identifiants;\n"
    "CREATE TABLE identifiants.{name} (date_extrait date NOT NULL, fichier text NOT NULL, "
    + ", ".join(f"{c} {'date' if c.startswith('date_') else 'text'}" for c in columns.EXTRACT_COLUMNS)
    + ");\nCREATE INDEX ON identifiants.{name} (fichier, code_structure);\n"
)

_INSERT_COLUMNS = ("date_extrait", "fichier", *columns.EXTRACT_COLUMNS)


def line(fichier: str, id_orientation: str, type_mouvement: str, code: str = "ALI05", **values) -> dict:
    """A made-up extract line (fake person)."""
    return {
        **dict.fromkeys(columns.EXTRACT_COLUMNS),
        "date_extrait": DAY, "fichier": fichier, "id_orientation": id_orientation,
        "type_mouvement": type_mouvement, "date_orientation": date(2026, 10, 30), "parcours": "PSO",
        "code_structure": code, "motif_orientation": "SANS_FT", "civilite": "MME", "nom": "TESTNOM",
        "nom_naissance": None, "prenom": "Émilie", "date_naissance": date(1980, 1, 31), "numero_caf": "1234567",
        "role": "DEM", "adresse": "1 rue de l'Exemple", "code_postal": "93100", "code_commune": "93048",
        "commune": "Montreuil", "date_entree_droits_devoirs": date(2026, 9, 1), "etat_droit": "2",
        "date_limite_contrat": None, "motif_cloture": None, "statut_orientation": "ORIENTE",
        "date_limite_orientation": date(2026, 12, 30), "code_territoire": "T05", **values,
    }


SAMPLE = [
    line("mouvements", "O-0003", "NOUVELLE"),
    line("mouvements", "O-0001", "NOUVELLE", adresse='12 bd "Voltaire"; bât. B'),
    line("mouvements", "O-0002", "CLOTUREE", motif_cloture="DEMENAGEMENT"),
    line("mouvements", "O-0009", "MODIFIEE", nom_naissance=""),
    line("mouvements", "O-0100", "NOUVELLE", code="SSD05", parcours="PSP"),
    line("stock", "O-0001", "STOCK"),
    line("stock", "O-0003", "STOCK"),
    line("stock", "O-0100", "STOCK", code="SSD05"),
]


def create_lines(conn: psycopg.Connection, rows: list[dict], name: str = "identifiants__extract_lines") -> None:
    conn.execute(LINES_DDL.format(name=name))
    placeholders = ", ".join(["%s"] * len(_INSERT_COLUMNS))
    with conn.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO identifiants.{name} ({', '.join(_INSERT_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
            [tuple(row[c] for c in _INSERT_COLUMNS) for row in rows],
        )
    conn.commit()


@pytest.fixture
def lines(conn):
    create_lines(conn, SAMPLE)
    return conn


def read_csv(path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))


def test_movements_file_format_and_content(lines, tmp_path):
    result = write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-1")

    path = tmp_path / "orientations_ALI05_20261102.csv"
    assert result["csv"] == str(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + ";".join(columns.EXTRACT_COLUMNS).encode() + b"\n")
    assert b"\r\n" not in raw
    assert b'""' not in raw.replace(b'""Voltaire""', b"")  # an empty value is an empty field, never ""
    table = read_csv(path)
    assert tuple(table[0]) == columns.EXTRACT_COLUMNS
    body = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    # Only the agency's movements, ordered by type then referral.
    assert [(r["type_mouvement"], r["id_orientation"]) for r in body] == [
        ("CLOTUREE", "O-0002"), ("MODIFIEE", "O-0009"), ("NOUVELLE", "O-0001"), ("NOUVELLE", "O-0003")]
    first_new = body[2]
    assert first_new["adresse"] == '12 bd "Voltaire"; bât. B'  # quoting survives a round trip
    assert first_new["date_naissance"] == "1980-01-31" and first_new["prenom"] == "Émilie"
    assert first_new["nom_naissance"] == "" and first_new["date_limite_contrat"] == ""
    assert result["rows"] == 4
    assert result["rows_by_type"] == {"NOUVELLE": 2, "MODIFIEE": 1, "CLOTUREE": 1}
    assert result["unchanged"] is False

    manifest = json.loads((tmp_path / "orientations_ALI05_20261102.manifest.json").read_text("utf-8"))
    assert manifest["sha256"] == hashlib.sha256(raw).hexdigest() == result["sha256"]
    assert manifest["row_count"] == 4 and manifest["rows_by_type"] == result["rows_by_type"]
    assert manifest["columns"] == list(columns.EXTRACT_COLUMNS)
    assert (manifest["schema_version"], manifest["code_structure"], manifest["date"], manifest["fichier"],
            manifest["run_id"]) == (columns.SCHEMA_VERSION, "ALI05", "2026-11-02", "mouvements", "run-1")
    assert manifest["generated_at"].endswith("+00:00")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "orientations_ALI05_20261102.csv", "orientations_ALI05_20261102.manifest.json"]


def test_stock_file_and_empty_agency(lines, tmp_path):
    stock = write_extract(lines, DAY, "SSD05", "stock", tmp_path, "run-1")
    assert (tmp_path / "stock_SSD05_20261102.csv").is_file()
    assert stock["rows"] == 1 and stock["rows_by_type"] == {"STOCK": 1}

    # An agency without lines today gets a header-only file, so that "nothing today" is explicit.
    empty = write_extract(lines, DAY, "ALI01", "mouvements", tmp_path, "run-1")
    assert read_csv(tmp_path / "orientations_ALI01_20261102.csv") == [list(columns.EXTRACT_COLUMNS)]
    assert empty["rows"] == 0 and empty["rows_by_type"] == {"NOUVELLE": 0, "MODIFIEE": 0, "CLOTUREE": 0}


def test_rerun_is_byte_identical_and_leaves_files_untouched(lines, tmp_path):
    first = write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-1")
    csv_before = (tmp_path / "orientations_ALI05_20261102.csv").stat()
    manifest_before = (tmp_path / "orientations_ALI05_20261102.manifest.json").read_bytes()

    again = write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-2")
    assert again["unchanged"] is True and again["sha256"] == first["sha256"]
    assert (tmp_path / "orientations_ALI05_20261102.csv").stat().st_mtime_ns == csv_before.st_mtime_ns
    assert (tmp_path / "orientations_ALI05_20261102.manifest.json").read_bytes() == manifest_before

    # Written elsewhere, from scratch: the same bytes.
    other = write_extract(lines, DAY, "ALI05", "mouvements", tmp_path / "elsewhere", "run-3")
    assert other["unchanged"] is False
    assert (tmp_path / "elsewhere" / "orientations_ALI05_20261102.csv").read_bytes() == \
        (tmp_path / "orientations_ALI05_20261102.csv").read_bytes()

    # New content: both files replaced, the manifest tells the new run.
    lines.execute("UPDATE identifiants.identifiants__extract_lines SET commune = 'Montreuil-sous-Bois'")
    lines.commit()
    changed = write_extract(lines, DAY, "ALI05", "mouvements", tmp_path, "run-4")
    assert changed["unchanged"] is False and changed["sha256"] != first["sha256"]
    manifest = json.loads((tmp_path / "orientations_ALI05_20261102.manifest.json").read_text("utf-8"))
    assert manifest["run_id"] == "run-4" and manifest["sha256"] == changed["sha256"]


def test_another_day_in_the_table_is_refused(lines, tmp_path):
    with pytest.raises(ExtractDayMismatch, match="holds the lines of 2026-11-02, not of 2026-11-03"):
        write_extract(lines, date(2026, 11, 3), "ALI05", "mouvements", tmp_path, "run-1")
    # Also for an agency with no line today: the table's day is still checked.
    with pytest.raises(ExtractDayMismatch, match="not of 2026-11-03"):
        write_extract(lines, date(2026, 11, 3), "ALI01", "stock", tmp_path, "run-1")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_named(lines, tmp_path):
    with pytest.raises(ValueError, match="unknown extract file 'orientations'"):
        write_extract(lines, DAY, "ALI05", "orientations", tmp_path, "run-1")
    with pytest.raises(ValueError, match="not a valid code_structure"):
        write_extract(lines, DAY, "../ALI05", "stock", tmp_path, "run-1")


def test_copy_failing_after_it_started_leaves_no_partial_file(conn, tmp_path):
    # The checks pass, the COPY starts (the temporary file is open, its BOM written), then a line fails.
    many = [line("mouvements", f"O-{n:05d}", "NOUVELLE") for n in range(300)]
    create_lines(conn, many, name="lines_base")
    # Only the COPY fails (the checks before it read the same lines without failing).
    failing = {"nom": "CASE WHEN id_orientation = 'O-00299' AND current_query() LIKE 'COPY%'"
                      " THEN (1 / 0)::text ELSE nom END AS nom"}
    wanted = ", ".join(failing.get(c, c) for c in columns.EXTRACT_COLUMNS)
    view = f"CREATE VIEW identifiants.identifiants__extract_lines AS SELECT date_extrait, fichier, {wanted} FROM "  # noqa: S608
    conn.execute(view + "identifiants.lines_base")
    conn.commit()
    with pytest.raises(psycopg.errors.DivisionByZero):
        write_extract(conn, DAY, "ALI05", "mouvements", tmp_path, "run-1")
    assert list(tmp_path.iterdir()) == []

    # An earlier complete extract stays exactly as it was.
    (tmp_path / "orientations_ALI05_20261102.csv").write_bytes(b"previous")
    (tmp_path / "orientations_ALI05_20261102.manifest.json").write_bytes(b"{}")
    with pytest.raises(psycopg.errors.DivisionByZero):
        write_extract(conn, DAY, "ALI05", "mouvements", tmp_path, "run-2")
    assert (tmp_path / "orientations_ALI05_20261102.csv").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "orientations_ALI05_20261102.csv", "orientations_ALI05_20261102.manifest.json"]
    conn.execute("SELECT 1")  # the connection is usable again


def test_missing_lines_table_is_a_clear_error(conn, tmp_path):
    with pytest.raises(psycopg.errors.UndefinedTable, match="identifiants__extract_lines"):
        write_extract(conn, DAY, "ALI05", "mouvements", tmp_path, "run-1")
    assert list(tmp_path.iterdir()) == []
