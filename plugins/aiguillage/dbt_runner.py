"""Run dbt on the configured warehouse, in-process, with the profile derived from the one URL."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

from aiguillage import config


@dataclass
class DbtResult:
    success: bool
    failures: list[str]


@contextmanager
def _profile_environment():
    """Expose the warehouse URL's parts to profiles.yml for the duration of the call only."""
    params = config.parse_pg_url(config.warehouse_url())
    saved = {key: os.environ.get(key) for key in params.as_env()}
    os.environ.update(params.as_env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(args: list[str]) -> DbtResult:
    """``dbt <args>`` against the project, writing target/ and logs/ under ``$AIGUILLAGE_HOME``."""
    from dbt.cli.main import dbtRunner

    project = config.dbt_project_dir()
    state = config.home_dir() / "dbt"
    with _profile_environment():
        result = dbtRunner().invoke(
            [*args, "--project-dir", str(project), "--profiles-dir", str(project),
             "--target-path", str(state / "target"), "--log-path", str(state / "logs")]
        )
    failures = []
    if result.result is not None and hasattr(result.result, "results"):
        failures = [f"{r.node.unique_id}: {r.status}" for r in result.result.results
                    if str(r.status) in ("error", "fail")]
    if result.exception is not None:
        failures.append(f"dbt raised: {result.exception}")
    return DbtResult(success=bool(result.success), failures=failures)
