"""The daily run report and the gate's Data Docs: gathered from a real warehouse, written as JSON and HTML
in French, opened in headless Chromium with the network off; a day that fails before the extracts (a real
Airflow run of the real DAGs) still writes its report, and the alerts sent carry the report's counts."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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
    # An agency's report of the day: two appointments kept, a contract signed, a line rejected.
    report = insert("ali/ALI01/rapport_ALI01_20261104.csv", "d", "ali", "loaded_with_rejects", agency="ALI01",
                    rows={"ali_report_line": 3}, rejects={"ORIENTATION_INCONNUE": 1})
    conn.execute(
        "INSERT INTO raw.ali_report_line (file_id, line_number, code_structure, date_rapport, id_orientation,"
        " evenement, date_evenement, referent_nom, referent_email) SELECT %s, n, 'ALI01', %s, 'O' || n,"
        " CASE WHEN n = 3 THEN 'CONTRAT_SIGNE' ELSE 'RDV_HONORE' END, %s, %s, 'referente@example.org'"
        " FROM generate_series(1, 3) AS n", (report, DAY, DAY, SENTINEL))
    conn.execute("INSERT INTO raw.ali_report_reject (file_id, line_number, reason_code, detail, raw_line)"
                 " VALUES (%s, 4, 'ORIENTATION_INCONNUE', 'no such referral', %s)", (report, SENTINEL))


def build_marts(conn) -> None:
    """The few built tables the report reads, with the columns the dbt models give them."""
    conn.execute("""
        CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS referentiel;
        CREATE SCHEMA IF NOT EXISTS identifiants;
        CREATE TABLE referentiel.territoires (code_territoire text, nom_territoire text, decoupage_confirme boolean);
        CREATE TABLE referentiel.codes_evenement_ali (code text, libelle text);
        INSERT INTO referentiel.codes_evenement_ali VALUES ('RDV_HONORE', 'Rendez-vous honoré'),
            ('CONTRAT_SIGNE', 'Contrat d''engagement signé'), ('SORTIE', 'Sortie de l''accompagnement');
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
    assert report["files"]["by_status"] == {"duplicate": 1, "loaded_with_rejects": 2, "quarantined": 1}
    assert report["agency_reports"] == {
        "built": True, "by_event": {"CONTRAT_SIGNE": 1, "RDV_HONORE": 2}, "rejects": {"ORIENTATION_INCONNUE": 1},
        "labels": {"CONTRAT_SIGNE": "Contrat d'engagement signé", "RDV_HONORE": "Rendez-vous honoré"},
        "by_agency": [{"code_structure": "ALI01", "events": {"CONTRAT_SIGNE": 1, "RDV_HONORE": 2},
                       "rejects": {"ORIENTATION_INCONNUE": 1}}]}
    loaded = next(f for f in report["files"]["items"] if f["relative_path"].startswith("france_travail/ins"))
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
    assert "Extraits retenus" in headline and "ALI02" in headline and "blocking expectation failed" in headline
    assert "rapport de la journée du 4 novembre 2026" in page and 'lang="fr"' in page
    assert "Fichiers de la journée" in page and "en quarantaine" in page and "chargé avec rejets" in page
    assert page.count("<svg") == 2
    assert 'id="chart-referrals-title"' in page and 'id="chart-deadlines-desc"' in page
    assert "header line missing" in page and "expect_column_values_to_not_be_null" in page
    reports = page[page.index("id=\"agency-reports\""):page.index("id=\"france-travail\"")]
    assert "Comptes rendus des structures" in reports and "Rendez-vous honoré" in reports
    assert "CONTRAT_SIGNE" in reports and "ORIENTATION_INCONNUE" in reports and "referente@" not in page

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
    assert "Entrepôt des orientations non construit" in dom.stdout
    assert "Historique des délais non construit" in dom.stdout
    assert "Le contrôle qualité n'a pas tourné" in dom.stdout and "<svg" not in dom.stdout


