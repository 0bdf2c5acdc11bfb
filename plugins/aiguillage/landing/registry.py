"""The landing registry: scan the landing zone for a logical date and record every file once.

A file is identified by its bytes (sha256) and its place: the same bytes with the same source, kind
and agency as a file accepted for loading are a duplicate of it; a copy of a quarantined file is
not (it is loaded, and supersedes the quarantined one). For a logical date D the scan takes the
files delivered on or before D (see :func:`layout.date_in_name` and the CAF header), so that
rerunning a past day records exactly what that day saw. Recording is one transaction: a scan is
recorded whole or not at all, and rerunning it adds nothing.

What the scan reads (data contract §1):

- each entry is looked at with ``lstat``; a symbolic link (to a file, a folder, or nothing), a
  FIFO, a socket or a device is recorded ``refused`` and never opened, once per entry; so is a file
  whose name holds control characters or bytes that are not UTF-8 (its name stored escaped);
- a regular file is opened with ``O_NOFOLLOW | O_NONBLOCK`` through folders opened the same way
  (:mod:`aiguillage.landing.opened`), hashed, and looked at again: a file changed less than
  ``AIGUILLAGE_LANDING_SETTLE_SECONDS`` ago, or changed during the hash, is "not settled" and left
  for the next run; a file gone in between is skipped and counted, never an error;
- hashing is proportional to what is new: a file already recorded at the same path with the same
  device, inode, size, modification time and change time is not read again. The change time cannot
  be set back from user space, so a file rewritten in place is seen even if its size and
  modification time were restored.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from psycopg.types.json import Jsonb

from aiguillage import config
from aiguillage.landing import layout
from aiguillage.landing.caf_header import HeaderError, read_header
from aiguillage.landing.names import has_unsafe_characters, printable
from aiguillage.landing.opened import LandingStream, NotARegularFile, open_descriptor, stable_identity

log = logging.getLogger(__name__)

_REGISTRY_LOCK = 7_303_102
_HASH_BLOCK = 1024 * 1024

# A file in one of these states was accepted for loading: the same bytes again, from the same source,
# of the same kind and agency, are its duplicate. A quarantined or refused file is never an original.
ACCEPTED_STATUSES = ("registered", "loaded", "loaded_with_rejects")

_ENTRY_KINDS = (
    (stat.S_ISLNK, "symbolic link"),
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


@dataclass
class LandingFile:
    """One entry found in the landing zone, described from its path, its bytes and its header."""

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
    ctime_ns: int = 0
    device: int | None = None
    inode: int | None = None
    refusal: str | None = None  # why the entry is refused without being opened

    @property
    def identity(self) -> tuple[int | None, int | None, int, int, int]:
        return (self.device, self.inode, self.size_bytes, self.mtime_ns, self.ctime_ns)


@dataclass
class Survey:
    """What a walk of the landing zone found, before anything was opened."""

    files: list[LandingFile] = field(default_factory=list)  # regular files with acceptable names
    refused: list[LandingFile] = field(default_factory=list)  # never opened
    in_transit: int = 0
    vanished: int = 0
    unreadable: int = 0


@dataclass
class ScanResult:
    logical_date: date
    run_id: str
    landing_dir: Path
    recorded: list[dict] = field(default_factory=list)
    files_seen: int = 0
    files_not_due: int = 0
    files_skipped: int = 0  # in transit (*.part, hidden ...)
    files_unsettled: int = 0
    files_vanished: int = 0
    files_unreadable: int = 0
    bytes_hashed: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return dict(Counter(row["status"] for row in self.recorded))


def sha256_of(path: Path) -> str:
    """The sha256 of the regular file at ``path``, opened without following a final link or blocking
    on a FIFO (OSError for anything but a regular file)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise NotARegularFile(f"{printable(path)} is not a regular file")
    os.set_blocking(descriptor, True)
    with LandingStream(descriptor, status, str(path), printable(path)) as stream:
        return stream.sha256()


