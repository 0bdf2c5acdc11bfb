"""Start, watch and stop the stack's processes. Their pids are kept in ``<stack home>/stack.json``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aiguillage import config, dag_defaults
from aiguillage.pids import alive
from aiguillage.stack import broker
from aiguillage.stack.api import AirflowApi
from aiguillage.stack.settings import (
    ADMIN_USER,
    METADATA_DB_NAME,
    StackSettings,
    admin_password,
    stack_environment,
    write_passwords_file,
)

# Long-running Airflow components, one process each; the Celery workers come on top.
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
START_TIMEOUT = 180.0


class StackError(RuntimeError):
    pass


@dataclass
class StackState:
    api_url: str
    pids: dict[str, int] = field(default_factory=dict)
    redis_pid: int | None = None
    broker_url: str = ""
    landing_dir: str | None = None
    outbox_dir: str | None = None
    pinned_embedded_warehouse: bool = False
    schedules: bool = True


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def read_state(settings: StackSettings) -> StackState | None:
    if not settings.state_file.exists():
        return None
    return StackState(**json.loads(settings.state_file.read_text()))


def running_components(state: StackState) -> dict[str, bool]:
    return {name: alive(pid) for name, pid in state.pids.items()}


def metadata_db_url(warehouse_url: str) -> str:
    """Airflow's metadata database: configured, or ``aiguillage_airflow`` beside the warehouse."""
    configured = os.environ.get("AIGUILLAGE_AIRFLOW_DB_URL")
    if configured:
        return configured
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (METADATA_DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{METADATA_DB_NAME}"')
    parts = urlsplit(warehouse_url)
    return urlunsplit(parts._replace(path="/" + METADATA_DB_NAME))


def start(settings: StackSettings, *, landing_dir: Path | None, outbox_dir: Path | None, schedules: bool = True,
          progress: Callable[[str], None] = print) -> StackState:
    """Start every component in the background. ``schedules=False``: no DAG starts on its own (to replay
    past days without the scheduler also starting today's run)."""
    existing = read_state(settings)
    if existing and any(running_components(existing).values()):
        raise StackError(f"the stack is already running (UI {existing.api_url}); `aiguillage stack stop` first")
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    pinned = False
    if config.configured_warehouse_url() is None:
        from aiguillage import embedded_pg

        embedded_pg.pin(config.home_dir())  # the tasks of every worker use it until `stack stop`
        pinned = True
    warehouse_url = config.warehouse_url()
    metadata_url = metadata_db_url(warehouse_url)
    broker_url, redis_pid = broker.find_or_start(settings.home / "redis", settings.logs_dir / "redis.log")
    state = StackState(api_url=settings.api_url, redis_pid=redis_pid, broker_url=broker_url,
                       landing_dir=str(landing_dir) if landing_dir else None,
                       outbox_dir=str(outbox_dir) if outbox_dir else None, pinned_embedded_warehouse=pinned,
                       schedules=schedules)
    _save(settings, state)
    env = {**os.environ, **stack_environment(settings, warehouse_url=warehouse_url, metadata_url=metadata_url,
                                             broker_url=broker_url, landing_dir=landing_dir, outbox_dir=outbox_dir,
                                             schedules=schedules)}
    write_passwords_file(settings)
    progress(f"Airflow metadata database: {config.redact_url(metadata_url)}; broker {broker._redacted(broker_url)}")
    progress("Migrating Airflow's metadata database ...")
    migrate_log = settings.logs_dir / "db-migrate.log"
    with open(migrate_log, "ab") as log:
        migrated = subprocess.run([_airflow(), "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT)
    if migrated.returncode != 0:
        stop(settings)
        raise StackError(f"`airflow db migrate` failed; see {migrate_log}")
    commands = {name: [_airflow(), name] for name in COMPONENTS}
    commands["api-server"] += ["--port", str(settings.port), "--host", "127.0.0.1"]
    for number in range(1, settings.workers + 1):
        # Task logs are on this machine's disk, read directly by the api-server: no log server needed.
        commands[f"celery-worker-{number}"] = [
            _airflow(), "celery", "worker", "--concurrency", str(settings.concurrency),
            "--celery-hostname", f"aiguillage-{number}@%h", "--skip-serve-logs"]
    for name, command in commands.items():
        with open(settings.logs_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        state.pids[name] = process.pid
        _save(settings, state)
    progress(f"Started {', '.join(commands)}; waiting for the api-server on {settings.api_url} ...")
    try:
        api = client(settings)
        api.wait_until_healthy(START_TIMEOUT, alive=lambda: all(running_components(state).values()))
        api.ensure_pool(dag_defaults.FRANCE_TRAVAIL_API_POOL, dag_defaults.FRANCE_TRAVAIL_API_POOL_SLOTS,
                        "Concurrent calls to the France Travail partner API")
        _wait_for_dags(api, state, progress)
    except Exception as error:
        dead = [name for name, up in running_components(state).items() if not up]
        stop(settings)
        hint = f" ({', '.join(dead)} exited: see {settings.logs_dir})" if dead else f" (logs: {settings.logs_dir})"
        raise StackError(f"the stack did not start: {error}{hint}") from error
    return state


def _wait_for_dags(api: AirflowApi, state: StackState, progress: Callable[[str], None]) -> None:
    """Wait until the dag-processor has parsed the project's DAGs, then make sure none is paused (a DAG
    registered paused earlier keeps that state whatever DAGS_ARE_PAUSED_AT_CREATION says)."""
    from aiguillage.runner import DAILY_DAGS

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        errors = api.import_errors()
        if errors:
            details = "; ".join(f"{error['filename']}: {error['stack_trace'].strip().splitlines()[-1]}"
                                for error in errors)
            raise StackError(f"DAG files failed to import: {details}")
        found = api.dag_ids()
        if set(DAILY_DAGS) <= found:
            break
        if time.monotonic() > deadline:
            raise StackError(f"DAGs not parsed after {START_TIMEOUT:.0f} s: {sorted(set(DAILY_DAGS) - found)}")
        if not all(running_components(state).values()):
            raise StackError("a component exited while the DAGs were being parsed")
        time.sleep(1)
    for dag_id in DAILY_DAGS:
        api.unpause(dag_id)
    progress(f"DAGs ready: {', '.join(sorted(found))}")


def client(settings: StackSettings) -> AirflowApi:
    return AirflowApi(settings.api_url, ADMIN_USER, admin_password(settings))


def stop(settings: StackSettings, grace: float = 60.0) -> list[str]:
    """Stop every process of the stack: SIGTERM (Celery workers finish their tasks: warm shutdown),
    then SIGKILL after ``grace`` seconds. Returns the names of the processes that were running."""
    state = read_state(settings)
    if state is None:
        return []
    pids = dict(state.pids)
    if state.redis_pid:
        pids["redis-server"] = state.redis_pid
    running = [name for name, pid in pids.items() if alive(pid)]
    # Workers and the scheduler first, so that no new task starts while the others stop.
    order = sorted(running, key=_stop_rank)
    for name in order:
        _signal_group(pids[name], signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pids[name]) for name in running):
        _reap()
        time.sleep(0.2)
    for name in running:
        if alive(pids[name]):
            _signal_group(pids[name], signal.SIGKILL)
    _reap()
    if state.pinned_embedded_warehouse:
        from aiguillage import embedded_pg

        embedded_pg.stop(config.home_dir())
    settings.state_file.unlink(missing_ok=True)
    return running


def _stop_rank(name: str) -> int:
    """Scheduler and workers first (no new task starts), the broker last."""
    if name == "scheduler" or name.startswith("celery"):
        return 0
    return 2 if name == "redis-server" else 1


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the component and the task processes it started
    except ProcessLookupError:
        pass


def _reap() -> None:
    """Collect exited children (when the stack was started by this same process, e.g. in tests)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _save(settings: StackSettings, state: StackState) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.state_file.write_text(json.dumps(asdict(state), indent=2) + "\n")
