"""The daily run report: gathered from a real warehouse, written as JSON and HTML, opened in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from aiguillage.run_report import collect, render, write
from aiguillage.run_report.charts import bar_chart, line_chart
from aiguillage.run_report.render import docs_href

DAY = date(2026, 11, 4)
SENTINEL = "SENTINELLE-PERSONNE"  # a person's name planted in the data: it must never reach the report


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        pytest.skip("Chromium is not installed (no `chromium` on PATH nor /usr/bin/chromium): HTML not checked")
    return found


def run_chromium(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Headless Chromium with a throwaway profile; its whole process group is killed on timeout."""
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    command = [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"Chromium did not finish within {timeout:.0f} s: {' '.join(args)}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Refused to" in line]


# --- warehouse content ---------------------------------------------------------------------------------

def record_files(conn) -> None:
    """Three files of the day (loaded with rejects, quarantined, duplicate) and one of the day before."""
    def insert(path, sha, source, status, reason=None, duplicate_of=None, logical=DAY, **extra):
        return conn.execute(
            "INSERT INTO registry.landing_file (sha256, relative_path, source, kind, agency_code, size_bytes,"
            " mtime_ns, delivered_on, status, status_reason, duplicate_of, logical_date, run_id, rows_loaded,"
            " rejects, load_seconds) VALUES (%s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s, %s, 'run-1',"
            " %s::jsonb, %s::jsonb, %s) RETURNING file_id",
            (sha * 64, path, source, extra.get("kind"), extra.get("agency"), extra.get("size", 1000), logical,
             status, reason, duplicate_of, logical, json.dumps(extra.get("rows", {})),
             json.dumps(extra.get("rejects", {})), extra.get("seconds"))).fetchone()[0]

    insert("caf/VRSB0801_931_20261103_I.xml", "e", "caf", "loaded", logical=DAY - timedelta(days=1))
    loaded = insert("france_travail/inscriptions_20261104.csv", "a", "france_travail", "loaded_with_rejects",
                    kind="inscriptions", size=52_340, rows={"france_travail_record": 3},
                    rejects={"BAD_NIR_KEY": 2, "MISSING_FIELD": 1}, seconds=0.25)
    insert("ali/ALI03/rapport_ALI03_20261104.csv", "b", "ali", "quarantined", agency="ALI03",
           reason="header line missing: expected the columns of the activity report")
    insert("france_travail/inscriptions_20261104_bis.csv", "a", "france_travail", "duplicate",
           reason="same content as france_travail/inscriptions_20261104.csv", duplicate_of=loaded)
    conn.execute(
        "INSERT INTO raw.france_travail_record (file_id, line_number, kind, nir, identifiantpe, nom, dtnai,"
        " date_evenement, code) SELECT %s, n, 'inscriptions', '1', '1', %s, '1980-01-01', %s, 'X'"
        " FROM generate_series(1, 3) AS n", (loaded, SENTINEL, DAY))


def build_marts(conn) -> None:
    """The few built tables the report reads, with the columns the dbt models give them."""
    conn.execute("""
        CREATE SCHEMA marts; CREATE SCHEMA referentiel; CREATE SCHEMA identifiants;
        CREATE TABLE referentiel.territoires (code_territoire text, nom_territoire text, decoupage_confirme boolean);
        INSERT INTO referentiel.territoires VALUES ('T01', 'Pierrefitte-sur-Seine – Stains', true),
            ('T02', 'Épinay-sur-Seine – Villetaneuse', true), ('T03', 'La Courneuve', true);
        CREATE TABLE marts.referrals (id_orientation text, statut_orientation text, parcours text,
            code_structure text, code_territoire text, depassement_orientation boolean,
            depassement_contrat boolean);
        INSERT INTO marts.referrals
            SELECT 'O' || n, CASE WHEN n % 11 = 0 THEN 'CLOTUREE' WHEN n % 13 = 0 THEN 'EN_ATTENTE_STRUCTURE'
                                  ELSE 'OUVERTE' END,
                   'PSO', CASE WHEN n % 13 = 0 THEN NULL ELSE 'ALI0' || (1 + n % 7 * n % 5) END,
                   'T0' || (1 + n % 3), n % 4 = 0, n % 6 = 0
            FROM generate_series(1, 400) AS n;
        CREATE TABLE marts.referral_movements (id_orientation text, date_mouvement date, type_mouvement text);
        CREATE TABLE marts.beneficiaries (person_id text, statut_eligibilite text);
        CREATE TABLE marts.referral_daily_indicators (jour date, code_territoire text, parcours text,
            code_structure text, nb_depassement_orientation integer, nb_depassement_contrat integer);
        CREATE TABLE identifiants.identifiants__extract_lines (date_extrait date, fichier text,
            code_structure text, nom text);
    """)
    conn.execute("INSERT INTO marts.referral_movements SELECT 'O' || n, %s - (n %% 2), 'NOUVELLE'"
                 " FROM generate_series(1, 9) AS n", (DAY,))
    conn.execute("INSERT INTO marts.referral_daily_indicators"
                 " SELECT %s - d, 'T0' || s, 'PSO', 'ALI0' || s, 20 + d %% 7 + s, 5 + d %% 3"
                 " FROM generate_series(0, 89) AS d, generate_series(1, 2) AS s", (DAY,))
    conn.execute("INSERT INTO identifiants.identifiants__extract_lines"
                 " SELECT %s, CASE WHEN n <= 4 THEN 'mouvements' ELSE 'stock' END, 'ALI01', %s"
                 " FROM generate_series(1, 10) AS n", (DAY, SENTINEL))


