"""Gather a day's run report from the warehouse (read-only, cheap queries) and the run's own records.

Every figure of the day is an exact count (never a planner estimate). A table that does not exist
yet (warehouse not built) is reported as absent, never as an error. The report holds counts, codes,
file names and expectation names only: no personal data is ever read out of a table here.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import PurePath

import psycopg
from psycopg import sql

from aiguillage.landing.names import printable
from aiguillage.landing.registry import files_for_day

log = logging.getLogger(__name__)

HISTORY_DAYS = 60
# A count that takes longer than this is reported as not counted rather than holding up the run.
_COUNT_TIMEOUT_MS = 15_000

# Raw tables filled from a landing file: counted for the files recorded by the day's runs.
RAW_TABLES = (
    "caf_dossier", "caf_person", "caf_address", "caf_right_situation", "caf_amount", "caf_event",
    "france_travail_record", "france_travail_reject", "ali_report_line", "ali_report_reject",
    "departement_decision", "departement_decision_reject",
)
# Built tables counted whole (``None``) or for the run day only (the column holding the day).
BUILT_TABLES: tuple[tuple[str, str, str | None], ...] = (
    ("staging", "stg_caf__dossiers", None),
    ("staging", "stg_caf__persons", None),
    ("staging", "stg_france_travail__registrations", None),
    ("staging", "stg_ali__report_lines", None),
    ("intermediate", "int_households__current", None),
    ("intermediate", "int_persons__identities", None),
    ("intermediate", "int_persons__eligibility", None),
    ("intermediate", "int_orientations__proposals", None),
    ("marts", "beneficiaries", None),
    ("marts", "referrals", None),
    ("marts", "referral_movements", "date_mouvement"),
    ("marts", "orientation_proposal_history", "date_statut"),
    ("marts", "referral_events", None),
    ("marts", "referral_daily_indicators", "jour"),
)
EXTRACT_LINES = ("identifiants", "identifiants__extract_lines")

# Gate finding fields the report keeps; ``observed`` only when it is a plain number (a value read
# from the data could be personal).
_FINDING_FIELDS = ("suite", "scope", "expectation", "column", "severity", "unexpected_count", "description",
                   "data_docs")
_FAILED_TASK_STATES = {"failed", "upstream_failed"}
# The task that writes the report: its duration cannot be in it.
REPORTING_TASK = "referral_extracts.report_run"
# A delivery withheld by the gate fails its task on purpose: the extracts part already reports it.
_WITHHELD_ERROR = "ExtractWithheld"
# Who writes a report on a day that stopped before the extracts (aiguillage.failed_day).
FAILURE_CALLBACK = "failure_callback"
SLOWEST_SHOWN = 5
TASK_FIELDS = ("dag_id", "run_id", "task_id", "map_index", "label", "try_number", "state", "started_at",
               "ended_at", "seconds", "hostname", "error_type")


def plain(value):
    """``value`` with only JSON types: dates as ISO strings, decimals as numbers, tuples as lists."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, PurePath):
        return str(value)
    return value


