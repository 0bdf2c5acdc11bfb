"""Following a day's run: every task's timing in registry.task_run, the run report's task durations,
and logs that name the run, the day, the files and the counts without a single personal value.

One real day run (the project's DAGs, in-process, by the ``aiguillage`` command) on a synthetic landing
zone where a recognisable person was planted; its own ``AIGUILLAGE_HOME`` so that every log file under
it belongs to this module. The end-to-end tests run in file order: the last one removes the table.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

from aiguillage.alerts.privacy import PLACEHOLDER
from aiguillage.extracts.daily import receiving_agencies
from aiguillage.observability import task_runs
from aiguillage.observability.log_context import fields, run_log
from aiguillage.run_report import collect, render
from aiguillage.runner import DAILY_DAGS
from tests.conftest import new_database, run_cli

DAY = date(2026, 11, 2)
NEXT_DAY = DAY + timedelta(days=1)
# A person nobody else is, planted in both partner files: none of it may reach a log.
PLANTED_NOM, PLANTED_PRENOM, PLANTED_VOIE = "ZEPHYRINAUD", "QUENTAVIA", "DU CANARI SENTINELLE"


# --- the day run -------------------------------------------------------------------------------------

def _xml_encoding(path: Path) -> str:
    """The encoding a CAF flow declares (the partners write windows-1252 or UTF-8)."""
    with open(path, "rb") as handle:
        declared = re.search(rb'encoding="([^"]+)"', handle.readline())
    return declared.group(1).decode("ascii") if declared else "utf-8"


def _csv_encoding(path: Path) -> str:
    """France Travail writes its CSV files in UTF-8 or windows-1252."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _plant(landing: Path) -> None:
    caf = next((landing / "caf").glob("*_M.xml"))
    encoding = _xml_encoding(caf)
    text = caf.read_text(encoding=encoding)
    text = re.sub(r"<NOM>[^<]+</NOM><NOMNAI>[^<]+</NOMNAI><PRENOM>[^<]+</PRENOM>",
                  f"<NOM>{PLANTED_NOM}</NOM><NOMNAI>{PLANTED_NOM}</NOMNAI><PRENOM>{PLANTED_PRENOM}</PRENOM>", text,
                  count=1)
    text = re.sub(r"<NOMVOIE>[^<]+</NOMVOIE>", f"<NOMVOIE>{PLANTED_VOIE}</NOMVOIE>", text, count=1)
    caf.write_text(text, encoding=encoding)
    stock = next((landing / "france_travail").glob("stock_*.csv"))
    encoding = _csv_encoding(stock)
    with open(stock, encoding=encoding, newline="") as handle:  # line ends kept as written (CRLF or LF)
        lines = handle.read().split("\n")
    header, first = lines[0].split(";"), lines[1].split(";")
    first[header.index("nom")], first[header.index("prenom")] = PLANTED_NOM, PLANTED_PRENOM
    first[header.index("adresse")] = f"7 IMPASSE {PLANTED_VOIE}"
    with open(stock, "w", encoding=encoding, newline="") as handle:
        handle.write("\n".join([lines[0], ";".join(first), *lines[2:]]))


def _personal_values(landing: Path) -> dict[str, set[str]]:
    """NIRs, names and street addresses of the landing zone's people."""
    nirs, names, addresses = set(), set(), set()
    for caf in (landing / "caf").glob("*.xml"):
        text = caf.read_text(encoding=_xml_encoding(caf))
        nirs.update(re.findall(r"<NIR>(\d{13,15})</NIR>", text))
        names.update(re.findall(r"<(?:NOM|NOMNAI|PRENOM|PRENOM2)>([^<]+)</", text))
        addresses.update(f"{number} {kind} {street}" for number, kind, street in re.findall(
            r"<NUMVOIE>(\d+)</NUMVOIE>\s*<LIBTYPEVOIE>([^<]*)</LIBTYPEVOIE><NOMVOIE>([^<]+)</NOMVOIE>", text))
    for csv_file in (landing / "france_travail").glob("*.csv"):
        lines = csv_file.read_text(encoding=_csv_encoding(csv_file)).splitlines()
        header = lines[0].split(";")
        for line in lines[1:]:
            values = dict(zip(header, line.split(";"), strict=False))
            nirs.add(values.get("nir", ""))
            names.update(values.get(key, "") for key in ("nom", "prenom"))
            addresses.add(values.get("adresse", ""))
    return {"nir": {n for n in nirs if len(n) >= 13}, "name": {n for n in names if len(n) >= 4},
            "address": {a for a in addresses if len(a) >= 8}}


