"""A five-day backfill gives the same warehouse and the same extracts as five single-day runs.

Two warehouses (two databases of the test server), each with its own AIGUILLAGE_HOME and outbox,
fed by the same synthetic landing zone: one ``aiguillage backfill`` against five ``aiguillage run``
(five days hold what a longer range would: the monthly stock, daily flows that each move dossiers,
the team's decisions and the agencies' reports of the day before).
Both run at the same time (each on its own database and home) to halve the test's wall time.

What is compared, and what is left out:
- every table of ``marts``, ``history`` and ``identifiants``, every column: the snapshots date their
  versions with the run day (macros/run_day.sql), not the clock, so dbt_valid_from, dbt_valid_to,
  dbt_updated_at and dbt_scd_id are the same in both;
- ``registry.landing_file`` per file: content, status, reason, header, rows and rejects, the day and the
  run that recorded it (file ids, times of recording and loading and load durations are left out);
- ``registry.extract_delivery`` per agency, day and file: sha256, rows, method, target (relative to its
  outbox) and run (delivery times are left out);
- every file of the two outboxes byte for byte (agencies' folders and the delivery archive), except the
  manifests' ``generated_at`` (the clock when the manifest was written) and the run reports under
  ``_runs/`` (durations and times of the runs, and the Data Docs' run times).
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.conftest import build_history_up_to, new_database, run_cli

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

FIRST = date(2026, 11, 2)
DAYS = [FIRST + timedelta(days=offset) for offset in range(5)]
COMPARED_SCHEMAS = ("marts", "history", "identifiants")


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("backfill") / "landing"
    synth = run_cli("synth", "--date", FIRST.isoformat(), "--households", "80", "--days", str(len(DAYS)),
                    "--seed", "5", "--landing", str(root))
    assert synth.returncode == 0, synth.stderr
    # Every day after the first brings movements, so that each day's build has something to decide.
    moved = {day: int(count) for day, count in
             re.findall(r"Day (\d{4}-\d\d-\d\d): (\d+) CAF dossiers with events", synth.stdout)}
    assert [moved.get(day.isoformat(), 0) > 0 for day in DAYS[1:]] == [True] * (len(DAYS) - 1), synth.stdout
    return root


@pytest.fixture
def two_warehouses(server_url):
    with new_database(server_url, "t_backfill_") as backfilled, new_database(server_url, "t_daily_") as daily:
        yield [backfilled, daily]


def _timed(function, *args):
    started = time.monotonic()
    return function(*args), time.monotonic() - started


def _backfill(landing: Path, outbox: Path, env: dict):
    return run_cli("backfill", "--from", DAYS[0].isoformat(), "--to", DAYS[-1].isoformat(), "--landing",
                   str(landing), "--outbox", str(outbox), env=env, timeout=1800)


def _day_by_day(landing: Path, outbox: Path, env: dict, days: list[date]):
    return [run_cli("run", "--date", day.isoformat(), "--landing", str(landing), "--outbox", str(outbox), env=env)
            for day in days]


def _seconds_per_dag(outputs: list[str]) -> dict[str, int]:
    """Where the time goes: each DAG's seconds summed over the days, from the commands' day reports."""
    totals: dict[str, float] = {}
    for output in outputs:
        for dag_id, seconds in re.findall(r"^  DAG (\w+) +\w+ +([\d.]+) s", output, flags=re.MULTILINE):
            totals[dag_id] = totals.get(dag_id, 0.0) + float(seconds)
    return {dag_id: round(seconds) for dag_id, seconds in totals.items()}


def _relations(conn, schema: str) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,))]


def _contents(conn, schema: str, table: str) -> list[str]:
    """Every row of the table as its text form, sorted (the order of rows is not part of a table)."""
    return [row for (row,) in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t ORDER BY 1')]  # noqa: S608


def _warehouse(url: str) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        return {f"{schema}.{table}": _contents(conn, schema, table)
                for schema in COMPARED_SCHEMAS for table in _relations(conn, schema)}


def _landing_files(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT f.relative_path, f.sha256, f.source, f.kind, f.agency_code, f.size_bytes, f.mtime_ns,"
            " f.delivered_on, f.header, f.status, f.status_reason, d.relative_path, f.logical_date, f.run_id,"
            " f.rows_loaded, f.rejects, f.load_attempts"
            " FROM registry.landing_file f LEFT JOIN registry.landing_file d ON d.file_id = f.duplicate_of"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def _deliveries(url: str, outbox: Path) -> dict[tuple, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT code_structure, day, fichier, sha256, row_count, method, target, run_id"
                            " FROM registry.extract_delivery").fetchall()
    return {(code, day, fichier): (sha, count, method, str(Path(target).relative_to(outbox)), run_id)
            for code, day, fichier, sha, count, method, target, run_id in rows}


def _outbox_files(outbox: Path) -> dict[str, bytes]:
    """Every file of the outbox but the run reports, manifests without their time of writing."""
    found = {}
    for path in sorted(outbox.rglob("*")):
        relative = path.relative_to(outbox).as_posix()
        if not path.is_file() or relative.startswith("_runs/"):
            continue
        data = path.read_bytes()
        if path.name.endswith(".manifest.json"):
            manifest = json.loads(data)
            assert manifest.pop("generated_at")
            data = json.dumps(manifest, sort_keys=True).encode()
        found[relative] = data
    return found


def test_a_five_day_backfill_equals_five_daily_runs(landing, two_warehouses, tmp_path):
    url_backfill, url_daily = two_warehouses
    outbox_backfill, outbox_daily = tmp_path / "outbox_backfill", tmp_path / "outbox_daily"
    # 80 households give an agency 0 to 2 movements a day: the gate's volume bounds (a ratio of the previous
    # days' median) would withhold days of such a small data set, in both warehouses alike. Opened wide here.
    gate = {"AIGUILLAGE_GATE_VOLUME_MIN_RATIO": "0", "AIGUILLAGE_GATE_VOLUME_MAX_RATIO": "1000"}
    env_backfill = {"AIGUILLAGE_WAREHOUSE_URL": url_backfill, "AIGUILLAGE_HOME": str(tmp_path / "home_backfill"),
                    **gate}
    env_daily = {"AIGUILLAGE_WAREHOUSE_URL": url_daily, "AIGUILLAGE_HOME": str(tmp_path / "home_daily"), **gate}

    dry = run_cli("backfill", "--from", DAYS[0].isoformat(), "--to", DAYS[-1].isoformat(), "--landing",
                  str(landing), "--outbox", str(outbox_backfill), "--dry-run", env=env_backfill)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "registered   caf/VRSB0801_931_20261102_M.xml" in dry.stdout
    assert "registered   caf/VRSB0801_931_20261106_I.xml" in dry.stdout
    assert not outbox_backfill.exists(), "a dry run changes nothing"

    # The first daily run goes alone: it creates what a PostgreSQL server holds once for all its databases
    # (the warehouse's roles), which two first runs at the same moment would both try to create.
    (first_run,), first_seconds = _timed(_day_by_day, landing, outbox_daily, env_daily, DAYS[:1])
    with ThreadPoolExecutor(max_workers=2) as pool:
        backfill = pool.submit(_timed, _backfill, landing, outbox_backfill, env_backfill)
        daily = pool.submit(_timed, _day_by_day, landing, outbox_daily, env_daily, DAYS[1:])
        (backfilled, backfill_seconds), (runs, daily_seconds) = backfill.result(), daily.result()
    runs = [first_run, *runs]
    print(f"backfill of {len(DAYS)} days: {backfill_seconds:.0f} s; {len(DAYS)} single-day runs: "
          f"{first_seconds + daily_seconds:.0f} s (the last ones beside the backfill); seconds per DAG over the "
          f"days, backfill / daily runs: {_seconds_per_dag([backfilled.stdout])} / "
          f"{_seconds_per_dag([run.stdout for run in runs])}")

    assert backfilled.returncode == 0, backfilled.stdout[-3000:] + backfilled.stderr[-3000:]
    assert [run.returncode for run in runs] == [0] * len(DAYS), [run.stdout[-2000:] for run in runs if run.returncode]
    for day in DAYS:
        assert f"Day {day}" in backfilled.stdout
    assert f"the {len(DAYS)} day(s) ran completely" in backfilled.stdout

    built, expected = _warehouse(url_backfill), _warehouse(url_daily)
    assert sorted(built) == sorted(expected)
    assert any(name.startswith("history.") for name in built) and "marts.referral_movements" in built
    differing = {name: (len(built[name]), len(expected[name])) for name in expected if built[name] != expected[name]}
    assert differing == {}, f"tables that differ (rows backfill, rows daily): {differing}"
    with psycopg.connect(url_daily) as conn:
        days_built = [day for (day,) in conn.execute(
            "SELECT DISTINCT date_mouvement FROM marts.referral_movements ORDER BY 1")]
    assert days_built[-1] == DAYS[-1] and len(days_built) >= 3, days_built

    files_backfill, files_daily = _landing_files(url_backfill), _landing_files(url_daily)
    assert files_backfill == files_daily
    assert {row[8] for row in files_daily.values()} <= {"loaded", "loaded_with_rejects", "duplicate"}
    assert {row[11] for row in files_daily.values()} == set(DAYS), "each day recorded its own files"

    deliveries = _deliveries(url_backfill, outbox_backfill)
    assert deliveries == _deliveries(url_daily, outbox_daily)
    assert {day for (_, day, _) in deliveries} == set(DAYS)

    extracts, expected_extracts = _outbox_files(outbox_backfill), _outbox_files(outbox_daily)
    assert extracts.keys() == expected_extracts.keys()
    assert [name for name, data in extracts.items() if data != expected_extracts[name]] == []
    assert sum(name.endswith(".csv") for name in extracts) >= 2 * len(DAYS)


def test_a_range_starting_before_the_latest_built_day_is_refused(warehouse_url, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    build_history_up_to(warehouse_url, "2026-11-05")
    where = ["--landing", str(landing), "--outbox", str(tmp_path / "outbox")]
    refused = run_cli("backfill", "--from", "2026-11-04", "--to", "2026-11-08", *where)
    assert refused.returncode == 2
    assert "refused: the warehouse is already built up to 2026-11-05; a backfill from 2026-11-04" in refused.stdout
    assert "start the range on 2026-11-05 or later" in refused.stdout
    assert "Restore after losing the warehouse" in refused.stdout
    assert not (tmp_path / "outbox").exists()

    allowed = run_cli("backfill", "--from", "2026-11-05", "--to", "2026-11-06", *where, "--dry-run")
    assert allowed.returncode == 0 and "Day 2026-11-06: 0 new file(s)" in allowed.stdout

    backwards = run_cli("backfill", "--from", "2026-11-08", "--to", "2026-11-06", *where)
    assert backwards.returncode == 2 and "the range ends (2026-11-06) before it starts (2026-11-08)" in backwards.stdout


def test_the_backfill_stops_at_the_first_day_that_fails(warehouse_url, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    # A pseudonymisation key too short: the first day's warehouse build fails at once, saying why.
    result = run_cli("backfill", "--from", "2026-11-02", "--to", "2026-11-04", "--landing", str(landing),
                     "--outbox", str(tmp_path / "outbox"), env={"AIGUILLAGE_PSEUDONYMISATION_KEY": "short"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("STOPPED at 2026-11-02: DAG referral_warehouse ended 'failed' (tasks not successful: "
            "build_referral_warehouse); referral_warehouse.build_referral_warehouse failed: MissingKeyError: "
            "AIGUILLAGE_PSEUDONYMISATION_KEY must be at least 16 characters long") in result.stdout, result.stdout
    assert "Not run: 2026-11-03, 2026-11-04" in result.stdout
    assert "Day 2026-11-03" not in result.stdout
    assert "resume: aiguillage backfill --from 2026-11-02 --to 2026-11-04" in result.stdout
