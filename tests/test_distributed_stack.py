"""The distributed stack runs a full day as production does.

api-server, scheduler, dag-processor, triggerer and a Celery worker are started by
``aiguillage stack start`` with Redis as the broker (the machine's, or a redis-server started for the
stack) and PostgreSQL for Airflow's metadata and Celery's results. ``aiguillage stack run`` triggers
the day's first DAG with its logical date; the other DAGs must follow through their assets, the tasks
must run on the Celery worker, and every receiving agency must get its extract.

Without Redis (none answering and no redis-server installed) the test is skipped and says why,
unless AIGUILLAGE_REQUIRE_STACK_TEST=1 (set by CI): then it fails.
"""

from __future__ import annotations

import json
import os
import time

import psycopg
import pytest

from aiguillage import embedded_pg
from aiguillage.pids import alive
from aiguillage.stack import broker
from aiguillage.stack.processes import metadata_db_url
from tests.conftest import run_cli

DAY = "2026-11-02"


def _redis_available() -> bool:
    return broker.redis_answers(broker.DEFAULT_BROKER) or broker.redis_server_binary() is not None


# As the README has a user run it: the embedded warehouse of a fresh home, Airflow's metadata beside it,
# and no pseudonymisation key (the embedded warehouse works with its development key).
USER_UNSET = ("AIGUILLAGE_WAREHOUSE_URL", "AIGUILLAGE_AIRFLOW_DB_URL", "AIGUILLAGE_PSEUDONYMISATION_KEY")


@pytest.fixture
def stack_env(tmp_path):
    if not _redis_available():
        message = "no Redis: none answers on 127.0.0.1:6379 and redis-server is not installed"
        if os.environ.get("AIGUILLAGE_REQUIRE_STACK_TEST") == "1":
            pytest.fail(message + " (AIGUILLAGE_REQUIRE_STACK_TEST=1)")
        pytest.skip(message)
    env = {"AIGUILLAGE_HOME": str(tmp_path / "home"), "AIGUILLAGE_AIRFLOW_PORT": str(broker.free_port())}
    if broker.redis_answers(broker.DEFAULT_BROKER):
        env["AIGUILLAGE_CELERY_BROKER_URL"] = "redis://127.0.0.1:6379/7"  # a database of its own
    yield env
    run_cli("stack", "stop", env=env, unset=USER_UNSET)
    run_cli("warehouse", "stop", env=env, unset=USER_UNSET)


