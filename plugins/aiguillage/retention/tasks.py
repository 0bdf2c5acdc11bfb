"""Task body of the ``rgpd_retention`` DAG."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from aiguillage import config, dag_defaults
from aiguillage.retention import purge, settings
from aiguillage.run_lock import exclusive


def _flag(value, default: bool) -> bool:
    # A parameter typed in a form arrives as text: "false" must not read as true.
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@exclusive("rgpd_retention")
def purge_personal_data(logical_date: datetime | None, run_id: str, params: dict) -> dict:
    """Purge what is past its period as of the run's day (today in Paris without a logical date)."""
    if logical_date is not None:
        as_of = dag_defaults.day_of(logical_date)
    else:
        from zoneinfo import ZoneInfo

        as_of = datetime.now(ZoneInfo(dag_defaults.TIMEZONE)).date()
    dry_run = _flag(params.get("dry_run"), settings.dry_run_default())
    outbox_dir = params.get("outbox_dir")
    outbox = Path(outbox_dir).expanduser().resolve() if outbox_dir else config.outbox_dir()
    summary = purge.run(as_of, outbox, dry_run=dry_run, run_id=run_id)
    # What goes to XCom: counts and dates only.
    return {"as_of": as_of.isoformat(), "cutoff": summary["cutoff"].isoformat(), "dry_run": dry_run,
            "persons": summary.get("persons", 0), "households": summary.get("households", 0),
            "rows_per_layer": purge.rows_per_layer(summary["rows_deleted"]),
            "files_deleted": summary.get("files_deleted", 0), "retention_run_id": summary["retention_run_id"]}
