"""File-level building blocks of the extracts: names, hashing, atomic placement.

A reader (an agency's pickup script, a person) must never see half a file: every file is written
under a hidden temporary name in its final folder, flushed to disk, then renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from aiguillage.extracts import columns
from aiguillage.landing.registry import sha256_of  # noqa: F401 - one way to hash a file, re-exported

# Codes become file and folder names: letters and digits only, so no path can be smuggled in.
_CODE = re.compile(r"^[A-Z0-9]{2,12}\Z")
_PREFIX = {columns.MOVEMENTS: "orientations", columns.STOCK: "stock"}
_CHUNK = 1 << 20


def check_code(code_structure: str) -> str:
    if not isinstance(code_structure, str) or not _CODE.match(code_structure):
        raise ValueError(f"agency code {code_structure!r} is not a valid code_structure (capitals and digits)")
    return code_structure


def check_fichier(fichier: str) -> str:
    if fichier not in _PREFIX:
        raise ValueError(f"unknown extract file {fichier!r}: expected {columns.MOVEMENTS!r} or {columns.STOCK!r}")
    return fichier


def csv_name(code_structure: str, fichier: str, day: date, suffix: str = ".csv") -> str:
    """``orientations_<code>_<YYYYMMDD>.csv`` (movements) or ``stock_<code>_<YYYYMMDD>.csv``; another
    ``suffix`` (``.xlsx``) keeps the stem."""
    return f"{_PREFIX[check_fichier(fichier)]}_{check_code(code_structure)}_{day:%Y%m%d}{suffix}"


def manifest_name(name: str) -> str:
    """``<stem>.manifest.json`` beside a CSV (as always); ``<name>.manifest.json`` beside a file of another
    format (``orientations_ALI05_20261102.xlsx.manifest.json``), so that no two files share a manifest."""
    return name.removesuffix(".csv") + ".manifest.json"


def day_folder(outbox: Path, code_structure: str, day: date) -> Path:
    """``<outbox>/<code_structure>/<YYYY-MM-DD>/``: where an agency's files for a day are placed."""
    return Path(outbox) / check_code(code_structure) / day.isoformat()


def staging_folder(outbox: Path, code_structure: str, day: date) -> Path:
    """``<outbox>/.staging/<code_structure>/<YYYY-MM-DD>/``: where extracts are written before delivery.
    Hidden from pickup scripts; on the outbox's file system, so placing a file there is cheap."""
    return Path(outbox) / ".staging" / check_code(code_structure) / day.isoformat()


def archive_folder(outbox: Path, code_structure: str, day: date) -> Path:
    """``<outbox>/_archive/<code_structure>/<YYYY-MM-DD>/``: the bytes last delivered to the agency for the
    day (CSV + manifest), whatever the method, kept so that they can be re-delivered unchanged after the
    agency's own copy was picked up or lost. Holds personal data: purged with the outbox's retention."""
    return Path(outbox) / "_archive" / check_code(code_structure) / day.isoformat()


def keep_copy(source: Path, final: Path) -> None:
    """Place ``source``'s bytes at ``final`` (atomically): a hard link when the file system allows it
    (no second copy on disk), else a copy."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(final)
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_folder(final.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (the folder's entry, not only the file's bytes)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(final: Path) -> Path:
    # Hidden and ending in .tmp: ignored by pickup scripts and by our own landing scans.
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_writer(final: Path) -> Iterator[tuple[object, Path]]:
    """Yield ``(binary handle, temporary path)``; on success the bytes are fsynced and renamed onto
    ``final``; on any error the temporary file is removed and ``final`` is left as it was."""
    tmp = temporary_path(final)
    try:
        with open(tmp, "wb") as handle:
            yield handle, tmp
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_folder(final.parent)


def write_bytes_atomically(final: Path, data: bytes) -> None:
    with atomic_writer(final) as (handle, _):
        handle.write(data)


def copy_atomically(source: Path, final: Path) -> None:
    with atomic_writer(final) as (handle, _), open(source, "rb") as src:
        shutil.copyfileobj(src, handle, _CHUNK)
