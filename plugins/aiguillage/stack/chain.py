"""Run a day through the stack as production does: trigger the first DAG of the day, then follow the
runs its assets trigger, down to the agency extracts.

The first DAG gets the day's logical date, as its daily schedule would give it. Every later run is
recognised by the day carried by the asset events that triggered it (see aiguillage.run_context).
A day already run once is run again with its day in the run's configuration (a logical date can
serve one run only).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pendulum

from aiguillage import dag_defaults
from aiguillage.runner import (
    DAILY_DAGS,
    UPSTREAM,
    DagOutcome,
    DayOutcome,
    TaskOutcome,
    attach_failures,
    settled_state,
)
from aiguillage.stack.api import AirflowApi

FINISHED = {"success", "failed"}
POLL_SECONDS = 2.0


class DayTimeout(RuntimeError):
    pass


def trigger_day(api: AirflowApi, day: date, conf: dict) -> dict:
    """Start the day's first DAG; returns its run."""
    first = DAILY_DAGS[0]
    # 06:00 Paris, the time of the daily schedule: the same logical date a scheduled run would have.
    logical_date = pendulum.datetime(day.year, day.month, day.day, 6, tz=dag_defaults.TIMEZONE)
    run = api.trigger(first, logical_date=logical_date, conf=conf)
    if run is None:  # the day ran before: run it again, naming the day instead
        run = api.trigger(first, logical_date=None, conf={**conf, "day": day.isoformat()})
    return run


def run_day(api: AirflowApi, day: date, *, conf: dict | None = None, timeout: float = 1800,
            progress: Callable[[str], None] = lambda message: None) -> DayOutcome:
    """Trigger ``day`` and wait until every DAG of the chain has finished or cannot start."""
    since = datetime.now(UTC) - timedelta(seconds=5)
    first = trigger_day(api, day, conf or {})
    runs: dict[str, dict] = {DAILY_DAGS[0]: first}
    progress(f"{day}: triggered {DAILY_DAGS[0]} ({first['dag_run_id']})")
    deadline = time.monotonic() + timeout
    reported: set[str] = set()
    while True:
        for dag_id in DAILY_DAGS:
            if dag_id in runs and runs[dag_id]["state"] in FINISHED:
                continue
            if dag_id in runs:
                runs[dag_id] = _settled(api, dag_id, api.dag_run(dag_id, runs[dag_id]["dag_run_id"]))
            else:
                found = _run_for_day(api, dag_id, day, since)
                if found:
                    runs[dag_id] = _settled(api, dag_id, found)
            if dag_id in runs and runs[dag_id]["state"] in FINISHED and dag_id not in reported:
                reported.add(dag_id)
                progress(f"{day}: {dag_id} {runs[dag_id]['state']}")
        blocked = _blocked(runs)
        if all(dag_id in blocked or (dag_id in runs and runs[dag_id]["state"] in FINISHED)
               for dag_id in DAILY_DAGS):
            return _outcome(api, day, runs, blocked)
        if time.monotonic() > deadline:
            waiting = [dag_id for dag_id in DAILY_DAGS if dag_id not in runs or runs[dag_id]["state"] not in FINISHED]
            raise DayTimeout(f"{day}: still waiting after {timeout:.0f} s for {', '.join(waiting)}")
        time.sleep(POLL_SECONDS)


def _settled(api: AirflowApi, dag_id: str, run: dict) -> dict:
    """The run, marked failed when it 'succeeded' without running any task (runner.settled_state): its
    downstream DAGs would otherwise be waited for until the timeout."""
    if run["state"] != "success":
        return run
    tasks = [TaskOutcome(ti["task_id"], str(ti["state"])) for ti in api.task_instances(dag_id, run["dag_run_id"])]
    return {**run, "state": settled_state(run["state"], tasks)}


def _run_for_day(api: AirflowApi, dag_id: str, day: date, since: datetime) -> dict | None:
    """The run of ``dag_id`` triggered by asset events of ``day`` (the earliest, if several)."""
    for run in api.dag_runs_since(dag_id, since):
        if run["run_type"] != "asset_triggered":
            continue
        events = api.upstream_asset_events(dag_id, run["dag_run_id"])
        if any((event.get("extra") or {}).get("day") == day.isoformat() for event in events):
            return run
    return None


def _blocked(runs: dict[str, dict]) -> dict[str, list[str]]:
    """DAGs that will not run because a DAG they need failed (directly or further up)."""
    blocked: dict[str, list[str]] = {}
    for dag_id in DAILY_DAGS:
        failed = [up for up in UPSTREAM.get(dag_id, ())
                  if up in blocked or (up in runs and runs[up]["state"] == "failed")]
        if failed and dag_id not in runs:
            blocked[dag_id] = failed
    return blocked


def _outcome(api: AirflowApi, day: date, runs: dict[str, dict], blocked: dict[str, list[str]]) -> DayOutcome:
    outcome = DayOutcome(day)
    for dag_id in DAILY_DAGS:
        if dag_id in blocked:
            outcome.dags.append(DagOutcome(dag_id, f"not run ({', '.join(blocked[dag_id])} failed)", 0.0))
            continue
        run = runs[dag_id]
        tasks = [
            TaskOutcome(_label(ti), str(ti["state"]), ti.get("duration"), _map_index(ti))
            for ti in api.task_instances(dag_id, run["dag_run_id"])
        ]
        started = datetime.fromisoformat(run["start_date"]) if run.get("start_date") else None
        outcome.dags.append(DagOutcome(dag_id, run["state"], float(run.get("duration") or 0.0), tasks, started,
                                       run_id=run["dag_run_id"]))
    attach_failures(outcome)  # each failed task's cause, as its callback recorded it in the warehouse
    return outcome


def _map_index(ti: dict) -> int:
    index = ti.get("map_index")
    return index if isinstance(index, int) and index >= 0 else -1


def _label(ti: dict) -> str:
    if ti.get("map_index", -1) >= 0:
        return f"{ti['task_id']}[{ti.get('rendered_map_index') or ti['map_index']}]"
    return ti["task_id"]
