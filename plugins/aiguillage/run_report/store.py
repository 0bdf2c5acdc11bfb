"""Write a run report beside the day's other records: ``<outbox>/_runs/<day>/run_report.{json,html}``.

Each file is written to a temporary name and renamed into place, so a reader never sees half a
report and a rerun of the day simply replaces both.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from aiguillage.run_report.collect import plain
from aiguillage.run_report.render import render

RUNS_FOLDER = "_runs"
JSON_NAME = "run_report.json"
HTML_NAME = "run_report.html"


def report_dir(outbox: Path, day: date | str) -> Path:
    return Path(outbox) / RUNS_FOLDER / (day.isoformat() if isinstance(day, date) else str(day))


def html_path(outbox: Path, day: date | str) -> Path:
    """Where the day's HTML report is (or will be)."""
    return report_dir(outbox, day) / HTML_NAME


def _replace(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write(report: dict, outbox: Path) -> tuple[Path, Path]:
    """Write ``report`` as JSON (sorted keys, ISO dates) and HTML; returns (json path, html path)."""
    try:
        day = date.fromisoformat(str(plain(report.get("day"))))
    except ValueError as error:
        raise ValueError(f"run report: 'day' must be a date (YYYY-MM-DD), got {report.get('day')!r}") from error
    if not Path(outbox).is_dir():
        raise FileNotFoundError(f"run report: outbox {outbox} does not exist or is not a folder")
    folder = report_dir(outbox, day)
    folder.mkdir(parents=True, exist_ok=True)
    data = plain(report)
    json_path, html_path = folder / JSON_NAME, folder / HTML_NAME
    _replace(json_path, json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n")
    _replace(html_path, render(data, folder))
    return json_path, html_path
