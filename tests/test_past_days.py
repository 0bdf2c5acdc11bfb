"""Any past day since the RSA exists runs, so that a département's archived flows can be replayed years
back; a day before it is refused in plain words; a DAG run in which no task ran is a failure.

One small synthetic landing zone of 2022 for the module; the day run leaves the agencies' extracts
out (the point is the loading and the build of an old day, and the extracts cost as much again).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import psycopg
import pytest

from tests.conftest import run_cli

OLD_DAY = date(2022, 3, 6)
BUILD = "landing_registry,caf_ingestion,france_travail_ingestion,ali_ingestion,referral_warehouse"
# Files just written by the synthesiser are complete: no need to wait for them to settle.
SETTLED = {"AIGUILLAGE_LANDING_SETTLE_SECONDS": "0"}


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("past_days") / "landing"
    synth = run_cli("synth", "--date", OLD_DAY.isoformat(), "--households", "60", "--days", "1", "--seed", "9",
                    "--landing", str(root))
    assert synth.returncode == 0, synth.stderr
    return root


@pytest.mark.airflow
@pytest.mark.slow
def test_a_day_of_2022_loads_and_builds(landing, warehouse_url, tmp_path):
    result = run_cli("run", "--date", OLD_DAY.isoformat(), "--landing", str(landing), "--outbox",
                     str(tmp_path / "outbox"), "--only", BUILD, env=SETTLED)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Result: the day ran completely." in result.stdout
    for dag_id in BUILD.split(","):
        assert f"DAG {dag_id:<24} success" in result.stdout
    with psycopg.connect(warehouse_url) as conn:
        files = dict(conn.execute("SELECT relative_path, status FROM registry.landing_file"
                                  " WHERE logical_date = %s", (OLD_DAY,)).fetchall())
        raw_dossiers = conn.execute("SELECT count(*) FROM raw.caf_dossier").fetchone()[0]
        movements = conn.execute("SELECT date_mouvement, count(*) FROM marts.referral_movements"
                                 " GROUP BY 1").fetchall()
        tasks = conn.execute("SELECT count(*) FROM registry.task_run WHERE day = %s AND state = 'success'",
                             (OLD_DAY,)).fetchone()[0]
    assert files == {"caf/VRSB0801_931_20220306_M.xml": "loaded", "france_travail/stock_20220306.csv": "loaded",
                     "caf_contacts/contacts_rsa_20220306.csv": "loaded"}
    assert raw_dossiers == 60
    assert len(movements) == 1 and movements[0][0] == OLD_DAY and movements[0][1] > 0, movements
    assert tasks == 7  # every task of the five DAGs ran, none was skipped for being before a start date


def test_a_day_before_the_rsa_is_refused_in_plain_words(landing, warehouse_url, tmp_path):
    outbox = tmp_path / "outbox"
    where = ["--landing", str(landing), "--outbox", str(outbox)]
    reason = ("2009-05-31 is before 2009-06-01, the earliest day the pipeline runs for (the RSA exists since that "
              "day): nothing was run")
    for command, arguments in (("run", ["--date", "2009-05-31"]), ("replay", ["--date", "2009-05-31"]),
                               ("backfill", ["--from", "2009-05-31", "--to", "2009-06-02"])):
        result = run_cli(command, *arguments, *where)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stdout == f"aiguillage {command}: refused: {reason}\n"
    assert not outbox.exists()
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("SELECT to_regclass('registry.landing_file')").fetchone()[0] is None, "nothing ran"


@pytest.mark.airflow
@pytest.mark.slow
def test_a_dag_run_in_which_no_task_ran_is_a_failure(warehouse_url, tmp_path):
    # Airflow creates a run without any task for a day before a DAG's start date, and calls it a success.
    code = f"""
import sys
from datetime import date
from pathlib import Path
from aiguillage import report, runner
outcome = runner.run_day(date(2009, 5, 31), Path({str(tmp_path)!r}), Path({str(tmp_path)!r}),
                         dag_ids=("landing_registry",))
print("OK:", outcome.ok, file=sys.stderr)
print("PROBLEMS:", report.problems(outcome, []), file=sys.stderr)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "AIGUILLAGE_TASK_RETRIES": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "OK: False" in result.stderr
    assert "DAG landing_registry ended 'failed' (tasks not successful: no task ran)" in result.stderr
