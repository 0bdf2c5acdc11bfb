"""The quality gate on a small hand-made day: what passes, what withholds the whole day or one
agency, what only warns, where it is recorded, and that no personal value leaks into the records
or the Data Docs."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import pytest

from aiguillage.extracts.columns import EXTRACT_COLUMNS

DAY = date(2026, 11, 2)
AGENCIES = ["ALI01", "ALI02", "SSD05"]
PLANTED_NIR = "1 85 05 93 066 123 45"
PLANTED_NAME = "Zébulonia"

_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS identifiants; CREATE SCHEMA referentiel; CREATE SCHEMA marts;
CREATE TABLE referentiel.destinations (code_structure text, type_structure text, parcours text,
    code_territoire text, libelle text, actif_du date, actif_au date, recoit_extrait boolean);
CREATE TABLE referentiel.communes (code_insee text, nom_commune text, codes_postaux text, code_territoire text);
CREATE TABLE referentiel.routage_codes_postaux (code_insee text, code_postal text, code_territoire text);
CREATE TABLE referentiel.codes_rolepers (code text); CREATE TABLE referentiel.codes_etatdosrsa (code text);
CREATE TABLE referentiel.codes_sitfam (code text); CREATE TABLE referentiel.codes_evenement_ali (code text);
CREATE TABLE referentiel.codes_motif_ali (code text);
CREATE TABLE marts.referral_movements (id_orientation text, date_mouvement date, code_structure text);
CREATE TABLE identifiants.identifiants__extract_lines (date_extrait date NOT NULL, fichier text NOT NULL, """ + ", ".join(
    f"{c} {'date' if c.startswith('date_') else 'integer' if c == 'nombre_enfants' else 'text'}"
    for c in EXTRACT_COLUMNS) + """);
INSERT INTO referentiel.destinations VALUES
    ('ALI01', 'ALI', 'PSO', 'T01', 'a', '2023-03-01', NULL, true),
    ('ALI02', 'ALI', 'PSO', 'T02', 'b', '2023-03-01', NULL, true),
    ('ALI20', 'ALI', 'PSO', 'T20', 'c', '2027-01-01', NULL, true),
    ('SSD05', 'SSD', 'PSP', 'T05', 'd', NULL, NULL, true),
    ('FT93', 'FT', 'PED', NULL, 'e', NULL, NULL, false);
INSERT INTO referentiel.communes VALUES ('93001', 'Aubervilliers', '93300', 'T04'),
    ('93066', 'Saint-Denis', '93200|93210', 'T05'), ('93005', 'Aulnay-sous-Bois', '93600', 'T06');
INSERT INTO referentiel.routage_codes_postaux VALUES ('93066', '93380', 'T01'), ('93001', NULL, 'T04');
INSERT INTO referentiel.codes_rolepers VALUES ('DEM'), ('CJT');
INSERT INTO referentiel.codes_etatdosrsa VALUES ('2'), ('3');
INSERT INTO referentiel.codes_sitfam VALUES ('CEL');
INSERT INTO referentiel.codes_evenement_ali VALUES ('PRISE_EN_CHARGE');
INSERT INTO referentiel.codes_motif_ali VALUES ('EMPLOI');
"""


def _line(number: int, agency: str, fichier: str = "stock") -> dict:
    parcours = "PSP" if agency.startswith("SSD") else "PSO"
    postal, commune = [("93300", "93001"), ("93210", "93066"), ("93380", "93066")][number % 3]
    line = dict.fromkeys(EXTRACT_COLUMNS)
    line.update(
        date_extrait=DAY, fichier=fichier, id_orientation=f"OR{number:016X}",
        type_mouvement="STOCK" if fichier == "stock" else "NOUVELLE", date_orientation=DAY - timedelta(days=30),
        parcours=parcours, code_structure=agency, civilite="MME", nom=f"Nom{number}", prenom=f"Prenom{number}",
        date_naissance=date(1980, 1, 1) + timedelta(days=number), numero_caf=f"{number:07d}", role="DEM",
        adresse=f"{number} rue de la République", code_postal=postal, code_commune=commune, commune="Commune",
        etat_droit="2", statut_orientation="OUVERTE",
    )
    return line


def _day_lines() -> list[dict]:
    """30 lines: 10 per agency, 2 of them movements."""
    return [_line(i * 3 + k, agency, "mouvements" if i < 2 else "stock")
            for i in range(10) for k, agency in enumerate(AGENCIES)]