def collect(conn: psycopg.Connection, day: date, run_id: str, *, gate: dict | None, extracts: list[dict],
            tasks: list[dict], alert: dict | None = None, written_by: str = REPORTING_TASK) -> dict:
    """The run report of ``day``: files, rows per layer, gate, extracts, deadlines and task durations.

    ``tasks``: the tries recorded for the day (``observability.task_runs.task_runs_for_day``), in the
    order to show them. ``alert``: the run alert sent with this report (``alerts.build_alert``), so
    that the report shows the very counts the operators received. ``written_by``: the task writing
    the report (``report_run``), or ``FAILURE_CALLBACK`` when a task failed before the extracts.

    ``conn`` is only read from; the queries run in a transaction of their own (a savepoint when the
    caller already holds one) that changes nothing.
    """
    with conn.transaction():
        previous_timeout = conn.execute("SHOW statement_timeout").fetchone()[0]
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(_COUNT_TIMEOUT_MS),))
        try:
            files = _files(conn, day)
            layers = _layers(conn, day)
            referrals = _referrals_by_agency(conn)
            deadlines = _deadlines(conn, day)
            france_travail = _france_travail(conn, day)
            proposals = _proposals(conn, day)
            identities = _identities(conn, day)
            agency_reports = _agency_reports(conn, day)
            extract_items = [_extract(item) for item in extracts]
            # This run's report_run row, if any, is a previous attempt's (a rerun of the day reuses the run id).
            task_items = [_task(item) for item in tasks if not (
                item.get("run_id") == run_id and task_name({**item, "label": None}) == REPORTING_TASK)]
            causes = _causes(conn, task_items)
        finally:
            conn.execute("SELECT set_config('statement_timeout', %s, true)", (previous_timeout,))
    gate_part = _gate(gate)
    status, withheld, failed = _outcome(gate_part, extract_items, task_items)
    return plain({
        "day": day,
        "run_id": run_id,
        "generated_at": datetime.now(UTC).replace(microsecond=0),
        "status": status,
        "withheld": withheld,
        "failed": failed,
        # Why each failed task failed, keyed like "failed"'s "what": 'Type: cleaned message'.
        "failure_causes": causes,
        "files": files,
        "layers": layers,
        "gate": gate_part,
        "extracts": extract_items,
        "referrals": referrals,
        "deadlines": deadlines,
        "france_travail": france_travail,
        "proposals": proposals,
        "identities": identities,
        "agency_reports": agency_reports,
        "tasks": task_items,
        "task_runs": _task_runs(task_items),
        "slowest_tasks": _slowest(task_items),
        # Written by this task while it runs: its own try ends after the report is on disk.
        "tasks_not_included": [REPORTING_TASK] if written_by == REPORTING_TASK else [],
        "written_by": written_by,
        "chain": _chain(task_items, written_by),
        "alerts": _alerts(alert, task_items),
    })


def _exists(conn, schema: str, table: str) -> bool:
    qualified = sql.Identifier(schema, table).as_string(conn)
    return conn.execute("SELECT to_regclass(%s)", (qualified,)).fetchone()[0] is not None


def _count(conn, query: sql.Composable, params: tuple = ()) -> int | None:
    """An exact count, or None when it ran past the time allowed (the run goes on without it)."""
    try:
        with conn.transaction():
            return conn.execute(query, params).fetchone()[0]
    except psycopg.errors.QueryCanceled:
        log.warning("run report: a count ran past %d ms and was left out", _COUNT_TIMEOUT_MS)
        return None


# --- files -------------------------------------------------------------------------------------------

def _files(conn, day: date) -> dict:
    items = []
    for row in files_for_day(conn, day):
        rows_loaded = {table: int(n) for table, n in (row.get("rows_loaded") or {}).items()}
        rejects = {reason: int(n) for reason, n in (row.get("rejects") or {}).items()}
        items.append({
            "relative_path": printable(row["relative_path"]), "source": row["source"], "kind": row["kind"],
            "agency_code": row["agency_code"], "size_bytes": row["size_bytes"],
            "delivered_on": row["delivered_on"], "status": row["status"],
            "reason": row["reason"] and printable(row["reason"]),
            "rows_loaded": rows_loaded, "rows_loaded_total": sum(rows_loaded.values()),
            "rejects": rejects, "rejects_total": sum(rejects.values()),
            "load_seconds": row["load_seconds"],
        })
    return {
        "count": len(items),
        "by_status": dict(sorted(Counter(item["status"] for item in items).items())),
        "items": items,
    }


# --- rows per layer ----------------------------------------------------------------------------------

