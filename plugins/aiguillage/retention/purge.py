"""One run of the RGPD purge, all or nothing.

In one transaction: judge who is past the period (:mod:`.candidates`), add their contribution to
the anonymous aggregates (:mod:`.aggregates`), delete their rows from every layer (:mod:`.layers`),
delete the expired extract files and mark their deliveries (:mod:`.archives`), record the run
(:mod:`.record`), commit. Files are deleted last, just before the commit: should the commit fail,
the next run finds the rows again and marks the deliveries of files already gone. A dry run does
exactly the same work, counts files instead of deleting them, rolls everything back and then
records its counts: its figures are those a real run would give.

Exclusion: a session-level advisory lock that nothing else takes (two purges never overlap), a
refusal while dbt is at work on the warehouse, and every purged table locked before the first
delete (:func:`.layers.lock`).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from aiguillage import warehouse
from aiguillage.retention import aggregates, archives, candidates, layers, record, settings

log = logging.getLogger(__name__)

# Advisory lock key of the purge, taken by nothing else in the project.
RETENTION_LOCK = 7_303_109


class RetentionRefused(RuntimeError):
    """Another purge holds the lock, or a build is running on the warehouse: try again later."""


def _refuse_while_building(conn: psycopg.Connection) -> None:
    # dbt-postgres connects as application "dbt"; a session of it at work means a build is running.
    busy = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND application_name = 'dbt' AND state IS DISTINCT FROM 'idle'").fetchone()[0]
    if busy:
        raise RetentionRefused(f"a dbt build is running on the warehouse ({busy} sessions): purge not started")


def _purge(conn: psycopg.Connection, run_row: int, as_of: date, cutoff: date, extract_cutoff: date,
           outbox: Path | None, dry_run: bool) -> dict:
    counts: dict = {"rows_deleted": {}}
    if candidates.warehouse_built(conn):
        clock = time.monotonic()
        planned = layers.plan(conn)
        layers.lock(conn, planned)
        counts.update(candidates.select(conn, cutoff))
        log.debug("retention: %d tables locked, persons judged in %.1f s", len(planned), time.monotonic() - clock)
        counts["aggregate_rows"] = aggregates.add(conn, run_row)
        clock = time.monotonic()
        counts["rows_deleted"] = layers.delete(conn, planned)
        log.debug("retention: rows deleted in %.1f s", time.monotonic() - clock)
        counts["registry_matches"] = layers.registry_matches(conn)
    if outbox is not None:
        found = archives.expired_folders(outbox, extract_cutoff)
        counts["files_deleted"], counts["bytes_deleted"] = found.files, found.bytes
        counts["deliveries_marked"] = archives.mark_deliveries(conn, extract_cutoff, as_of)
        if not dry_run:
            archives.delete(found)
    return counts


def run(as_of: date, outbox: Path | None, *, dry_run: bool, run_id: str = "manual") -> dict:
    """Purge (or, ``dry_run``, count) what is past its period as of ``as_of``; returns the counts."""
    months, extract_months = settings.retention_months(), settings.extract_months()
    cutoff = settings.months_before(as_of, months)
    extract_cutoff = settings.months_before(as_of, extract_months)
    started_at, clock = datetime.now(UTC), time.monotonic()
    heading = {"run_id": run_id, "as_of": as_of, "cutoff": cutoff, "extract_cutoff": extract_cutoff,
               "retention_months": months, "extract_months": extract_months, "dry_run": dry_run,
               "started_at": started_at}
    with warehouse.connect() as conn:
        warehouse.migrate(conn)
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (RETENTION_LOCK,)).fetchone()[0]:
            raise RetentionRefused("another purge is running on the warehouse")
        try:
            _refuse_while_building(conn)
            conn.commit()
            with conn.transaction() as tx:
                run_row = record.open_run(conn, **heading)
                counts = _purge(conn, run_row, as_of, cutoff, extract_cutoff, outbox, dry_run)
                if dry_run:
                    raise psycopg.Rollback(tx)
                record.close_run(conn, run_row, counts)
            if dry_run:
                with conn.transaction():
                    run_row = record.open_run(conn, **heading)
                    record.close_run(conn, run_row, counts)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (RETENTION_LOCK,))
            conn.commit()
    summary = {**heading, **counts, "retention_run_id": run_row}
    log.info("retention %s as of %s (cut-off %s, extracts %s) in %.1f s: %s persons, %s households, %s rows, "
             "%s aggregate rows, %s files, %s deliveries marked, %s registry rows holding a purged value",
             "dry run" if dry_run else "purge", as_of, cutoff, extract_cutoff, time.monotonic() - clock,
             counts.get("persons", 0),
             counts.get("households", 0), sum(counts["rows_deleted"].values()), counts.get("aggregate_rows", 0),
             counts.get("files_deleted", 0), counts.get("deliveries_marked", 0), counts.get("registry_matches", 0))
    return summary


def rows_per_layer(rows_deleted: dict[str, int]) -> dict[str, int]:
    """Rows per schema (raw, staging, identifiants, intermediate, history, marts)."""
    layers_total: dict[str, int] = {}
    for table, count in rows_deleted.items():
        schema = table.split(".", 1)[0]
        layers_total[schema] = layers_total.get(schema, 0) + count
    return layers_total