def _write(conn, lines: list[dict], history: dict[date, int] | None = None) -> None:
    with conn.transaction():
        conn.execute(_SCHEMA)
        columns = ["date_extrait", "fichier", *EXTRACT_COLUMNS]
        with conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO identifiants.identifiants__extract_lines ({', '.join(columns)})"  # noqa: S608
                f" VALUES ({', '.join(['%s'] * len(columns))})",
                [[line[c] for c in columns] for line in lines],
            )
        for day, count in (history or {}).items():
            conn.execute(
                "INSERT INTO marts.referral_movements SELECT 'OR' || d || '-' || s, %s::date,"
                " (ARRAY['ALI01', 'ALI02', 'SSD05'])[1 + s %% 3] FROM generate_series(1, %s) s, (SELECT %s AS d) x",
                (day, count, day.isoformat()),
            )


def _gate(warehouse_url, tmp_path, **kwargs):
    from aiguillage.quality import run_gate

    return run_gate(DAY, AGENCIES, url=warehouse_url, docs_dir=tmp_path / "data_docs", **kwargs)


def _history(days: int, per_day: int = 2) -> dict[date, int]:
    return {DAY - timedelta(days=n): per_day for n in range(1, days + 1)}


def test_importing_the_package_does_not_import_great_expectations():
    code = ("import sys, aiguillage.quality, aiguillage.quality.gate;"
            " print(any(m.split('.')[0] in ('great_expectations', 'pandas') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_clean_day_passes_is_recorded_and_a_rerun_replaces_its_rows(conn, warehouse_url, tmp_path):
    _write(conn, _day_lines(), _history(4))
    result = _gate(warehouse_url, tmp_path, run_id="first")
    assert result["day_verdict"] == "pass", result["day_findings"]
    assert {code: a["verdict"] for code, a in result["agencies"].items()} == dict.fromkeys(AGENCIES, "pass")
    assert {code: a["rows"] for code, a in result["agencies"].items()} == dict.fromkeys(AGENCIES, 10)
    assert result["expectations_failed"] == 0 and result["expectations_run"] > 40
    assert (tmp_path / "data_docs" / "index.html").is_file() and result["data_docs"].endswith("index.html")
    json.dumps(result)  # plain JSON for XCom and the run report
    count = "SELECT count(*), min(run_id), max(run_id) FROM registry.quality_check WHERE day = %s"
    first = conn.execute(count, (DAY,)).fetchone()
    assert first[0] > 100 and first[1] == "first"
    suites = {row[0] for row in conn.execute("SELECT DISTINCT suite FROM registry.quality_check")}
    assert suites == {"extract_day", "extract_agency", "source_caf", "source_france_travail", "source_ali"}
    _gate(warehouse_url, tmp_path, run_id="second")
    assert conn.execute(count, (DAY,)).fetchone() == (first[0], "second", "second")


def test_day_defects_withhold_every_extract_and_never_leak_personal_values(conn, warehouse_url, tmp_path):
    lines = _day_lines()
    lines[0]["code_structure"] = None                            # a line no agency can take
    lines[4]["id_orientation"] = lines[1]["id_orientation"]      # same referral twice in the stock
    lines[7]["adresse"] = f"{PLANTED_NIR} chez {PLANTED_NAME}"   # a NIR where an address should be
    lines[7]["nom"] = PLANTED_NAME
    _write(conn, lines, _history(4))
    result = _gate(warehouse_url, tmp_path, sources=False)
    assert result["day_verdict"] == "withhold"
    assert all(a["verdict"] == "withhold" for a in result["agencies"].values())
    blocking = {(f["expectation"], f["column"]) for f in result["day_findings"] if f["severity"] == "blocking"}
    assert ("expect_column_values_to_not_be_null", "code_structure") in blocking
    assert ("expect_column_values_to_not_match_regex", "adresse") in blocking
    assert ("unexpected_rows_expectation", None) in blocking
    nir = next(f for f in result["day_findings"] if f["column"] == "adresse")
    assert nir["unexpected_count"] == 1 and "NIR" in nir["description"]
    assert nir["data_docs"] and nir["data_docs"].endswith(".html")
    # Nothing personal in the answer, the records or the Data Docs.
    texts = [json.dumps(result, ensure_ascii=False)]
    texts += [str(row) for row in conn.execute("SELECT * FROM registry.quality_check")]
    texts += [page.read_text(encoding="utf-8", errors="replace") for page in (tmp_path / "data_docs").rglob("*")
              if page.is_file()]
    for text in texts:
        for secret in (PLANTED_NIR, PLANTED_NIR.replace(" ", ""), PLANTED_NAME, "Prenom7", "rue de la R"):
            assert secret not in text


def test_an_empty_nom_withholds_that_agency_only(conn, warehouse_url, tmp_path):
    lines = _day_lines()
    target = next(line for line in lines if line["code_structure"] == "ALI02")
    target["nom"] = None
    _write(conn, lines, _history(4))
    result = _gate(warehouse_url, tmp_path, sources=False)
    assert result["day_verdict"] == "warn"  # seen at the day level, blocking for ALI02 only
    assert not any(f["severity"] == "blocking" for f in result["day_findings"])
    verdicts = {code: a["verdict"] for code, a in result["agencies"].items()}
    assert verdicts == {"ALI01": "pass", "ALI02": "withhold", "SSD05": "pass"}
    (finding,) = result["agencies"]["ALI02"]["findings"]
    assert finding["column"] == "nom" and finding["unexpected_count"] == 1
    assert finding["scope"] == "ALI02" and "nom" in finding["description"]


# The warehouse's first day (its initial stock) is not a day's volume: 4 previous days make 3 counted.
@pytest.mark.parametrize("previous_days, verdict", [(4, "withhold"), (3, "pass")])
def test_movement_volume_against_previous_days(conn, warehouse_url, tmp_path, previous_days, verdict):
    _write(conn, _day_lines(), _history(previous_days, per_day=600))  # 6 movement lines today
    result = _gate(warehouse_url, tmp_path, sources=False)
    assert result["day_verdict"] == verdict
    if verdict == "withhold":
        (finding,) = [f for f in result["day_findings"] if f["severity"] == "blocking"]
        assert finding["observed"] == 6 and "médiane 600" in finding["description"]
        # the agencies' own volume check only warns
        assert all(f["severity"] == "warning" for a in result["agencies"].values() for f in a["findings"])
    else:
        assert "volume checks skipped" in result["notes"][0]
        skipped = conn.execute("SELECT count(*) FROM registry.quality_check WHERE success IS NULL").fetchone()[0]
        assert skipped == 2


def test_source_warnings_do_not_withhold(conn, warehouse_url, tmp_path):
    _write(conn, _day_lines(), _history(4))
    with conn.transaction():
        file_id = conn.execute(
            "INSERT INTO registry.landing_file (sha256, relative_path, source, kind, size_bytes, mtime_ns,"
            " status, logical_date, run_id, rows_loaded) VALUES (repeat('a', 64), 'caf/flux.xml', 'caf', 'daily',"
            " 1, 1, 'loaded', %s, 'r', '{\"caf_dossier\": 1, \"caf_person\": 1}') RETURNING file_id", (DAY,),
        ).fetchone()[0]
        conn.execute("INSERT INTO raw.caf_dossier (file_id, position, matricule, numdemrsa, etatdosrsa, sitfam)"
                     " VALUES (%s, 1, '0000001', 'D1', '2', 'CEL')", (file_id,))
        conn.execute("INSERT INTO raw.caf_person (file_id, position, person_position, nom, prenom, dtnai,"
                     " rolepers_rsa) VALUES (%s, 1, 1, 'Nom', 'Prenom', '1980-01-01', 'XXX')", (file_id,))
    result = _gate(warehouse_url, tmp_path)
    assert result["day_verdict"] == "warn"
    (finding,) = result["day_findings"]
    assert (finding["scope"], finding["column"], finding["severity"]) == ("caf", "rolepers_rsa", "warning")
    assert all(a["verdict"] == "pass" for a in result["agencies"].values())


def test_suite_files_name_a_severity_and_cover_every_text_column():
    from aiguillage.quality import suites

    day = suites.load_suite(suites.DAY_SUITE)
    nir_columns = {e["kwargs"]["column"] for e in day["expectations"]
                   if e["type"] == "expect_column_values_to_not_match_regex"}
    dates = {c for c in EXTRACT_COLUMNS if c.startswith("date_")}
    numbers = {"nombre_enfants"}  # an integer column: no text to look into
    assert nir_columns == {"fichier", *EXTRACT_COLUMNS} - dates - numbers
