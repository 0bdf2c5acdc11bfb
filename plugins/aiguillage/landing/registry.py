"""The landing registry: scan the landing zone for a logical date and record every file once.

A file is identified by its content (sha256), never by its name. For a logical date D the scan
takes the files delivered on or before D (see :func:`layout.date_in_name` and the CAF header), so
that rerunning a past day records exactly what that day saw. Recording is one transaction: a scan
is recorded whole or not at all, and rerunning it adds nothing.

Hashing is proportional to what is new: a file already recorded with the same path, size and
modification time is not read again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from psycopg.types.json import Jsonb

from aiguillage.landing import layout
from aiguillage.landing.caf_header import HeaderError, read_header

log = logging.getLogger(__name__)

_REGISTRY_LOCK = 7_303_102
_HASH_BLOCK = 1024 * 1024


@dataclass
class LandingFile:
    """One file found in the landing zone, described from its path, its bytes and its header."""

    relative_path: str
    size_bytes: int
    mtime_ns: int
    sha256: str | None = None
    source: str = "unknown"
    kind: str | None = None
    agency_code: str | None = None
    delivered_on: date | None = None
    header: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


@dataclass
class ScanResult:
    logical_date: date
    run_id: str
    landing_dir: Path
    recorded: list[dict] = field(default_factory=list)
    files_seen: int = 0
    files_not_due: int = 0
    files_skipped: int = 0
    bytes_hashed: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return dict(Counter(row["status"] for row in self.recorded))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def walk(landing: Path) -> tuple[list[LandingFile], int]:
    """Every file under ``landing`` (sorted by path), and how many were skipped as in transit."""
    found: list[LandingFile] = []
    skipped = 0
    for root, dirs, files in os.walk(landing):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            relative = path.relative_to(landing).as_posix()
            if layout.is_in_transit(relative):
                skipped += 1
                continue
            stat = path.stat()
            found.append(LandingFile(relative, stat.st_size, stat.st_mtime_ns))
    found.sort(key=lambda item: item.relative_path)
    return found, skipped


def describe(landing: Path, item: LandingFile) -> None:
    """Fill source, kind, delivery date and header (for CAF flows) from the path and the bytes."""
    placement = layout.classify(item.relative_path)
    item.source, item.kind, item.agency_code = placement.source, placement.kind, placement.agency_code
    item.problem = placement.problem
    item.delivered_on = layout.date_in_name(item.relative_path)
    if item.problem is None and item.size_bytes == 0:
        item.problem = "empty file (0 bytes)"
    if item.source == "caf" and item.problem is None:
        try:
            header = read_header(landing / item.relative_path)
        except HeaderError as error:
            item.problem = f"unreadable VRSB0801 header: {error}"
        else:
            item.header = header.as_json()
            item.kind = header.kind
            item.delivered_on = header.created_on


def _known_files(conn) -> dict[tuple[str, int, int], str]:
    rows = conn.execute("SELECT relative_path, size_bytes, mtime_ns, sha256 FROM registry.landing_file")
    return {(path, size, mtime): sha for path, size, mtime, sha in rows}


def scan_and_record(conn, landing: Path, logical_date: date, run_id: str) -> ScanResult:
    """Record every file of ``landing`` delivered on or before ``logical_date`` not yet recorded.

    ``conn`` is a psycopg connection; the whole scan is one transaction.
    """
    if not landing.is_dir():
        raise FileNotFoundError(f"landing zone {landing} does not exist or is not a folder")
    started = time.monotonic()
    result = ScanResult(logical_date, run_id, landing)
    items, result.files_skipped = walk(landing)
    result.files_seen = len(items)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_REGISTRY_LOCK,))
        known = _known_files(conn)
        for item in items:
            sha = known.get((item.relative_path, item.size_bytes, item.mtime_ns))
            if sha is not None:
                continue  # recorded by an earlier run, unchanged since
            describe(landing, item)
            if item.delivered_on is not None and item.delivered_on > logical_date:
                result.files_not_due += 1
                continue
            item.sha256 = sha256_of(landing / item.relative_path)
            result.bytes_hashed += item.size_bytes
            row = _record(conn, item, logical_date, run_id)
            if row is not None:
                result.recorded.append(row)
        result.seconds = time.monotonic() - started
        conn.execute(
            "INSERT INTO registry.landing_scan (logical_date, run_id, landing_dir, files_seen,"
            " files_recorded, files_not_due, files_skipped, bytes_hashed, seconds)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (logical_date, run_id, str(landing), result.files_seen, len(result.recorded),
             result.files_not_due, result.files_skipped, result.bytes_hashed, round(result.seconds, 3)),
        )
    log.info(
        "landing scan for %s: %d files seen, %d recorded %s, %d not due yet, %d in transit, %.1f MB hashed",
        logical_date, result.files_seen, len(result.recorded), result.counts(), result.files_not_due,
        result.files_skipped, result.bytes_hashed / 1e6,
    )
    return result


def _record(conn, item: LandingFile, logical_date: date, run_id: str) -> dict | None:
    """Insert one file; a second copy of known bytes becomes a duplicate of the first."""
    original = conn.execute(
        "SELECT file_id, relative_path FROM registry.landing_file"
        " WHERE sha256 = %s AND status <> 'duplicate'",
        (item.sha256,),
    ).fetchone()
    if original is not None:
        status, reason, duplicate_of = "duplicate", f"same content as {original[1]}", original[0]
    elif item.problem is not None:
        status, reason, duplicate_of = "quarantined", item.problem, None
    else:
        status, reason, duplicate_of = "registered", None, None
    row = conn.execute(
        "INSERT INTO registry.landing_file (sha256, relative_path, source, kind, agency_code, size_bytes,"
        " mtime_ns, delivered_on, header, status, status_reason, duplicate_of, logical_date, run_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        # Same path and bytes seen again with another modification time: refresh the hint only.
        " ON CONFLICT (relative_path, sha256) DO UPDATE SET mtime_ns = EXCLUDED.mtime_ns"
        " RETURNING file_id, xmax = 0 AS inserted",
        (item.sha256, item.relative_path, item.source, item.kind, item.agency_code, item.size_bytes,
         item.mtime_ns, item.delivered_on, Jsonb(item.header), status, reason, duplicate_of,
         logical_date, run_id),
    ).fetchone()
    if not row[1]:
        return None
    if status != "registered":
        log.warning("%s: %s (%s)", item.relative_path, status, reason)
    return {"file_id": row[0], "relative_path": item.relative_path, "source": item.source,
            "kind": item.kind, "status": status, "reason": reason}


# Which loaded file corrects which quarantined one (see supersede_corrected). Paths are compared
# without their extension: the correction's is the quarantined file's, or it with a suffix after
# "_", "-" or "." (VRSB0801_931_20261103_I.xml -> VRSB0801_931_20261103_I_corrige.xml).
_SUPERSEDE = """
WITH files AS (
    SELECT file_id, status, superseded_by, source, kind, agency_code, delivered_on, logical_date, relative_path,
           regexp_replace(relative_path, '\\.[^./]*$', '') AS stem
    FROM registry.landing_file WHERE source = %(source)s
), corrections AS (
    SELECT DISTINCT ON (q.file_id) q.file_id AS quarantined_id, f.file_id AS correction_id,
           q.relative_path AS quarantined_path, f.relative_path AS correction_path
    FROM files q
    JOIN files f
      ON f.status IN ('loaded', 'loaded_with_rejects')
     AND f.file_id <> q.file_id
     AND f.agency_code IS NOT DISTINCT FROM q.agency_code
     AND (q.kind IS NULL OR f.kind = q.kind)
     AND (q.delivered_on IS NULL OR f.delivered_on IS NULL OR f.delivered_on >= q.delivered_on)
     -- sent after it, or found by the same day's scan (a replay finds both at once)
     AND (f.file_id > q.file_id OR f.logical_date = q.logical_date)
     AND (f.stem = q.stem OR (left(f.stem, length(q.stem)) = q.stem
                              AND substr(f.stem, length(q.stem) + 1, 1) IN ('_', '-', '.')))
    WHERE q.status = 'quarantined' AND q.superseded_by IS NULL
    ORDER BY q.file_id, f.file_id DESC
)
UPDATE registry.landing_file AS l
SET superseded_by = c.correction_id, superseded_at = now()
FROM corrections AS c
WHERE l.file_id = c.quarantined_id AND l.superseded_by IS NULL
RETURNING c.quarantined_path, c.correction_path
"""


def supersede_corrected(conn, source: str) -> list[tuple[str, str]]:
    """Link every quarantined file of ``source`` whose corrected re-send has loaded to that correction.

    A loaded file corrects a quarantined one when both come from the same source and agency, the
    quarantined file's kind is unknown or the same, the correction was delivered the same day or later
    and recorded after it (or by the same day's scan), and its name is the quarantined file's name or
    that name followed by a suffix. The quarantined file stays on record, status and reason unchanged,
    and points at its correction (``superseded_by``). Returns [(quarantined path, correction path)]
    newly superseded."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_REGISTRY_LOCK,))
        done = conn.execute(_SUPERSEDE, {"source": source}).fetchall()
    for quarantined, correction in done:
        log.info("%s: superseded by %s, which corrects it", quarantined, correction)
    return [(quarantined, correction) for quarantined, correction in done]


def files_for_day(conn, logical_date: date) -> list[dict]:
    """The files recorded by the runs of ``logical_date`` and their current state, for reports: a
    quarantined file superseded by its correction is shown 'superseded' (no longer a problem)."""
    rows = conn.execute(
        "SELECT f.relative_path, f.source, f.kind, f.agency_code, f.size_bytes, f.delivered_on,"
        " CASE WHEN f.superseded_by IS NOT NULL THEN 'superseded' ELSE f.status END,"
        " CASE WHEN f.superseded_by IS NOT NULL THEN 'superseded by ' || c.relative_path"
        " || ', which corrects it (it was quarantined: ' || coalesce(f.status_reason, '?') || ')'"
        " ELSE f.status_reason END,"
        " f.header, f.rows_loaded, f.rejects, f.load_seconds FROM registry.landing_file f"
        " LEFT JOIN registry.landing_file c ON c.file_id = f.superseded_by"
        " WHERE f.logical_date = %s ORDER BY f.relative_path",
        (logical_date,),
    )
    names = ("relative_path", "source", "kind", "agency_code", "size_bytes", "delivered_on", "status",
             "reason", "header", "rows_loaded", "rejects", "load_seconds")
    return [dict(zip(names, row, strict=True)) for row in rows]

