"""dbt reads the same warehouse setting as everything else and builds on the real PostgreSQL."""

from __future__ import annotations

import pytest

from aiguillage import dbt_runner
from aiguillage.config import home_dir as config_home
from aiguillage.landing.registry import scan_and_record

pytestmark = pytest.mark.slow


def test_dbt_builds_the_registry_staging_model_on_the_configured_warehouse(conn, tmp_path):
    from datetime import date

    landing = tmp_path / "landing"
    (landing / "france_travail").mkdir(parents=True)
    (landing / "france_travail" / "stock_20261102.csv").write_text("nir;identifiantpe\n")
    (landing / "france_travail" / "stock_copy_20261102.csv").write_text("nir;identifiantpe\n")
    scan_and_record(conn, landing, date(2026, 11, 2), "run-1")
    conn.commit()

    result = dbt_runner.run(["build", "--select", "stg_registry__landing_files"])
    assert result.success, result.failures

    # RSA data: dbt's anonymous usage tracking is off (dbt_project.yml's flags), so nothing leaves.
    import dbt.tracking

    assert dbt.tracking.active_user is None or dbt.tracking.active_user.do_not_track
    assert not (config_home() / "dbt" / "logs" / "dbt.log").read_text().count("Sending event")

    rows = conn.execute(
        "SELECT relative_path, partner, status FROM staging.stg_registry__landing_files ORDER BY 1").fetchall()
    assert rows == [("france_travail/stock_20261102.csv", "france_travail", "registered"),
                    ("france_travail/stock_copy_20261102.csv", "france_travail", "duplicate")]


def test_profile_has_no_credentials_of_its_own():
    from aiguillage import config

    text = (config.dbt_project_dir() / "profiles.yml").read_text()
    for key in ("host", "port", "user", "password", "dbname"):
        line = next(line for line in text.splitlines() if line.strip().startswith(f"{key}:"))
        assert "env_var('AIGUILLAGE_PG_" in line, line


def test_the_build_day_reaches_the_models_without_reparsing_the_project(conn):
    # The day is read from the warehouse when models compile (macros/run_day.sql): a dbt var changing
    # every day would make dbt parse the whole project again every day.
    from datetime import date

    from aiguillage import warehouse

    log_file = config_home() / "dbt" / "logs" / "dbt.log"
    compiled, logged = {}, {}
    for day in (date(2026, 11, 2), date(2026, 11, 3)):
        warehouse.set_build_day(conn, day)
        start = log_file.stat().st_size if log_file.exists() else 0
        result = dbt_runner.run(["compile", "--select", "int_destinations__sectorisation"])
        assert result.success, result.failures
        (path,) = (dbt_runner.target_dir() / "compiled").rglob("int_destinations__sectorisation.sql")
        compiled[day] = path.read_text()
        logged[day] = log_file.read_bytes()[start:].decode("utf-8", errors="replace")
    assert "date '2026-11-02'" in compiled[date(2026, 11, 2)]
    assert "date '2026-11-03'" in compiled[date(2026, 11, 3)] and "2026-11-02" not in compiled[date(2026, 11, 3)]
    assert "Unable to do partial parsing" not in logged[date(2026, 11, 3)]
    assert "skipping parsing" in logged[date(2026, 11, 3)]