def finding(expectation: str, severity: str, docs: str | None, **extra) -> dict:
    return {"suite": "extract_lines", "scope": extra.get("scope", "agency"), "expectation": expectation,
            "column": extra.get("column"), "severity": severity, "unexpected_count": extra.get("unexpected", 0),
            "observed": extra.get("observed"), "description": extra.get("description", expectation),
            "data_docs": docs}


def gate_and_extracts(docs: Path, elsewhere: Path) -> tuple[dict, list[dict], list[dict]]:
    gate = {
        "day": DAY.isoformat(), "run_id": "run-1", "seconds": 4.2, "data_docs": str(docs), "day_verdict": "warn",
        "day_findings": [finding("expect_table_row_count_to_be_between", "warning", str(docs), scope="day",
                                 observed=10, description="Day's lines within the usual volume")],
        "agencies": {
            "ALI01": {"verdict": "pass", "rows": 10, "findings": []},
            "ALI02": {"verdict": "withhold", "rows": 7, "findings": [
                finding("expect_column_values_to_not_be_null", "blocking", str(elsewhere), column="numero_caf",
                        unexpected=3, observed=f"{SENTINEL} Jean",
                        description="Every line carries a CAF number <required>")]},
        },
        "expectations_run": 24, "expectations_failed": 2,
    }
    extracts = [
        {"code_structure": "ALI01", "libelle": "ALI de Pierrefitte-sur-Seine – Stains", "state": "delivered",
         "reason": None, "method": "outbox", "files": [
             {"fichier": "mouvements", "rows": 4, "rows_by_type": {"NOUVELLE": 3, "CLOTUREE": 1}, "sha256": "f" * 64,
              "csv": "/outbox/ALI01/mouvements_ALI01_20261104.csv"},
             {"fichier": "stock", "rows": 6, "rows_by_type": {"STOCK": 6}, "sha256": "0" * 64,
              "csv": "/outbox/ALI01/stock_ALI01_20261104.csv"}]},
        {"code_structure": "ALI02", "libelle": "ALI d'Épinay-sur-Seine", "state": "withheld",
         "reason": "blocking expectation failed: expect_column_values_to_not_be_null (numero_caf)",
         "method": "sftp", "files": []},
        {"code_structure": "SSD01", "libelle": "SSD Pierrefitte", "state": "already_delivered", "reason": None,
         "method": "outbox", "files": []},
    ]
    tasks = [{"dag_id": "referral_warehouse", "task_id": "dbt_build", "state": "success", "seconds": 6.5},
             {"dag_id": "referral_extracts", "task_id": "quality_gate", "state": "success", "seconds": 4.2},
             {"dag_id": "referral_extracts", "task_id": "deliver", "state": "success", "seconds": 0.8}]
    return gate, extracts, tasks


# --- tests ---------------------------------------------------------------------------------------------

