"""Reload the dbt seeds only when they changed.

The seeds (territories, destinations, routing, parcours rules, code lists) change a few times a
year; reloading and re-testing them every day costs a few seconds of a daily build for nothing.
Their fingerprint covers every file that shapes them (CSV, YAML with their tests, dbt_project.yml
for their column types and the singular tests on them).
"""

from __future__ import annotations

import hashlib

import psycopg

from aiguillage import config


def fingerprint() -> str:
    project = config.dbt_project_dir()
    digest = hashlib.sha256()
    files = [project / "dbt_project.yml", *sorted((project / "seeds").glob("*")),
             *sorted((project / "tests" / "seeds").glob("*"))]
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(project).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def is_current(conn: psycopg.Connection, wanted: str) -> bool:
    """True when the warehouse holds these seeds (and their tables still exist)."""
    row = conn.execute("SELECT fingerprint FROM aiguillage_meta.seed_state").fetchone()
    if row is None or row[0] != wanted:
        return False
    return conn.execute("SELECT to_regclass('referentiel.destinations')").fetchone()[0] is not None


def record(conn: psycopg.Connection, loaded: str) -> None:
    conn.execute(
        "INSERT INTO aiguillage_meta.seed_state (fingerprint) VALUES (%s)"
        " ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, loaded_at = now()",
        (loaded,),
    )
    conn.commit()
