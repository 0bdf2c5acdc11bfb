"""Load registered files into the raw layer: streaming COPY, one transaction per file.

A file is loaded whole or not at all. Its rows and its new state in the registry are committed
together, so a load killed half-way leaves nothing behind and the file is still ``registered``:
the next run loads it fully. A reader's :class:`QuarantineError` rolls back whatever was copied
and records the file as quarantined, with the reason, in a transaction of its own.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from aiguillage.ingest.raw_tables import COLUMNS, REJECT_TABLES, QuarantineError, RawRow
from aiguillage.landing.registry import supersede_corrected
from aiguillage.observability.log_context import fields, run_log

# One line per file, prefixed with the run, day, DAG and task: file name, state and counts only.
log = run_log(__name__)

# Rows held in memory between two COPY rounds: bounds memory whatever the file size.
FLUSH_ROWS = 20_000

Reader = Callable[["PendingFile", Path], Iterator[RawRow]]


@dataclass(frozen=True)
class PendingFile:
    file_id: int
    relative_path: str
    source: str
    kind: str | None
    agency_code: str | None
    delivered_on: object


@dataclass
class LoadOutcome:
    file_id: int
    relative_path: str
    status: str  # loaded | loaded_with_rejects | quarantined | skipped
    rows: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    seconds: float = 0.0


def pending_files(conn: psycopg.Connection, source: str) -> list[PendingFile]:
    """Files of ``source`` registered and not loaded yet, oldest delivery first."""
    rows = conn.execute(
        "SELECT file_id, relative_path, source, kind, agency_code, delivered_on FROM registry.landing_file"
        " WHERE status = 'registered' AND source = %s ORDER BY delivered_on NULLS FIRST, file_id",
        (source,),
    ).fetchall()
    conn.commit()
    return [PendingFile(*row) for row in rows]


def column_types(conn: psycopg.Connection, table: str) -> list[str]:
    """PostgreSQL type names of ``raw.<table>``'s columns, in order, for a binary COPY."""
    rows = conn.execute(
        "SELECT format_type(atttypid, NULL) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (f"raw.{table}",),
    ).fetchall()
    return [row[0] for row in rows]


