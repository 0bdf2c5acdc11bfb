"""Bodies of the DAGs' tasks. DAG files stay thin and import this module inside tasks only."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from aiguillage import config, dag_defaults, warehouse


def resolve_landing(landing_dir: str | None) -> Path:
    landing = Path(landing_dir).expanduser().resolve() if landing_dir else config.landing_dir()
    if landing is None:
        raise ValueError(
            "no landing zone: set AIGUILLAGE_LANDING_DIR or pass landing_dir in the run's configuration"
        )
    return landing


def register_landing_files(logical_date: datetime, run_id: str, landing_dir: str | None) -> dict:
    """Scan the landing zone for the run's day and record new files. Returns counts for XCom."""
    from aiguillage.landing.registry import scan_and_record

    landing = resolve_landing(landing_dir)
    day = dag_defaults.day_of(logical_date)
    with warehouse.connect() as conn:
        warehouse.migrate(conn)
        result = scan_and_record(conn, landing, day, run_id)
    return {
        "day": day.isoformat(),
        "files_seen": result.files_seen,
        "recorded": result.counts(),
        "not_due": result.files_not_due,
        "in_transit": result.files_skipped,
    }
