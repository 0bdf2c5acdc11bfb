"""Parse every DAG file the way the DAG processor does, with the network and databases forbidden.

Run as a separate process by ``tests/test_dag_integrity.py`` (a fresh interpreter, so that no
module imported by other tests hides a slow or side-effecting import). Prints one JSON document.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

FORBIDDEN: list[str] = []


def _forbid(name: str):
    def refuse(*args, **kwargs):
        FORBIDDEN.append(name)
        raise RuntimeError(f"{name} called while parsing DAG files")

    return refuse


def main(dags_dir: str) -> None:
    import airflow  # noqa: F401  (imported first: its own cost is not the DAG files' cost)

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag

    # Guards: DAG files must not reach the network or a database at import time.
    socket.socket.connect = _forbid("socket.connect")
    socket.create_connection = _forbid("socket.create_connection")
    import sqlite3

    import psycopg

    psycopg.connect = _forbid("psycopg.connect")
    sqlite3.connect = _forbid("sqlite3.connect")

    report: dict = {"files": {}, "import_errors": {}, "dags": {}}
    for path in sorted(Path(dags_dir).glob("*.py")):
        started = time.perf_counter()
        bag = DagBag(dag_folder=str(path), safe_mode=False)
        report["files"][path.name] = round(time.perf_counter() - started, 3)
        report["import_errors"].update({str(k): v for k, v in bag.import_errors.items()})
        for dag_id, dag in bag.dags.items():
            report["dags"][dag_id] = {
                "file": path.name,
                "tags": sorted(dag.tags or []),
                "tasks": {
                    task.task_id: {"retries": task.retries,
                                   "exponential_backoff": bool(task.retry_exponential_backoff),
                                   "failure_callback": bool(task.on_failure_callback)}
                    for task in dag.tasks
                },
                "max_active_runs": dag.max_active_runs,
                "catchup": dag.catchup,
                "timezone": str(dag.timezone),
            }
    report["forbidden_calls"] = FORBIDDEN
    report["heavy_modules"] = sorted(
        name for name in ("great_expectations", "dbt", "lxml", "pandas", "requests", "paramiko") if name in sys.modules
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
