"""The gate's record in the warehouse (registry.quality_check): one row per expectation run and
scope. A rerun of a day replaces the rows of the suites it ran for that day."""

from __future__ import annotations

from datetime import date

import psycopg


def replace_day(conn: psycopg.Connection, day: date, run_id: str, suites: list[str], rows: list[dict]) -> None:
    with conn.transaction():
        conn.execute("DELETE FROM registry.quality_check WHERE day = %s AND suite = ANY(%s)", (day, suites))
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO registry.quality_check (day, run_id, suite, scope, expectation, column_name,"
                " severity, success, unexpected_count, observed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(day, run_id, row["suite"], row["scope"], row["expectation"], row["column"], row["severity"],
                  row["success"], row["unexpected_count"],
                  None if row["observed"] is None else str(row["observed"])) for row in rows],
            )