def _entry(relative: str, status: os.stat_result) -> LandingFile:
    return LandingFile(relative, status.st_size, status.st_mtime_ns, ctime_ns=status.st_ctime_ns,
                       device=status.st_dev, inode=status.st_ino)


def _refusal(relative: str, status: os.stat_result) -> str | None:
    for is_kind, what in _ENTRY_KINDS:
        if is_kind(status.st_mode):
            return f"{what}: only regular files are read, never followed or opened"
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file: never opened"
    if has_unsafe_characters(relative):
        return "its name holds control characters or bytes that are not UTF-8 (shown escaped): rename it"
    return None


def survey(landing: Path) -> Survey:
    """Every entry under ``landing``, sorted by path, looked at with ``lstat`` only (nothing opened,
    no link followed). Hidden folders are not entered; hidden and in-transit files are counted."""
    found = Survey()
    _survey_folder(landing, "", found)
    found.files.sort(key=lambda item: item.relative_path)
    found.refused.sort(key=lambda item: item.relative_path)
    return found


def _survey_folder(folder: Path, prefix: str, found: Survey) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        found.vanished += 1  # removed (or replaced) since its parent was listed
        return
    except PermissionError:
        found.unreadable += 1
        log.warning("landing folder %s cannot be listed (permission denied): left for the next run",
                    printable(prefix or "."))
        return
    for entry in entries:
        relative = prefix + entry.name
        try:
            status = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            found.vanished += 1
            continue
        if stat.S_ISDIR(status.st_mode):
            if not entry.name.startswith("."):
                _survey_folder(Path(entry.path), relative + "/", found)
            continue
        if layout.is_in_transit(relative):
            found.in_transit += 1
            continue
        item = _entry(relative, status)
        item.refusal = _refusal(relative, status)
        if item.refusal is not None:
            item.relative_path = printable(relative)
            found.refused.append(item)
        else:
            found.files.append(item)


def walk(landing: Path) -> tuple[list[LandingFile], int]:
    """The regular files under ``landing`` that a scan may read (sorted by path), and how many were
    skipped as in transit. Refused entries (links, FIFOs, ...) are left out: see :func:`survey`."""
    found = survey(landing)
    return found.files, found.in_transit


def describe(landing: Path, item: LandingFile, descriptor: int | None = None) -> None:
    """Fill source, kind, delivery date and header (for CAF flows) from the path and the bytes.
    ``descriptor``: the file, opened already (the header is read through it, never by its path)."""
    placement = layout.classify(item.relative_path)
    item.source, item.kind, item.agency_code = placement.source, placement.kind, placement.agency_code
    item.problem = placement.problem
    item.delivered_on = layout.date_in_name(item.relative_path)
    if item.refusal is not None:
        return
    if item.problem is None and item.size_bytes == 0:
        item.problem = "empty file (0 bytes)"
    if item.source == "caf" and item.problem is None:
        try:
            header = _header(landing, item, descriptor)
        except HeaderError as error:
            item.problem = f"unreadable VRSB0801 header: {error}"
        else:
            item.header = header.as_json()
            item.kind = header.kind
            item.delivered_on = header.created_on


def _header(landing: Path, item: LandingFile, descriptor: int | None):
    if descriptor is None:
        descriptor, _ = open_descriptor(landing, item.relative_path)
        try:
            return _header(landing, item, descriptor)
        finally:
            os.close(descriptor)
    # read_header opens what it is given: a duplicate of the descriptor, read from the start, so
    # that the header is read from the very file opened, never by its path again.
    os.lseek(descriptor, 0, os.SEEK_SET)
    return read_header(os.dup(descriptor))


def _known_files(conn) -> set[tuple]:
    """(path, device, inode, size, mtime, ctime) of every file already hashed, as last seen."""
    rows = conn.execute(
        "SELECT relative_path, device, inode, size_bytes, mtime_ns, ctime_ns FROM registry.landing_file"
        " WHERE sha256 IS NOT NULL AND ctime_ns IS NOT NULL")
    return {(path, int(device), int(inode), size, mtime, ctime) for path, device, inode, size, mtime, ctime in rows}


