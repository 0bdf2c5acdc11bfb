"""Airflow's failure callback for every task of the project: the operators hear of a task that
failed for good (after its retries), through the same channels as the run alerts.

The alert names the DAG, the task (and the agency of a mapped delivery), the day and the type of
the error, never its message: a database error can quote the row it choked on. The message is in
the task's log. An extract withheld by the quality gate is not reported here: the run report's
alert already lists every withheld agency with its reason.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

EVENT = "aiguillage.task_failed"
_REPORTED_BY_THE_RUN_REPORT = "ExtractWithheld"


def failure_alert(*, dag_id: str, task_id: str, day: str, run_id: str, error_type: str,
                  try_number: int | None = None, agency: str | None = None) -> dict[str, Any]:
    """The alert for one task that failed for good."""
    from aiguillage.alerts.privacy import guard
    from aiguillage.alerts.settings import configured_addresses

    task = f"{dag_id}.{task_id}" + (f"[{agency}]" if agency else "")
    tries = f" after {try_number} tries" if try_number and try_number > 1 else ""
    alert = {
        "event": EVENT,
        "day": day,
        "run_id": run_id,
        "severity": "error",
        "summary": f"{day}: task {task} failed ({error_type}){tries}",
        "details": [f"Task {task} of the run {run_id} failed{tries}: {error_type}.",
                    "The task's log in Airflow holds the error message."],
        "withheld": [],
        "quarantined": [],
        "report": None,
    }
    return guard(alert, configured_addresses())


def _caused_by_withholding(exception: BaseException | None) -> bool:
    while exception is not None:
        if type(exception).__name__ == _REPORTED_BY_THE_RUN_REPORT:
            return True
        exception = exception.__cause__
    return False


def on_task_failure(context: dict) -> None:
    """``on_failure_callback`` of every task. Never raises: a callback's error would hide the task's."""
    try:
        exception = context.get("exception")
        if isinstance(exception, BaseException) and _caused_by_withholding(exception):
            return
        from aiguillage.alerts import send_alert
        from aiguillage.run_context import run_day

        ti = context["ti"]
        agency = context.get("code_structure") if getattr(ti, "map_index", -1) not in (None, -1) else None
        alert = failure_alert(
            dag_id=ti.dag_id, task_id=ti.task_id, day=run_day(context).isoformat(),
            run_id=str(context.get("run_id")), try_number=getattr(ti, "try_number", None), agency=agency,
            error_type=type(exception).__name__ if isinstance(exception, BaseException) else "error",
        )
        send_alert(alert)
    except Exception as error:  # the task already failed: only say why the alert did not go
        log.warning("the failure alert could not be sent: %s", type(error).__name__)
