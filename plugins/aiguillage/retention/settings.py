"""The retention periods, read from the environment (standard library only: the DAG file imports it)."""

from __future__ import annotations

import os
from datetime import date

MONTHS_VAR = "AIGUILLAGE_RETENTION_MONTHS"
EXTRACT_MONTHS_VAR = "AIGUILLAGE_RETENTION_EXTRACT_MONTHS"
DRY_RUN_VAR = "AIGUILLAGE_RETENTION_DRY_RUN"

DEFAULT_MONTHS = 24


def _months(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    # A typo must stop the purge, not fall back to a period nobody chose.
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of months, at least 1")
    return int(raw)


def retention_months() -> int:
    """Months a person's data is kept after their rights closed and their last referral ended."""
    return _months(MONTHS_VAR, DEFAULT_MONTHS)


def extract_months() -> int:
    """Months a delivered extract (CSV, manifest, staged copy) is kept; the person period when unset."""
    return _months(EXTRACT_MONTHS_VAR, retention_months())


def dry_run_default() -> bool:
    return os.environ.get(DRY_RUN_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def months_before(day: date, months: int) -> date:
    """``day`` minus whole months, the day clamped to the target month's end (31 March - 1 = 28/29 Feb)."""
    month_index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - date(year, month, 1)).days
    return date(year, month, min(day.day, last_day))
