"""Bodies of the referral_extracts DAG's tasks: gate, destinations, delivery per agency, run report.

The order of a day: the quality gate runs once for every agency (Great Expectations is imported
once); each agency's extract is then written and delivered by its own task, so that one agency's
failure never blocks another's; the run report gathers what happened and raises the alarm.

What each agency's task decided is recorded in registry.extract_outcome (a failed task returns
nothing to its downstream tasks, so the report reads the warehouse, not XComs).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime
from pathlib import Path

from aiguillage import config, dag_defaults, warehouse
from aiguillage.extracts import columns
from aiguillage.observability.log_context import fields, run_log
from aiguillage.run_lock import exclusive

# Lines start with run_id=… day=… dag=… task=…: one summary line per task, counts and codes only.
log = run_log(__name__)

WITHHOLD = "withhold"
GATE_FILE = "quality_gate.json"


class ExtractWithheld(Exception):
    """An agency's extract was not delivered because the quality gate found a blocking fault."""


def resolve_outbox(outbox_dir: str | None) -> Path:
    outbox = Path(outbox_dir).expanduser().resolve() if outbox_dir else config.outbox_dir()
    if outbox is None:
        raise ValueError("no outbox: set AIGUILLAGE_OUTBOX_DIR or pass outbox_dir in the run's configuration")
    return outbox


def run_folder(outbox: Path, day: date) -> Path:
    """Where the day's run report, gate results and Data Docs go."""
    from aiguillage.run_report import report_dir

    return report_dir(outbox, day)


def receiving_agencies(conn, day: date) -> list[tuple[str, str]]:
    """(code_structure, libelle) of the destinations that receive an extract on ``day``."""
    return conn.execute(
        "SELECT code_structure, libelle FROM referentiel.destinations"
        " WHERE recoit_extrait AND (actif_du IS NULL OR actif_du <= %(day)s)"
        " AND (actif_au IS NULL OR actif_au >= %(day)s) ORDER BY code_structure",
        {"day": day},
    ).fetchall()


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, default=str))
    os.replace(temporary, path)


def _blocking_reasons(findings: list[dict]) -> list[str]:
    return [finding["description"] for finding in findings if finding.get("severity") == "blocking"]


@exclusive("referral_extracts")
def check_quality(logical_date: datetime, run_id: str, outbox_dir: str | None) -> dict:
    """Run the quality gate for the day; keep its full results beside the run report and return
    each agency's verdict (small enough for XCom)."""
    from aiguillage.quality import run_gate

    day = dag_defaults.day_of(logical_date)
    folder = run_folder(resolve_outbox(outbox_dir), day)
    # A new run of the day starts afresh: what an earlier run decided must not pass for this one's
    # if this run stops half-way (the deliveries themselves stay recorded in registry.extract_delivery).
    (folder / GATE_FILE).unlink(missing_ok=True)
    with warehouse.transaction() as conn:
        warehouse.migrate(conn)
        conn.execute("DELETE FROM registry.extract_outcome WHERE day = %s", (day,))
        agencies = [code for code, _ in receiving_agencies(conn, day)]
    gate = run_gate(day, agencies, docs_dir=folder / "data_docs", run_id=run_id)
    gate_file = folder / GATE_FILE
    _write_json(gate_file, gate)
    day_reasons = _blocking_reasons(gate["day_findings"])
    verdicts = {}
    for code in agencies:
        agency = gate["agencies"].get(code, {"verdict": WITHHOLD, "findings": []})
        reasons = day_reasons + _blocking_reasons(agency.get("findings", []))
        if agency["verdict"] == WITHHOLD and not reasons:
            reasons = ["not checked by the quality gate"]
        verdicts[code] = {"verdict": agency["verdict"], "reasons": reasons}
    log.info("quality gate: %s", fields(
        verdict=gate["day_verdict"], agencies=len(agencies),
        withheld=sum(v["verdict"] == WITHHOLD for v in verdicts.values()),
        expectations=gate.get("expectations_run"), failed=gate.get("expectations_failed"), seconds=gate["seconds"]))
    return {"day": day.isoformat(), "day_verdict": gate["day_verdict"], "verdicts": verdicts,
            "gate_file": str(gate_file), "data_docs": gate.get("data_docs")}


def requested_stock(stock: list[str] | str | None, agencies: list[str]) -> set[str]:
    """The agencies asked to receive the full stock today: codes, or "all"."""
    if not stock:
        return set()
    wanted = [stock] if isinstance(stock, str) else list(stock)
    wanted = [code.strip().upper() for item in wanted for code in str(item).split(",") if code.strip()]
    if "ALL" in wanted:
        return set(agencies)
    unknown = sorted(set(wanted) - set(agencies))
    if unknown:
        raise ValueError(f"stock asked for {', '.join(unknown)}, which receive no extract on this day "
                         f"(receiving: {', '.join(agencies)})")
    return set(wanted)


