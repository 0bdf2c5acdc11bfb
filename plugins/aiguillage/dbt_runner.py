"""Run dbt on the configured warehouse, in-process, with the profile derived from the one URL."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiguillage import config


@dataclass
class DbtResult:
    success: bool
    failures: list[str]
    warnings: list[str] = field(default_factory=list)


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
    failures, warnings = [], []
    if result.result is not None and hasattr(result.result, "results"):
        for node_result in result.result.results:
            status = str(node_result.status)
            if status in ("error", "fail", "runtime error"):
                failures.append(f"{node_result.node.unique_id}: {status}")
            elif status == "warn":
                warnings.append(f"{node_result.node.unique_id}: {status}")
    if result.exception is not None:
        failures.append(f"dbt raised: {result.exception}")
    return DbtResult(success=bool(result.success), failures=failures, warnings=warnings)


def target_dir():
    """Where dbt writes its artifacts (manifest, run results, the static docs site)."""
    return config.home_dir() / "dbt" / "target"
