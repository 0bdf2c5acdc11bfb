"""Runs exclude each other on one warehouse (aiguillage.run_lock).

A command (`aiguillage run`, `backfill`, `replay`, `demo`, `redeliver`, `retention`) that finds another
run at work on the DAGs it would run is refused at once, in one sentence naming that run, before it
starts anything; a task body whose DAG another run holds waits a bounded time, then fails naming it.
Real PostgreSQL sessions hold the locks; the commands are the real `aiguillage` processes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from aiguillage import run_lock
from aiguillage.cli import BUSY_EXIT
from aiguillage.runner import DAILY_DAGS
from tests.conftest import REPO, run_cli

DAY = date(2026, 11, 3)
# What a holder's sentence looks like: who, for which day, which process on which host, since when.
HOLDER = r"pid \d+ on host \S+, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def _hold(url: str, lock_class: int, name: str, label: str) -> psycopg.Connection:
    """A second session holding ``name``'s lock, described as ``label`` (what a run of the stack shows)."""
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("SELECT set_config('application_name', %s, false)", (label,))
    holder.execute("SELECT pg_advisory_lock(%s, %s)", (lock_class, run_lock.key(name)))
    return holder


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo("Europe/Paris"))


# --- two commands at once ----------------------------------------------------------------------------

def _command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "aiguillage"), *args]


def _claims(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                            " AND classid = %s AND database = (SELECT oid FROM pg_database"
                            " WHERE datname = current_database())", (run_lock.COMMAND_CLAIM_CLASS,)).fetchone()[0]


@pytest.mark.airflow
@pytest.mark.slow
def test_two_runs_of_the_same_day_exclude_each_other(warehouse_url, tmp_path):
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    landing.mkdir()
    # The day's first DAG is enough: the exclusion is the same for every DAG, and the others cost time.
    arguments = _command("run", "--date", DAY.isoformat(), "--landing", str(landing), "--outbox", str(outbox),
                         "--only", "landing_registry")
    first = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 60
    while _claims(warehouse_url) == 0 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    # The first run holds the warehouse: the second, started now, runs beside it.
    second = subprocess.run(arguments, capture_output=True, text=True, cwd=REPO, timeout=120)
    out, err = first.communicate(timeout=300)

    assert first.returncode == 0, out + err
    assert second.returncode == BUSY_EXIT, second.stdout + second.stderr
    assert re.fullmatch(
        rf"aiguillage run: refused: the DAG landing_registry is being run on this warehouse by `aiguillage run` "
        rf"for {DAY}, {HOLDER} \w+\. Nothing was started; run this command again once that run has ended\n",
        second.stdout), second.stdout
    assert f"pid {first.pid} " in second.stdout
    for output in (out, err, second.stdout, second.stderr):
        assert "Traceback" not in output
    # The warehouse is as after one run: one scan, one task, one try.
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM registry.landing_scan").fetchone()[0] == 1
        assert conn.execute("SELECT dag_id, task_id, try_number FROM registry.task_run").fetchall() == [
            ("landing_registry", "register_landing_files", 1)]
    assert _claims(warehouse_url) == 0, "a command's claim ends with it"


def test_commands_are_refused_while_another_run_holds_their_dags(warehouse_url, tmp_path):
    outbox = tmp_path / "outbox"
    # An `aiguillage run` of the whole day, in this process: every command that would run one of its DAGs
    # is refused, and says by whom.
    with run_lock.claim("run", [DAY], DAILY_DAGS):
        redeliver = run_cli("redeliver", "--agency", "ALI05", "--date", DAY.isoformat(), "--outbox", str(outbox))
        backfill = run_cli("backfill", "--from", DAY.isoformat(), "--to", "2026-11-05", "--landing", str(tmp_path),
                           "--outbox", str(outbox))
    for command, result in (("redeliver", redeliver), ("backfill", backfill)):
        assert result.returncode == BUSY_EXIT, result.stdout + result.stderr
        assert re.match(rf"aiguillage {command}: refused: the DAG \w+ is being run on this warehouse by "
                        rf"`aiguillage run` for {DAY}, {HOLDER}", result.stdout), result.stdout
        assert "Traceback" not in result.stdout + result.stderr
    assert not outbox.exists(), "nothing was started"

    # A purge of the stack at work (its task holds the DAG's run lock): a purge by hand is refused.
    holder = _hold(warehouse_url, run_lock.RUN_LOCK_CLASS, "rgpd_retention",
                   "aiguillage|rgpd_retention|2026-11-08|4242@worker-1")
    try:
        retention = run_cli("retention", "--as-of", "2026-11-08", "--dry-run")
    finally:
        holder.close()
    assert retention.returncode == BUSY_EXIT, retention.stdout + retention.stderr
    assert re.match(r"aiguillage retention: refused: rgpd_retention is being run on this warehouse by a run of "
                    r"the DAG rgpd_retention for 2026-11-08, pid 4242 on host worker-1, since ", retention.stdout)

    # Once the holders are gone, the same command runs (here: it finds nothing to re-deliver).
    again = run_cli("redeliver", "--agency", "ALI05", "--date", DAY.isoformat(), "--outbox", str(outbox))
    assert again.returncode != BUSY_EXIT and "refused: the DAG" not in again.stdout, again.stdout