@exclusive("referral_extracts")
def list_destinations(logical_date: datetime, gate: dict, stock: list[str] | str | None) -> list[dict]:
    """One entry per receiving agency: its verdict, and whether it gets the full stock today (first time
    served, or asked for)."""
    from aiguillage.extracts.delivery import served_before
    from aiguillage.extracts.destinations import load_destinations

    day = dag_defaults.day_of(logical_date)
    with warehouse.connect() as conn:
        agencies = receiving_agencies(conn, day)
        codes = [code for code, _ in agencies]
        asked = requested_stock(stock, codes)
        first_time = {code for code in codes if not served_before(conn, code, day)}
        methods = load_destinations(day, conn=conn)
    destinations = [
        {
            "code_structure": code,
            "libelle": libelle,
            "stock": code in asked or code in first_time,
            "stock_reason": "asked" if code in asked else ("first delivery" if code in first_time else None),
            "verdict": gate["verdicts"][code]["verdict"],
            "reasons": gate["verdicts"][code]["reasons"],
            "destination": methods[code].as_dict(),
        }
        for code, libelle in agencies
    ]
    log.info("destinations: %s", fields(
        agencies=len(destinations), stock=sorted(d["code_structure"] for d in destinations if d["stock"]),
        withheld=sorted(d["code_structure"] for d in destinations if d["verdict"] == WITHHOLD)))
    return destinations


def _record_outcome(conn, day: date, code: str, run_id: str, state: str, *, reason: str | None = None,
                    method: str | None = None, files: list[dict] | None = None) -> None:
    conn.execute(
        "INSERT INTO registry.extract_outcome (day, code_structure, run_id, state, reason, method, files)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)"
        " ON CONFLICT (day, code_structure) DO UPDATE SET run_id = excluded.run_id, state = excluded.state,"
        " reason = excluded.reason, method = excluded.method, files = excluded.files, recorded_at = now()",
        (day, code, run_id, state, reason, method, json.dumps(files or [], default=str)),
    )


# Each body works under the DAG's run lock (aiguillage.run_lock); a delivery under its agency's own, so
# that the agencies' deliveries of one run go side by side while a second run's delivery waits.
@exclusive("referral_extracts", part="{destination[code_structure]}")
def deliver_extract(logical_date: datetime, run_id: str, outbox_dir: str | None, destination: dict) -> dict:
    """Write and deliver one agency's files for the day, in each of its formats, or record why they are
    withheld. Every file is written and checked (aiguillage.extracts.safety) before any is delivered: a
    value longer than the contract or a cell a spreadsheet would run withholds the agency's whole day."""
    from aiguillage.extracts.delivery import deliver
    from aiguillage.extracts.files import staging_folder
    from aiguillage.extracts.formats import DEFAULT_FORMATS
    from aiguillage.extracts.safety import UnsafeExtract
    from aiguillage.extracts.writer import write_extract

    day = dag_defaults.day_of(logical_date)
    outbox = resolve_outbox(outbox_dir)
    code = destination["code_structure"]
    method = destination["destination"].get("method")
    if destination["verdict"] == WITHHOLD:
        reason = "; ".join(destination["reasons"])
        with warehouse.transaction() as conn:
            _record_outcome(conn, day, code, run_id, "withheld", reason=reason, method=method)
        log.warning("extract: %s", fields(agency=code, outcome="withheld", reasons=len(destination["reasons"])))
        raise ExtractWithheld(f"{code}: extract of {day} withheld by the quality gate: {reason}")
    fichiers = [columns.MOVEMENTS] + ([columns.STOCK] if destination["stock"] else [])
    formats = destination["destination"].get("formats") or DEFAULT_FORMATS
    # Written aside first: a file only reaches the agency's folder (or server) once delivery accepts it.
    folder = staging_folder(outbox, code, day)
    files, states = [], []
    try:
        with warehouse.connect() as conn:
            try:
                written = [write_extract(conn, day, code, fichier, folder, run_id, format)
                           for fichier in fichiers for format in formats]
                conn.commit()
            except UnsafeExtract as unsafe:
                conn.rollback()
                with warehouse.transaction() as record:
                    _record_outcome(record, day, code, run_id, "withheld", reason=str(unsafe), method=method)
                log.warning("extract: %s", fields(agency=code, outcome="withheld", reasons=1))
                raise ExtractWithheld(f"{code}: extract of {day} withheld: {unsafe}") from None
            for extract in written:
                delivered = deliver(conn, day, code, extract, destination["destination"], outbox, run_id)
                conn.commit()
                states.append(delivered["state"])
                # "csv": the file's path under its historical key, whatever the format.
                files.append({"fichier": extract["fichier"], "format": extract["format"], "rows": extract["rows"],
                              "rows_by_type": extract["rows_by_type"], "sha256": extract["sha256"],
                              "csv": extract["path"], "path": extract["path"],
                              "state": delivered["state"], "target": delivered.get("target")})
    except ExtractWithheld:
        raise
    except Exception as error:
        with warehouse.transaction() as conn:
            # Cleaned like every failure shown to a person: first line, no quoted value, no NIR.
            from aiguillage.observability.task_runs import error_message, failure_line, original_error_type

            reason = failure_line(original_error_type(error), error_message(error))
            _record_outcome(conn, day, code, run_id, "failed", reason=reason, method=method, files=files)
        log.error("extract: %s", fields(agency=code, outcome="failed", error=type(error).__name__,
                                        files_delivered=len(files)))
        raise
    if method == "outbox":
        # The outbox now holds the files; the staged copy would only be a second copy of personal data.
        # (An SFTP agency's staged files stay: they are the local record of what was sent.)
        shutil.rmtree(folder, ignore_errors=True)
    state = "delivered" if "delivered" in states else "already_delivered"
    with warehouse.transaction() as conn:
        _record_outcome(conn, day, code, run_id, state, method=method, files=files)
    log.info("extract: %s", fields(agency=code, outcome=state, lines=sum(f["rows"] for f in files),
                                   files={f"{f['fichier']}.{f['format']}": f["rows"] for f in files}, method=method))
    return {"code_structure": code, "state": state, "files": files}


