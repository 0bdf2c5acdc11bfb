"""The ``aiguillage`` command as a data engineer uses it: real processes, real Airflow, real PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import run_cli


def _registry(url: str) -> dict[str, tuple[str, str | None]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT relative_path, status, status_reason FROM registry.landing_file").fetchall()
    return {path: (status, reason) for path, status, reason in rows}


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("synth", "run", "demo", "warehouse"):
        assert command in result.stdout


def test_the_entry_script_without_a_command_shows_what_it_can_do():
    import subprocess

    from tests.conftest import REPO

    result = subprocess.run([str(REPO / "aiguillage")], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    for command in ("./aiguillage demo", "./aiguillage test", "synth", "warehouse", "stack"):
        assert command in result.stdout


def test_bad_date_is_refused_with_a_clear_message(tmp_path):
    result = run_cli("run", "--date", "26/11/2026", "--landing", str(tmp_path), "--outbox", str(tmp_path))
    assert result.returncode == 2
    assert "'26/11/2026' is not a YYYY-MM-DD date" in result.stderr


def test_run_refuses_a_missing_landing_zone(tmp_path):
    result = run_cli("run", "--date", "2026-11-02", "--landing", str(tmp_path / "nope"), "--outbox", str(tmp_path))
    assert result.returncode == 2
    assert "does not exist" in result.stdout


def test_synth_writes_a_landing_zone(tmp_path):
    landing = tmp_path / "landing"
    result = run_cli("synth", "--date", "2026-11-02", "--households", "200", "--days", "2", "--seed", "7",
                     "--landing", str(landing))
    assert result.returncode == 0, result.stderr
    assert "200 households" in result.stdout
    assert (landing / "caf" / "VRSB0801_931_20261102_M.xml").is_file()
    assert (landing / "caf" / "VRSB0801_931_20261103_I.xml").is_file()
    assert (landing / "france_travail" / "stock_20261102.csv").is_file()


@pytest.mark.airflow
@pytest.mark.slow
def test_run_records_files_and_a_resent_file_as_duplicate(tmp_path, warehouse_url):
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    synth = run_cli("synth", "--date", "2026-11-02", "--households", "300", "--days", "2", "--seed", "11",
                    "--landing", str(landing))
    assert synth.returncode == 0, synth.stderr
    copy = landing / "caf" / "VRSB0801_931_20261102_M_renvoi.xml"
    copy.write_bytes((landing / "caf" / "VRSB0801_931_20261102_M.xml").read_bytes())

    day1 = run_cli("run", "--date", "2026-11-02", "--landing", str(landing), "--outbox", str(outbox))
    assert day1.returncode == 0, day1.stdout + day1.stderr
    for dag_id in ("landing_registry", "caf_ingestion", "france_travail_ingestion", "ali_ingestion",
                   "departement_ingestion", "referral_warehouse"):
        assert f"DAG {dag_id}" in day1.stdout
    assert "France Travail API: no lookups (no connection france_travail_api configured)" in day1.stdout
    recorded = _registry(warehouse_url)
    assert recorded["caf/VRSB0801_931_20261102_M.xml"][0] == "loaded"
    assert recorded["caf/VRSB0801_931_20261102_M_renvoi.xml"] == (
        "duplicate", "same content as caf/VRSB0801_931_20261102_M.xml")
    assert "caf/VRSB0801_931_20261103_I.xml" not in recorded, "day 2's flow is not due on day 1"

    day2 = run_cli("run", "--date", "2026-11-03", "--landing", str(landing), "--outbox", str(outbox),
                   "--france-travail-standin")
    assert day2.returncode == 0, day2.stdout + day2.stderr
    assert "France Travail API:" in day2.stdout and "looked up" in day2.stdout
    recorded = _registry(warehouse_url)
    assert recorded["caf/VRSB0801_931_20261103_I.xml"][0] == "loaded"

    # Rerunning a day changes nothing and still succeeds.
    again = run_cli("run", "--date", "2026-11-03", "--landing", str(landing), "--outbox", str(outbox))
    assert again.returncode == 0
    assert _registry(warehouse_url) == recorded


@pytest.mark.airflow
@pytest.mark.slow
def test_run_exits_non_zero_and_says_why_when_a_file_is_quarantined(tmp_path, warehouse_url):
    landing = tmp_path / "landing"
    (landing / "caf").mkdir(parents=True)
    (landing / "caf" / "VRSB0801_931_20261102_I.xml").write_text("this is not a CAF flow")
    result = run_cli("run", "--date", "2026-11-02", "--landing", str(landing), "--outbox", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "NOT complete" in result.stdout
    assert "caf/VRSB0801_931_20261102_I.xml was quarantined: unreadable VRSB0801 header" in result.stdout


def test_unreachable_warehouse_is_named_without_its_password(tmp_path):
    (tmp_path / "landing").mkdir()
    result = run_cli("run", "--date", "2026-11-02", "--landing", str(tmp_path / "landing"), "--outbox",
                     str(tmp_path / "out"),
                     env={"AIGUILLAGE_WAREHOUSE_URL": "postgresql://agent:hunter2@/nowhere?host=/nonexistent"})
    assert result.returncode == 1
    assert "cannot reach the warehouse postgresql://agent:***@/nowhere" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.airflow
@pytest.mark.slow
def test_a_failed_task_is_reported_in_plain_words(tmp_path, warehouse_url):
    # The landing zone disappears between the command's check and the task (an unmounted share).
    code = f"""