def test_report_of_a_built_day_opens_in_chromium(conn, tmp_path):
    record_files(conn)
    build_marts(conn)
    conn.commit()
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    docs = outbox / "_runs" / DAY.isoformat() / "data_docs" / "index.html"
    gate, extracts, tasks = gate_and_extracts(docs, tmp_path / "gx" / "validation.html")

    report = collect(conn, DAY, "run-1", gate=gate, extracts=extracts, tasks=tasks)
    assert conn.info.transaction_status.name == "IDLE"  # nothing left open on the caller's connection
    json_path, html_path = write(report, outbox)

    assert json_path == outbox / "_runs" / "2026-11-04" / "run_report.json"
    assert json.loads(json_path.read_text(encoding="utf-8")) == report
    assert report["status"] == "withheld"
    assert report["withheld"] == [{"code_structure": "ALI02", "reason": extracts[1]["reason"]}]
    assert report["files"]["by_status"] == {"duplicate": 1, "loaded_with_rejects": 1, "quarantined": 1}
    loaded = next(f for f in report["files"]["items"] if f["status"] == "loaded_with_rejects")
    assert (loaded["rows_loaded_total"], loaded["rejects"]) == (3, {"BAD_NIR_KEY": 2, "MISSING_FIELD": 1})
    layers = {layer["table"]: layer for layer in report["layers"]}
    assert layers["raw.france_travail_record"]["rows"] == 3
    assert layers["raw.caf_dossier"]["rows"] == 0
    assert layers["marts.referral_movements"]["rows"] == 4  # the day's movements only
    assert layers["marts.referral_daily_indicators"]["rows"] == 2
    assert not layers["staging.stg_caf__persons"]["built"]
    assert layers["identifiants.identifiants__extract_lines"]["detail"] == {"mouvements": 4, "stock": 6}
    deadlines = report["deadlines"]
    assert [t["code_territoire"] for t in deadlines["by_territory"]] == ["T01", "T02", "T03"]
    assert deadlines["by_territory"][2]["nom_territoire"] == "La Courneuve"
    assert deadlines["totals"]["open"] == sum(r["open"] for r in report["referrals"]["by_agency"])
    assert len(deadlines["history"]) == 60 and deadlines["history"][-1]["jour"] == "2026-11-04"
    assert report["gate"]["agencies"]["ALI02"]["findings"][0]["observed"] is None  # text from data is dropped

    html = html_path.read_text(encoding="utf-8")
    assert SENTINEL not in html and SENTINEL not in json_path.read_text(encoding="utf-8")
    assert 'href="data_docs/index.html"' in html  # Data Docs inside the report folder: relative link
    assert (tmp_path / "gx" / "validation.html").as_uri() in html
    assert "&lt;required&gt;" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")

    dom = run_chromium(tmp_path, "--dump-dom", html_path.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == []
    page = dom.stdout
    headline = page[page.index('id="headline"'):page.index("</section>")]
    assert "Withheld" in headline and "ALI02" in headline and "blocking expectation failed" in headline
    assert page.count("<svg") == 2
    assert 'id="chart-referrals-title"' in page and 'id="chart-deadlines-desc"' in page
    assert "header line missing" in page and "expect_column_values_to_not_be_null" in page

    png = tmp_path / "run_report.png"
    shot = run_chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", html_path.as_uri())
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_report_before_the_warehouse_is_built(conn, tmp_path):
    report = collect(conn, DAY, "run-0", gate=None, extracts=[], tasks=[])
    assert report["referrals"] == {"built": False, "by_agency": []}
    assert report["deadlines"]["built"] is False and report["deadlines"]["history_built"] is False
    assert all(not layer["built"] for layer in report["layers"] if layer["layer"] != "raw")
    assert report["status"] == "complete" and report["files"]["items"] == []

    json_path, html_path = write(report, tmp_path)
    write(report, tmp_path)  # a rerun replaces both files and leaves nothing behind
    assert sorted(p.name for p in json_path.parent.iterdir()) == ["run_report.html", "run_report.json"]
    assert json.loads(json_path.read_text(encoding="utf-8")) == report

    dom = run_chromium(tmp_path, "--dump-dom", html_path.as_uri())
    assert dom.returncode == 0 and console_messages(dom.stderr) == []
    assert "Referral warehouse not built" in dom.stdout and "Deadline history not built" in dom.stdout
    assert "The quality gate did not run" in dom.stdout and "<svg" not in dom.stdout


def test_a_failed_task_makes_the_day_failed(conn):
    tasks = [{"dag_id": "referral_warehouse", "task_id": "dbt_build", "state": "failed", "seconds": 2.0}]
    report = collect(conn, DAY, "run-2", gate={"day_verdict": "withhold"}, extracts=[], tasks=tasks)
    assert report["status"] == "failed"
    assert report["withheld"] == [{"code_structure": None, "reason": "the quality gate withheld the whole day"}]
    html = render(report)
    assert "✖ Failed" in html and "task referral_warehouse.dbt_build" in html and "all agencies" in html


def test_write_names_a_bad_outbox(tmp_path):
    with pytest.raises(FileNotFoundError, match="outbox .*missing"):
        write({"day": "2026-11-04"}, tmp_path / "missing")
    with pytest.raises(ValueError, match="'day' must be a date"):
        write({"day": "yesterday"}, tmp_path)


def test_links_and_charts_escape_and_stay_local(tmp_path):
    folder = tmp_path / "_runs" / "2026-11-04"
    assert docs_href(str(folder / "gx docs" / "index.html"), folder) == "gx%20docs/index.html"
    assert docs_href("/elsewhere/index.html", folder) == "file:///elsewhere/index.html"
    bars = bar_chart("c1", [("<ALI01>", 3), ("ALI02", 0)], title="T & T", desc="d")
    assert "&lt;ALI01&gt;" in bars and "T &amp; T" in bars and "<title" in bars and "<desc" in bars
    lines = line_chart("c2", ["2026-11-04"], [("a", [0]), ("b", [2])], title="t", desc="d")
    assert lines.count("<circle") == 2 and "<rect" in lines  # one point per series, plus legend markers
