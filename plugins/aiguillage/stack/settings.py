"""Where the local stack keeps its state and the environment its processes run with.

Settings (environment variables, all optional):
  AIGUILLAGE_CELERY_BROKER_URL   Redis URL of the Celery broker. Unset: redis://127.0.0.1:6379/0 when a
                                 Redis answers there, otherwise a redis-server started for the stack.
  AIGUILLAGE_AIRFLOW_DB_URL      PostgreSQL URL of Airflow's metadata database. Unset: a database
                                 ``aiguillage_airflow`` on the warehouse's server (created if missing).
  AIGUILLAGE_AIRFLOW_PORT        port of the api-server and web UI (default 8080).
  AIGUILLAGE_CELERY_WORKERS      Celery workers to start (default 1).
  AIGUILLAGE_CELERY_CONCURRENCY  task slots per worker (default 4; parallelism follows).
Other AIRFLOW__SECTION__KEY variables of the environment reach every process unchanged.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aiguillage import config, dag_defaults

METADATA_DB_NAME = "aiguillage_airflow"
ADMIN_USER = "admin"


@dataclass(frozen=True)
class StackSettings:
    home: Path
    port: int
    workers: int
    concurrency: int

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def state_file(self) -> Path:
        return self.home / "stack.json"

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.json"

    @property
    def passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def stack_settings(port: int | None = None, workers: int | None = None,
                   concurrency: int | None = None) -> StackSettings:
    return StackSettings(
        home=config.home_dir() / "stack",
        port=port or int(os.environ.get("AIGUILLAGE_AIRFLOW_PORT", 8080)),
        workers=workers or int(os.environ.get("AIGUILLAGE_CELERY_WORKERS", 1)),
        concurrency=concurrency or int(os.environ.get("AIGUILLAGE_CELERY_CONCURRENCY", 4)),
    )


def stack_secrets(settings: StackSettings) -> dict[str, str]:
    """The secrets every component must share (task tokens signed by one are checked by another) and the
    admin password: generated once, kept readable by the owner only, never in the repository."""
    if settings.secrets_file.exists():
        return json.loads(settings.secrets_file.read_text())
    from cryptography.fernet import Fernet

    values = {
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
        "fernet_key": Fernet.generate_key().decode(),
        "admin_password": secrets.token_urlsafe(16),
    }
    settings.home.mkdir(parents=True, exist_ok=True)
    _write_private(settings.secrets_file, json.dumps(values))
    return values


def admin_password(settings: StackSettings) -> str:
    return stack_secrets(settings)["admin_password"]


def write_passwords_file(settings: StackSettings) -> None:
    _write_private(settings.passwords_file, json.dumps({ADMIN_USER: admin_password(settings)}))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def sqlalchemy_url(pg_url: str) -> str:
    """postgresql:// URL (socket form included) -> the psycopg2 URL SQLAlchemy and Celery take."""
    params = config.parse_pg_url(pg_url)
    credentials = quote(params.user, safe="")
    if params.password:
        credentials += ":" + quote(params.password, safe="")
    if params.host.startswith("/"):  # unix socket
        return (f"postgresql+psycopg2://{credentials}@/{quote(params.dbname)}"
                f"?host={quote(params.host, safe='/')}&port={params.port}")
    return f"postgresql+psycopg2://{credentials}@{params.host}:{params.port}/{quote(params.dbname)}"


def stack_environment(settings: StackSettings, *, warehouse_url: str, metadata_url: str, broker_url: str,
                      landing_dir: Path | None = None, outbox_dir: Path | None = None,
                      schedules: bool = True) -> dict[str, str]:
    """The environment of every process of the stack (api-server, scheduler, ..., workers' tasks)."""
    values = stack_secrets(settings)
    metadata = sqlalchemy_url(metadata_url)
    env = {
        **config.airflow_env(warehouse_url),
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.airflow_home / "logs"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(settings.concurrency),
        # Small machines: as many task slots as the workers have, no more (32 by default wastes RAM).
        "AIRFLOW__CORE__PARALLELISM": str(settings.concurrency * settings.workers),
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.api_url}/execution/",
        "AIRFLOW__API__PORT": str(settings.port),
        "AIRFLOW__API__BASE_URL": settings.api_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": values["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": values["api_secret_key"],
        "AIRFLOW__CORE__FERNET_KEY": values["fernet_key"],
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(settings.passwords_file),
        "AIGUILLAGE_WAREHOUSE_URL": warehouse_url,
        # Scheduled runs retry (with backoff), unlike the command line's in-process runs.
        config.RETRIES_VAR: os.environ.get(config.RETRIES_VAR, "2"),
    }
    if not schedules:
        env[dag_defaults.SCHEDULES_VAR] = "off"
    if landing_dir is not None:
        env[config.LANDING_VAR] = str(landing_dir)
    if outbox_dir is not None:
        env[config.OUTBOX_VAR] = str(outbox_dir)
    return env
