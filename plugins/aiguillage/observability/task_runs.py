"""Each task instance's timing, recorded in ``registry.task_run`` by the task's own callbacks.

Every DAG of the project gets :func:`record_success`, :func:`record_retry` and :func:`record_failure`
through ``dag_defaults.default_args``. Airflow 3 runs these callbacks in the task's own process, right
after the try ended (``airflow.sdk.execution_time.task_runner.finalize``), under a worker as under
``dag.test`` (``aiguillage run``), so one row per try lands in the warehouse whichever way the day
was run. A task that never starts (upstream failed) has no row.

A callback never makes a task fail and never holds it up for long: it gives up after a short connect
timeout and logs only the error's type (an error message could quote a row). The run report reads
the day's rows with :func:`task_runs_for_day`.

A failed try also keeps why, in words an operator can act on: the error's message cleaned of
personal data by :func:`error_message`, the one place that makes an error's message fit to print.
The day reports (``aiguillage run``, ``aiguillage stack run``) read it back with :func:`failures_of_run`.

Imported at DAG parse time: standard library only at module level.
"""

from __future__ import annotations

import logging
import re
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

log = logging.getLogger(__name__)

# A warehouse that does not answer within this is reported in the task's log and the try goes on.
CONNECT_TIMEOUT_SECONDS = 5

SUCCESS, UP_FOR_RETRY, FAILED = "success", "up_for_retry", "failed"


@dataclass(frozen=True)
class TaskRun:
    """One try of one task instance, as it ended."""

    dag_id: str
    run_id: str
    day: date | None
    task_id: str
    map_index: int
    label: str | None
    try_number: int
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    seconds: float | None
    hostname: str | None
    error_type: str | None = None
    error_message: str | None = None


def original_error_type(error: object) -> str | None:
    """The type name of the error at the root of ``error``'s chain of causes (``raise ... from``):
    an extract withheld by the gate stays ``ExtractWithheld`` under Airflow's AirflowFailException."""
    if not isinstance(error, BaseException):
        return None
    while error.__cause__ is not None:
        error = error.__cause__
    return type(error).__name__


# Where PostgreSQL (and dbt relaying it) quotes the rows and values a statement met: never printed.
_DIAGNOSTIC_LINE = re.compile(r"^\s*(DETAIL|HINT|CONTEXT|QUERY|WHERE|LINE \d+|STATEMENT):", re.MULTILINE)
# A database error's primary message quotes a value after a colon: 'invalid input syntax for type date: "x"'.
_QUOTED_VALUE = re.compile(r'(:\s*)"[^"]*"')
MESSAGE_MAX_CHARS = 400


def error_message(error: object) -> str | None:
    """The message of the error at the root of ``error``'s chain (the one :func:`original_error_type`
    names), fit to print in a terminal, a report or a table: its first line only (PostgreSQL's DETAIL,
    which quotes rows, comes after it), a database error's quoted values hidden, control characters
    escaped, at most MESSAGE_MAX_CHARS; replaced whole when it still looks like it holds personal data (a
    NIR, an e-mail address: the alerts' rule, aiguillage.alerts.privacy). None without a message."""
    if not isinstance(error, BaseException):
        return None
    while error.__cause__ is not None:
        error = error.__cause__
    text = str(error)
    cut = _DIAGNOSTIC_LINE.search(text)
    lines = (text[:cut.start()] if cut else text).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if type(error).__module__.split(".")[0] == "psycopg":
        text = _QUOTED_VALUE.sub(r'\1"…"', text)
    if not text:
        return None
    from aiguillage.alerts.privacy import guard_text
    from aiguillage.landing.names import printable

    text = printable(text)
    if len(text) > MESSAGE_MAX_CHARS:
        text = text[:MESSAGE_MAX_CHARS - 1] + "…"
    return guard_text(text, "task error message", allowed_emails=set())


def failure_line(error_type: str | None, message: str | None) -> str:
    """'RuntimeError: dbt build failed for ...': how a failure is printed."""
    return ": ".join(part for part in (error_type or "error", message) if part)


def _run_day_of(context) -> date | None:
    from aiguillage.run_context import run_day

    try:
        return run_day(context)
    except Exception:  # a run without a day fails in its tasks anyway; its timing is still kept
        return None


def mapped_label(ti, context) -> str | None:
    """The name of a mapped instance (the agency of a delivery); None for a task that is not mapped."""
    map_index = getattr(ti, "map_index", -1)
    if map_index is None or map_index < 0:
        return None
    return getattr(ti, "rendered_map_index", None) or context.get("code_structure") or str(map_index)


def from_context(context, state: str) -> TaskRun:
    """The try described by an Airflow callback's context, ended in ``state``."""
    ti = context["ti"]
    started_at = getattr(ti, "start_date", None)
    # A failure reported by the scheduler for a task whose process died has no end date: now is when it ended.
    ended_at = getattr(ti, "end_date", None) or datetime.now(UTC)
    seconds = round((ended_at - started_at).total_seconds(), 3) if started_at is not None else None
    map_index = getattr(ti, "map_index", -1)
    return TaskRun(
        dag_id=ti.dag_id, run_id=str(context.get("run_id") or ti.run_id), day=_run_day_of(context),
        task_id=ti.task_id, map_index=-1 if map_index is None else int(map_index),
        label=mapped_label(ti, context), try_number=int(getattr(ti, "try_number", None) or 1), state=state,
        started_at=started_at, ended_at=ended_at, seconds=max(seconds, 0.0) if seconds is not None else None,
        hostname=getattr(ti, "hostname", None) or socket.gethostname(),
        error_type=original_error_type(context.get("exception")) if state != SUCCESS else None,
        error_message=error_message(context.get("exception")) if state != SUCCESS else None,
    )