def _known_refused(conn) -> set[tuple]:
    rows = conn.execute("SELECT relative_path, device, inode FROM registry.landing_file WHERE status = 'refused'")
    return {(path, None if device is None else int(device), None if inode is None else int(inode))
            for path, device, inode in rows}


def scan_and_record(conn, landing: Path, logical_date: date, run_id: str,
                    settle_seconds: float | None = None) -> ScanResult:
    """Record every entry of ``landing`` delivered on or before ``logical_date`` not yet recorded.

    ``conn`` is a psycopg connection; the whole scan is one transaction. ``settle_seconds``: how long
    a file must have been left unchanged to be read (default: the setting
    ``AIGUILLAGE_LANDING_SETTLE_SECONDS``)."""
    if not landing.is_dir():
        raise FileNotFoundError(f"landing zone {landing} does not exist or is not a folder")
    settle_ns = int((config.landing_settle_seconds() if settle_seconds is None else settle_seconds) * 1e9)
    started = time.monotonic()
    result = ScanResult(logical_date, run_id, landing)
    found = survey(landing)
    result.files_skipped, result.files_vanished, result.files_unreadable = (
        found.in_transit, found.vanished, found.unreadable)
    result.files_seen = len(found.files) + len(found.refused)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_REGISTRY_LOCK,))
        known_refused = _known_refused(conn)
        for item in found.refused:
            if (item.relative_path, item.device, item.inode) in known_refused:
                continue  # recorded by an earlier run
            describe(landing, item)
            if item.delivered_on is not None and item.delivered_on > logical_date:
                result.files_not_due += 1
                continue
            _keep(result, _record_refused(conn, item, logical_date, run_id))
        known = _known_files(conn)
        for item in found.files:
            if (item.relative_path, *item.identity) in known:
                continue  # hashed by an earlier run, unchanged since
            _keep(result, _scan_file(conn, landing, item, logical_date, run_id, settle_ns, result))
        result.seconds = time.monotonic() - started
        conn.execute(
            "INSERT INTO registry.landing_scan (logical_date, run_id, landing_dir, files_seen,"
            " files_recorded, files_not_due, files_skipped, bytes_hashed, seconds, files_unsettled,"
            " files_vanished, files_unreadable) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (logical_date, run_id, printable(landing), result.files_seen, len(result.recorded),
             result.files_not_due, result.files_skipped, result.bytes_hashed, round(result.seconds, 3),
             result.files_unsettled, result.files_vanished, result.files_unreadable),
        )
    log.info(
        "landing scan for %s: %d files seen, %d recorded %s, %d not due yet, %d in transit, "
        "%d not settled (left for the next run), %d vanished during the scan, %d unreadable, %.1f MB hashed",
        logical_date, result.files_seen, len(result.recorded), result.counts(), result.files_not_due,
        result.files_skipped, result.files_unsettled, result.files_vanished, result.files_unreadable,
        result.bytes_hashed / 1e6,
    )
    return result


def _keep(result: ScanResult, row: dict | None) -> None:
    if row is not None:
        result.recorded.append(row)


def _scan_file(conn, landing: Path, item: LandingFile, logical_date: date, run_id: str, settle_ns: int,
               result: ScanResult) -> dict | None:
    """Open, describe, hash and record one regular file, or count why it is left for later."""
    if time.time_ns() - item.ctime_ns < settle_ns:
        return _not_settled(result, item, "changed less than the settle time ago")
    try:
        descriptor, opened = open_descriptor(landing, item.relative_path)
    except FileNotFoundError:
        result.files_vanished += 1
        log.warning("%s: gone before it could be read: skipped", printable(item.relative_path))
        return None
    except NotARegularFile:  # replaced by a link or a FIFO since it was listed: refused by the next scan
        return _not_settled(result, item, "replaced since it was listed")
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EPERM):
            raise
        result.files_unreadable += 1
        log.warning("%s: cannot be read (permission denied): left for the next run", printable(item.relative_path))
        return None
    with LandingStream(descriptor, opened, str(landing / item.relative_path), printable(item.relative_path)) as stream:
        if stable_identity(opened) != item.identity:
            return _not_settled(result, item, "changed between the listing and the open")
        describe(landing, item, descriptor)
        if item.delivered_on is not None and item.delivered_on > logical_date:
            result.files_not_due += 1
            return None
        stream.seek(0)
        item.sha256 = stream.sha256()
        result.bytes_hashed += stream.tell()
        if stream.identity != stable_identity(opened):
            return _not_settled(result, item, "written to while it was being hashed")
    return _record(conn, item, logical_date, run_id)


