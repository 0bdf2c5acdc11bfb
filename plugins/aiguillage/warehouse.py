"""Connections to the warehouse and its schema migrations.

Migrations are the numbered ``sql/NNN_*.sql`` files of this package, applied once each, in order,
each in its own transaction, under an advisory lock so that concurrent tasks never race.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from importlib import resources

import psycopg

from aiguillage import config

log = logging.getLogger(__name__)

_MIGRATION_LOCK = 7_303_101  # arbitrary constant shared by every process of the project


def connect(*, autocommit: bool = False) -> psycopg.Connection:
    """A new connection to the configured warehouse (embedded one started if needed)."""
    return psycopg.connect(
        config.warehouse_url(), autocommit=autocommit, application_name="aiguillage", connect_timeout=15
    )


@contextmanager
def transaction() -> Iterator[psycopg.Connection]:
    """A connection whose work is committed on success and rolled back on any error."""
    with connect() as conn:
        with conn.transaction():
            yield conn


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("aiguillage") / "sql"
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return [(name, (folder / name).read_text(encoding="utf-8")) for name in names]


def migrate(conn: psycopg.Connection | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    if conn is None:
        with connect() as own:
            return migrate(own)
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE SCHEMA IF NOT EXISTS aiguillage_meta")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS aiguillage_meta.schema_migration ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM aiguillage_meta.schema_migration")}
        for name, sql in migration_files():
            if name in done:
                continue
            log.info("applying warehouse migration %s", name)
            conn.execute(sql)
            conn.execute("INSERT INTO aiguillage_meta.schema_migration (name) VALUES (%s)", (name,))
            applied.append(name)
    return applied


# The day-by-day histories of the warehouse, and the column holding each row's day. A day can move no
# referral (every proposal waits for a decision) and still be built: each is read.
_DAY_HISTORIES = (("referral_movements", "date_mouvement"), ("orientation_proposal_history", "date_statut"),
                  ("referral_daily_indicators", "jour"))


def set_build_day(conn: psycopg.Connection, day: date) -> None:
    """Name the day dbt builds next (its run_day() macro reads it when compiling the models)."""
    with conn.transaction():
        conn.execute("INSERT INTO aiguillage_meta.build_day (id, day) VALUES (true, %s)"
                     " ON CONFLICT (id) DO UPDATE SET day = EXCLUDED.day, set_at = now()", (day,))


def latest_referral_day(conn: psycopg.Connection) -> date | None:
    """The latest day the referrals' histories hold (None before the first build)."""
    days = []
    for table, column in _DAY_HISTORIES:
        if conn.execute("SELECT to_regclass(%s)", (f"marts.{table}",)).fetchone()[0] is not None:
            days.append(conn.execute(f"SELECT max({column}) FROM marts.{table}").fetchone()[0])  # noqa: S608
    days = [day for day in days if day is not None]
    return max(days) if days else None
