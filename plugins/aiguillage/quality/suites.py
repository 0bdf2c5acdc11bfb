"""The suites as reviewable JSON files (folder ``expectations/``), read at run time.

A suite file holds GX 1.x expectation configurations (``type``, ``kwargs``, ``meta``). Each
expectation's ``meta.severity`` ("blocking" or "warning") decides the gate. Two kinds of run-time
values: ``{"$PARAMETER": name}`` suite parameters, filled from reference data at validation time,
and ``{day}``, ``{min_ratio}``, ``{max_ratio}``, ``{agencies}`` placeholders inside
``unexpected_rows_query`` texts, replaced by SQL literals before the suite is built (``{batch}``
is Great Expectations' own).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from aiguillage import config

EXPECTATIONS_DIR_VAR = "AIGUILLAGE_EXPECTATIONS_DIR"
DAY_SUITE = "extract_day"
AGENCY_SUITE = "extract_agency"
SOURCE_SUITES = {"caf": "source_caf", "france_travail": "source_france_travail", "ali": "source_ali"}
SEVERITIES = ("blocking", "warning")
PLACEHOLDERS = ("day", "min_ratio", "max_ratio", "agencies")


def expectations_dir() -> Path:
    """The suites' folder: ``$AIGUILLAGE_EXPECTATIONS_DIR``, else ``expectations/`` of the checkout."""
    configured = os.environ.get(EXPECTATIONS_DIR_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    checkout = config.checkout_dir()
    if checkout is None:
        raise FileNotFoundError(
            f"no expectations folder: set {EXPECTATIONS_DIR_VAR} (the package runs outside a checkout)"
        )
    return checkout / "expectations"


def load_suite(name: str, folder: Path | None = None) -> dict:
    """One suite file, checked: every expectation says its severity."""
    path = (folder or expectations_dir()) / f"{name}.json"
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"suite file {path} is missing") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"suite file {path} is not valid JSON: {error}") from None
    if suite.get("name") != name:
        raise ValueError(f"suite file {path}: 'name' must be {name!r}")
    for number, expectation in enumerate(suite.get("expectations", []), start=1):
        severity = (expectation.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise ValueError(
                f"suite file {path}, expectation {number} ({expectation.get('type')}): "
                f"meta.severity must be one of {SEVERITIES}, got {severity!r}"
            )
    return suite


def parameter_names(suite: dict) -> set[str]:
    """Names of the ``$PARAMETER`` suite parameters a suite uses."""
    names: set[str] = set()
    for expectation in suite["expectations"]:
        for value in expectation["kwargs"].values():
            if isinstance(value, dict) and "$PARAMETER" in value:
                names.add(value["$PARAMETER"])
    return names


def fill_placeholders(suite: dict, literals: dict[str, str]) -> dict:
    """A copy of the suite whose queries carry the run's SQL literals instead of placeholders."""
    filled = copy.deepcopy(suite)
    for expectation in filled["expectations"]:
        query = expectation["kwargs"].get("unexpected_rows_query")
        if isinstance(query, str):
            for name in PLACEHOLDERS:
                if "{" + name + "}" in query:
                    if name not in literals:
                        raise ValueError(f"suite {suite['name']}: no value for placeholder {{{name}}}")
                    query = query.replace("{" + name + "}", literals[name])
            expectation["kwargs"]["unexpected_rows_query"] = query
    return filled


def without_checks(suite: dict, checks: set[str]) -> dict:
    """A copy of the suite without the expectations whose ``meta.check`` is in ``checks``."""
    kept = copy.deepcopy(suite)
    kept["expectations"] = [e for e in kept["expectations"] if e["meta"].get("check") not in checks]
    return kept
