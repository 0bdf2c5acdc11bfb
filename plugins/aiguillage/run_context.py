"""Which day a DAG run speaks for, and the settings it carries along the asset chain.

Only the first DAG of the day (``landing_registry``) has a logical date when the scheduler runs it:
Airflow 3 gives asset-triggered runs none. So every task that publishes an asset attaches the run's
day and settings to the asset event (:func:`event_extra`), and the runs it triggers read them back
(:func:`run_day`, :func:`run_settings`). A manual run may name its day in its configuration
(``{"day": "2026-11-04"}``), which wins over everything else.

Imported by DAG files at parse time: standard library only.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiguillage import dag_defaults

# Run settings that travel with the day, from the run's parameters to the runs it triggers.
CARRIED_SETTINGS = ("landing_dir", "outbox_dir", "stock")


class RunDayUnknown(RuntimeError):
    """The run has no day: no configured day, no logical date, no triggering event carrying one."""


def run_day(context) -> date:
    """The calendar day (Paris time) the run speaks for."""
    configured = (_conf(context) or {}).get("day")
    if configured:
        return date.fromisoformat(str(configured))
    logical_date = context.get("logical_date")
    if logical_date is not None:
        return dag_defaults.day_of(logical_date)
    days = sorted({extra["day"] for extra in _triggering_extras(context) if extra.get("day")})
    if len(days) == 1:
        return date.fromisoformat(days[0])
    if not days:
        raise RunDayUnknown(
            "this run has no day: trigger it with a logical date, or with {\"day\": \"YYYY-MM-DD\"} in its "
            "configuration, or let the upstream DAG's asset event trigger it"
        )
    raise RunDayUnknown(
        f"this run was triggered by asset events of several days ({', '.join(days)}): days must be run one "
        f"after the other; replay them with `aiguillage backfill` (see docs/runbook.md)"
    )


def run_moment(context) -> datetime:
    """Midnight (Paris) of the run's day: what the task bodies take as their logical date."""
    day = run_day(context)
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(dag_defaults.TIMEZONE))


def run_settings(context) -> dict:
    """landing_dir, outbox_dir and stock of the run: its own parameters when set, else those carried
    by the events that triggered it."""
    own = {**(context.get("params") or {}), **(_conf(context) or {})}
    inherited: dict = {}
    for extra in _triggering_extras(context):
        inherited.update({key: extra[key] for key in CARRIED_SETTINGS if extra.get(key) is not None})
    return {key: own.get(key) if own.get(key) not in (None, [], "") else inherited.get(key)
            for key in CARRIED_SETTINGS}


def event_extra(context) -> dict:
    """What a task attaches to the asset event it publishes: the day, the run settings, the run id."""
    settings = {key: value for key, value in run_settings(context).items() if value not in (None, [], "")}
    return {"day": run_day(context).isoformat(), "run_id": context.get("run_id"), **settings}


def _conf(context) -> dict | None:
    dag_run = context.get("dag_run")
    return getattr(dag_run, "conf", None) if dag_run is not None else None


def _triggering_extras(context) -> list[dict]:
    events = context.get("triggering_asset_events") or {}
    extras = []
    for asset in events:
        extras.extend(dict(event.extra or {}) for event in events[asset])
    return extras


def publish(context, asset) -> None:
    """Attach the run's day and settings to the event of ``asset`` this task publishes."""
    context["outlet_events"][asset].extra = event_extra(context)
