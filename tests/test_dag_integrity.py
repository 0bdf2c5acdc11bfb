"""Every DAG file imports cleanly, fast, without touching the network or a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DAGS = REPO / "dags"
PARSE_BUDGET_SECONDS = 2.0  # per file, Airflow's own import excluded
EXPECTED_DAGS = {"landing_registry", "caf_ingestion", "france_travail_ingestion", "ali_ingestion",
                 "departement_ingestion", "referral_warehouse", "referral_extracts", "rgpd_retention"}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    airflow_home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'never-created.db'}",
    }
    result = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "integrity" / "parse_dags.py"), str(DAGS)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_import_errors(parsed):
    assert parsed["import_errors"] == {}


def test_expected_dags_are_found(parsed):
    assert EXPECTED_DAGS <= set(parsed["dags"])


def test_no_network_or_database_access_at_parse_time(parsed):
    assert parsed["forbidden_calls"] == []


def test_no_heavy_imports_at_parse_time(parsed):
    assert parsed["heavy_modules"] == []


def test_each_file_parses_within_budget(parsed):
    slow = {name: seconds for name, seconds in parsed["files"].items() if seconds > PARSE_BUDGET_SECONDS}
    assert slow == {}


def test_every_task_retries_with_backoff(parsed):
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["retries"] >= 1, f"{dag_id}.{task_id} has no retries"
            assert task["exponential_backoff"], f"{dag_id}.{task_id} retries without backoff"


def test_every_task_alerts_when_it_fails_for_good(parsed):
    for dag_id, dag in parsed["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["failure_callback"], f"{dag_id}.{task_id} fails silently"


def test_dags_follow_project_conventions(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert "aiguillage" in dag["tags"], dag_id
        assert dag["max_active_runs"] == 1, f"{dag_id}: runs of a day must not overlap"
        assert dag["catchup"] is False, dag_id
        assert dag["timezone"] == "Europe/Paris", dag_id


def test_dags_folder_holds_only_dag_files():
    for path in DAGS.iterdir():
        if path.name.startswith((".", "__")):
            continue
        assert path.suffix == ".py", f"{path.name}: logic belongs in plugins/aiguillage, not dags/"
        text = path.read_text()
        assert "import great_expectations" not in text.split("def ", 1)[0]
