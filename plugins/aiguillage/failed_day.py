"""A run report for a day that stops before the extracts.

The extracts' DAG writes the day's report in its last task, which runs whatever happened upstream.
But when a task of an earlier DAG fails for good (a quarantined CAF file leaving the build without
its data, dbt failing, ...) the extracts' DAG never starts, and the day would have no report. So
every task of the project gets :func:`write_after_failure` as a failure callback (after the try is
recorded in ``registry.task_run`` and the task's own alert is sent): it writes the day's report from
what the day's runs recorded, names what ran, what failed and why, and sends the run alert for the
files quarantined that day. The DAG run still ends failed. A later run of the day (a rerun, or the
extracts' own report) replaces the report.

A callback never makes a task fail: any error here is logged by its type only.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# Its own last task (trigger rule all_done) writes the report: no callback needed there.
REPORTING_DAG = "referral_extracts"


def quarantined_files(conn, day) -> list[dict]:
    """The day's files that were quarantined or refused, as the run alert lists them."""
    from aiguillage.landing.registry import files_for_day

    return [{"relative_path": row["relative_path"], "reason": row["reason"]}
            for row in files_for_day(conn, day) if row["status"] in ("quarantined", "refused")]


def recorded_extracts(conn, day) -> list[dict]:
    """What an earlier run of the day delivered or withheld (registry.extract_outcome), if any."""
    if conn.execute("SELECT to_regclass('registry.extract_outcome')").fetchone()[0] is None:
        return []
    rows = conn.execute(
        "SELECT code_structure, state, reason, method, files FROM registry.extract_outcome WHERE day = %s"
        " ORDER BY code_structure", (day,)).fetchall()
    return [{"code_structure": code, "libelle": None, "state": state, "reason": reason, "method": method,
             "files": files or []} for code, state, reason, method, files in rows]


def write_failed_day(day, run_id: str, outbox) -> tuple[dict, dict | None]:
    """Write the report of ``day`` as its runs recorded it (no gate; the extracts an earlier run of the
    day recorded, if any) and send the run alert for its quarantined files; returns (report, alert
    sent or None)."""
    from aiguillage import alerts, run_report, warehouse
    from aiguillage.observability.task_runs import task_runs_for_day
    from aiguillage.run_report.collect import FAILURE_CALLBACK

    html_path = run_report.html_path(outbox, day)
    with warehouse.connect() as conn:
        tasks = task_runs_for_day(conn, day)
        alert = alerts.build_alert(day, run_id, withheld=[], quarantined=quarantined_files(conn, day),
                                   report_path=str(html_path))
        report = run_report.collect(conn, day, run_id, gate=None, extracts=recorded_extracts(conn, day),
                                    tasks=tasks, alert=alert, written_by=FAILURE_CALLBACK)
    run_report.write(report, outbox)
    if alert is not None:
        alerts.send_alert(alert)
    return report, alert


def write_after_failure(context) -> None:
    """``on_failure_callback`` of every task: the day's report when a task before the extracts failed."""
    try:
        from aiguillage.runner import DAILY_DAGS

        ti = context["ti"]
        # Only the day's chain: a failed purge or partner sync says nothing of the day's extracts.
        if ti.dag_id == REPORTING_DAG or ti.dag_id not in DAILY_DAGS:
            return
        from aiguillage.extracts.daily import resolve_outbox
        from aiguillage.run_context import run_day, run_settings

        outbox = resolve_outbox(run_settings(context).get("outbox_dir"))
        if not outbox.is_dir():
            log.warning("run report of the failed day not written: outbox %s is not a folder", outbox)
            return
        report, _ = write_failed_day(run_day(context), str(context.get("run_id") or ti.run_id), outbox)
        log.info("run report of the failed day written: status %s, %d failure(s)", report["status"],
                 len(report["failed"]))
    except Exception as error:  # the task already failed: only say why the report was not written
        log.warning("run report of the failed day not written: %s", type(error).__name__)
