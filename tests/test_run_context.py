"""The day of a run and its settings, whether it was scheduled, triggered by hand or by assets."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pendulum
import pytest

from aiguillage import run_context
from aiguillage.dag_defaults import LANDING_REGISTRY_ASSET


def _events(*extras: dict) -> dict:
    # The shape of Airflow's triggering_asset_events: asset -> events, each with its extra.
    return {LANDING_REGISTRY_ASSET: [SimpleNamespace(extra=extra) for extra in extras]}


def test_a_scheduled_run_speaks_for_its_logical_date_in_paris():
    # 23:30 UTC on the 3rd is already the 4th in Paris.
    context = {"logical_date": pendulum.datetime(2026, 11, 3, 23, 30, tz="UTC"), "params": {}}
    assert run_context.run_day(context) == date(2026, 11, 4)
    assert run_context.run_moment(context).isoformat() == "2026-11-04T00:00:00+01:00"


def test_a_day_in_the_configuration_wins():
    context = {"logical_date": pendulum.datetime(2026, 11, 27, 6, tz="Europe/Paris"),
               "dag_run": SimpleNamespace(conf={"day": "2026-11-04"})}
    assert run_context.run_day(context) == date(2026, 11, 4)


def test_an_asset_triggered_run_takes_the_day_of_its_events():
    context = {"logical_date": None, "triggering_asset_events": _events({"day": "2026-11-05"})}
    assert run_context.run_day(context) == date(2026, 11, 5)


def test_events_of_several_days_are_refused_naming_them():
    context = {"logical_date": None,
               "triggering_asset_events": _events({"day": "2026-11-05"}, {"day": "2026-11-06"})}
    with pytest.raises(run_context.RunDayUnknown, match="2026-11-05, 2026-11-06"):
        run_context.run_day(context)


def test_a_run_without_any_day_says_how_to_give_one():
    with pytest.raises(run_context.RunDayUnknown, match="day"):
        run_context.run_day({"logical_date": None})


def test_settings_travel_along_the_asset_chain_and_own_parameters_win():
    upstream = {"logical_date": pendulum.datetime(2026, 11, 4, 6, tz="Europe/Paris"), "run_id": "manual__x",
                "params": {"landing_dir": "/data/landing"},
                "dag_run": SimpleNamespace(conf={"stock": ["ALI01"]})}
    extra = run_context.event_extra(upstream)
    assert extra == {"day": "2026-11-04", "run_id": "manual__x", "landing_dir": "/data/landing", "stock": ["ALI01"]}

    downstream = {"logical_date": None, "params": {"outbox_dir": "/data/outbox", "stock": []},
                  "triggering_asset_events": _events(extra)}
    assert run_context.run_day(downstream) == date(2026, 11, 4)
    assert run_context.run_settings(downstream) == {
        "landing_dir": "/data/landing", "outbox_dir": "/data/outbox", "stock": ["ALI01"]}
