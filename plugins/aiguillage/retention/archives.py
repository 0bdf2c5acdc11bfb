"""Delivered extract files past their period: the agencies' day folders of the outbox, the staged
copies and the archived copies kept for re-delivery: ``<outbox>/<code_structure>/<YYYY-MM-DD>/``,
``<outbox>/.staging/<code_structure>/<YYYY-MM-DD>/`` and ``<outbox>/_archive/<code_structure>/<YYYY-MM-DD>/``
(aiguillage.extracts.files), and the orientation team's morning lists, ``<outbox>/_departement/<YYYY-MM-DD>/``
(aiguillage.extracts.waiting_proposals: CAF allocataire numbers). A folder goes whole (CSV, manifest,
any leftover temporary file) when its day is before the cut-off. Nothing else of the outbox is touched: the run reports under
``_runs/`` hold counts, not people. The delivery records stay, marked ``archive_purged_on``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

# Beside the agencies' own folders: the staged copies, and the copies kept for re-delivery.
COPIES = (".staging", "_archive")
# The orientation team's lists: day folders straight under it.
TEAM_LISTS = "_departement"
_CODE = re.compile(r"^[A-Z0-9]{2,12}\Z")  # the agency codes of aiguillage.extracts.files


@dataclass
class ArchiveCounts:
    folders: list[Path] = field(default_factory=list)
    files: int = 0
    bytes: int = 0


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(name) if len(name) == 10 else None
    except ValueError:
        return None


def expired_folders(outbox: Path, cutoff: date) -> ArchiveCounts:
    """The day folders of days before ``cutoff``, with their files and bytes."""
    found = ArchiveCounts()
    parents = []
    for root in (outbox, *(outbox / name for name in COPIES)):
        if root.is_dir():
            parents += [agency for agency in sorted(root.iterdir())
                        if agency.is_dir() and not agency.is_symlink() and _CODE.match(agency.name)]
    lists = outbox / TEAM_LISTS
    if lists.is_dir() and not lists.is_symlink():
        parents.append(lists)
    for parent in parents:
        for folder in sorted(parent.iterdir()):
            day = _day(folder.name)
            if day is None or day >= cutoff or not folder.is_dir() or folder.is_symlink():
                continue
            found.folders.append(folder)
            for path in folder.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    found.files += 1
                    found.bytes += path.stat().st_size
    return found


def delete(found: ArchiveCounts) -> None:
    for folder in found.folders:
        shutil.rmtree(folder)


def mark_deliveries(conn: psycopg.Connection, cutoff: date, as_of: date) -> int:
    """Mark the deliveries of days before ``cutoff`` whose archive is gone; returns how many."""
    return conn.execute(
        "UPDATE registry.extract_delivery SET archive_purged_on = %s"
        " WHERE day < %s AND archive_purged_on IS NULL", (as_of, cutoff)).rowcount
