"""Run the day's pipeline by running the project's real Airflow DAGs in-process.

This is what ``airflow dags test`` does (``DAG.test``): the same DAG files, tasks and metadata
database as a scheduled run, without a scheduler or workers. Asset-scheduled DAGs do not trigger
each other in this mode, so the day's DAGs are run here in their dependency order.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from aiguillage import config, dag_defaults

log = logging.getLogger(__name__)

# The day's DAGs, upstream first, each with the DAGs it needs (the asset chain of a scheduled run).
DAILY_DAGS: tuple[str, ...] = (
    "landing_registry", "caf_ingestion", "france_travail_ingestion", "ali_ingestion", "departement_ingestion",
    "referral_warehouse", "referral_extracts",
)
UPSTREAM: dict[str, tuple[str, ...]] = {
    "caf_ingestion": ("landing_registry",),
    "france_travail_ingestion": ("caf_ingestion",),
    "ali_ingestion": ("landing_registry",),
    "departement_ingestion": ("landing_registry",),
    "referral_warehouse": ("caf_ingestion", "france_travail_ingestion", "ali_ingestion", "departement_ingestion"),
    "referral_extracts": ("referral_warehouse",),
}


@dataclass
class TaskOutcome:
    task_id: str
    state: str
    seconds: float | None = None
    map_index: int = -1
    error: str | None = None  # why it failed: 'Type: cleaned message' (observability.task_runs)


@dataclass
class DagOutcome:
    dag_id: str
    state: str
    seconds: float
    tasks: list[TaskOutcome] = field(default_factory=list)
    started_at: datetime | None = None
    run_id: str | None = None

    @property
    def failed_tasks(self) -> list[str]:
        return [t.task_id for t in self.tasks if t.state not in ("success", "skipped")]


@dataclass
class DayOutcome:
    day: date
    dags: list[DagOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(d.state == "success" for d in self.dags)


def prepare_environment() -> None:
    """Point Airflow at this project before anything imports it."""
    os.environ.update(config.airflow_env(config.warehouse_url()))
    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    (airflow_home / "logs").mkdir(parents=True, exist_ok=True)


def _migrate_metadata_db() -> None:
    """Create or upgrade Airflow's metadata database (once per Airflow version)."""
    import airflow
    from airflow.utils import db

    stamp = Path(os.environ["AIRFLOW_HOME"]) / f".metadata-migrated-{airflow.__version__}"
    if not stamp.exists():
        log.info("preparing Airflow's metadata database (first run only)")
        db.upgradedb()
        stamp.write_text("ok\n")
    _ensure_pools()


def _ensure_pools() -> None:
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        dag_defaults.FRANCE_TRAVAIL_API_POOL,
        slots=dag_defaults.FRANCE_TRAVAIL_API_POOL_SLOTS,
        description="Concurrent calls to the France Travail partner API",
        include_deferred=False,
    )


def _load_dags(dag_ids: tuple[str, ...]) -> dict:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.1
        from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(config.dags_dir()))
    if bag.import_errors:
        details = "; ".join(f"{path}: {error.strip().splitlines()[-1]}" for path, error in bag.import_errors.items())
        raise RuntimeError(f"DAG files failed to import: {details}")
    missing = [dag_id for dag_id in dag_ids if dag_id not in bag.dags]
    if missing:
        raise RuntimeError(f"DAGs not found in {config.dags_dir()}: {', '.join(missing)}")
    return {dag_id: bag.dags[dag_id] for dag_id in dag_ids}


def run_day(
    day: date,
    landing: Path,
    outbox: Path,
    *,
    dag_ids: tuple[str, ...] = DAILY_DAGS,
    stock: list[str] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> DayOutcome:
    """Run every DAG of the day for logical date ``day``; never raises for a failed task.
    ``stock``: agency codes (or "all") that receive the full stock of open referrals today."""
    prepare_environment()
    _migrate_metadata_db()
    import pendulum

    dags = _load_dags(dag_ids)
    logical_date = pendulum.datetime(day.year, day.month, day.day, tz=dag_defaults.TIMEZONE)
    conf = {"landing_dir": str(landing), "outbox_dir": str(outbox), "stock": list(stock or [])}
    outcome = DayOutcome(day)
    for dag_id, dag in dags.items():
        failed_upstream = [up for up in UPSTREAM.get(dag_id, ()) if up in _not_successful(outcome)]
        if failed_upstream:
            outcome.dags.append(DagOutcome(dag_id, f"not run ({', '.join(failed_upstream)} failed)", 0.0))
            continue
        progress(f"{day}: running DAG {dag_id} ...")
        started_at = datetime.now(UTC)
        started = time.monotonic()
        # run_after = logical date: the run id is then the same at every rerun of the day.
        dag_run = dag.test(logical_date=logical_date, run_after=logical_date, run_conf=conf)
        tasks = [TaskOutcome(_task_label(ti), str(ti.state), ti.duration, _map_index(ti))
                 for ti in dag_run.get_task_instances()]
        state = settled_state(str(dag_run.state), tasks)
        outcome.dags.append(DagOutcome(dag_id, state, time.monotonic() - started, tasks, started_at,
                                       run_id=dag_run.run_id))
    attach_failures(outcome)
    return outcome


# A task in one of these states ran (its body started).
_RAN = ("success", "failed", "up_for_retry")


def settled_state(state: str, tasks: list[TaskOutcome]) -> str:
    """A DAG run's state as the day takes it: a run in which no task ran failed, whatever Airflow says
    (a logical date before the DAGs' start date gives a 'successful' run that did nothing)."""
    if state == "success" and not any(task.state in _RAN for task in tasks):
        return "failed"
    return state


def attach_failures(outcome: DayOutcome) -> None:
    """Give each failed task of the day its cause, as its failure callback recorded it in the warehouse
    (type and cleaned message). Best effort: without the warehouse the report names the tasks only."""
    from aiguillage import warehouse
    from aiguillage.observability.task_runs import failures_of_run

    runs = [dag for dag in outcome.dags if dag.run_id and dag.failed_tasks]
    if not runs:
        return
    try:
        with warehouse.connect() as conn:
            for dag in runs:
                causes = failures_of_run(conn, dag.dag_id, dag.run_id)
                for task in dag.tasks:
                    if task.state in ("failed", "up_for_retry"):  # not a cause recorded by an earlier run
                        task.error = causes.get((task.task_id.split("[", 1)[0], task.map_index), task.error)
    except Exception as error:  # the day's report still names the failed tasks
        log.warning("causes of the failed tasks not read: %s", type(error).__name__)


def _map_index(ti) -> int:
    return ti.map_index if ti.map_index is not None and ti.map_index >= 0 else -1


def _task_label(ti) -> str:
    """The task's id, with the mapped instance's name (the agency) when there is one."""
    if ti.map_index is not None and ti.map_index >= 0:
        return f"{ti.task_id}[{ti.rendered_map_index or ti.map_index}]"
    return ti.task_id


def _not_successful(outcome: DayOutcome) -> set[str]:
    return {dag.dag_id for dag in outcome.dags if dag.state != "success"}
