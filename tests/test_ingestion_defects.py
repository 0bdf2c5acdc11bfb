"""A landing zone with the faults of real deliveries, run through the real DAGs day by day:
every file ends in its expected state, and nothing from a quarantined file reaches the warehouse."""

from __future__ import annotations

import uuid
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from aiguillage.synth import generate
from tests.conftest import run_cli

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

RAW_TABLES = ("caf_dossier", "caf_person", "caf_address", "caf_right_situation", "caf_amount", "caf_event",
              "france_travail_record", "france_travail_reject", "ali_report_line", "ali_report_reject")
ALI_HEADER = "code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email\n"


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("defects") / "landing"
    summary = generate(root, date(2026, 11, 2), 400, 3, seed=17, defects=True)
    ali = root / "ali" / "ALI05"
    ali.mkdir(parents=True)
    (ali / "ali_ALI05_20261103.csv").write_text(
        ALI_HEADER
        + "ALI05;2026-11-03;ORI-1;PRISE_EN_CHARGE;2026-11-02;;Nadia Ferhat;n.ferhat@example.org\n"
        + "ALI05;2026-11-03;ORI-2;SORTIE;2026-11-01;EMPLOI;;\n"
        + "ALI06;2026-11-03;ORI-3;RDV_HONORE;2026-11-02;;;\n"          # another agency's code
        + "ALI05;2026-11-03;ORI-4;RDV_MANQUE;2026-11-02;;;\n"          # unknown event
        + "ALI05;2026-11-03;ORI-5;SORTIE;2026-11-02;;;\n"              # SORTIE needs a motif
        + "ALI05;2026-11-03;ORI-6;RDV_HONORE;2026-12-24;;;\n",         # in the future
        encoding="utf-8-sig",
    )
    return root, summary


@pytest.fixture(scope="module")
def ran(landing, server_url, tmp_path_factory):
    """The three days run by `aiguillage run`, on a database of their own."""
    root, _ = landing
    name = "t_defects_" + uuid.uuid4().hex[:8]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    outbox = tmp_path_factory.mktemp("outbox")
    results = [
        run_cli("run", "--date", day, "--landing", str(root), "--outbox", str(outbox), "--france-travail-standin",
                env={"AIGUILLAGE_WAREHOUSE_URL": url})
        for day in ("2026-11-02", "2026-11-03", "2026-11-04")
    ]
    yield url, results
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_every_file_ends_in_its_expected_state(ran):
    warehouse_url, results = ran
    for result in results:
        assert "Traceback" not in result.stdout + result.stderr
    # Day 1 is clean but for rejected lines; days 2 and 3 each quarantine a CAF flow and say so.
    assert [result.returncode for result in results] == [0, 1, 1]
    assert "was quarantined: caf/VRSB0801_931_20261103_I.xml: trailer" in results[1].stdout

    with psycopg.connect(warehouse_url) as conn:
        states = {path: (status, reason, rejects) for path, status, reason, rejects in conn.execute(
            "SELECT relative_path, status, status_reason, rejects FROM registry.landing_file")}
        expected_caf = {
            "caf/VRSB0801_931_20261102_M.xml": "loaded",
            "caf/VRSB0801_931_20261102_M_bis.xml": "duplicate",
            "caf/VRSB0801_931_20261103_I.xml": "quarantined",
            "caf/VRSB0801_931_20261104_I.xml": "quarantined",
        }
        assert {path: states[path][0] for path in expected_caf} == expected_caf
        assert "trailer NBTOTDOSRSATRANSM" in states["caf/VRSB0801_931_20261103_I.xml"][1]
        assert "not well-formed" in states["caf/VRSB0801_931_20261104_I.xml"][1]

        stock = states["france_travail/stock_20261102.csv"]
        assert stock[0] == "loaded_with_rejects"
        assert stock[2] == {"NIR_MISMATCH": 1, "IDENTIFIANTPE_FORMAT": 1, "DATE_INVALID": 1, "CODE_MISSING": 1,
                            "COLUMN_COUNT": 1, "NIR_KEY": 1}
        other_ft = [s for path, s in states.items() if path.startswith("france_travail/") and "stock" not in path]
        # Two daily files with no movement are the same bytes (a header line): the second is a duplicate.
        assert other_ft and all(status in ("loaded", "duplicate") for status, _, _ in other_ft)

        ali = states["ali/ALI05/ali_ALI05_20261103.csv"]
        assert ali[0] == "loaded_with_rejects"
        assert ali[2] == {"STRUCTURE_MISMATCH": 1, "UNKNOWN_EVENT": 1, "UNKNOWN_MOTIF": 1, "DATE_INCOHERENT": 1}
        assert all(status != "registered" for status, _, _ in states.values()), "every file ends in a final state"

        # Nothing from a quarantined file is in the raw layer.
        quarantined = [fid for (fid,) in conn.execute(
            "SELECT file_id FROM registry.landing_file WHERE status = 'quarantined'")]
        assert len(quarantined) == 2
        for table in RAW_TABLES:
            leaked = conn.execute(f"SELECT count(*) FROM raw.{table} WHERE file_id = ANY(%s)",  # noqa: S608
                                  (quarantined,)).fetchone()[0]
            assert leaked == 0, table

        # Per-dossier anomalies are flagged on their rows and did not sink the monthly flow.
        flags = dict(conn.execute(
            "SELECT flag, count(*) FROM raw.caf_person, unnest(flags) AS flag GROUP BY flag").fetchall())
        assert flags.get("NIR_KEY", 0) >= 1
        assert flags.get("NO_MONTANT_CALCUL_PERSONNE", 0) >= 1
        dossier_flags = dict(conn.execute(
            "SELECT flag, count(*) FROM raw.caf_dossier, unnest(flags) AS flag GROUP BY flag").fetchall())
        assert dossier_flags.get("NO_DETAIL_DROIT", 0) >= 1

        # Counts in the registry are the rows really loaded.
        loaded = conn.execute(
            "SELECT rows_loaded FROM registry.landing_file WHERE relative_path = 'caf/VRSB0801_931_20261102_M.xml'"
        ).fetchone()[0]
        assert loaded["caf_dossier"] == conn.execute("SELECT count(*) FROM raw.caf_dossier").fetchone()[0]

        # The API lookups ran against the stand-in and every response was landed.
        outcomes = dict(conn.execute(
            "SELECT outcome, count(*) FROM raw.france_travail_api_call WHERE endpoint = 'search'"
            " GROUP BY 1").fetchall())
        assert outcomes.get("FOUND", 0) > 0 and outcomes.get("NO_CANDIDATE", 0) > 0


def test_logs_hold_no_nir_name_or_address(ran, session_home):
    warehouse_url, results = ran
    log_text = (session_home / "logs" / "airflow-runs.log").read_text(errors="replace")
    log_text += "".join(result.stdout + result.stderr for result in results)
    assert "caf_ingestion" in log_text, "the runs above must have logged"
    with psycopg.connect(warehouse_url) as conn:
        people = conn.execute(
            "SELECT nir, nom, prenom FROM raw.caf_person WHERE nir IS NOT NULL AND length(nom) > 3 LIMIT 500"
        ).fetchall()
        streets = [row[0] for row in conn.execute(
            "SELECT DISTINCT nomvoie FROM raw.caf_address WHERE length(nomvoie) > 8 LIMIT 200")]
    assert people
    for nir, nom, prenom in people:
        assert nir[:13] not in log_text
        assert f"{prenom} {nom}" not in log_text and f"{nom} {prenom}" not in log_text
    for street in streets:
        assert street not in log_text
