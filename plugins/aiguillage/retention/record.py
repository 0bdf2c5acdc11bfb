"""``registry.retention_run``: one row per purge run, dry runs included. Counts only."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

_FIELDS = ("persons", "households", "rows_deleted", "aggregate_rows", "files_deleted", "bytes_deleted",
           "deliveries_marked", "registry_matches")


def open_run(conn: psycopg.Connection, *, run_id: str, as_of, cutoff, extract_cutoff, retention_months: int,
             extract_months: int, dry_run: bool, started_at: datetime) -> int:
    return conn.execute(
        "INSERT INTO registry.retention_run (run_id, as_of, cutoff, extract_cutoff, retention_months,"
        " extract_months, dry_run, started_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING retention_run_id",
        (run_id, as_of, cutoff, extract_cutoff, retention_months, extract_months, dry_run, started_at),
    ).fetchone()[0]


def close_run(conn: psycopg.Connection, retention_run_id: int, counts: dict) -> None:
    values = {name: counts.get(name, 0) for name in _FIELDS}
    values["rows_deleted"] = Jsonb(counts.get("rows_deleted", {}))
    conn.execute(
        "UPDATE registry.retention_run SET persons = %(persons)s, households = %(households)s,"
        " rows_deleted = %(rows_deleted)s, aggregate_rows = %(aggregate_rows)s, files_deleted = %(files_deleted)s,"
        " bytes_deleted = %(bytes_deleted)s, deliveries_marked = %(deliveries_marked)s,"
        " registry_matches = %(registry_matches)s, finished_at = clock_timestamp()"
        " WHERE retention_run_id = %(id)s",
        {**values, "id": retention_run_id},
    )
