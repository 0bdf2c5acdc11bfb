"""``aiguillage retention --as-of DAY [--dry-run] [--outbox DIR]``: one purge, and its counts printed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg

from aiguillage import config
from aiguillage.retention import purge


def retention_command(as_of: date, outbox: Path | None, dry_run: bool) -> int:
    """Run the purge for ``as_of`` and print what it deleted (or would delete) per layer. 0 on success.
    Without ``outbox``, the one of ``AIGUILLAGE_OUTBOX_DIR``; with neither, no file is looked at."""
    outbox = Path(outbox).expanduser().resolve() if outbox else config.outbox_dir()
    try:
        summary = purge.run(as_of, outbox, dry_run=dry_run)
    except (purge.RetentionRefused, ValueError) as error:
        print(f"retention refused: {error}")
        return 1
    except psycopg.errors.LockNotAvailable:
        print("retention gave up: a table stayed busy (a long query or a build); nothing was deleted, run it again")
        return 1
    verb = "would delete" if dry_run else "deleted"
    print(f"RGPD retention as of {summary['as_of']}{' (dry run: nothing deleted)' if dry_run else ''}")
    print(f"  persons past {summary['retention_months']} months (closed before {summary['cutoff']}):"
          f" {summary.get('persons', 0)}, households: {summary.get('households', 0)}")
    per_layer = purge.rows_per_layer(summary["rows_deleted"])
    for layer in ("raw", "staging", "identifiants", "intermediate", "history", "marts"):
        print(f"  {layer:<13} {verb} {per_layer.get(layer, 0):>9} rows")
    print(f"  anonymous aggregate rows kept for the BI: {summary.get('aggregate_rows', 0)}")
    if outbox:
        print(f"  extract files of days before {summary['extract_cutoff']}: {verb} {summary.get('files_deleted', 0)}"
              f" ({summary.get('bytes_deleted', 0)} bytes); deliveries marked: {summary.get('deliveries_marked', 0)}")
    else:
        print("  extract files: no outbox (--outbox or AIGUILLAGE_OUTBOX_DIR), none looked at")
    if summary.get("registry_matches"):
        print(f"  WARNING: {summary['registry_matches']} registry rows hold a purged person's identifier")
    print(f"  recorded as registry.retention_run {summary['retention_run_id']}")
    return 0
