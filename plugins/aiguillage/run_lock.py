"""Runs that exclude each other on one warehouse: PostgreSQL advisory locks, named holders.

The warehouse is the one thing that the in-process ``aiguillage`` commands, the stack's Celery
workers and docker-compose all share, so the locks live there. Two kinds, each for one DAG (by its
id, or by ``<dag_id>/<part>`` for a mapped task's part, e.g. ``referral_extracts/ALI05``):

- the **run lock**, taken by a task body for as long as it works (:func:`exclusive`). A second
  body asking for it *waits* (the first is usually the same day at work; when it ends, the second
  goes on from what it left) for at most ``AIGUILLAGE_RUN_LOCK_WAIT_SECONDS`` (600), then *fails*
  naming the holder: nothing hangs, Airflow's retries try again later and the failure alert is sent.
- the **command claim**, held by an ``aiguillage`` command (run, backfill, replay, demo, redeliver,
  retention) from its start to its end, on every DAG it will run (:func:`claim`). A second command
  is *refused at once*, in one sentence naming the holder, before anything starts: a person at the
  terminal learns why now and runs it again later (every run is safe to repeat). A command also
  refuses while a task of the stack holds a run lock of those DAGs. The commands' own tasks run in
  other sessions, which is why a claim is a key of its own and not the run lock.

Key scheme: two-key advisory locks ``(CLASS, crc32(name) & 0x7fffffff)``, CLASS = 7303 for run locks,
7304 for command claims. PostgreSQL keeps two-key locks apart from the one-bigint keys the project
uses elsewhere (migrations 7_303_101, landing registry 7_303_102, RGPD purge 7_303_109, extract
deliveries ``hashtextextended(..., 7303102)``), so none of those can be met here. Session-level
locks: a process that dies releases its locks with its connection.

A run lock is taken before anything else of the task and released after everything: every other
lock (migration, registry, purge, delivery) is taken and released inside it, so no wait cycle can form;
claims are only ever tried, never waited for.

Who holds a lock is read from the holding session's ``application_name``
(``aiguillage|<what>|<day or days>|<pid>@<host>``, cut to PostgreSQL's 63 bytes, the host last) and,
for "since when", from ``pg_stat_activity.state_change``: the session does nothing after taking
its lock.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import socket
import time
import zlib
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from aiguillage import dag_defaults

log = logging.getLogger(__name__)

RUN_LOCK_CLASS = 7303
COMMAND_CLAIM_CLASS = 7304
WAIT_VAR = "AIGUILLAGE_RUN_LOCK_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 600
_PREFIX = "aiguillage"
_APPLICATION_NAME_BYTES = 63


class RunLockBusy(RuntimeError):
    """A task waited its bounded time for a run lock that another run still holds."""


class RunRefused(RuntimeError):
    """A command cannot start: another run holds one of the DAGs it would run."""


def key(name: str) -> int:
    """The second key of ``name``'s locks: a stable non-negative int4."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def wait_seconds() -> float:
    """How long a task waits for a run lock held by another run."""
    try:
        return max(0.0, float(os.environ.get(WAIT_VAR, DEFAULT_WAIT_SECONDS)))
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def days_label(days: Iterable[date | None]) -> str:
    """'2026-11-03', '2026-11-02..2026-11-11', or '' when the days are unknown."""
    known = sorted(day for day in days if day is not None)
    if not known:
        return ""
    return known[0].isoformat() if known[0] == known[-1] else f"{known[0]}..{known[-1]}"


def application_name(what: str, days: str) -> str:
    """The holder's description as its session shows it; the host is cut first when it is too long."""
    head = f"{_PREFIX}|{what}|{days}|{os.getpid()}@"
    room = _APPLICATION_NAME_BYTES - len(head.encode("utf-8"))
    host = socket.gethostname().encode("ascii", "replace")[:max(room, 0)].decode("ascii")
    return (head + host).encode("utf-8")[:_APPLICATION_NAME_BYTES].decode("utf-8", "ignore")


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its session tells it."""

    lock_class: int
    what: str
    days: str
    pid: str
    host: str
    since: datetime | None
    backend_pid: int | None = None  # set for a session that does not say who it is

    def describe(self) -> str:
        if self.backend_pid is not None:
            return f"a database session that does not say what it is (PostgreSQL backend pid {self.backend_pid})"
        if self.lock_class == COMMAND_CLAIM_CLASS:
            who = f"`aiguillage {self.what}`"
        else:
            dag_id, _, part = self.what.partition("/")
            who = f"a run of the DAG {dag_id}" + (f" ({part})" if part else "")
        when = f" for {self.days.replace('..', ' to ')}" if self.days else ""
        since = f", since {self.since.astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')}" if self.since else ""
        where = f", pid {self.pid} on host {self.host}" if self.pid else ""
        return f"{who}{when}{where}{since}"


_HOLDER = (
    "SELECT l.pid, a.application_name, coalesce(a.state_change, a.backend_start)"
    " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.database = ("
    "  SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.pid <> pg_backend_pid()"
)


def holder(conn, lock_class: int, name: str) -> Holder | None:
    """The session holding ``name``'s lock of ``lock_class`` (None when nobody holds it now)."""
    row = conn.execute(_HOLDER, (lock_class, key(name))).fetchone()
    if row is None:
        return None
    backend_pid, label, since = row
    parts = (label or "").split("|", 3)
    if len(parts) == 4 and parts[0] == _PREFIX:
        _, what, days, at = parts
        pid, _, host = at.partition("@")
        return Holder(lock_class, what, days, pid, host, since)
    # A session that is not one of ours: its PostgreSQL pid is all we know.
    return Holder(lock_class, name, "", "", "", since, backend_pid=backend_pid)


