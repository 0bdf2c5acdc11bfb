"""Load registered files into the raw layer: streaming COPY, one transaction per file.

A file is loaded whole or not at all. Its rows and its new state in the registry are committed
together, so a load killed half-way leaves nothing behind and the file is still ``registered``:
the next run loads it fully. Each file is opened safely (:func:`aiguillage.landing.opened.open_landing`:
no link followed, nothing but a regular file) and the reader gets that stream, which hashes what it
reads: a file whose bytes are not the ones registered is not loaded.

What rolls a file back and records it as quarantined, with the reason, in a transaction of its own:

- a reader's :class:`QuarantineError` (the file breaks its contract);
- bytes that changed since the file was registered (the next scan records the new content);
- the database refusing a row (a value too long for an index, a constraint, a bad value: SQLSTATE
  classes 22, 23 and 54): the reason names the SQLSTATE, the raw table and column when known, and
  PostgreSQL's message without the values it quotes;
- a file whose loads keep failing to finish (the process killed, a crash, the server gone): after
  ``AIGUILLAGE_LOAD_MAX_ATTEMPTS`` started loads it is quarantined and an alert goes out, so that
  no file stays ``registered`` forever.

Any other error leaves the file ``registered`` (its attempt counted), the other files still load,
and the first such error is raised again at the end so that the task fails and retries.
"""

from __future__ import annotations

import contextlib
import gc
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from aiguillage import config
from aiguillage.ingest.raw_tables import COLUMNS, REJECT_TABLES, QuarantineError, RawRow
from aiguillage.landing.names import printable
from aiguillage.landing.opened import ChangedSinceRegistered, LandingStream, NotARegularFile, open_landing
from aiguillage.landing.registry import supersede_corrected
from aiguillage.observability.log_context import fields, run_log

# One line per file, prefixed with the run, day, DAG and task: file name, state and counts only.
log = run_log(__name__)

# Rows held in memory between two COPY rounds: bounds memory whatever the file size.
FLUSH_ROWS = 20_000

# A reader gets the pending file and its opened stream (a binary file object, see LandingStream).
Reader = Callable[["PendingFile", LandingStream], Iterator[RawRow]]

# SQLSTATE classes of a row the database refuses: data exception, integrity constraint violation,
# program limit exceeded. The same row fails again at every attempt: the file is quarantined at once.
# Other classes (connection, deadlock, disk full, cancelled...) are not the file's fault: retried.
_REFUSED_ROW_CLASSES = ("22", "23", "54")
_QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'')
_COPY_CONTEXT = re.compile(r"COPY (\w+), line \d+(?:, column (\w+))?")


@dataclass(frozen=True)
class PendingFile:
    file_id: int
    relative_path: str
    source: str
    kind: str | None
    agency_code: str | None
    delivered_on: object
    sha256: str | None = None  # what was registered: the bytes loaded must be these
    load_attempts: int = 0  # loads started before this one
    logical_date: object = None


@dataclass
class LoadOutcome:
    file_id: int
    relative_path: str
    status: str  # loaded | loaded_with_rejects | quarantined | skipped (left registered: see reason)
    rows: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    seconds: float = 0.0


