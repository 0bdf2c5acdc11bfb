"""Defaults shared by every DAG of the project. Cheap to import: DAG files import it at parse time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from aiguillage import config

TIMEZONE = "Europe/Paris"
# Daily runs start after the partners' overnight deliveries.
DAILY_SCHEDULE = "0 6 * * *"
# "off": no DAG starts on its own; runs happen only when triggered (a replay stack, a test stack).
SCHEDULES_VAR = "AIGUILLAGE_SCHEDULES"
# The earliest day any DAG runs for: the RSA exists since 1 June 2009 (loi du 1er décembre 2008), so a
# département's archived flows can be replayed from then on. Airflow creates no task instance for a
# logical date before a DAG's start date (the run would "succeed" doing nothing): the commands refuse
# such a day up front (:func:`earliest_day_refusal`).
START_DATE = datetime(2009, 6, 1)

# Asset URIs: the contracts between DAGs.
LANDING_REGISTRY_ASSET = "aiguillage://registry/landing_files"
RAW_CAF_ASSET = "aiguillage://raw/caf"
RAW_FRANCE_TRAVAIL_ASSET = "aiguillage://raw/france_travail"
RAW_ALI_ASSET = "aiguillage://raw/ali"
RAW_DEPARTEMENT_ASSET = "aiguillage://raw/departement"
REFERRAL_WAREHOUSE_ASSET = "aiguillage://warehouse/referrals"

# Bounds concurrent calls to the France Travail partner API across all runs.
FRANCE_TRAVAIL_API_POOL = "france_travail_api"
FRANCE_TRAVAIL_API_POOL_SLOTS = 2
FRANCE_TRAVAIL_API_CONN_ID = "france_travail_api"


def default_args() -> dict:
    # Standard library only: cheap at parse time.
    from aiguillage.alerts.task_failure import on_task_failure
    from aiguillage.failed_day import write_after_failure
    from aiguillage.observability.task_runs import record_failure, record_retry, record_success

    return {
        "owner": "aiguillage",
        # Each try's timing goes to registry.task_run (the run report's task durations); recorded before
        # the alert is sent, so that a slow alert channel cannot lose it. Then a day that stops before
        # the extracts still gets its run report, written from what was recorded.
        "on_success_callback": [record_success],
        "on_retry_callback": [record_retry],
        "on_failure_callback": [record_failure, on_task_failure, write_after_failure],
        "retries": config.task_retries(),
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
    }


def cron_schedule(expression: str) -> str | None:
    """A DAG's time schedule, unless schedules are turned off (``AIGUILLAGE_SCHEDULES=off``): on a stack
    started to replay past days, the scheduler must not start today's run by itself."""
    import os

    return None if os.environ.get(SCHEDULES_VAR, "on").lower() == "off" else expression


def earliest_day_refusal(day: date) -> str | None:
    """Why ``day`` cannot be run (it is before the earliest day), or None when it can."""
    if day >= START_DATE.date():
        return None
    return (f"{day} is before {START_DATE.date()}, the earliest day the pipeline runs for (the RSA exists "
            f"since that day): nothing was run")


def day_of(logical_date: datetime) -> date:
    """The calendar day (Paris time) a run speaks for."""
    from zoneinfo import ZoneInfo

    return logical_date.astimezone(ZoneInfo(TIMEZONE)).date()


def dag_arguments(*, tags: list[str], doc_md: str | None, params: dict | None = None) -> dict:
    """Keyword arguments every DAG of the project shares: one run at a time, no catch-up, Paris time.
    (The schedule stays explicit in each DAG, where a reader looks for it.)"""
    import pendulum

    return {
        "start_date": pendulum.instance(START_DATE, tz=TIMEZONE),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": default_args(),
        "params": {"landing_dir": None, **(params or {})},
        "tags": ["aiguillage", *tags],
        "doc_md": doc_md,
    }