def _describe(conn, lock_class: int, name: str) -> str:
    found = holder(conn, lock_class, name)
    return found.describe() if found else "another run (it has just ended)"


def _connect():
    from aiguillage import warehouse

    return warehouse.connect(autocommit=True)


@contextmanager
def held(name: str, day: date | None, *, wait: float | None = None):
    """Hold the run lock of ``name`` for the ``with`` block, waiting at most ``wait`` seconds
    (default :func:`wait_seconds`) for another run to release it; raises :class:`RunLockBusy`."""
    import psycopg

    wait = wait_seconds() if wait is None else wait
    with _connect() as conn:
        lock = (RUN_LOCK_CLASS, key(name))
        if not conn.execute("SELECT pg_try_advisory_lock(%s, %s)", lock).fetchone()[0]:
            other = _describe(conn, RUN_LOCK_CLASS, name)
            log.warning("%s for %s: waiting up to %.0f s for %s to end", name, day or "?", wait, other)
            started = time.monotonic()
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{max(int(wait * 1000), 1)}ms",))
            try:
                conn.execute("SELECT pg_advisory_lock(%s, %s)", lock)
            except psycopg.errors.LockNotAvailable:
                other = _describe(conn, RUN_LOCK_CLASS, name)
                raise RunLockBusy(
                    f"{name} is being run on this warehouse by {other}; waited {time.monotonic() - started:.0f} s "
                    f"for it to end ({WAIT_VAR}). Nothing of this run was done: it runs again on its next try, "
                    f"or rerun the day once the other run has ended") from None
            conn.execute("SELECT set_config('lock_timeout', '0', false)")
            log.info("%s for %s: the other run ended, going on after %.0f s", name, day or "?",
                     time.monotonic() - started)
        conn.execute("SELECT set_config('application_name', %s, false)",
                     (application_name(name, days_label([day])),))
        try:
            yield
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", lock)


def _day_of_call(arguments: dict) -> date | None:
    logical_date = arguments.get("logical_date")
    if isinstance(logical_date, datetime):
        return dag_defaults.day_of(logical_date)
    if "logical_date" in arguments:  # a run without a logical date (a manual purge) works for today
        from zoneinfo import ZoneInfo

        return datetime.now(ZoneInfo(dag_defaults.TIMEZONE)).date()
    return None


def exclusive(dag_id: str, *, part: str | None = None) -> Callable:
    """Decorate a task body so that it works under the run lock of ``dag_id`` (``/part`` added for a
    mapped task). Both are ``str.format`` templates over the body's arguments, e.g.
    ``exclusive("{source}_ingestion")`` or ``exclusive("referral_extracts", part="{destination[code_structure]}")``;
    the day named for the holder is the one of the ``logical_date`` argument."""

    def decorate(body: Callable) -> Callable:
        signature = inspect.signature(body)

        @functools.wraps(body)
        def run(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            name = dag_id.format(**bound.arguments)
            if part is not None:
                name += "/" + part.format(**bound.arguments)
            with held(name, _day_of_call(bound.arguments)):
                return body(*args, **kwargs)

        return run

    return decorate


class Claim:
    """A command's hold on the DAGs it runs; released by :meth:`release` or when the process ends."""

    def __init__(self, conn, locks: list[tuple[int, int]]):
        self._conn, self._locks = conn, locks

    def release(self) -> None:
        if self._conn.closed:
            return
        try:
            for lock in reversed(self._locks):
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", lock)
        finally:
            self._conn.close()

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim(command: str, days: Iterable[date | None], dag_ids: Iterable[str], *, works: Iterable[str] = ()) -> Claim:
    """Claim ``dag_ids`` for the command ``command`` (``run``, ``backfill``...) working on ``days``;
    raises :class:`RunRefused` naming the holder when another command claims one of them or a task
    holds its run lock now. ``works``: run locks the command holds itself, because it does that work
    in its own process rather than through a DAG's task (e.g. ``rgpd_retention`` for a purge)."""
    dag_ids, works = list(dict.fromkeys(dag_ids)), list(dict.fromkeys(works))
    conn = _connect()
    held_locks: list[tuple[int, int]] = []
    try:
        conn.execute("SELECT set_config('application_name', %s, false)",
                     (application_name(command, days_label(days)),))

        def take(lock_class: int, name: str, keep: bool) -> str | None:
            lock = (lock_class, key(name))
            if not conn.execute("SELECT pg_try_advisory_lock(%s, %s)", lock).fetchone()[0]:
                return _describe(conn, lock_class, name)
            if keep:
                held_locks.append(lock)
            else:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", lock)
            return None

        for dag_id in dag_ids:
            other = (take(COMMAND_CLAIM_CLASS, dag_id, keep=True)
                     or (None if dag_id in works else take(RUN_LOCK_CLASS, dag_id, keep=False)))
            if other:
                raise RunRefused(f"the DAG {dag_id} is being run on this warehouse by {other}. Nothing was "
                                 f"started; run this command again once that run has ended")
        for name in works:
            other = take(RUN_LOCK_CLASS, name, keep=True)
            if other:
                raise RunRefused(f"{name} is being run on this warehouse by {other}. Nothing was started; run "
                                 f"this command again once that run has ended")
    except BaseException:
        Claim(conn, held_locks).release()
        raise
    return Claim(conn, held_locks)
