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