def pending_files(conn: psycopg.Connection, source: str) -> list[PendingFile]:
    """Files of ``source`` registered and not loaded yet, oldest delivery first."""
    rows = conn.execute(
        "SELECT file_id, relative_path, source, kind, agency_code, delivered_on, sha256, load_attempts,"
        " logical_date FROM registry.landing_file"
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


class _Quarantine(Exception):
    """Internal: the load is rolled back and the file quarantined with this reason."""


def load_file(conn: psycopg.Connection, pending: PendingFile, landing: Path, reader: Reader) -> LoadOutcome:
    """Load one file with ``reader``; returns its final state (see the module's doc). Errors that are
    not the file's fault propagate with the file still registered, its attempt counted."""
    started = time.monotonic()
    max_attempts = config.load_max_attempts()
    with conn.transaction():
        # Count attempts apart from the load itself, so that a crashed attempt is still on record.
        counted = conn.execute(
            "UPDATE registry.landing_file SET load_attempts = load_attempts + 1"
            " WHERE file_id = %s AND status = 'registered' RETURNING load_attempts - 1",
            (pending.file_id,)).fetchone()
    if counted is None:
        return LoadOutcome(pending.file_id, pending.relative_path, "skipped", reason="already handled by another run")
    if counted[0] >= max_attempts:
        reason = (f"{counted[0]} loads of this file were started and none finished (the process was stopped "
                  f"or an error interrupted it; see the task logs): quarantined so that it no longer holds "
                  f"up the loads")
        outcome = _quarantine(conn, pending, reason, started)
        _alert_attempts_exhausted(pending, counted[0], reason)
        return outcome
    try:
        stream = open_landing(landing, pending.relative_path)
    except NotARegularFile as error:
        return _quarantine(conn, pending, f"{error}: replaced after it was registered, not loaded; the next "
                                          "scan records what is there now", started)
    except OSError as error:
        # Gone or unreadable for now: left registered and tried again (bounded by the attempts).
        reason = f"cannot be opened ({type(error).__name__}, errno {error.errno}): tried again at the next run"
        log.warning("file: %s", fields(source=pending.source, file=printable(pending.relative_path),
                                       status="skipped", reason=reason))
        return LoadOutcome(pending.file_id, pending.relative_path, "skipped", reason=reason)
    with stream:
        try:
            status, buffer, seconds = _load_in_one_transaction(conn, pending, stream, reader, started)
        except _Quarantine as error:
            return _quarantine(conn, pending, str(error), started)
    if status == "skipped":
        return LoadOutcome(pending.file_id, pending.relative_path, "skipped", reason="already handled by another run")
    outcome = LoadOutcome(pending.file_id, pending.relative_path, status, dict(buffer.rows),
                          dict(buffer.rejects), seconds=seconds)
    log.info("file: %s", fields(source=pending.source, file=printable(pending.relative_path), status=status,
                                rows=sum(outcome.rows.values()), rejects=sum(outcome.rejects.values()),
                                seconds=seconds, by_table=outcome.rows, by_reason=outcome.rejects))
    return outcome


def _load_in_one_transaction(conn, pending: PendingFile, stream: LandingStream, reader: Reader, started: float):
    """(status, buffer, seconds) of a committed load, or _Quarantine once everything is rolled back."""
    try:
        with conn.transaction():
            locked = conn.execute(
                "SELECT status FROM registry.landing_file WHERE file_id = %s FOR UPDATE",
                (pending.file_id,),
            ).fetchone()
            if locked is None or locked[0] != "registered":
                return "skipped", None, 0.0
            buffer = _CopyBuffer(conn, pending.file_id)
            with _collector_paused():
                for row in reader(pending, stream):
                    buffer.add(row)
                buffer.flush()
            if pending.sha256 is not None:
                stream.verify(pending.sha256)
            status = "loaded_with_rejects" if buffer.rejects else "loaded"
            seconds = time.monotonic() - started
            conn.execute(
                "UPDATE registry.landing_file SET status = %s, loaded_at = now(), load_seconds = %s,"
                " rows_loaded = %s, rejects = %s WHERE file_id = %s",
                (status, round(seconds, 3), Jsonb(dict(buffer.rows)), Jsonb(dict(buffer.rejects)),
                 pending.file_id),
            )
            return status, buffer, seconds
    except ChangedSinceRegistered as error:
        raise _Quarantine(str(error)) from None
    except QuarantineError as error:
        # A file rewritten under the reader breaks its contract for a reason that is not its own.
        _raise_if_changed(pending, stream)
        raise _Quarantine(str(error)) from None
    except psycopg.Error as error:
        if conn.broken or conn.closed or not _is_refused_row(error):
            raise
        _raise_if_changed(pending, stream)
        raise _Quarantine(refused_row_reason(error)) from None


def _raise_if_changed(pending: PendingFile, stream: LandingStream) -> None:
    if pending.sha256 is None:
        return
    try:
        stream.verify(pending.sha256)
    except ChangedSinceRegistered as error:
        raise _Quarantine(str(error)) from None


def _is_refused_row(error: psycopg.Error) -> bool:
    return bool(error.sqlstate) and error.sqlstate[:2] in _REFUSED_ROW_CLASSES


def refused_row_reason(error: psycopg.Error) -> str:
    """Why the database refused a row, for a data engineer: the raw table and column when the error
    tells them, PostgreSQL's message without any quoted value, the SQLSTATE's code and name. Never the
    DETAIL or the CONTEXT's values, which quote the row (personal data)."""
    diag = error.diag
    table, column = diag.table_name, diag.column_name
    found = _COPY_CONTEXT.search(diag.context or "")
    if found:
        table = table or found.group(1)
        column = column or found.group(2)
    where = f"{diag.schema_name or 'raw'}.{table}" if table else "a raw table"
    # Names of the schema's objects only (never a value): the index a too-long value broke is named
    # as "constraint" by the server.
    what = "index" if (error.sqlstate or "").startswith("54") else "constraint"
    details = [f"column {column}" if column else "", f"{what} {diag.constraint_name}" if diag.constraint_name else ""]
    if any(details):
        where += f" ({', '.join(detail for detail in details if detail)})"
    message = " ".join(_QUOTED.sub("", diag.message_primary or type(error).__name__).split())
    message = message.replace(" ,", ",").rstrip(" :")
    name = type(error).__name__
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return f"the database refused a row of {where}: {message} (SQLSTATE {error.sqlstate} {snake})"


def _quarantine(conn: psycopg.Connection, pending: PendingFile, reason: str, started: float) -> LoadOutcome:
    seconds = time.monotonic() - started
    with conn.transaction():
        conn.execute(
            "UPDATE registry.landing_file SET status = 'quarantined', status_reason = %s, loaded_at = now(),"
            " load_seconds = %s WHERE file_id = %s AND status = 'registered'",
            (reason, round(seconds, 3), pending.file_id),
        )
    log.warning("file: %s", fields(source=pending.source, file=printable(pending.relative_path),
                                   status="quarantined", seconds=seconds, reason=reason))
    return LoadOutcome(pending.file_id, pending.relative_path, "quarantined", reason=reason, seconds=seconds)


def _alert_attempts_exhausted(pending: PendingFile, attempts: int, reason: str) -> None:
    """Tell the operators: a file stopped being retried. Never raises (the load goes on)."""
    try:
        from aiguillage.alerts import send_alert
        from aiguillage.alerts.load_attempts import attempts_exhausted_alert
        from aiguillage.observability.log_context import task_fields

        context = task_fields()
        send_alert(attempts_exhausted_alert(
            day=context.get("day") or str(pending.logical_date or ""), run_id=context.get("run_id") or "-",
            relative_path=pending.relative_path, attempts=attempts, reason=reason))
    except Exception as error:  # the file is quarantined and logged already: only say why no alert went
        log.warning("the alert on %s could not be sent: %s", printable(pending.relative_path), type(error).__name__)


# The raw tables each source's files fill (their names start with the source's).
_TABLE_PREFIX = {"caf": "caf_", "caf_contacts": "caf_contact", "france_travail": "france_travail_", "ali": "ali_",
                 "departement": "departement_"}


def load_pending(conn: psycopg.Connection, source: str, landing: Path, reader: Reader) -> list[LoadOutcome]:
    """Load every registered file of ``source``, one transaction each; a quarantined file, or one
    that fails for another reason, does not stop the others (the first such error is raised again
    once they are done). Then refresh the planner's statistics of the source's raw tables: a query
    planned on a table PostgreSQL still believes small (autovacuum has not passed yet after a
    90,000-dossier stock) can run for minutes instead of seconds."""
    outcomes: list[LoadOutcome] = []
    failure: Exception | None = None
    for pending in pending_files(conn, source):
        try:
            outcomes.append(load_file(conn, pending, landing, reader))
        except Exception as error:
            if conn.broken or conn.closed:
                raise
            log.error("file: %s", fields(source=pending.source, file=printable(pending.relative_path),
                                         status="registered", error=type(error).__name__,
                                         attempts=pending.load_attempts + 1))
            failure = failure or error
    supersede_corrected(conn, source)  # a quarantined file whose corrected re-send loaded is superseded
    if failure is not None:
        raise failure
    if any(outcome.status != "quarantined" for outcome in outcomes):
        for table in sorted(table for table in COLUMNS if table.startswith(_TABLE_PREFIX[source])):
            conn.execute(sql.SQL("ANALYZE raw.{}").format(sql.Identifier(table)))
        conn.execute("ANALYZE registry.landing_file")
        conn.commit()
    return outcomes
