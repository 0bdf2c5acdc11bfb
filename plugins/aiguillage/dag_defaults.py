"""Defaults shared by every DAG of the project. Cheap to import: DAG files import it at parse time."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiguillage import config

TIMEZONE = "Europe/Paris"
# Daily runs start after the partners' overnight deliveries.
DAILY_SCHEDULE = "0 6 * * *"
START_DATE = datetime(2026, 1, 1)

# Asset URIs: the contracts between DAGs.
LANDING_REGISTRY_ASSET = "aiguillage://registry/landing_files"


def default_args() -> dict:
    return {
        "owner": "aiguillage",
        "retries": config.task_retries(),
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
    }


def day_of(logical_date: datetime) -> datetime.date:
    """The calendar day (Paris time) a run speaks for."""
    from zoneinfo import ZoneInfo

    return logical_date.astimezone(ZoneInfo(TIMEZONE)).date()