def _layers(conn, day: date) -> list[dict]:
    rows = _raw_layer(conn, day)
    for schema, table, day_column in BUILT_TABLES:
        entry = {"layer": schema, "table": f"{schema}.{table}", "scope": "day" if day_column else "all",
                 "built": _exists(conn, schema, table), "rows": None, "detail": {}}
        if entry["built"]:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
            params: tuple = ()
            if day_column:
                query = sql.SQL("{} WHERE {} = %s").format(query, sql.Identifier(day_column))
                params = (day,)
            entry["rows"] = _count(conn, query, params)
        rows.append(entry)
    rows.append(_extract_lines_layer(conn, day))
    return rows


def _raw_layer(conn, day: date) -> list[dict]:
    file_ids = [row[0] for row in conn.execute(
        "SELECT file_id FROM registry.landing_file WHERE logical_date = %s", (day,))]
    rows = []
    for table in RAW_TABLES:
        entry = {"layer": "raw", "table": f"raw.{table}", "scope": "day's files",
                 "built": _exists(conn, "raw", table), "rows": None, "detail": {}}
        if entry["built"]:
            entry["rows"] = 0 if not file_ids else _count(
                conn, sql.SQL("SELECT count(*) FROM {} WHERE file_id = ANY(%s)").format(
                    sql.Identifier("raw", table)), (file_ids,))
        rows.append(entry)
    entry = {"layer": "raw", "table": "raw.france_travail_api_call", "scope": "day",
             "built": _exists(conn, "raw", "france_travail_api_call"), "rows": None, "detail": {}}
    if entry["built"]:
        entry["rows"] = _count(
            conn, sql.SQL("SELECT count(*) FROM raw.france_travail_api_call WHERE logical_date = %s"), (day,))
    rows.append(entry)
    return rows


def _extract_lines_layer(conn, day: date) -> dict:
    schema, table = EXTRACT_LINES
    entry = {"layer": schema, "table": f"{schema}.{table}", "scope": "day",
             "built": _exists(conn, schema, table), "rows": None, "detail": {}}
    if not entry["built"]:
        return entry
    by_file = conn.execute(sql.SQL(
        "SELECT fichier, date_extrait, count(*) FROM {} GROUP BY 1, 2 ORDER BY 1, 2").format(
        sql.Identifier(schema, table))).fetchall()
    entry["rows"] = sum(n for _, _, n in by_file)
    entry["detail"] = {fichier: n for fichier, _, n in by_file}
    other_days = sorted({built_for for _, built_for, _ in by_file if built_for != day})
    if other_days:
        # The table holds the latest built day only: lines of another day mean the build did not run today.
        entry["built_for"] = other_days
    return entry


# --- referrals and deadlines -------------------------------------------------------------------------

def _referrals_by_agency(conn) -> dict:
    if not _exists(conn, "marts", "referrals"):
        return {"built": False, "by_agency": []}
    rows = conn.execute(
        "SELECT code_structure, count(*) FROM marts.referrals WHERE statut_orientation <> 'CLOTUREE'"
        " GROUP BY 1 ORDER BY code_structure NULLS LAST").fetchall()
    return {"built": True, "by_agency": [{"code_structure": code, "open": n} for code, n in rows]}