@pytest.fixture(scope="module")
def day_run(server_url, tmp_path_factory):
    with new_database(server_url) as url:
        yield _run_a_day(url, tmp_path_factory)


def _run_a_day(url: str, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("observability")
    landing, outbox, home = root / "landing", root / "outbox", root / "home"
    synth = run_cli("synth", "--date", DAY.isoformat(), "--households", "120", "--days", "1", "--seed", "31",
                    "--landing", str(landing))
    assert synth.returncode == 0, synth.stderr
    _plant(landing)
    env = {"AIGUILLAGE_WAREHOUSE_URL": url, "AIGUILLAGE_HOME": str(home)}
    began = datetime.now(UTC)
    started = time.monotonic()
    result = run_cli("run", "--date", DAY.isoformat(), "--landing", str(landing), "--outbox", str(outbox), env=env)
    return {"url": url, "landing": landing, "outbox": outbox, "home": home, "env": env, "result": result,
            "began": began, "seconds": time.monotonic() - started}


def _rows(url: str, day: date) -> list[dict]:
    with psycopg.connect(url) as conn:
        return task_runs.task_runs_for_day(conn, day)


def _airflow_task_instances(home: Path) -> list[dict]:
    """What Airflow's own metadata database says of every task instance it ran."""
    with sqlite3.connect(home / "airflow" / "airflow.db") as meta:
        meta.row_factory = sqlite3.Row
        return [dict(row) for row in meta.execute(
            "SELECT dag_id, run_id, task_id, map_index, try_number, state, duration FROM task_instance")]


def _log_files(home: Path) -> list[Path]:
    folders = [home / "logs", home / "airflow" / "logs", home / "dbt" / "logs"]
    return sorted(path for folder in folders if folder.is_dir() for path in folder.rglob("*") if path.is_file())


@pytest.mark.airflow
@pytest.mark.slow
def test_every_task_instance_records_its_timing_once(day_run):
    result = day_run["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    rows = _rows(day_run["url"], DAY)
    recorded = {(r["dag_id"], r["run_id"], r["task_id"], r["map_index"], r["try_number"]): r for r in rows}
    assert len(recorded) == len(rows), "one row per try"

    # Exactly the task instances Airflow ran, in the same state, for the same time.
    instances = _airflow_task_instances(day_run["home"])
    assert {i["dag_id"] for i in instances} == set(DAILY_DAGS)
    assert set(recorded) == {(i["dag_id"], i["run_id"], i["task_id"], i["map_index"], i["try_number"])
                             for i in instances}
    for instance in instances:
        row = recorded[(instance["dag_id"], instance["run_id"], instance["task_id"], instance["map_index"],
                        instance["try_number"])]
        assert row["state"] == instance["state"] == "success"
        assert abs(float(row["seconds"]) - instance["duration"]) < 1.0, (row, instance)

    # Plausible times, all within the run.
    ended_by = day_run["began"] + timedelta(seconds=day_run["seconds"])
    for row in rows:
        assert row["day"] == DAY and row["hostname"] == socket.gethostname() and row["error_type"] is None
        assert day_run["began"] <= row["started_at"] <= row["ended_at"] <= ended_by
        assert 0 < float(row["seconds"]) < day_run["seconds"]
    build = next(r for r in rows if r["task_id"] == "build_referral_warehouse")
    assert float(build["seconds"]) > 1.0  # a dbt build, not a no-op
    assert sum(float(r["seconds"]) for r in rows) < day_run["seconds"]

    # The mapped deliveries are named by their agency.
    with psycopg.connect(day_run["url"]) as conn:
        receiving = {code for code, _ in receiving_agencies(conn, DAY)}
    deliveries = [r for r in rows if r["task_id"] == "deliver_extract"]
    assert receiving and {r["label"] for r in deliveries} == receiving and len(deliveries) == len(receiving)
    assert sorted(r["map_index"] for r in deliveries) == list(range(len(receiving)))
    # Rows come in the order of the day's chain.
    order = [DAILY_DAGS.index(r["dag_id"]) for r in rows]
    assert order == sorted(order)


@pytest.mark.airflow
@pytest.mark.slow
def test_the_run_report_shows_each_task_duration(day_run):
    folder = day_run["outbox"] / "_runs" / DAY.isoformat()
    report = json.loads((folder / "run_report.json").read_text(encoding="utf-8"))
    html = (folder / "run_report.html").read_text(encoding="utf-8")
    rows = [r for r in _rows(day_run["url"], DAY) if r["task_id"] != "report_run"]

    assert report["status"] == "complete"
    assert [(t["dag_id"], t["task_id"], t["label"], t["seconds"]) for t in report["tasks"]] == [
        (r["dag_id"], r["task_id"], r["label"], float(r["seconds"])) for r in rows]
    assert report["tasks_not_included"] == ["referral_extracts.report_run"]
    assert [run["dag_id"] for run in report["task_runs"]] == list(DAILY_DAGS)
    extracts_run = report["task_runs"][-1]
    extracts_tasks = [r for r in rows if r["dag_id"] == "referral_extracts"]
    assert extracts_run["tasks"] == extracts_run["tries"] == len(extracts_tasks) and extracts_run["retries"] == 0
    assert report["slowest_tasks"][0]["seconds"] == max(float(r["seconds"]) for r in rows)

    section = html[html.index("id='tasks'"):]
    build = next(r for r in rows if r["task_id"] == "build_referral_warehouse")
    assert "build_referral_warehouse" in section and f'value="{float(build["seconds"])}"' in section
    for row in rows:
        if row["label"]:
            assert f"deliver_extract[{row['label']}]" in section
    assert "sa propre durée n'est pas dans le rapport" in section


@pytest.mark.airflow
@pytest.mark.slow
def test_logs_follow_the_run_and_hold_no_personal_data(day_run):
    files = _log_files(day_run["home"])
    cli_log = day_run["home"] / "logs" / "airflow-runs.log"
    assert cli_log in files
    logs = {path: path.read_text(encoding="utf-8", errors="replace") for path in files}
    text = "\n".join(logs.values())

    # Each DAG's lines name its run and day.
    for row in _rows(day_run["url"], DAY):
        assert f"run_id={row['run_id']} day={DAY.isoformat()} dag={row['dag_id']}" in text
    with psycopg.connect(day_run["url"]) as conn:
        loaded = conn.execute(
            "SELECT relative_path, source, status, rows_loaded, rejects FROM registry.landing_file"
            " WHERE logical_date = %s", (DAY,)).fetchall()
        outcomes = conn.execute("SELECT code_structure, state, files FROM registry.extract_outcome"
                                " WHERE day = %s", (DAY,)).fetchall()
        planted_loaded = conn.execute("SELECT count(*) FROM raw.caf_person WHERE nom = %s",
                                      (PLANTED_NOM,)).fetchone()[0]
    assert planted_loaded == 1, "the planted person went through the pipeline"
    assert loaded and outcomes
    for path, source, status, rows_loaded, rejects in loaded:
        assert (f"source={source} file={path} status={status} rows={sum(rows_loaded.values())}"
                f" rejects={sum((rejects or {}).values())}") in text
    assert "landing scan: seen=" in text and "load: source=caf files=1" in text
    assert "dbt build: outcome=ok" in text and "quality gate: verdict=pass" in text
    for code, state, delivered in outcomes:
        assert f"extract: agency={code} outcome={state} lines={sum(f['rows'] for f in delivered)}" in text
    assert "run report: status=complete" in text

    # Not one personal value, in any log file.
    personal = _personal_values(day_run["landing"])
    assert {PLANTED_NOM, PLANTED_PRENOM} <= personal["name"] and len(personal["nir"]) > 100
    assert any(PLANTED_VOIE in address for address in personal["address"])
    for path, content in logs.items():
        for planted in (PLANTED_NOM, PLANTED_PRENOM, PLANTED_VOIE):
            assert planted not in content, f"{path.name}: planted value {planted}"
        digits = set(re.findall(r"(?<!\d)\d{13,15}(?!\d)", content))
        leaked = {nir for nir in personal["nir"] if nir in digits or nir[:13] in digits}
        assert not leaked, f"{path.name}: {len(leaked)} NIR(s)"
        words = set(re.findall(r"[A-ZÀ-Ý][A-ZÀ-Ý'-]+", content))
        assert not personal["name"] & words, f"{path.name}: {len(personal['name'] & words)} name(s)"
        assert not [a for a in personal["address"] if a in content], f"{path.name}: address"


@pytest.mark.airflow
@pytest.mark.slow
def test_a_failing_task_records_state_failed(day_run):
    # A key too short for the pseudonyms: the warehouse build of the next day fails at once.
    result = run_cli("run", "--date", NEXT_DAY.isoformat(), "--landing", str(day_run["landing"]),
                     "--outbox", str(day_run["outbox"]), "--only", "referral_warehouse",
                     env={**day_run["env"], "AIGUILLAGE_PSEUDONYMISATION_KEY": "short"})
    assert result.returncode != 0
    rows = _rows(day_run["url"], NEXT_DAY)
    assert [(r["dag_id"], r["task_id"], r["try_number"], r["state"], r["error_type"]) for r in rows] == [
        ("referral_warehouse", "build_referral_warehouse", 1, "failed", "MissingKeyError")]
    assert float(rows[0]["seconds"]) >= 0 and rows[0]["ended_at"] >= rows[0]["started_at"]

    with psycopg.connect(day_run["url"]) as conn:
        report = collect(conn, NEXT_DAY, "report-check", gate=None, extracts=[], tasks=rows)
    assert report["status"] == "failed"
    assert {"what": "task referral_warehouse.build_referral_warehouse",
            "reason": "ended failed (MissingKeyError)"} in report["failed"]
    # The day's report says why, in the words the error gave, as the failure callback recorded them.
    cause = ("referral_warehouse.build_referral_warehouse failed: MissingKeyError: AIGUILLAGE_PSEUDONYMISATION_KEY "
             "must be at least 16 characters long")
    assert f"  - {cause}" in result.stdout, result.stdout[-3000:]
    with psycopg.connect(day_run["url"]) as conn:
        assert task_runs.failures_of_run(conn, "referral_warehouse", rows[0]["run_id"]) == {
            ("build_referral_warehouse", -1): cause.split(" failed: ", 1)[1]}


@pytest.mark.airflow
@pytest.mark.slow
def test_a_recording_that_fails_does_not_fail_the_task(day_run):
    with psycopg.connect(day_run["url"]) as conn:
        conn.execute("DROP TABLE registry.task_run")  # recorded as migrated: nothing recreates it
    cli_log = day_run["home"] / "logs" / "airflow-runs.log"
    before = cli_log.stat().st_size
    result = run_cli("run", "--date", DAY.isoformat(), "--landing", str(day_run["landing"]),
                     "--outbox", str(day_run["outbox"]), "--only", "landing_registry", env=day_run["env"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"DAG landing_registry\s+success", result.stdout)
    with open(cli_log, encoding="utf-8", errors="replace") as handle:
        handle.seek(before)
        added = handle.read()
    assert ("task timing of landing_registry.register_landing_files try 1 (success) not recorded:"
            " UndefinedTable") in added


# --- without Airflow ---------------------------------------------------------------------------------

def _context(**ti_fields) -> dict:
    started = datetime(2026, 11, 4, 5, 0, tzinfo=UTC)
    ti = SimpleNamespace(**{"dag_id": "referral_extracts", "task_id": "check_quality", "run_id": "run-1",
                            "map_index": -1, "try_number": 1, "start_date": started,
                            "end_date": started + timedelta(seconds=12.5), "hostname": "worker-1",
                            "rendered_map_index": None, **ti_fields})
    return {"ti": ti, "run_id": ti.run_id, "dag_run": SimpleNamespace(conf={"day": "2026-11-04"})}


def test_a_callback_that_cannot_reach_the_warehouse_leaves_the_task_alone(monkeypatch, caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AIGUILLAGE_WAREHOUSE_URL", f"postgresql://aiguillage:secret@127.0.0.1:{port}/warehouse")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="aiguillage.observability.task_runs"):
        for callback in (task_runs.record_success, task_runs.record_retry, task_runs.record_failure):
            callback(_context())
    assert time.monotonic() - started < 3 * (task_runs.CONNECT_TIMEOUT_SECONDS + 1)
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [f"task timing of referral_extracts.check_quality try 1 ({state}) not recorded:"
                        " OperationalError" for state in ("success", "up_for_retry", "failed")]
    assert not any("secret" in line or str(port) in line for line in warnings)


def test_a_callback_on_a_warehouse_never_migrated_records_its_try(warehouse_url):
    task_runs.record_failure(_context())  # e.g. the first task of a new installation failed at once
    with psycopg.connect(warehouse_url) as conn:
        rows = task_runs.task_runs_for_day(conn, date(2026, 11, 4))
    assert [(r["task_id"], r["state"], float(r["seconds"]), r["hostname"]) for r in rows] == [
        ("check_quality", "failed", 12.5, "worker-1")]


def test_a_try_is_read_from_the_callback_context():
    withheld = RuntimeError("fail")
    withheld.__cause__ = type("ExtractWithheld", (Exception,), {})("ALI02 withheld")
    context = _context(task_id="deliver_extract", map_index=3, rendered_map_index="ALI04", try_number=2)
    context["exception"] = withheld
    run = task_runs.from_context(context, task_runs.FAILED)
    assert (run.day, run.label, run.map_index, run.try_number, run.seconds, run.error_type, run.hostname) == (
        date(2026, 11, 4), "ALI04", 3, 2, 12.5, "ExtractWithheld", "worker-1")
    assert task_runs.from_context(_context(), task_runs.SUCCESS).error_type is None


def test_an_error_message_is_cleaned_before_it_is_kept_or_printed(conn):
    # A database error quotes rows in its DETAIL and values in its first line: neither is kept.
    conn.execute("CREATE TEMP TABLE person (nir text PRIMARY KEY, born date)")
    conn.execute("INSERT INTO person VALUES ('185059312345678', '1985-05-01')")
    with pytest.raises(psycopg.errors.UniqueViolation) as duplicate:
        conn.execute("INSERT INTO person VALUES ('185059312345678', '1985-05-01')")
    conn.rollback()
    assert "185059312345678" in str(duplicate.value)
    assert task_runs.error_message(duplicate.value) == 'duplicate key value violates unique constraint "person_pkey"'
    with pytest.raises(psycopg.errors.InvalidDatetimeFormat) as bad_date:
        conn.execute("SELECT 'Zephyrin Quentavia'::date")
    conn.rollback()
    assert task_runs.error_message(bad_date.value) == 'invalid input syntax for type date: "…"'

    # The project's own words are kept, on one line, control characters escaped.
    assert task_runs.error_message(RuntimeError("dbt build failed for 2026-11-03 (2 nodes): a; b\nsecond line")) == (
        "dbt build failed for 2026-11-03 (2 nodes): a; b")
    assert task_runs.error_message(ValueError("file caf/\x1b[31mred.xml unreadable")) == (
        "file caf/\\x1b[31mred.xml unreadable")
    assert task_runs.error_message(RuntimeError("file VRSB0801_931_20261103120000.xml")) == (
        "file VRSB0801_931_20261103120000.xml")  # a time stamp, not a NIR
    # Anything that looks like a NIR or an e-mail address: the whole message goes.
    for planted in ("1 85 05 93 123 456 78", "185059312345678", "jean.dupont@example.org"):
        assert task_runs.error_message(RuntimeError(f"row of {planted} rejected")) == PLACEHOLDER
    # The cause under Airflow's wrapper; no message, no words; a long one cut.
    withheld = RuntimeError("ALI02 withheld")
    withheld.__cause__ = type("ExtractWithheld", (Exception,), {})("ALI02 withheld: 2 lines without agency")
    assert task_runs.error_message(withheld) == "ALI02 withheld: 2 lines without agency"
    assert task_runs.error_message(KeyError()) is None and task_runs.error_message(None) is None
    assert len(task_runs.error_message(RuntimeError("x" * 5000))) == task_runs.MESSAGE_MAX_CHARS
    assert task_runs.failure_line("MissingKeyError", None) == "MissingKeyError"


def test_the_cause_of_a_failed_task_is_kept_and_read_back(conn):
    error = RuntimeError("dbt build failed for 2026-11-04 (1 nodes): model.aiguillage.referrals: error")
    context = {**_context(dag_id="referral_warehouse", task_id="build_referral_warehouse"), "exception": error}
    with conn.transaction():
        task_runs.record(conn, task_runs.from_context(context, task_runs.FAILED))
        retried = task_runs.from_context({**_context(task_id="check_quality"), "exception": TimeoutError("slow")},
                                         task_runs.UP_FOR_RETRY)
        task_runs.record(conn, retried)
        task_runs.record(conn, _try("check_quality", 2, "success", 1.0, minute=4))
    assert task_runs.failures_of_run(conn, "referral_warehouse", "run-1") == {
        ("build_referral_warehouse", -1): "RuntimeError: dbt build failed for 2026-11-04 (1 nodes): "
                                          "model.aiguillage.referrals: error"}
    assert task_runs.failures_of_run(conn, "referral_extracts", "run-1") == {}, "its retry succeeded"


def _try(task_id: str, try_number: int, state: str, seconds: float, *, minute: int, label=None, map_index=-1,
         error_type=None, dag_id="referral_extracts", run_id="run-1") -> task_runs.TaskRun:
    started = datetime(2026, 11, 4, 5, minute, tzinfo=UTC)
    return task_runs.TaskRun(dag_id, run_id, date(2026, 11, 4), task_id, map_index, label, try_number, state,
                             started, started + timedelta(seconds=seconds), seconds, "worker-1", error_type)


def test_retries_are_visible_and_only_the_last_try_decides(conn):
    with conn.transaction():
        task_runs.record(conn, _try("check_quality", 1, "up_for_retry", 3.0, minute=2, error_type="OperationalError"))
        task_runs.record(conn, _try("check_quality", 2, "success", 1.0, minute=4))
        task_runs.record(conn, _try("check_quality", 2, "success", 4.25, minute=4))  # the same try again: replaced
        task_runs.record(conn, _try("deliver_extract", 1, "failed", 0.5, minute=5, label="ALI02", map_index=1,
                                    error_type="ExtractWithheld"))
        task_runs.record(conn, _try("build_referral_warehouse", 1, "success", 30.0, minute=1,
                                    dag_id="referral_warehouse"))
        # A previous attempt of this run's report (a rerun of the day reuses the run id).
        task_runs.record(conn, _try("report_run", 1, "success", 0.4, minute=6))
    rows = task_runs.task_runs_for_day(conn, date(2026, 11, 4))
    assert [(r["dag_id"], r["task_id"], r["try_number"], r["state"]) for r in rows] == [
        ("referral_warehouse", "build_referral_warehouse", 1, "success"),
        ("referral_extracts", "check_quality", 1, "up_for_retry"),
        ("referral_extracts", "check_quality", 2, "success"),
        ("referral_extracts", "deliver_extract", 1, "failed"),
        ("referral_extracts", "report_run", 1, "success"),
    ]

    report = collect(conn, date(2026, 11, 4), "run-1", gate=None, extracts=[], tasks=rows)
    assert report["status"] == "complete"  # a retried task that succeeded, a withholding the extracts report
    assert [t["task_id"] for t in report["tasks"]].count("report_run") == 0
    extracts_run = next(r for r in report["task_runs"] if r["dag_id"] == "referral_extracts")
    assert (extracts_run["tasks"], extracts_run["tries"], extracts_run["retries"]) == (2, 3, 1)
    assert report["slowest_tasks"][0]["task_id"] == "build_referral_warehouse"
    html = render(report)
    assert 'class="state-up_for_retry"' in html and "deliver_extract[ALI02]" in html
    assert "OperationalError" in html and "30.0" in html
    assert len(rows) == 5 and next(r for r in rows if r["try_number"] == 2)["seconds"] == 4.25

    with conn.transaction():
        task_runs.record(conn, _try("check_quality", 3, "failed", 2.0, minute=7, error_type="QueryCanceled"))
    rows = task_runs.task_runs_for_day(conn, date(2026, 11, 4))
    report = collect(conn, date(2026, 11, 4), "run-1", gate=None, extracts=[], tasks=rows)
    assert report["status"] == "failed"
    assert report["failed"] == [{"what": "task referral_extracts.check_quality",
                                 "reason": "ended failed (QueryCanceled)"}]


def test_log_lines_name_the_run_inside_a_task_only(caplog):
    log = run_log("aiguillage.test", source="caf")
    with caplog.at_level(logging.INFO, logger="aiguillage.test"):
        log.info("file: %s", fields(file="caf/a b.xml", rows=3, by_table={"caf_dossier": 3}, rejects={},
                                    seconds=0.5))
    assert caplog.records[-1].getMessage() == (
        'source=caf file: file="caf/a b.xml" rows=3 by_table=caf_dossier:3 rejects=- seconds=0.50')