import sys
from datetime import date
from pathlib import Path
from aiguillage import report, runner
outcome = runner.run_day(date(2026, 11, 2), Path({str(tmp_path / "gone")!r}), Path({str(tmp_path)!r}))
print("PROBLEMS:", report.problems(outcome, []), file=sys.stderr)
"""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                            env={**__import__("os").environ, "AIGUILLAGE_TASK_RETRIES": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(line for line in result.stderr.splitlines() if line.startswith("PROBLEMS:"))
    assert "DAG landing_registry ended 'failed' (tasks not successful: register_landing_files)" in line
    # And why, as the task's failure callback recorded it.
    assert (f"landing_registry.register_landing_files failed: FileNotFoundError: landing zone {tmp_path / 'gone'} "
            f"does not exist or is not a folder") in line


@pytest.mark.airflow
@pytest.mark.slow
def test_a_failed_day_says_why_without_personal_data(tmp_path, warehouse_url):
    # A file stands where the day's run folder goes, and the outbox's path holds a NIR and an e-mail
    # address: the error's message quotes the path, so it is not printed, its type is.
    outbox = tmp_path / "1 85 05 93 123 456 78 jean.dupont@example.org" / "outbox"
    outbox.mkdir(parents=True)
    (outbox / "_runs").write_text("")
    (tmp_path / "landing").mkdir()
    result = run_cli("run", "--date", "2026-11-03", "--landing", str(tmp_path / "landing"), "--outbox", str(outbox),
                     "--only", "referral_extracts")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "  - DAG referral_extracts ended 'failed' (tasks not successful: check_quality," in result.stdout
    assert ("  - referral_extracts.check_quality failed: NotADirectoryError: [hidden: looked like personal data]"
            in result.stdout)
    assert "    check_quality failed: NotADirectoryError: [hidden: looked like personal data]" in result.stdout
    output = result.stdout + result.stderr
    assert "123 456" not in output and "jean.dupont" not in output and "example.org" not in output


@pytest.mark.airflow
@pytest.mark.slow
def test_demo_runs_every_day_and_fills_the_registry(tmp_path, warehouse_url):
    result = run_cli("demo", "--households", "300", "--days", "2", "--workdir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in ("Step 1/2", "Step 2/2", "Day 2026-11-02", "Day 2026-11-03", "Summary", "Referrals: ",
                     "Demo finished"):
        assert expected in result.stdout
    recorded = _registry(warehouse_url)
    assert "caf/VRSB0801_931_20261102_M.xml" in recorded
    assert "caf/VRSB0801_931_20261103_I.xml" in recorded
    assert all(status in ("loaded", "loaded_with_rejects") for status, _ in recorded.values())
    assert "France Travail API: the project's local stand-in" in result.stdout
    # Between the days, the synthetic orientation team answered day 1's list: its decisions made
    # orientations on day 2, and the summary says how many proposals still wait.
    assert "departement/decisions_20261103.csv" in recorded
    assert "Orientation team (synthetic):" in result.stdout
    assert "Proposals waiting for the orientation team's decision:" in result.stdout
    with psycopg.connect(warehouse_url) as conn:
        decided_by_team = conn.execute(
            "SELECT count(*) FROM marts.referrals WHERE decide_par <> 'POLITIQUE_AUTOMATIQUE'"
            " AND date_creation = '2026-11-03'").fetchone()[0]
    assert decided_by_team > 0
    # The agencies reported on day 2 what they did on day 1 with what they were delivered: loaded, and
    # their events checked against the referrals they hold (only the intended bad lines rejected).
    assert "Agencies (synthetic):" in result.stdout
    reports = {path: status for path, (status, _) in recorded.items() if path.startswith("ali/")}
    assert reports and all(path.endswith("_20261103.csv") for path in reports)
    with psycopg.connect(warehouse_url) as conn:
        checked = dict(conn.execute(
            "SELECT statut, count(*) FROM intermediate.int_ali__events_checked GROUP BY statut").fetchall())
    assert checked.get("ACCEPTE", 0) > 0 and checked.get("REJETE", 0) <= checked["ACCEPTE"] / 20, checked