# --- two task bodies at once -------------------------------------------------------------------------

def test_a_task_waits_for_its_dag_then_fails_naming_the_holder(warehouse_url, tmp_path, monkeypatch):
    from aiguillage.pipeline_tasks import register_landing_files

    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv(run_lock.WAIT_VAR, "1")
    holder = _hold(warehouse_url, run_lock.RUN_LOCK_CLASS, "landing_registry",
                   "aiguillage|landing_registry|2026-11-03|4242@worker-1")
    try:
        started = time.monotonic()
        with pytest.raises(run_lock.RunLockBusy) as busy:
            register_landing_files(_midnight(DAY), "run-second", str(landing))
        waited = time.monotonic() - started
    finally:
        holder.close()
    assert 1.0 <= waited < 10, waited
    assert re.match(r"landing_registry is being run on this warehouse by a run of the DAG landing_registry for "
                    r"2026-11-03, pid 4242 on host worker-1, since .+; waited 1 s for it to end", str(busy.value))
    with psycopg.connect(warehouse_url) as conn:
        scans = conn.execute("SELECT to_regclass('registry.landing_scan')").fetchone()[0]
    assert scans is None, "the second body did nothing"

    # Held for a moment only: the second body waits for it, then does its work.
    monkeypatch.setenv(run_lock.WAIT_VAR, "30")
    holder = _hold(warehouse_url, run_lock.RUN_LOCK_CLASS, "landing_registry",
                   "aiguillage|landing_registry|2026-11-03|4242@worker-1")
    threading.Timer(1.5, holder.close).start()
    started = time.monotonic()
    result = register_landing_files(_midnight(DAY), "run-second", str(landing))
    assert 1.0 <= time.monotonic() - started < 20
    assert result["day"] == DAY.isoformat()
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("SELECT count(*) FROM registry.landing_scan").fetchone()[0] == 1
        # The body let go of its lock when it ended.
        assert conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND"
                            " database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                            (run_lock.RUN_LOCK_CLASS,)).fetchone()[0] == 0


def test_one_agencys_delivery_does_not_wait_for_anothers(warehouse_url):
    with run_lock.held("referral_extracts/ALI01", DAY, wait=0):
        with run_lock.held("referral_extracts/ALI02", DAY, wait=0):
            pass
        with pytest.raises(run_lock.RunLockBusy, match="referral_extracts/ALI01 is being run on this warehouse by "
                                                       r"a run of the DAG referral_extracts \(ALI01\) for 2026-11-03"):
            with run_lock.held("referral_extracts/ALI01", DAY, wait=0):
                pass


def test_lock_keys_are_distinct_and_apart_from_the_other_locks():
    destinations = (REPO / "dbt_project" / "seeds" / "destinations.csv").read_text(encoding="utf-8").splitlines()
    agencies = [line.split(",", 1)[0] for line in destinations[1:]]
    names = [*DAILY_DAGS, "rgpd_retention", "referral_extracts/france_travail",
             *(f"referral_extracts/{code}" for code in agencies)]
    keys = [run_lock.key(name) for name in names]
    assert len(set(keys)) == len(names)
    assert all(0 <= k < 2**31 for k in keys)  # an int4, as the two-key advisory locks take
    assert len(run_lock.application_name("referral_extracts/ALI05", "2026-11-02..2026-11-11").encode()) <= 63


def test_a_holder_that_does_not_say_who_it_is_is_named_by_its_session(warehouse_url):
    holder = _hold(warehouse_url, run_lock.COMMAND_CLAIM_CLASS, "referral_warehouse", "psql")
    try:
        with pytest.raises(run_lock.RunRefused) as refused:
            run_lock.claim("run", [DAY], DAILY_DAGS)
        backend = holder.info.backend_pid
    finally:
        holder.close()
    assert str(refused.value).startswith(
        "the DAG referral_warehouse is being run on this warehouse by a database session that does not say what "
        f"it is (PostgreSQL backend pid {backend}). Nothing was started")
    # Refused, it kept nothing: the whole day can be claimed now.
    run_lock.claim("run", [DAY], DAILY_DAGS).release()