def _deadlines(conn, day: date) -> dict:
    part: dict = {"built": _exists(conn, "marts", "referrals"), "by_territory": [], "totals": {},
                  "history_built": _exists(conn, "marts", "referral_daily_indicators"), "history": []}
    if part["built"]:
        names = _exists(conn, "referentiel", "territoires")
        query = sql.SQL(
            "SELECT r.code_territoire, {name}, count(*),"
            " count(*) FILTER (WHERE r.depassement_orientation),"
            " count(*) FILTER (WHERE r.depassement_contrat)"
            " FROM marts.referrals AS r {join}"
            " WHERE r.statut_orientation <> 'CLOTUREE'"
            " GROUP BY 1, 2 ORDER BY r.code_territoire NULLS LAST").format(
            name=sql.SQL("t.nom_territoire" if names else "NULL::text"),
            join=sql.SQL("LEFT JOIN referentiel.territoires AS t USING (code_territoire)" if names else ""))
        rows = conn.execute(query).fetchall()
        part["by_territory"] = [
            {"code_territoire": code, "nom_territoire": name, "open": n, "past_orientation": late_o,
             "past_contract": late_c} for code, name, n, late_o, late_c in rows]
        part["totals"] = {key: sum(row[key] for row in part["by_territory"])
                          for key in ("open", "past_orientation", "past_contract")}
    if part["history_built"]:
        rows = conn.execute(
            "SELECT jour, sum(nb_depassement_orientation), sum(nb_depassement_contrat)"
            " FROM marts.referral_daily_indicators WHERE jour > %s AND jour <= %s GROUP BY jour ORDER BY jour",
            (day - timedelta(days=HISTORY_DAYS), day)).fetchall()
        part["history"] = [{"jour": jour, "past_orientation": int(late_o or 0), "past_contract": int(late_c or 0)}
                           for jour, late_o, late_c in rows]
    return part


# --- France Travail partner API ----------------------------------------------------------------------

def _france_travail(conn, day: date) -> dict:
    """The day's exchanges with the France Travail partner API (every run of the logical date): people
    looked up by final outcome, and the Département's orientations sent, by fate. Counts only."""
    if not _exists(conn, "raw", "france_travail_api_call"):
        return {"built": False, "lookups": {}, "sends": {}}
    from aiguillage.france_travail.api_sync import lookups_for_day
    from aiguillage.france_travail.send_orientations import summary_for_day

    return {"built": True, "lookups": lookups_for_day(conn, day), "sends": summary_for_day(conn, day)}


# --- proposals and decisions -------------------------------------------------------------------------

def _proposals(conn, day: date) -> dict:
    """The orientation team's side of the day: proposals waiting for a decision (by rule, oldest wait),
    made, validated automatically, decided, and decision lines rejected. Counts and codes only."""
    from aiguillage.extracts.waiting_proposals import summary_for_day

    return summary_for_day(conn, day)


# --- identities --------------------------------------------------------------------------------------

def _identities(conn, day: date) -> dict:
    """Persons recognised by each identity rule that day, and the NIRs seen with two birth dates.
    Counts, codes and pseudonymous person ids only."""
    from aiguillage.run_report.identities import summary_for_day

    return summary_for_day(conn, day)


# --- the agencies' reports ---------------------------------------------------------------------------

def _agency_reports(conn, day: date) -> dict:
    """What the structures told back that day (appointments, contracts, exits, ...), and the lines
    rejected. Counts and codes only."""
    from aiguillage.run_report.agency_reports import summary_for_day

    return summary_for_day(conn, day)


# --- inputs of the run -------------------------------------------------------------------------------

def _finding(item: dict) -> dict:
    kept = {name: item.get(name) for name in _FINDING_FIELDS}
    observed = item.get("observed")
    kept["observed"] = observed if isinstance(observed, int | float) and not isinstance(observed, bool) else None
    return kept


def _gate(gate: dict | None) -> dict:
    if gate is None:
        return {"ran": False}
    agencies = {
        code: {"verdict": entry.get("verdict"), "rows": entry.get("rows"),
               "findings": [_finding(f) for f in entry.get("findings") or []]}
        for code, entry in sorted((gate.get("agencies") or {}).items())
    }
    return {
        "ran": True, "day": gate.get("day"), "run_id": gate.get("run_id"), "seconds": gate.get("seconds"),
        "data_docs": gate.get("data_docs"), "day_verdict": gate.get("day_verdict"),
        "day_findings": [_finding(f) for f in gate.get("day_findings") or []],
        "agencies": agencies,
        "expectations_run": gate.get("expectations_run"),
        "expectations_failed": gate.get("expectations_failed"),
    }


