"""The quality gate: Great Expectations suites run on the day's extract lines and loaded sources
before any agency receives its extract.

Importing this package is cheap (no Great Expectations, no pandas): DAG files may import it, and
the gate imports Great Expectations inside :func:`run_gate`, once per run.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path


def run_gate(day: date, agencies: list[str], *, url: str | None = None, docs_dir: Path,
             run_id: str = "manual", sources: bool = True) -> dict:
    """Validate the day; see :func:`aiguillage.quality.gate.run_gate`."""
    from aiguillage.quality.gate import run_gate as _run_gate

    return _run_gate(day, agencies, url=url, docs_dir=docs_dir, run_id=run_id, sources=sources)


__all__ = ["run_gate"]