def test_a_failed_task_makes_the_day_failed(conn):
    tasks = [{"dag_id": "referral_warehouse", "task_id": "dbt_build", "state": "failed", "seconds": 2.0}]
    report = collect(conn, DAY, "run-2", gate={"day_verdict": "withhold"}, extracts=[], tasks=tasks)
    assert report["status"] == "failed"
    assert report["withheld"] == [{"code_structure": None, "reason": "le contrôle qualité a retenu toute la journée"}]
    html = render(report)
    assert "✖ En échec" in html and "tâche referral_warehouse.dbt_build" in html
    assert "toutes les structures" in html and "terminée en échec" in html


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


# --- the gate's Data Docs, offline -------------------------------------------------------------------

URL = re.compile(rb"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.IGNORECASE)
# The only absolute URL allowed in a page: the SVG namespace, a name that is never fetched.
SVG_NAMESPACE = b"http://www.w3.org/2000/svg"
OFFLINE = ("--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--host-resolver-rules=MAP * ~NOTFOUND")


def fetched_urls(folder: Path) -> list[str]:
    """Every absolute or protocol-relative URL in the HTML, CSS and JS files under ``folder``."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in (".html", ".htm", ".css", ".js", ".svg", ".json"):
            text = path.read_bytes().replace(SVG_NAMESPACE, b"")
            found += [f"{path.name}: {match.decode()}" for match in URL.findall(text)]
    return found


def gate_suite() -> dict:
    """Three expectations on a small table: one blocking failure, one warning, one success."""
    def expectation(kind, kwargs, severity, text):
        return {"type": kind, "kwargs": kwargs, "meta": {"severity": severity, "description_fr": text}}

    return {"name": "lignes_essai", "meta": {}, "expectations": [
        expectation("expect_column_values_to_not_be_null", {"column": "code_postal"}, "blocking",
                    "code postal renseigné"),
        expectation("expect_column_values_to_match_regex", {"column": "code_postal", "regex": "^[0-9]{5}$"},
                    "warning", "code postal à cinq chiffres"),
        expectation("expect_table_row_count_to_be_between", {"min_value": 1, "max_value": 100}, "warning",
                    "volume du jour"),
    ]}


@pytest.mark.slow
def test_data_docs_render_with_no_network(conn, warehouse_url, tmp_path):
    from aiguillage.quality import context as gx_context
    from aiguillage.quality.gate import ATTRIBUTED_FORMAT

    conn.execute("CREATE SCHEMA essai; CREATE TABLE essai.lignes (jour date, code_structure text, nom text,"
                 " code_postal text)")
    conn.execute("INSERT INTO essai.lignes VALUES (%(d)s, 'ALI01', %(s)s, '93200'), (%(d)s, 'ALI02', %(s)s, NULL),"
                 " (%(d)s, 'ALI02', %(s)s, '9320'), (%(d)s, 'ALI02', %(s)s, '93380')", {"d": DAY, "s": SENTINEL})
    conn.commit()
    docs = tmp_path / "_runs" / DAY.isoformat() / "data_docs"
    docs.mkdir(parents=True)
    (docs / "static").mkdir()
    (docs / "static" / "old.css").write_text("@import url('https://cdn.example.org/bootstrap.css');")
    (docs / f"{'controles_'}vieux.html").write_text("<p>an earlier run's page</p>")

    context = gx_context.new_context(docs)
    assert sorted(p.name for p in docs.iterdir()) == [], "an earlier run's pages and GX's own site are gone"
    datasource = gx_context.add_datasource(context, warehouse_url)
    validation = gx_context.add_validation(context, datasource, "lignes_essai", "essai", "lignes", "jour",
                                           gx_context.build_suite(context, gate_suite()))
    [(result, page)] = gx_context.run_checkpoint(context, "gate_agencies", [validation], ATTRIBUTED_FORMAT, {},
                                                 DAY, f"run-1-{DAY}")
    index = gx_context.docs_index(context)
    assert not result.success
    assert page == str(docs / "controles_gate_agencies.html") and index == str(docs / "index.html")
    assert sorted(p.name for p in docs.iterdir()) == ["controles_gate_agencies.html", "index.html"]

    # Nothing in the pages can be fetched: no absolute URL, no script, a policy that forbids any fetch.
    assert fetched_urls(docs) == []
    for path in docs.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "default-src 'none'" in text and SENTINEL not in text

    dom = run_chromium(tmp_path, *OFFLINE, "--dump-dom", Path(page).as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == []
    rendered = dom.stdout
    assert "Contrôles qualité — Lignes d'extrait, par structure destinataire — 4 novembre 2026" in rendered
    rows = {row.split("</th>")[0].split(">")[-1]: row for row in rendered.split("<tr>")[1:]}
    assert "échec" in rows["code postal renseigné"] and "bloquant" in rows["code postal renseigné"]
    assert "ALI02 : <data value=\"1\">1</data>" in rows["code postal renseigné"]
    assert "avertissement" in rows["code postal à cinq chiffres"] and "ALI02" in rows["code postal à cinq chiffres"]
    assert "réussi" in rows["volume du jour"] and '<data value="4">4</data>' in rows["volume du jour"]
    assert "3 contrôle(s) évalué(s)" in rendered.replace('<data value="3">3</data>', "3")

    listing = run_chromium(tmp_path, *OFFLINE, "--dump-dom", Path(index).as_uri())
    assert listing.returncode == 0 and console_messages(listing.stderr) == []
    assert 'href="controles_gate_agencies.html"' in listing.stdout and "lignes_essai" in listing.stdout

    # The run report links to them with a relative link, and stays offline too.
    gate = {"day": DAY.isoformat(), "run_id": "run-1", "seconds": 1.0, "data_docs": index, "day_verdict": "withhold",
            "day_findings": [], "agencies": {"ALI02": {"verdict": "withhold", "rows": 3, "findings": [
                finding("expect_column_values_to_not_be_null", "blocking", page, column="code_postal", unexpected=1)]}},
            "expectations_run": 3, "expectations_failed": 2}
    report = collect(conn, DAY, "run-1", gate=gate, extracts=[], tasks=[])
    _, html_path = write(report, tmp_path)
    html = html_path.read_text(encoding="utf-8")
    assert 'href="data_docs/index.html"' in html and 'href="data_docs/controles_gate_agencies.html"' in html
    assert fetched_urls(html_path.parent) == []


# --- a day that fails before the extracts ------------------------------------------------------------

FAILED_DAY = date(2026, 11, 2)
BROKEN_CAF = "VRSB0801_931_20261102_I.xml"


@pytest.fixture(scope="module")
def failed_day(server_url, tmp_path_factory):
    """A real day run (the project's DAGs in Airflow, by the ``aiguillage`` command): a CAF daily flow cut
    short (quarantined), then the warehouse build fails (a pseudonymisation key too short); alerts go to a
    webhook on this machine."""
    from mail_sink import HttpSink

    from tests.conftest import new_database, run_cli

    root = tmp_path_factory.mktemp("failed-day")
    landing, outbox = root / "landing", root / "outbox"
    synth = run_cli("synth", "--date", FAILED_DAY.isoformat(), "--households", "30", "--days", "1", "--seed", "5",
                    "--landing", str(landing))
    assert synth.returncode == 0, synth.stderr
    monthly = next((landing / "caf").glob("*_M.xml")).read_bytes()
    (landing / "caf" / BROKEN_CAF).write_bytes(monthly[:len(monthly) // 2])  # a flow cut in the middle
    with new_database(server_url) as url, HttpSink() as sink:
        # The session's AIGUILLAGE_HOME: Airflow's metadata database is prepared once for every test.
        env = {"AIGUILLAGE_WAREHOUSE_URL": url, "AIGUILLAGE_PSEUDONYMISATION_KEY": "short",
               "AIGUILLAGE_ALERT_WEBHOOK_URL": f"{sink.url}/alertes"}
        result = run_cli("run", "--date", FAILED_DAY.isoformat(), "--landing", str(landing), "--outbox", str(outbox),
                         env=env)
        yield {"result": result, "outbox": outbox, "alerts": [post.json for post in sink.received], "root": root}


@pytest.mark.airflow
@pytest.mark.slow
def test_a_day_failing_before_the_extracts_still_writes_its_report(failed_day):
    result = failed_day["result"]
    assert result.returncode != 0, "the day failed: the command says so"
    assert "referral_extracts" in result.stdout and "not run" in result.stdout, result.stdout[-3000:]
    assert f"Run report: {failed_day['outbox'].resolve()}/_runs/{FAILED_DAY}/run_report.html" in result.stdout
    folder = failed_day["outbox"] / "_runs" / FAILED_DAY.isoformat()
    report = json.loads((folder / "run_report.json").read_text(encoding="utf-8"))

    assert report["status"] == "failed" and report["written_by"] == "failure_callback"
    assert report["tasks_not_included"] == [] and report["gate"] == {"ran": False} and report["extracts"] == []
    chain = {part["dag_id"]: part["state"] for part in report["chain"]}
    assert chain == {"landing_registry": "success", "caf_ingestion": "success", "france_travail_ingestion": "success",
                     "ali_ingestion": "success", "departement_ingestion": "success", "referral_warehouse": "failed",
                     "referral_extracts": "not_run"}
    what = "task referral_warehouse.build_referral_warehouse"
    assert {"what": what, "reason": "ended failed (MissingKeyError)"} in report["failed"]
    assert report["failure_causes"][what] == (
        "MissingKeyError: AIGUILLAGE_PSEUDONYMISATION_KEY must be at least 16 characters long")
    broken = [f for f in report["files"]["items"] if f["relative_path"].endswith(BROKEN_CAF)]
    assert [f["status"] for f in broken] == ["quarantined"]

    # The alerts sent are the ones the report counts: one per task failed for good, one for the day's files.
    task_alerts = [a for a in failed_day["alerts"] if a["event"] == "aiguillage.task_failed"]
    run_alerts = [a for a in failed_day["alerts"] if a["event"] == "aiguillage.run_alert"]
    assert len(task_alerts) == report["alerts"]["task_failures"] == 1
    assert report["alerts"]["task_failure_tasks"] == ["referral_warehouse.build_referral_warehouse"]
    quarantined = sum(n for status, n in report["files"]["by_status"].items() if status in ("quarantined", "refused"))
    assert run_alerts and all(len(a["quarantined"]) == quarantined for a in run_alerts)
    assert report["alerts"]["run_alert"] == {"summary": run_alerts[-1]["summary"], "severity": "warning",
                                             "withheld": 0, "quarantined": quarantined}
    assert run_alerts[-1]["report"] == str(folder / "run_report.html")

    # Read as the Département's staff read it: in French, offline, naming the failure and its cause.
    dom = run_chromium(failed_day["root"], *OFFLINE, "--dump-dom", (folder / "run_report.html").as_uri())
    assert dom.returncode == 0 and console_messages(dom.stderr) == []
    page = dom.stdout
    headline = page[page.index('id="headline"'):page.index("</section>")]
    assert "✖ En échec : la chaîne s'est arrêtée à « Construction de l'entrepôt (dbt) »" in headline
    assert "tâche referral_warehouse.build_referral_warehouse" in headline
    assert "must be at least 16 characters long" in headline
    assert "rapport de la journée du 2 novembre 2026" in page and "en quarantaine" in page
    assert "Alertes de tâche en échec : <strong>1</strong>" in page.replace('<data value="1">1</data>', "1")
    assert "Ce rapport a été écrit à l'échec d'une tâche" in page
    assert fetched_urls(folder) == []


# --- the extracts' report and its alert agree ---------------------------------------------------------

def test_report_run_shows_the_counts_of_the_alert_it_sends(conn, tmp_path, monkeypatch):
    """One agency withheld, one whose delivery never ran, one delivered, a quarantined file and a refused
    entry: the alert received by the webhook carries exactly the report's counts."""
    from mail_sink import HttpSink

    from aiguillage.alerts import webhook_channel
    from aiguillage.extracts.daily import ExtractWithheld, _record_outcome, report_run

    record_files(conn)
    conn.execute("INSERT INTO registry.landing_file (sha256, relative_path, source, size_bytes, mtime_ns,"
                 " delivered_on, status, status_reason, logical_date, run_id) VALUES (NULL, 'caf/lien.xml', 'unknown',"
                 " 0, 0, %s, 'refused', 'a symbolic link', %s, 'run-1')", (DAY, DAY))
    conn.execute("""
        CREATE SCHEMA IF NOT EXISTS referentiel;
        CREATE TABLE referentiel.destinations (code_structure text, libelle text, recoit_extrait boolean,
            actif_du date, actif_au date);
        INSERT INTO referentiel.destinations VALUES ('ALI01', 'ALI de Stains', true, NULL, NULL),
            ('ALI02', 'ALI d''Épinay', true, NULL, NULL), ('ALI03', 'ALI de Bondy', true, NULL, NULL),
            ('FT93', 'France Travail', false, NULL, NULL);
    """)
    _record_outcome(conn, DAY, "ALI01", "run-1", "delivered", method="outbox", files=[
        {"fichier": "mouvements", "format": "csv", "rows": 4, "rows_by_type": {"NOUVELLE": 4}, "sha256": "f" * 64,
         "csv": "/o/ALI01/mouvements.csv"}])
    _record_outcome(conn, DAY, "ALI02", "run-1", "withheld", reason="3 lignes sans commune", method="outbox")
    conn.commit()
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    monkeypatch.setattr(webhook_channel, "BACKOFF_SECONDS", 0.0)
    with HttpSink() as sink:
        monkeypatch.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", f"{sink.url}/alertes")
        with pytest.raises(ExtractWithheld, match="2 extract"):
            report_run(datetime(2026, 11, 4, tzinfo=ZoneInfo("Europe/Paris")), "run-1", str(outbox))
        [post] = sink.received

    folder = outbox / "_runs" / DAY.isoformat()
    report = json.loads((folder / "run_report.json").read_text(encoding="utf-8"))
    alert = post.json
    assert report["written_by"] == "referral_extracts.report_run"
    assert [(e["code_structure"], e["state"]) for e in report["extracts"]] == [
        ("ALI01", "delivered"), ("ALI02", "withheld"), ("ALI03", "failed")]
    assert report["extracts"][0]["files"][0]["format"] == "csv"
    assert alert["event"] == "aiguillage.run_alert" and alert["report"] == str(folder / "run_report.html")
    assert report["alerts"]["run_alert"] == {"summary": alert["summary"], "severity": alert["severity"],
                                             "withheld": len(alert["withheld"]),
                                             "quarantined": len(alert["quarantined"])}
    assert (len(alert["withheld"]), len(alert["quarantined"])) == (2, 2)
    assert len(report["withheld"]) + sum(f["what"].startswith("extract ") for f in report["failed"]) == 2
    by_status = report["files"]["by_status"]
    assert by_status["quarantined"] + by_status["refused"] == 2
    html = (folder / "run_report.html").read_text(encoding="utf-8")
    section = html[html.index("id='alerts'"):html.index("id='files'")]
    assert '<strong><data value="2">2</data></strong> extrait(s) non livré(s)' in section
    assert '<strong><data value="2">2</data></strong> fichier(s) en quarantaine ou refusé(s)' in section
    assert "sa tâche de livraison n&#x27;a pas tourné dans ce passage" in html


def test_the_failure_callback_writes_only_for_the_days_chain(conn, tmp_path):
    """A task of the day's chain failing writes the day's report (the extracts an earlier run recorded
    kept); the weekly purge or the extracts' own DAG failing leaves it alone."""
    from types import SimpleNamespace

    from aiguillage.extracts.daily import _record_outcome
    from aiguillage.failed_day import write_after_failure

    record_files(conn)
    _record_outcome(conn, DAY, "ALI01", "run-0", "delivered", method="outbox", files=[])
    conn.commit()
    outbox = tmp_path / "outbox"
    outbox.mkdir()

    def context(dag_id: str) -> dict:
        ti = SimpleNamespace(dag_id=dag_id, task_id="t", run_id="run-9", map_index=-1)
        return {"ti": ti, "run_id": "run-9", "dag_run": SimpleNamespace(conf={"day": DAY.isoformat()}),
                "params": {"outbox_dir": str(outbox)}}

    for dag_id in ("rgpd_retention", "referral_extracts"):
        write_after_failure(context(dag_id))
        assert not (outbox / "_runs").exists(), dag_id
    write_after_failure(context("caf_ingestion"))
    report = json.loads((outbox / "_runs" / DAY.isoformat() / "run_report.json").read_text(encoding="utf-8"))
    assert report["written_by"] == "failure_callback" and report["run_id"] == "run-9"
    assert [(e["code_structure"], e["state"]) for e in report["extracts"]] == [("ALI01", "delivered")]
    assert report["alerts"]["run_alert"]["quarantined"] == 1  # the ALI03 report quarantined that day
