"""NIR (French social-security number) helpers.

A NIR is 13 characters (sex, year, month, department, commune, order) optionally followed by a
2-digit control key. Comparisons between partners are made on the first 13 characters; the key is
97 - (NIR13 mod 97), where the Corsican departments 2A and 2B count as 19 and 18.

Only structure and key are checked here: whether a NIR belongs to a real person is not knowable.
"""

from __future__ import annotations

import re

__all__ = ["is_valid_nir", "make_nir", "nir13", "nir_key"]

# sex 1/2 (7/8: temporary numbers), year, month 01-12 or 20-99 (unknown / fictitious months),
# department 2 digits or 2A/2B, commune 3 digits, order 3 digits, optional key.
_NIR_PATTERN = re.compile(
    r"[1278][0-9]{2}(?:0[1-9]|1[0-2]|[2-9][0-9])(?:[0-9]{2}|2[AB])[0-9]{6}(?:[0-9]{2})?"
)

# Corsica: the letter departments are replaced by these digits before the modulo.
_CORSICA_DIGITS = {"2A": "19", "2B": "18"}


def nir13(nir: str) -> str:
    """Return the first 13 characters of a NIR, upper-cased and stripped (the comparison key).

    Raises ValueError when fewer than 13 characters remain.
    """
    cleaned = nir.strip().upper()
    if len(cleaned) < 13:
        raise ValueError(f"a NIR has at least 13 characters, got {len(cleaned)}")
    return cleaned[:13]


def _numeric(nir_13: str) -> int:
    """The integer the key is computed from (Corsica letters replaced by digits)."""
    department = nir_13[5:7]
    if department in _CORSICA_DIGITS:
        nir_13 = nir_13[:5] + _CORSICA_DIGITS[department] + nir_13[7:]
    return int(nir_13)


def nir_key(nir13: str) -> int:
    """Control key (1..97) of a 13-character NIR: 97 - (NIR13 mod 97), Corsica 2A/2B as 19/18.

    Raises ValueError if the argument is not 13 characters of digits (2A/2B allowed at the department).
    """
    value = nir13.strip().upper()
    if len(value) != 13:
        raise ValueError(f"nir_key expects 13 characters, got {len(value)}")
    try:
        number = _numeric(value)
    except ValueError:
        raise ValueError(f"not a NIR: {nir13!r}") from None
    return 97 - number % 97


def is_valid_nir(nir: str) -> bool:
    """True when `nir` has a valid NIR structure (13 or 15 characters) and, with 15, the right key.

    Structure: sex 1/2 (or 7/8), 2-digit year, month 01-12 or 20-99, department as 2 digits or
    2A/2B, 3-digit commune, 3-digit order. Upper- or lower-case 2a/2b are accepted.
    """
    if not isinstance(nir, str):
        return False
    value = nir.strip().upper()
    if len(value) not in (13, 15) or _NIR_PATTERN.fullmatch(value) is None:
        return False
    if len(value) == 13:
        return True
    return nir_key(value[:13]) == int(value[13:])


def make_nir(sex: int, year: int, month: int, dept: str, commune: str | int, order: int) -> str:
    """Build a 15-character NIR (with its key) from its parts.

    `year` may be a full year (only its last two digits are kept); `month` 1..12 or 20..99;
    `dept` 2 characters ("93", "2A", "99" for born abroad); `commune` 3 digits (for dept 99: the
    country code); `order` 1..999.
    """
    if sex not in (1, 2, 7, 8):
        raise ValueError(f"sex must be 1, 2, 7 or 8, got {sex}")
    if not (1 <= month <= 12 or 20 <= month <= 99):
        raise ValueError(f"month must be 1..12 or 20..99, got {month}")
    if not 1 <= order <= 999:
        raise ValueError(f"order must be 1..999, got {order}")
    dept = dept.upper()
    commune_text = f"{int(commune):03d}" if isinstance(commune, int) else commune
    body = f"{sex}{year % 100:02d}{month:02d}{dept}{commune_text}{order:03d}"
    if len(body) != 13 or _NIR_PATTERN.fullmatch(body) is None:
        raise ValueError(f"invalid NIR parts: {body!r}")
    return f"{body}{nir_key(body):02d}"