_UPSERT = (
    "INSERT INTO registry.task_run (dag_id, run_id, day, task_id, map_index, label, try_number, state,"
    " started_at, ended_at, seconds, hostname, error_type, error_message)"
    " VALUES (%(dag_id)s, %(run_id)s, %(day)s, %(task_id)s, %(map_index)s, %(label)s, %(try_number)s,"
    " %(state)s, %(started_at)s, %(ended_at)s, %(seconds)s, %(hostname)s, %(error_type)s, %(error_message)s)"
    " ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) DO UPDATE SET day = excluded.day,"
    " label = excluded.label, state = excluded.state, started_at = excluded.started_at,"
    " ended_at = excluded.ended_at, seconds = excluded.seconds, hostname = excluded.hostname,"
    " error_type = excluded.error_type, error_message = excluded.error_message, recorded_at = now()"
)


def record(conn, run: TaskRun) -> None:
    """Write one try (a try recorded again replaces its row). The caller commits."""
    conn.execute(_UPSERT, asdict(run))


def _record_ending(context, state: str) -> None:
    """Record the try that just ended; on any error, say so in the task's log and let the task be."""
    where = "?"
    try:
        import psycopg

        from aiguillage import config, warehouse

        run = from_context(context, state)
        where = f"{run.dag_id}.{run.task_id}" + (f"[{run.label}]" if run.label else "") + f" try {run.try_number}"
        with psycopg.connect(config.warehouse_url(), connect_timeout=CONNECT_TIMEOUT_SECONDS,
                             application_name="aiguillage-task-timing") as conn:
            try:
                record(conn, run)
            except psycopg.errors.UndefinedTable:
                # A task that failed before the warehouse's first migration still gets its row.
                conn.rollback()
                warehouse.migrate(conn)
                record(conn, run)
            conn.commit()
        log.info("task timing recorded: %s %s in %s s", where, state,
                 "?" if run.seconds is None else f"{run.seconds:.1f}")
    except Exception as error:
        log.warning("task timing of %s (%s) not recorded: %s", where, state, type(error).__name__)


def record_success(context) -> None:
    """``on_success_callback`` of every task."""
    _record_ending(context, SUCCESS)


def record_retry(context) -> None:
    """``on_retry_callback`` of every task: the failed try that will be retried."""
    _record_ending(context, UP_FOR_RETRY)


def record_failure(context) -> None:
    """``on_failure_callback`` of every task (beside the failure alert)."""
    _record_ending(context, FAILED)


COLUMNS = ("dag_id", "run_id", "day", "task_id", "map_index", "label", "try_number", "state", "started_at",
           "ended_at", "seconds", "hostname", "error_type")


def task_runs_for_day(conn, day: date) -> list[dict]:
    """Every recorded try of the runs of ``day``, in the order of the day's chain of DAGs, each DAG's
    runs in the order they started, each run's tries in the order they started."""
    from aiguillage.runner import DAILY_DAGS

    if conn.execute("SELECT to_regclass('registry.task_run')").fetchone()[0] is None:
        return []
    rows = conn.execute(
        "SELECT dag_id, run_id, day, task_id, map_index, label, try_number, state, started_at, ended_at, seconds,"
        " hostname, error_type, min(started_at) OVER (PARTITION BY dag_id, run_id) AS run_started"
        " FROM registry.task_run WHERE day = %s", (day,)).fetchall()
    chain = {dag_id: index for index, dag_id in enumerate(DAILY_DAGS)}
    far = datetime.max.replace(tzinfo=UTC)

    def order(row):
        item = dict(zip((*COLUMNS, "run_started"), row, strict=True))
        return (chain.get(item["dag_id"], len(chain)), item["dag_id"], item["run_started"] or far, item["run_id"],
                item["started_at"] or far, item["task_id"], item["map_index"], item["try_number"])

    return [dict(zip(COLUMNS, row[:len(COLUMNS)], strict=True)) for row in sorted(rows, key=order)]


def failures_of_run(conn, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
    """Why each task instance of the run failed, (task_id, map_index) -> 'Type: cleaned message', from
    its last try that failed (a try that ended up_for_retry counts only when no later try succeeded)."""
    if conn.execute("SELECT to_regclass('registry.task_run')").fetchone()[0] is None:
        return {}
    rows = conn.execute(
        "SELECT DISTINCT ON (task_id, map_index) task_id, map_index, state, error_type, error_message"
        " FROM registry.task_run WHERE dag_id = %s AND run_id = %s"
        " ORDER BY task_id, map_index, try_number DESC", (dag_id, run_id)).fetchall()
    return {(task_id, map_index): failure_line(error_type, message)
            for task_id, map_index, state, error_type, message in rows if state in (FAILED, UP_FOR_RETRY)}
