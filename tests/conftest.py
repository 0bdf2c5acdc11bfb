"""Test session set-up: an isolated ``AIGUILLAGE_HOME`` and a real PostgreSQL.

By default the embedded PostgreSQL serves (started once for the session, stopped at the end).
Set ``AIGUILLAGE_TEST_WAREHOUSE_URL`` to run the suite against another server instead: each test
that needs a database gets its own, created and dropped on that server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parent.parent

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="aiguillage-tests-"))


def pytest_configure(config):
    # Set before anything reads it, and inherited by every subprocess the tests start.
    os.environ["AIGUILLAGE_HOME"] = str(_SESSION_HOME)
    os.environ.pop("AIGUILLAGE_WAREHOUSE_URL", None)
    os.environ.pop("AIGUILLAGE_LANDING_DIR", None)
    os.environ.pop("AIGUILLAGE_OUTBOX_DIR", None)
    for key in [k for k in os.environ if k.startswith("AIRFLOW")]:
        del os.environ[key]
    # Tests point AIGUILLAGE_WAREHOUSE_URL at databases of their own, which requires a key.
    os.environ["AIGUILLAGE_PSEUDONYMISATION_KEY"] = "aiguillage-test-suite-key-0123456789"


def pytest_unconfigure(config):
    from aiguillage import embedded_pg

    embedded_pg.release(_SESSION_HOME)
    if embedded_pg.status(_SESSION_HOME)["running"]:
        embedded_pg.stop(_SESSION_HOME)
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def session_home() -> Path:
    return _SESSION_HOME


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the PostgreSQL server the tests use (any database on it)."""
    configured = os.environ.get("AIGUILLAGE_TEST_WAREHOUSE_URL")
    if configured:
        return configured
    from aiguillage import embedded_pg

    return embedded_pg.ensure_running(_SESSION_HOME).url


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


@contextlib.contextmanager
def new_database(server_url: str, prefix: str = "t_") -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards; yields its URL."""
    import psycopg

    dbname = prefix + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield _with_database(server_url, dbname)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def build_history_up_to(url: str, day: str) -> None:
    """Make the warehouse at ``url`` look built up to ``day`` (its latest referral movement)."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CREATE SCHEMA marts")
        conn.execute("CREATE TABLE marts.referral_movements (date_mouvement date)")
        conn.execute("INSERT INTO marts.referral_movements VALUES (%s)", (day,))


@pytest.fixture
def warehouse_url(server_url, monkeypatch) -> str:
    """A fresh, empty warehouse database for one test; ``AIGUILLAGE_WAREHOUSE_URL`` points at it."""
    with new_database(server_url) as url:
        monkeypatch.setenv("AIGUILLAGE_WAREHOUSE_URL", url)
        yield url


@pytest.fixture
def conn(warehouse_url):
    import psycopg

    from aiguillage import warehouse

    with psycopg.connect(warehouse_url) as connection:
        warehouse.migrate(connection)
        yield connection


@pytest.fixture
def intruder(conn):
    """A connection to the test's database as another login role, one the pipeline granted nothing."""
    import psycopg

    role = "intruder_" + conn.info.dbname
    with conn.transaction():
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT CONNECT ON DATABASE "{conn.info.dbname}" TO "{role}"')
    other = psycopg.conninfo.conninfo_to_dict(conn.info.dsn)
    other["user"] = role
    try:
        with psycopg.connect(**other) as connection:
            yield connection
    finally:
        conn.rollback()
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE "{role}"')
        conn.commit()


def run_cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed ``aiguillage`` command as a user would."""
    command = [str(Path(sys.executable).parent / "aiguillage"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=REPO)