def _not_settled(result: ScanResult, item: LandingFile, why: str) -> None:
    result.files_unsettled += 1
    log.info("%s: not settled (%s): left for the next run", printable(item.relative_path), why)


def _record_refused(conn, item: LandingFile, logical_date: date, run_id: str) -> dict | None:
    row = conn.execute(
        "INSERT INTO registry.landing_file (sha256, relative_path, source, kind, agency_code, size_bytes,"
        " mtime_ns, ctime_ns, device, inode, delivered_on, status, status_reason, logical_date, run_id)"
        " VALUES (NULL, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'refused', %s, %s, %s)"
        " ON CONFLICT (relative_path, device, inode) WHERE status = 'refused' DO NOTHING RETURNING file_id",
        (item.relative_path, item.source, item.kind, item.agency_code, item.size_bytes, item.mtime_ns,
         item.ctime_ns, item.device, item.inode, item.delivered_on, item.refusal, logical_date, run_id),
    ).fetchone()
    if row is None:
        return None
    log.warning("%s: refused (%s)", item.relative_path, item.refusal)
    return {"file_id": row[0], "relative_path": item.relative_path, "source": item.source,
            "kind": item.kind, "status": "refused", "reason": item.refusal}


def content_identity(item: LandingFile) -> tuple:
    """What makes two files the same delivery: their bytes, source, kind and agency."""
    return (item.sha256, item.source, item.kind, item.agency_code)


def judged(item: LandingFile, original_path: str | None) -> tuple[str, str | None]:
    """(status, reason) of a described and hashed file, given the path of the accepted file with the
    same content identity, if there is one. The scan and the backfill's dry run both judge by it."""
    if original_path is not None:
        return "duplicate", f"same content as {printable(original_path)}"
    if item.problem is not None:
        return "quarantined", item.problem
    return "registered", None


def _record(conn, item: LandingFile, logical_date: date, run_id: str) -> dict | None:
    """Insert one file; the same bytes as an accepted file of the same source, kind and agency
    become its duplicate."""
    original = conn.execute(
        "SELECT file_id, relative_path FROM registry.landing_file"
        " WHERE sha256 = %s AND source = %s AND kind IS NOT DISTINCT FROM %s"
        " AND agency_code IS NOT DISTINCT FROM %s AND status = ANY(%s) ORDER BY file_id LIMIT 1",
        (*content_identity(item), list(ACCEPTED_STATUSES)),
    ).fetchone()
    status, reason = judged(item, original[1] if original is not None else None)
    duplicate_of = original[0] if original is not None else None
    row = conn.execute(
        "INSERT INTO registry.landing_file (sha256, relative_path, source, kind, agency_code, size_bytes,"
        " mtime_ns, ctime_ns, device, inode, delivered_on, header, status, status_reason, duplicate_of,"
        " logical_date, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        # Same path and bytes seen again (touched, copied back, rewritten identically): refresh what
        # the scan saw of it on disk, so that the next scan does not read it again.
        " ON CONFLICT (relative_path, sha256) DO UPDATE SET mtime_ns = EXCLUDED.mtime_ns,"
        " ctime_ns = EXCLUDED.ctime_ns, device = EXCLUDED.device, inode = EXCLUDED.inode"
        " RETURNING file_id, xmax = 0 AS inserted",
        (item.sha256, item.relative_path, item.source, item.kind, item.agency_code, item.size_bytes,
         item.mtime_ns, item.ctime_ns, item.device, item.inode, item.delivered_on, Jsonb(item.header), status,
         reason, duplicate_of, logical_date, run_id),
    ).fetchone()
    if not row[1]:
        return None
    if status != "registered":
        log.warning("%s: %s (%s)", printable(item.relative_path), status, reason)
    return {"file_id": row[0], "relative_path": item.relative_path, "source": item.source,
            "kind": item.kind, "status": status, "reason": reason}


