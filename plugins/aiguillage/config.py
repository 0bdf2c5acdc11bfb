"""One place for every setting: read from the environment, with defaults that work on a fresh clone.

The warehouse is named by a single setting, ``AIGUILLAGE_WAREHOUSE_URL``. Unset, an embedded
PostgreSQL under ``$AIGUILLAGE_HOME`` serves. dbt's profile and Airflow's connection are both
derived from the URL returned by :func:`warehouse_url`, so no second place holds credentials.

This module is imported by DAG files: it must stay cheap (standard library only, no I/O at import).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

WAREHOUSE_URL_VAR = "AIGUILLAGE_WAREHOUSE_URL"
HOME_VAR = "AIGUILLAGE_HOME"
LANDING_VAR = "AIGUILLAGE_LANDING_DIR"
OUTBOX_VAR = "AIGUILLAGE_OUTBOX_DIR"
RETRIES_VAR = "AIGUILLAGE_TASK_RETRIES"
AIRFLOW_CONN_ID = "aiguillage_warehouse"

# plugins/aiguillage/config.py -> the checkout's root, when the package runs from a checkout.
_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE_DIR.parent.parent


def checkout_dir() -> Path | None:
    """The repository checkout this package runs from, if any."""
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "dags").is_dir():
        return _CHECKOUT
    return None


def home_dir() -> Path:
    """State folder: embedded warehouse, Airflow home, logs. Git-ignored inside a checkout."""
    configured = os.environ.get(HOME_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    checkout = checkout_dir()
    if checkout is not None:
        return checkout / ".aiguillage"
    return Path.home() / ".aiguillage"


def dags_dir() -> Path:
    configured = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if configured:
        return Path(configured)
    checkout = checkout_dir()
    return (checkout or Path.cwd()) / "dags"


def plugins_dir() -> Path:
    return _PACKAGE_DIR.parent


def dbt_project_dir() -> Path:
    configured = os.environ.get("AIGUILLAGE_DBT_PROJECT_DIR")
    if configured:
        return Path(configured)
    checkout = checkout_dir()
    return (checkout or Path.cwd()) / "dbt_project"


def landing_dir() -> Path | None:
    configured = os.environ.get(LANDING_VAR)
    return Path(configured).expanduser().resolve() if configured else None


def outbox_dir() -> Path | None:
    configured = os.environ.get(OUTBOX_VAR)
    return Path(configured).expanduser().resolve() if configured else None


def task_retries(default: int = 2) -> int:
    """Retries per task. Scheduled runs retry; in-process CLI runs set 0 to fail fast."""
    try:
        return max(0, int(os.environ.get(RETRIES_VAR, default)))
    except ValueError:
        return default


def _int_setting(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


LANDING_SETTLE_VAR = "AIGUILLAGE_LANDING_SETTLE_SECONDS"


def landing_settle_seconds() -> int:
    """A landing file changed less than this many seconds ago is still being written: the scan
    leaves it for the next run (data contract §1). 60 s outlasts the pauses of a live transfer."""
    return max(0, _int_setting(LANDING_SETTLE_VAR, 60))


def load_max_attempts() -> int:
    """Loads of one file that may fail to finish (process killed, crash) before it is quarantined."""
    return max(1, _int_setting("AIGUILLAGE_LOAD_MAX_ATTEMPTS", 3))


def france_travail_api_max_age_days() -> int:
    """A person's France Travail situation older than this is looked up again."""
    return _int_setting("AIGUILLAGE_FT_API_MAX_AGE_DAYS", 30)


def france_travail_api_limit() -> int:
    """At most this many people looked up, and this many orientations sent, in the France Travail API
    per logical day (what earlier runs of the day spent counts)."""
    return _int_setting("AIGUILLAGE_FT_API_LIMIT", 500)


def france_travail_agent() -> tuple[str, str, str]:
    """Who the France Travail API is told makes the calls (headers pa-identifiant-agent, pa-nom-agent,
    pa-prenom-agent). France Travail asks batch processes for "BATCH" and a logical batch name."""
    return (os.environ.get("AIGUILLAGE_FT_AGENT_ID") or "BATCH",
            os.environ.get("AIGUILLAGE_FT_AGENT_NOM") or "Aiguillage",
            os.environ.get("AIGUILLAGE_FT_AGENT_PRENOM") or "Aiguillage")


def configured_warehouse_url() -> str | None:
    """The warehouse URL set by the operator, or None when the embedded warehouse serves."""
    return os.environ.get(WAREHOUSE_URL_VAR) or None


def embedded_warehouse_serves() -> bool:
    """True when the warehouse is this home's embedded PostgreSQL: nothing configured, or the embedded
    server's own URL exported to child processes (the stack does so for its workers)."""
    url = configured_warehouse_url()
    if url is None:
        return True
    from aiguillage import embedded_pg  # deferred: a pure path computation, nothing is started

    return url == embedded_pg.url_for(home_dir())


def warehouse_url() -> str:
    """The URL of the warehouse, starting the embedded PostgreSQL when none is configured."""
    url = configured_warehouse_url()
    if url:
        return url
    from aiguillage import embedded_pg  # deferred: starting a server is not an import-time job

    return embedded_pg.ensure_running(home_dir()).url


@dataclass(frozen=True)
class PgParams:
    """A PostgreSQL URL broken into the fields dbt's profile and libpq want."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def as_env(self, prefix: str = "AIGUILLAGE_PG_") -> dict[str, str]:
        return {
            f"{prefix}HOST": self.host,
            f"{prefix}PORT": str(self.port),
            f"{prefix}USER": self.user,
            f"{prefix}PASSWORD": self.password,
            f"{prefix}DBNAME": self.dbname,
        }


def parse_pg_url(url: str) -> PgParams:
    """Split ``postgresql://user:pw@host:port/db?host=/socket/dir`` (the socket form is what the
    embedded server gives) into fields."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        raise ValueError(f"{WAREHOUSE_URL_VAR} must be a postgresql:// URL, got scheme {parts.scheme!r}")
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    return PgParams(
        host=unquote(host),
        port=parts.port or int(query.get("port", ["5432"])[0]),
        user=unquote(parts.username or query.get("user", ["postgres"])[0]),
        password=unquote(parts.password or ""),
        dbname=unquote(parts.path.lstrip("/") or "postgres"),
    )


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def airflow_env(warehouse: str | None = None) -> dict[str, str]:
    """Environment that points Airflow at this project: home, metadata DB and logs under
    ``$AIGUILLAGE_HOME``, DAGs from ``dags/``, plugins from ``plugins/``, examples off, and the
    warehouse connection derived from the one warehouse URL. Values already set win."""
    airflow_home = home_dir() / "airflow"
    env = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_dir()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # 2-core machines: the default of 32 wastes about 1 GB of RAM.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "True",
    }
    env = {key: os.environ.get(key, value) for key, value in env.items()}
    if warehouse:
        env["AIRFLOW_CONN_" + AIRFLOW_CONN_ID.upper()] = warehouse
    return env
