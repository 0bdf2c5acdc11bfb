"""Log lines a data engineer can follow: each one says which run, day, DAG and task it belongs to.

``run_log(__name__)`` gives a logger whose lines start with ``run_id=… day=… dag=… task=…``, read from
the Airflow task being run (nothing is added outside a task, e.g. in a unit test), then any fields the
caller fixes (``source=caf``). :func:`fields` formats the rest of a summary line as ``key=value`` pairs,
so that ``grep 'file=caf/VRSB0801_931_20261104_I.xml'`` finds every line about one file.

What goes into these lines is counts, codes, states and file names only, never a value read from a
partner file: they end up in Airflow's task logs and in ``$AIGUILLAGE_HOME/logs/airflow-runs.log``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

from aiguillage.landing.names import printable


def _current_context():
    # Only a process that runs tasks has imported the Task SDK: elsewhere there is no task to name.
    if "airflow.sdk" not in sys.modules:
        return None
    try:
        from airflow.sdk import get_current_context

        return get_current_context()
    except Exception:  # not inside a task
        return None


def task_fields() -> dict[str, str]:
    """run_id, day, dag and task (with the mapped instance's name) of the task being run; {} outside one."""
    context = _current_context()
    if not context:
        return {}
    found: dict[str, str] = {}
    if context.get("run_id"):
        found["run_id"] = str(context["run_id"])
    try:
        from aiguillage.run_context import run_day

        found["day"] = run_day(context).isoformat()
    except Exception:  # a run without a day says so in its own error
        pass
    ti = context.get("ti")
    if ti is not None:
        found["dag"] = str(ti.dag_id)
        task = str(ti.task_id)
        map_index = getattr(ti, "map_index", -1)
        if map_index is not None and map_index >= 0:
            task += f"[{getattr(ti, 'rendered_map_index', None) or context.get('code_structure') or map_index}]"
        found["task"] = task
    return found


def _text(value) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{key}:{_text(item)}" for key, item in value.items()) or "-"
    if isinstance(value, list | tuple | set):
        return ",".join(_text(item) for item in value) or "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    # Escaped: a value may be a file name, and a name can hold a line break (a forged log line).
    text = "-" if value is None or value == "" else printable(str(value))
    return text if " " not in text else f'"{text}"'


def fields(**values) -> str:
    """``key=value`` pairs in the order given; dicts as ``k:v,k:v``, empty values as ``-``."""
    return " ".join(f"{key}={_text(value)}" for key, value in values.items())


class RunLogAdapter(logging.LoggerAdapter):
    """Prefixes each line with the run's fields, then the fields fixed at creation."""

    def process(self, msg, kwargs):
        prefix = fields(**{**task_fields(), **(self.extra or {})})
        return (f"{prefix} {msg}" if prefix else msg), kwargs


def run_log(name: str, **fixed) -> RunLogAdapter:
    """A logger for ``name`` whose lines name the run, the day, the DAG and the task (and ``fixed``)."""
    return RunLogAdapter(logging.getLogger(name), fixed)