def _extract(item: dict) -> dict:
    files = []
    for entry in item.get("files") or []:
        csv = entry.get("csv")
        files.append({
            "fichier": entry.get("fichier"), "rows": entry.get("rows"),
            "rows_by_type": dict(entry.get("rows_by_type") or {}), "sha256": entry.get("sha256"),
            "format": entry.get("format"),
            "csv": str(csv) if csv else None, "file_name": PurePath(str(csv)).name if csv else None,
        })
    return {"code_structure": item.get("code_structure"), "libelle": item.get("libelle"),
            "state": item.get("state"), "reason": item.get("reason"), "method": item.get("method"),
            "files": files}


def _task(item: dict) -> dict:
    task = {name: item.get(name) for name in TASK_FIELDS}
    if task["seconds"] is not None:
        task["seconds"] = round(float(task["seconds"]), 3)
    return task


def task_name(task: dict) -> str:
    """dag.task, with the mapped instance's name: ``referral_extracts.deliver_extract[ALI03]``."""
    label = task.get("label")
    return f"{task['dag_id']}.{task['task_id']}" + (f"[{label}]" if label else "")


def _instance(task: dict) -> tuple:
    map_index = task.get("map_index")
    return task["dag_id"], task.get("run_id"), task["task_id"], -1 if map_index is None else map_index


def _final_tries(tasks: list[dict]) -> list[dict]:
    """The last try of each task instance, in the latest run of each DAG: what the day ended with."""
    run_start: dict[tuple, str] = {}
    for task in tasks:
        key = (task["dag_id"], task.get("run_id"))
        started = str(task.get("started_at") or "")
        run_start[key] = min(run_start.get(key, started), started)
    latest_run = {}
    for (dag_id, run_id), _started in sorted(run_start.items(), key=lambda item: item[1]):
        latest_run[dag_id] = run_id
    final: dict[tuple, dict] = {}

    # The try that started last (a rerun of the day under the same run id numbers its tries from 1 again).
    def recency(task: dict) -> tuple:
        return str(task.get("started_at") or ""), task.get("try_number") or 0

    for task in tasks:
        if latest_run.get(task["dag_id"]) != task.get("run_id"):
            continue
        key = _instance(task)
        if key not in final or recency(task) >= recency(final[key]):
            final[key] = task
    return list(final.values())


def _task_runs(tasks: list[dict]) -> list[dict]:
    """One line per DAG run of the day: its tasks, tries, retries, end state and time."""
    runs: dict[tuple, dict] = {}
    for task in tasks:
        run = runs.setdefault((task["dag_id"], task.get("run_id")), {
            "dag_id": task["dag_id"], "run_id": task.get("run_id"), "instances": set(), "tries": 0, "retries": 0,
            "failed": 0, "started_at": None, "ended_at": None, "task_seconds": 0.0})
        run["instances"].add(_instance(task))
        run["tries"] += 1
        run["retries"] += task.get("state") == "up_for_retry"
        run["task_seconds"] += task.get("seconds") or 0.0
        for bound, pick in (("started_at", min), ("ended_at", max)):
            value = task.get(bound)
            if value is not None:
                run[bound] = value if run[bound] is None else pick(run[bound], value)
    for task in _final_tries(tasks):
        if task.get("state") in _FAILED_TASK_STATES:
            runs[(task["dag_id"], task.get("run_id"))]["failed"] += 1
    lines = []
    for run in runs.values():
        started, ended = run["started_at"], run["ended_at"]
        wall = None
        if isinstance(started, datetime) and isinstance(ended, datetime):
            wall = round((ended - started).total_seconds(), 3)
        lines.append({"dag_id": run["dag_id"], "run_id": run["run_id"], "tasks": len(run["instances"]),
                      "tries": run["tries"], "retries": run["retries"], "failed": run["failed"],
                      "started_at": started, "ended_at": ended, "wall_seconds": wall,
                      "task_seconds": round(run["task_seconds"], 3)})
    return lines