class _CopyBuffer:
    """Rows per table, sent by binary COPY in rounds of at most FLUSH_ROWS rows.

    Binary COPY halves the client's share of the work against the text format. The rounds are
    sent from the reading thread itself: a writer thread was measured slower (both threads need
    the interpreter lock, and their contention cost more than the overlap with the server gained).
    """

    def __init__(self, conn: psycopg.Connection, file_id: int):
        self.conn = conn
        self.file_id = file_id
        self.types: dict[str, list[str]] = {}
        self.pending: dict[str, list[tuple]] = {}
        self.held = 0
        self.rows: Counter[str] = Counter()
        self.rejects: Counter[str] = Counter()

    def add(self, row: RawRow) -> None:
        table, values = row
        rows = self.pending.get(table)
        if rows is None:
            if table not in COLUMNS:
                raise ValueError(f"reader bug: no raw table {table!r}")
            rows = self.pending[table] = []
        rows.append(values)
        if table in REJECT_TABLES:
            self.rejects[values[1]] += 1
        self.held += 1
        if self.held >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        with self.conn.cursor() as cursor:
            for table, rows in self.pending.items():
                if not rows:
                    continue
                if table not in self.types:
                    self.types[table] = column_types(self.conn, table)
                width = len(COLUMNS[table])
                if any(len(values) != width for values in rows):
                    raise ValueError(f"reader bug: a {table} row does not have its {width} values")
                columns = ", ".join(("file_id", *COLUMNS[table]))
                with cursor.copy(f"COPY raw.{table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(self.types[table])
                    file_id = self.file_id
                    for values in rows:
                        copy.write_row((file_id, *values))
                self.rows[table] += len(rows)
                rows.clear()
        self.held = 0


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a load: the rows are plain tuples that hold no
    cycles, and the collector's passes over hundreds of thousands of them cost ~10 % of the load."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_file(conn: psycopg.Connection, pending: PendingFile, landing: Path, reader: Reader) -> LoadOutcome:
    """Load one file with ``reader``; returns its final state. Unexpected errors propagate (the task
    fails and retries; the file stays registered)."""
    started = time.monotonic()
    path = landing / pending.relative_path
    with conn.transaction():
        # Count attempts apart from the load itself, so that a crashed attempt is still on record.
        conn.execute("UPDATE registry.landing_file SET load_attempts = load_attempts + 1 WHERE file_id = %s",
                     (pending.file_id,))
    try:
        with conn.transaction():
            locked = conn.execute(
                "SELECT status FROM registry.landing_file WHERE file_id = %s FOR UPDATE",
                (pending.file_id,),
            ).fetchone()
            if locked is None or locked[0] != "registered":
                return LoadOutcome(pending.file_id, pending.relative_path, "skipped",
                                   reason="already handled by another run")
            buffer = _CopyBuffer(conn, pending.file_id)
            with _collector_paused():
                for row in reader(pending, path):
                    buffer.add(row)
                buffer.flush()
            status = "loaded_with_rejects" if buffer.rejects else "loaded"
            seconds = time.monotonic() - started
            conn.execute(
                "UPDATE registry.landing_file SET status = %s, loaded_at = now(), load_seconds = %s,"
                " rows_loaded = %s, rejects = %s WHERE file_id = %s",
                (status, round(seconds, 3), Jsonb(dict(buffer.rows)), Jsonb(dict(buffer.rejects)),
                 pending.file_id),
            )
    except QuarantineError as error:
        reason = str(error)
        with conn.transaction():
            conn.execute(
                "UPDATE registry.landing_file SET status = 'quarantined', status_reason = %s, loaded_at = now(),"
                " load_seconds = %s WHERE file_id = %s AND status = 'registered'",
                (reason, round(time.monotonic() - started, 3), pending.file_id),
            )
        log.warning("file: %s", fields(source=pending.source, file=pending.relative_path, status="quarantined",
                                       seconds=time.monotonic() - started, reason=reason))
        return LoadOutcome(pending.file_id, pending.relative_path, "quarantined", reason=reason,
                           seconds=time.monotonic() - started)
    outcome = LoadOutcome(pending.file_id, pending.relative_path, status, dict(buffer.rows),
                          dict(buffer.rejects), seconds=seconds)
    log.info("file: %s", fields(source=pending.source, file=pending.relative_path, status=status,
                                rows=sum(outcome.rows.values()), rejects=sum(outcome.rejects.values()),
                                seconds=seconds, by_table=outcome.rows, by_reason=outcome.rejects))
    return outcome


# The raw tables each source's files fill (their names start with the source's).
_TABLE_PREFIX = {"caf": "caf_", "france_travail": "france_travail_", "ali": "ali_"}


def load_pending(conn: psycopg.Connection, source: str, landing: Path, reader: Reader) -> list[LoadOutcome]:
    """Load every registered file of ``source``, one transaction each; a quarantined file does not
    stop the others. Then refresh the planner's statistics of the source's raw tables: a query
    planned on a table PostgreSQL still believes small (autovacuum has not passed yet after a
    90,000-dossier stock) can run for minutes instead of seconds."""
    outcomes = [load_file(conn, pending, landing, reader) for pending in pending_files(conn, source)]
    supersede_corrected(conn, source)  # a quarantined file whose corrected re-send loaded is superseded
    if any(outcome.status != "quarantined" for outcome in outcomes):
        for table in sorted(table for table in COLUMNS if table.startswith(_TABLE_PREFIX[source])):
            conn.execute(sql.SQL("ANALYZE raw.{}").format(sql.Identifier(table)))
        conn.execute("ANALYZE registry.landing_file")
        conn.commit()
    return outcomes
