"""Fields of the ``;``-separated files Aiguillage defines itself (ALI activity reports, the
Département's files): splitting a line, bounding and parsing its values, and quoting a bad value in a
reject detail only when it cannot be personal data.

A spreadsheet may have saved such a file, so fields may be quoted (``"ALI05";"2026-11-26";...``);
each physical line is one record (a line break inside a quoted field makes two malformed lines).
Code lists these files use are seeds of the warehouse, read here through :func:`seed_rows` so that
each list lives in one place.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from aiguillage import config
from aiguillage.ingest.text_files import Source, first_header_problem, quarantine

__all__ = ["LineReject", "check_lengths", "consume_header", "iso_date", "seed_rows", "shown_code", "split_fields"]

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Values quoted in a detail only when they look like codes or dates, never free text.
_QUOTABLE_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_QUOTABLE_DATE = re.compile(r"[0-9/.\- ]{1,12}")


class LineReject(Exception):
    """A line rule failed: its reason code (raw_tables.REJECT_REASONS) and a detail free of personal data."""

    def __init__(self, reason_code: str, detail: str) -> None:
        super().__init__(reason_code, detail)
        self.reason_code = reason_code
        self.detail = detail


def split_fields(text: str) -> list[str]:
    """Fields of one line; the csv module only when quotes are present (the common case is plain)."""
    if '"' not in text:
        return text.split(";")
    try:
        return next(csv.reader([text], delimiter=";", strict=True))
    except csv.Error as error:
        raise LineReject("SCHEMA", f"malformed quoting: {error}") from None


def consume_header(path: Source, lines: Iterator[tuple[int, str]], columns: tuple[str, ...], what: str) -> None:
    """Consume the header (the first non-blank line) of `lines`, or quarantine the file: `what` names
    the kind of file in the message (``an ALI activity report``)."""
    for line_number, text in lines:
        if not text.strip():
            continue
        try:
            problem = first_header_problem(split_fields(text), columns)
        except LineReject as reject:
            problem = f"header: {reject.detail}"
        if problem:
            raise quarantine(path, line_number, f"{problem} for {what}")
        return
    raise quarantine(path, 1, "empty file: a header line is expected")


def check_lengths(value: dict[str, str], max_chars: dict[str, int]) -> None:
    """FIELD_TOO_LONG when a (trimmed) value is longer than its column allows."""
    for name, limit in max_chars.items():
        if len(value[name]) > limit:
            raise LineReject("FIELD_TOO_LONG", f"column {name} has {len(value[name])} characters, "
                                               f"at most {limit} allowed")


def iso_date(column: str, value: str) -> date:
    """A ``YYYY-MM-DD`` value, or a SCHEMA reject."""
    found = _ISO_DATE.fullmatch(value)
    if found:
        year, month, day = found.groups()
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            pass
    shown = repr(value) if _QUOTABLE_DATE.fullmatch(value) else f"a value of {len(value)} characters"
    raise LineReject("SCHEMA", f"column {column}: {shown} is not a YYYY-MM-DD date")


def shown_code(value: str) -> str:
    """A code as quoted in a detail, or just its length when it does not look like a code."""
    return repr(value) if _QUOTABLE_CODE.fullmatch(value) else f"(a value of {len(value)} characters)"


def seed_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of the warehouse's seed ``name`` (``seeds/<name>.csv`` of the dbt project), values
    trimmed. Raises RuntimeError when it cannot be read."""
    return _rows_of(config.dbt_project_dir() / "seeds" / f"{name}.csv")


@functools.lru_cache(maxsize=16)
def _rows_of(seed: Path) -> tuple[dict[str, str], ...]:
    try:
        with open(seed, encoding="utf-8", newline="") as handle:
            return tuple({key: (text or "").strip() for key, text in row.items() if key is not None}
                         for row in csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RuntimeError(f"cannot read the seed {seed}: {error!r}") from error
