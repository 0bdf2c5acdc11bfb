"""Backfills: a range of days run in order through the daily pipeline, and the plan of one.

Days are built in order: the warehouse refuses a day earlier than its latest, so a range that
starts before the latest built day is refused as a whole before anything runs. The plan (what
``aiguillage backfill --dry-run`` prints) tells, for each day of the range, the files its landing
scan would record, read from the landing zone and the registry without changing either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from aiguillage.landing import registry


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def refusal(first: date, latest_built: date | None) -> str | None:
    """Why a range starting on ``first`` cannot run on a warehouse built up to ``latest_built``; None if it can.
    Rerunning the latest day itself is allowed: it gives the same warehouse."""
    if latest_built is None or first >= latest_built:
        return None
    return (f"the warehouse is already built up to {latest_built}; a backfill from {first} would rebuild "
            f"earlier days and rewrite the referrals' history out of order. Either start the range on "
            f"{latest_built} or later, or replay the whole range on an empty warehouse (runbook: "
            f"\"Restore after losing the warehouse\").")


@dataclass
class PlannedFile:
    relative_path: str
    status: str  # what the scan would record: registered | duplicate | quarantined
    reason: str | None = None


@dataclass
class DayPlan:
    day: date
    files: list[PlannedFile] = field(default_factory=list)


@dataclass
class Plan:
    days: list[DayPlan]
    not_due: list[str] = field(default_factory=list)  # delivered after the range's last day
    in_transit: int = 0


def _recorded(conn) -> tuple[set[tuple[str, int, int]], dict[tuple, str]]:
    """(path, size, mtime) of every recorded file, and the path of each file accepted for loading,
    by content identity (registry.content_identity)."""
    if conn is None or conn.execute("SELECT to_regclass('registry.landing_file')").fetchone()[0] is None:
        return set(), {}
    rows = conn.execute(
        "SELECT relative_path, size_bytes, mtime_ns, sha256, source, kind, agency_code, status"
        " FROM registry.landing_file ORDER BY file_id")
    seen, originals = set(), {}
    for path, size, mtime, sha, source, kind, agency, status in rows:
        seen.add((path, size, mtime))
        if status in registry.ACCEPTED_STATUSES:
            originals.setdefault((sha, source, kind, agency), path)
    return seen, originals


def plan(landing: Path, days: list[date], conn=None) -> Plan:
    """The files each day's scan would record, as the registry would judge them (``conn``: the
    warehouse, or None for an empty one). Reads only; file contents are hashed to spot duplicates."""
    items, in_transit = registry.walk(landing)
    seen, originals = _recorded(conn)
    result = Plan([DayPlan(day) for day in days], in_transit=in_transit)
    for item in items:
        if (item.relative_path, item.size_bytes, item.mtime_ns) in seen:
            continue
        registry.describe(landing, item)
        # The scan of day D takes every file delivered on or before D: an undated file, or one
        # delivered before the range, goes to the range's first day.
        due = next((day_plan for day_plan in result.days
                    if item.delivered_on is None or item.delivered_on <= day_plan.day), None)
        if due is None:
            result.not_due.append(item.relative_path)
            continue
        item.sha256 = registry.sha256_of(landing / item.relative_path)
        identity = registry.content_identity(item)
        status, reason = registry.judged(item, originals.get(identity))
        if status == "registered":
            originals[identity] = item.relative_path
        due.files.append(PlannedFile(item.relative_path, status, reason))
    for day_plan in result.days:
        day_plan.files.sort(key=lambda planned: planned.relative_path)
    return result


def plan_lines(result: Plan) -> list[str]:
    """The plan in plain words, one block per day."""
    lines = []
    for day_plan in result.days:
        lines.append(f"Day {day_plan.day}: {len(day_plan.files)} new file(s) to record")
        for planned in day_plan.files:
            line = f"    {planned.status:<12} {planned.relative_path}"
            lines.append(line + (f"  ({planned.reason})" if planned.reason else ""))
    if result.not_due:
        lines.append(f"Delivered after the range (left for later days): {len(result.not_due)} file(s)")
    if result.in_transit:
        lines.append(f"Still being uploaded (*.part, *.tmp, hidden), left for later: {result.in_transit} file(s)")
    return lines


def still_quarantined(conn, days: list[date]) -> list[tuple[date, str, str]]:
    """Files recorded by the range's days that are quarantined and not superseded by a corrected file."""
    rows = conn.execute(
        "SELECT logical_date, relative_path, status_reason FROM registry.landing_file"
        " WHERE status = 'quarantined' AND superseded_by IS NULL AND logical_date BETWEEN %s AND %s"
        " ORDER BY logical_date, relative_path",
        (days[0], days[-1]),
    ).fetchall()
    return [(day, path, reason) for day, path, reason in rows]