# Which loaded file corrects which quarantined one (see supersede_corrected). Paths are compared
# without their extension: the correction's is the quarantined file's, or it with a suffix after
# "_", "-" or "." (VRSB0801_931_20261103_I.xml -> VRSB0801_931_20261103_I_corrige.xml). A loaded
# file with the very same bytes as a quarantined one (a file dropped in the wrong place, then copied
# to the right one) corrects it too, whatever its name, source or place.
_SUPERSEDE = """
WITH loaded AS (
    SELECT file_id, sha256, source, kind, agency_code, delivered_on, logical_date, relative_path,
           regexp_replace(relative_path, '\\.[^./]*$', '') AS stem
    FROM registry.landing_file WHERE source = %(source)s AND status IN ('loaded', 'loaded_with_rejects')
), waiting AS (
    SELECT file_id, sha256, source, kind, agency_code, delivered_on, logical_date, relative_path,
           regexp_replace(relative_path, '\\.[^./]*$', '') AS stem
    FROM registry.landing_file WHERE status = 'quarantined' AND superseded_by IS NULL
), corrections AS (
    SELECT DISTINCT ON (q.file_id) q.file_id AS quarantined_id, f.file_id AS correction_id,
           q.relative_path AS quarantined_path, f.relative_path AS correction_path
    FROM waiting q
    JOIN loaded f
      ON f.file_id <> q.file_id
     AND (f.sha256 = q.sha256
          OR (f.source = q.source
              AND f.agency_code IS NOT DISTINCT FROM q.agency_code
              AND (q.kind IS NULL OR f.kind = q.kind)
              AND (q.delivered_on IS NULL OR f.delivered_on IS NULL OR f.delivered_on >= q.delivered_on)
              -- sent after it, or found by the same day's scan (a replay finds both at once)
              AND (f.file_id > q.file_id OR f.logical_date = q.logical_date)
              AND (f.stem = q.stem OR (left(f.stem, length(q.stem)) = q.stem
                                       AND substr(f.stem, length(q.stem) + 1, 1) IN ('_', '-', '.')))))
    ORDER BY q.file_id, (f.sha256 = q.sha256) DESC, f.file_id DESC
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
    that name followed by a suffix; or when it has the very same bytes (the quarantined file may then
    be of any source: a file dropped in the wrong place). The quarantined file stays on record, status and reason unchanged,
    and points at its correction (``superseded_by``). Returns [(quarantined path, correction path)]
    newly superseded."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_REGISTRY_LOCK,))
        done = conn.execute(_SUPERSEDE, {"source": source}).fetchall()
    for quarantined, correction in done:
        log.info("%s: superseded by %s, which corrects it", printable(quarantined), printable(correction))
    return [(quarantined, correction) for quarantined, correction in done]


def files_for_day(conn, logical_date: date) -> list[dict]:
    """The files recorded by the runs of ``logical_date`` and their current state, for reports: a
    quarantined file superseded by its correction is shown 'superseded' (no longer a problem).
    Names and reasons come escaped (:func:`~aiguillage.landing.names.printable`)."""
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
    found = [dict(zip(names, row, strict=True)) for row in rows]
    for row in found:  # for printing: a name or a reason never holds a raw control character
        row["relative_path"], row["reason"] = printable(row["relative_path"]), row["reason"] and printable(row["reason"])
    return found