def outcomes_for_day(conn, day: date) -> list[dict]:
    """Each receiving agency's outcome as recorded by this run of the day (check_quality clears the
    day's outcomes first); an agency this run did not reach is 'failed'."""
    recorded = {
        row[0]: row for row in conn.execute(
            "SELECT code_structure, run_id, state, reason, method, files FROM registry.extract_outcome"
            " WHERE day = %s", (day,))
    }
    outcomes = []
    for code, libelle in receiving_agencies(conn, day):
        row = recorded.get(code)
        if row is None:
            outcomes.append({"code_structure": code, "libelle": libelle, "state": "failed",
                             "reason": "sa tâche de livraison n'a pas tourné dans ce passage", "method": None,
                             "files": []})
            continue
        _, _, state, reason, method, files = row
        outcomes.append({"code_structure": code, "libelle": libelle, "state": state, "reason": reason,
                         "method": method, "files": files})
    return outcomes


def _gate_results(folder: Path) -> dict | None:
    """The gate's results written by this run (None when the gate did not get that far)."""
    path = folder / GATE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


@exclusive("referral_extracts")
def report_run(logical_date: datetime, run_id: str, outbox_dir: str | None) -> dict:
    """Write the run report, send the alerts, and fail when anything was withheld or not delivered.
    Runs whatever happened upstream: it reads what this run recorded."""
    from aiguillage import alerts, run_report
    from aiguillage.failed_day import quarantined_files
    from aiguillage.observability.task_runs import task_runs_for_day

    day = dag_defaults.day_of(logical_date)
    outbox = resolve_outbox(outbox_dir)
    gate_results = _gate_results(run_folder(outbox, day))
    html_path = run_report.html_path(outbox, day)
    with warehouse.connect() as conn:
        outcomes = outcomes_for_day(conn, day)
        # Every try of every task of the day's runs so far (this task's own ends after the report is written).
        tasks = task_runs_for_day(conn, day)
        quarantined = quarantined_files(conn, day)
        not_delivered = [{"code_structure": o["code_structure"], "reason": f"{o['state']}: {o['reason']}"}
                         for o in outcomes if o["state"] in ("withheld", "failed")]
        # Built before the report, which shows its very counts; sent once the report is on disk.
        alert = alerts.build_alert(day, run_id, withheld=not_delivered, quarantined=quarantined,
                                   report_path=str(html_path))
        report = run_report.collect(conn, day, run_id, gate=gate_results, extracts=outcomes, tasks=tasks,
                                    alert=alert)
    json_path, html_path = run_report.write(report, outbox)
    if alert is not None:
        alerts.send_alert(alert)
    log.info("run report: %s", fields(
        status=report["status"], delivered=sum(o["state"] == "delivered" for o in outcomes),
        not_delivered=len(not_delivered), quarantined=len(quarantined), tries_recorded=len(tasks),
        report=html_path))
    if not_delivered:
        shown = "; ".join(f"{item['code_structure']} ({item['reason']})" for item in not_delivered[:10])
        raise ExtractWithheld(f"{len(not_delivered)} extract(s) of {day} not delivered: {shown}. "
                              f"Report: {html_path}")
    return {"day": day.isoformat(), "report": str(html_path), "report_json": str(json_path),
            "delivered": sum(o["state"] == "delivered" for o in outcomes)}
