"""Last line of defence: no NIR or personal email address leaves in an alert.

Alerts are built from agency codes, file names, reasons and counts only. A reason is written by
the pipeline, though, and may one day quote a value it should not; so every string is checked and a
suspect one is replaced whole (a NIR rarely travels alone: a name may sit next to it).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

PLACEHOLDER = "[hidden: looked like personal data]"

# 13 to 15 digits, the department possibly 2A/2B, written solid or grouped by spaces or dots
# ("1 85 05 93 123 456 78"). Bounded by non-digits only: "_" or a letter may glue it to a file name.
_SEP = r"[ .\u00a0\u202f]?"
_NIR_LIKE = re.compile(
    rf"(?<![0-9])[0-9](?:{_SEP}[0-9]){{4}}{_SEP}(?:[0-9]{_SEP}[0-9]|2[AaBb])(?:{_SEP}[0-9]){{6,8}}(?![0-9])"
)
_EMAIL_LIKE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _is_timestamp(candidate: str) -> bool:
    """A solid YYYYMMDDHHMMSS stamp, common in partner file names, is 14 digits but no NIR."""
    if len(candidate) != 14 or not candidate.isdigit() or candidate[:2] not in ("19", "20"):
        return False
    try:
        datetime.strptime(candidate, "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def _looks_personal(text: str, allowed_emails: set[str]) -> str | None:
    """What the text looks like it holds ("a NIR", "an email address"), or None."""
    if any(not _is_timestamp(match.group()) for match in _NIR_LIKE.finditer(text)):
        return "a NIR"
    if any(match.group().lower() not in allowed_emails for match in _EMAIL_LIKE.finditer(text)):
        return "an email address"
    return None


def guard_text(text: str, field: str, allowed_emails: set[str]) -> str:
    """The text itself, or the placeholder (with a warning naming the field) when it looks personal."""
    found = _looks_personal(text, allowed_emails)
    if found is None:
        return text
    log.warning("Alert field %s was replaced by a placeholder: it looked like it held %s", field, found)
    return PLACEHOLDER


def guard(value: Any, allowed_emails: set[str], field: str = "alert") -> Any:
    """A copy of a JSON-like value (dicts, lists, scalars) with every suspect string replaced."""
    if isinstance(value, dict):
        guarded = {}
        for key, item in value.items():
            safe_key = guard_text(str(key), f"{field} key", allowed_emails)
            guarded[safe_key] = guard(item, allowed_emails, f"{field}.{safe_key}")
        return guarded
    if isinstance(value, list | tuple):
        return [guard(item, allowed_emails, f"{field}[{i}]") for i, item in enumerate(value)]
    if value is None or isinstance(value, bool | int | float):
        return value
    return guard_text(str(value), field, allowed_emails)