def test_a_day_runs_through_the_celery_stack(tmp_path, stack_env):
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    synth = run_cli("synth", "--date", DAY, "--households", "120", "--landing", str(landing))
    assert synth.returncode == 0, synth.stdout + synth.stderr

    started = run_cli("stack", "start", "--no-schedules", "--landing", str(landing), "--outbox", str(outbox),
                      env=stack_env, timeout=300, unset=USER_UNSET)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "Web UI: http://127.0.0.1:" in started.stdout
    state_file = tmp_path / "home" / "stack" / "stack.json"
    pids = json.loads(state_file.read_text())["pids"]
    assert {"api-server", "scheduler", "dag-processor", "triggerer", "celery-worker-1"} <= set(pids)

    status = run_cli("stack", "status", env=stack_env, unset=USER_UNSET)
    assert status.returncode == 0 and "STOPPED" not in status.stdout, status.stdout

    ran = run_cli("stack", "run", "--date", DAY, "--timeout", "900", env=stack_env, timeout=1000, unset=USER_UNSET)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    for dag_id in ("landing_registry", "caf_ingestion", "ali_ingestion", "france_travail_ingestion",
                   "departement_ingestion", "referral_warehouse", "referral_extracts"):
        assert f"{DAY}: {dag_id} success" in ran.stdout, ran.stdout

    # Production's triggering: the first DAG by its logical date, every other one by its assets.
    warehouse_url = embedded_pg.url_for(tmp_path / "home")
    with psycopg.connect(metadata_db_url(warehouse_url)) as metadata:
        # Started with --no-schedules: no other run than the day's chain (no weekly purge, no 06:00 run).
        runs = dict(metadata.execute("SELECT dag_id, run_type FROM dag_run").fetchall())
        assert runs.pop("landing_registry") == "manual", runs
        assert set(runs.values()) == {"asset_triggered"} and len(runs) == 6, runs
        # ... and every task ran on the Celery worker: each task instance names its Celery task, whose
        # result the backend holds (written just after the task's state, hence the short wait).
        celery_ids = {row[0] for row in metadata.execute("SELECT external_executor_id FROM task_instance")}
        assert None not in celery_ids and len(celery_ids) > 10
        deadline = time.monotonic() + 30
        while True:
            done = {row[0] for row in metadata.execute(
                "SELECT task_id FROM celery_taskmeta WHERE status = 'SUCCESS'")}
            metadata.commit()
            if celery_ids <= done or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert celery_ids <= done, f"{len(celery_ids - done)} task instances have no Celery result"
        assert metadata.execute("SELECT count(*) FROM task_instance WHERE state <> 'success'").fetchone()[0] == 0
        instances = set(metadata.execute("SELECT dag_id, task_id, map_index FROM task_instance").fetchall())

    # The workers' task callbacks timed every task instance, for the run report (the last one's callback
    # may end just after the run is seen finished).
    conn = psycopg.connect(warehouse_url)
    deadline = time.monotonic() + 30
    while True:
        timed = set(conn.execute("SELECT dag_id, task_id, map_index FROM registry.task_run WHERE day = %s "
                                 "AND state = 'success'", (DAY,)).fetchall())
        conn.commit()
        if timed == instances or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert timed == instances

    # Every agency that receives extracts got its files for the day, each recorded once.
    receiving = {row[0] for row in conn.execute(
        "SELECT DISTINCT code_structure FROM registry.extract_outcome WHERE day = %s", (DAY,))}
    assert len(receiving) > 10
    delivered = conn.execute(
        "SELECT code_structure, count(*) FROM registry.extract_delivery WHERE day = %s GROUP BY 1", (DAY,)
    ).fetchall()
    assert {code for code, _ in delivered} == receiving
    for code in receiving:
        files = sorted(path.name for path in (outbox / code / DAY).iterdir())
        assert any(name.endswith(".csv") for name in files), (code, files)
    assert (outbox / "_runs" / DAY / "run_report.json").exists()

    conn.close()
    stopped = run_cli("stack", "stop", env=stack_env, timeout=180, unset=USER_UNSET)
    assert stopped.returncode == 0 and "celery-worker-1" in stopped.stdout
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert not state_file.exists()


def test_stack_commands_say_when_the_stack_is_not_running(tmp_path):
    env = {"AIGUILLAGE_HOME": str(tmp_path / "home")}
    status = run_cli("stack", "status", env=env)
    assert status.returncode == 1 and "not running" in status.stdout
    ran = run_cli("stack", "run", "--date", DAY, env=env)
    assert ran.returncode == 2 and "stack start" in ran.stdout
    stopped = run_cli("stack", "stop", env=env)
    assert stopped.returncode == 0 and "was not running" in stopped.stdout


@pytest.mark.skipif(broker.redis_server_binary() is None, reason="redis-server is not installed")
def test_without_a_redis_answering_the_stack_starts_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv(broker.BROKER_VAR, raising=False)
    monkeypatch.setattr(broker, "DEFAULT_BROKER", f"redis://127.0.0.1:{broker.free_port()}/0")
    url, pid = broker.find_or_start(tmp_path / "redis", tmp_path / "redis.log")
    try:
        assert pid is not None and url != broker.DEFAULT_BROKER
        assert broker.redis_answers(url)
    finally:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
    assert not broker.redis_answers(url)


def test_a_configured_broker_that_does_not_answer_is_named_without_its_password(monkeypatch, tmp_path):
    monkeypatch.setenv(broker.BROKER_VAR, f"redis://:s3cret@127.0.0.1:{broker.free_port()}/0")
    with pytest.raises(broker.NoBroker) as error:
        broker.find_or_start(tmp_path / "redis", tmp_path / "redis.log")
    assert "s3cret" not in str(error.value) and ":***@" in str(error.value)