def _slowest(tasks: list[dict]) -> list[dict]:
    timed = [task for task in tasks if task.get("seconds") is not None]
    return sorted(timed, key=lambda task: task["seconds"], reverse=True)[:SLOWEST_SHOWN]


def _outcome(gate: dict, extracts: list[dict], tasks: list[dict]) -> tuple[str, list[dict], list[dict]]:
    """The day's status, the agencies withheld (and why) and what failed."""
    withheld = [{"code_structure": e["code_structure"], "reason": e["reason"]}
                for e in extracts if e["state"] == "withheld"]
    if gate.get("day_verdict") == "withhold" and not withheld:
        withheld = [{"code_structure": None, "reason": "le contrôle qualité a retenu toute la journée"}]
    failed = [{"what": f"extract {e['code_structure']}", "reason": e["reason"]}
              for e in extracts if e["state"] == "failed"]
    failed += [{"what": f"task {task_name(t)}",
                "reason": f"ended {t['state']}" + (f" ({t['error_type']})" if t.get("error_type") else "")}
               for t in _final_tries(tasks)
               if t["state"] in _FAILED_TASK_STATES and t.get("error_type") != _WITHHELD_ERROR]
    status = "failed" if failed else "withheld" if withheld else "complete"
    return status, withheld, failed


def _causes(conn, tasks: list[dict]) -> dict[str, str]:
    """Why each failed task instance failed, as its failure callback recorded it (already cleaned of
    personal data: observability.task_runs.error_message), keyed 'task <dag>.<task>[<label>]'."""
    from aiguillage.observability.task_runs import failures_of_run

    failed = [t for t in _final_tries(tasks) if t["state"] in _FAILED_TASK_STATES]
    recorded: dict[tuple, dict] = {}
    for dag_id, run_id in sorted({(t["dag_id"], t.get("run_id")) for t in failed}, key=str):
        recorded[(dag_id, run_id)] = failures_of_run(conn, dag_id, run_id)
    causes = {}
    for t in failed:
        map_index = -1 if t.get("map_index") is None else t["map_index"]
        line = recorded[(t["dag_id"], t.get("run_id"))].get((t["task_id"], map_index))
        if line:
            causes[f"task {task_name(t)}"] = line
    return causes


def _chain(tasks: list[dict], written_by: str) -> list[dict]:
    """Each DAG of the day's chain, upstream first: 'success', 'failed' (a task failed for good) or
    'not_run' (no try recorded: the chain stopped before it, or it has not run yet)."""
    from aiguillage.runner import DAILY_DAGS

    final = _final_tries(tasks)
    chain = []
    for dag_id in DAILY_DAGS:
        own = [t for t in final if t["dag_id"] == dag_id]
        ran = bool(own) or (dag_id == REPORTING_TASK.split(".")[0] and written_by == REPORTING_TASK)
        failed = sorted(task_name(t) for t in own if t["state"] in _FAILED_TASK_STATES)
        state = "failed" if failed else "success" if ran else "not_run"
        chain.append({"dag_id": dag_id, "state": state, "tasks": len(own), "failed_tasks": failed})
    return chain


def _alerts(alert: dict | None, tasks: list[dict]) -> dict:
    """The alerts of the day as they were sent: the run alert (its counts are those of the lists it
    carries) and one task-failure alert per task failed for good (aiguillage.alerts.task_failure; a
    delivery withheld by the gate is told by the run alert instead)."""
    task_failures = sorted(task_name(t) for t in _final_tries(tasks)
                           if t["state"] == "failed" and t.get("error_type") != _WITHHELD_ERROR)
    run_alert = None
    if alert is not None:
        run_alert = {"summary": alert.get("summary"), "severity": alert.get("severity"),
                     "withheld": len(alert.get("withheld") or []),
                     "quarantined": len(alert.get("quarantined") or [])}
    return {"run_alert": run_alert, "task_failures": len(task_failures), "task_failure_tasks": task_failures}
