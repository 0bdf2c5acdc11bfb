from pathlib import Path

import pytest

from aiguillage import config


def test_parse_tcp_url():
    params = config.parse_pg_url("postgresql://agent:s%40cret@db.example:6543/warehouse")
    assert (params.host, params.port, params.user, params.password, params.dbname) == (
        "db.example", 6543, "agent", "s@cret", "warehouse")


def test_parse_socket_url_of_embedded_server():
    params = config.parse_pg_url("postgresql://postgres@/aiguillage?host=/tmp/x/run")
    assert params.host == "/tmp/x/run"
    assert params.port == 5432
    assert params.dbname == "aiguillage"
    assert params.password == ""


def test_rejects_non_postgres_url():
    with pytest.raises(ValueError, match="AIGUILLAGE_WAREHOUSE_URL"):
        config.parse_pg_url("mysql://root@localhost/db")


def test_redact_hides_password():
    assert config.redact_url("postgresql://u:topsecret@h/db") == "postgresql://u:***@h/db"
    assert "topsecret" not in config.redact_url("postgresql://u:topsecret@h:5432/db")


def test_home_defaults_to_checkout(monkeypatch):
    monkeypatch.delenv("AIGUILLAGE_HOME", raising=False)
    assert config.home_dir() == Path(__file__).resolve().parent.parent / ".aiguillage"


def test_configured_url_wins_and_reaches_airflow(monkeypatch):
    monkeypatch.setenv("AIGUILLAGE_WAREHOUSE_URL", "postgresql://u:p@warehouse:5432/w")
    assert config.warehouse_url() == "postgresql://u:p@warehouse:5432/w"
    env = config.airflow_env(config.warehouse_url())
    assert env["AIRFLOW_CONN_AIGUILLAGE_WAREHOUSE"] == "postgresql://u:p@warehouse:5432/w"


def test_airflow_lives_under_home(monkeypatch, tmp_path):
    monkeypatch.setenv("AIGUILLAGE_HOME", str(tmp_path))
    for key in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__DAGS_FOLDER",
                "AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__LOGGING__BASE_LOG_FOLDER"):
        monkeypatch.delenv(key, raising=False)
    env = config.airflow_env()
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}"
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"].startswith(str(tmp_path))
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"].endswith("/dags")
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"].endswith("/plugins")


def test_task_retries_setting(monkeypatch):
    monkeypatch.setenv("AIGUILLAGE_TASK_RETRIES", "0")
    assert config.task_retries() == 0
    monkeypatch.setenv("AIGUILLAGE_TASK_RETRIES", "not a number")
    assert config.task_retries() == 2
