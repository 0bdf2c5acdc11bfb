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

# The partners' own schemas are reference data kept outside the project (never copied into it).
PARTNER_SCHEMAS_VAR = "AIGUILLAGE_PARTNER_SCHEMAS_DIR"
# Read once, then removed from the environment (see pytest_configure): the code under test must
# use the project's own schemas unless a test points it at the partners' on purpose.
_CONFIGURED_PARTNER_SCHEMAS = os.environ.get(PARTNER_SCHEMAS_VAR)

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="aiguillage-tests-"))


def pytest_configure(config):
    # Set before anything reads it, and inherited by every subprocess the tests start.
    os.environ["AIGUILLAGE_HOME"] = str(_SESSION_HOME)
    os.environ.pop("AIGUILLAGE_WAREHOUSE_URL", None)
    os.environ.pop("AIGUILLAGE_LANDING_DIR", None)
    os.environ.pop("AIGUILLAGE_OUTBOX_DIR", None)
    # Tests write their landing files, then scan at once: they are complete. The tests of the
    # settling rule set their own delay.
    os.environ["AIGUILLAGE_LANDING_SETTLE_SECONDS"] = "0"
    os.environ.pop(PARTNER_SCHEMAS_VAR, None)
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


def run_cli(*args: str, env: dict | None = None, timeout: float = 600,
            unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run the installed ``aiguillage`` command as a user would (``unset``: variables the user has not set)."""
    command = [str(Path(sys.executable).parent / "aiguillage"), *args]
    environment = {key: value for key, value in {**os.environ, **(env or {})}.items() if key not in unset}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment, cwd=REPO)


# ----- the partners' schemas (reference data beside the checkout) -----


def _schemas_beside(start: Path) -> Path | None:
    """A ``shared/reference/schemas`` folder beside ``start`` or beside one of its ancestors."""
    for folder in (start, *start.parents):
        candidate = folder.parent / "shared" / "reference" / "schemas"
        if candidate.is_dir():
            return candidate
    return None


def _cloned_from() -> Path | None:
    """The local checkout this one was cloned from, if its origin is a local path."""
    try:
        result = subprocess.run(["git", "config", "--get", "remote.origin.url"], cwd=REPO,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    url = result.stdout.strip()
    if result.returncode != 0 or not url:
        return None
    if url.startswith("file://"):
        url = urlsplit(url).path
    elif "://" in url or (":" in url and not url.startswith("/")):
        return None  # a remote URL (https://, ssh, host:path), not a folder of this machine
    origin = (REPO / url).resolve()
    return origin if origin.is_dir() else None


def find_partner_schemas_dir() -> Path | None:
    """AIGUILLAGE_PARTNER_SCHEMAS_DIR if set; else ``shared/reference/schemas`` beside the checkout
    or one of its ancestors; else the same search from the checkout this one was cloned from."""
    if _CONFIGURED_PARTNER_SCHEMAS:
        return Path(_CONFIGURED_PARTNER_SCHEMAS).expanduser().resolve()
    found = _schemas_beside(REPO)
    if found is None and (origin := _cloned_from()) is not None:
        found = _schemas_beside(origin)
    return found


_HOW_TO_SET = (
    f"set {PARTNER_SCHEMAS_VAR} to the folder holding the partners' schemas (cnaf-vrsb0801.xsd, "
    "webrsa-*.xsd), or place that folder at shared/reference/schemas beside the checkout"
)


def partner_schemas_folder() -> Path:
    """The partners' schemas folder; the calling test FAILS (never skips) when it cannot be found."""
    found = find_partner_schemas_dir()
    if found is None or not found.is_dir():
        where = f"{PARTNER_SCHEMAS_VAR}={_CONFIGURED_PARTNER_SCHEMAS}" if _CONFIGURED_PARTNER_SCHEMAS else (
            f"no shared/reference/schemas beside {REPO} or its ancestors, nor beside the checkout it was "
            "cloned from")
        pytest.fail(f"partner schemas not found ({where}): {_HOW_TO_SET}", pytrace=False)
    return found


def partner_schema(name: str) -> Path:
    """The partners' schema file ``name`` (e.g. ``cnaf-vrsb0801.xsd``); the test fails when it is missing."""
    path = partner_schemas_folder() / name
    if not path.is_file():
        pytest.fail(f"partner schema {name} not found in {path.parent}: {_HOW_TO_SET}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def partner_schemas_dir() -> Path:
    """The folder of the partners' own schemas (see :func:`find_partner_schemas_dir`)."""
    return partner_schemas_folder()
