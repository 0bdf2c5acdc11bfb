"""Typed values of partner files: stripped text in, a value that fits its raw column out.

Each parser takes the stripped, non-empty text of one field and returns the typed value, or
``None`` when the text does not parse; the reader then flags ``INVALID_VALUE:<FIELD>``. Parsers are
strict about the shapes partners are told to send (ISO or French dates, 0/1 booleans, plain
decimals) and check that the value fits its raw column (``integer``, ``numeric(12, 2)``) so that
COPY never fails on it. They are called once per field of every record, so they stay small. (A
cache of parsed dates and amounts was measured: no faster, and memory grew with the file.)
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "parse_amount",
    "parse_boolean",
    "parse_french_date",
    "parse_integer",
    "parse_iso_date",
    "parse_time",
]

# xsd:boolean lexical forms (CAF sends 0/1).
_BOOLEANS = {"0": False, "1": True, "false": False, "true": True}

# PostgreSQL `integer` bounds.
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

# The shape CAF writes amounts in (fast path: already in cents, cannot overflow numeric(12, 2)).
_CENTS_SHAPE = re.compile(r"-?[0-9]{1,10}\.[0-9]{2}", re.ASCII)
# xsd:decimal lexical space, ASCII digits only (Decimal() would also take "1e3", "NaN", "1_000").
_DECIMAL_SHAPE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_CENTS = Decimal("0.01")
# numeric(12, 2): at most 10 digits before the decimal point.
_AMOUNT_LIMIT = Decimal(10) ** 10


def parse_boolean(text: str) -> bool | None:
    """0/1/true/false as a bool."""
    return _BOOLEANS.get(text)


def parse_iso_date(text: str) -> date | None:
    """YYYY-MM-DD (no week dates, no ordinal dates, no time zone)."""
    # date.fromisoformat alone would also accept 20240131 and 2024-W05-3.
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_french_date(text: str) -> date | None:
    """JJ/MM/AAAA, as France Travail files write dates."""
    if len(text) != 10 or text[2] != "/" or text[5] != "/":
        return None
    return parse_iso_date(f"{text[6:]}-{text[3:5]}-{text[:2]}")


def parse_time(text: str) -> time | None:
    """HH:MM:SS with optional fractional seconds (xsd:time: CNAF writes ``01:18:36.0000``), or HH:MM.

    Fractions beyond microseconds are cut; no time zone (the raw column is a local ``time``).
    """
    if len(text) > 8 and text[8] == ".":
        fraction = text[9:]
        if not (0 < len(fraction) <= 32 and fraction.isascii() and fraction.isdigit()):
            return None
        whole = parse_time(text[:8])
        return None if whole is None else whole.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    if not ((len(text) == 8 and text[2] == ":" and text[5] == ":") or (len(text) == 5 and text[2] == ":")):
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


def parse_integer(text: str) -> int | None:
    """An optionally signed integer of ASCII digits that fits PostgreSQL's `integer`."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
        return None
    value = int(text)
    return value if _INT_MIN <= value <= _INT_MAX else None


def parse_amount(text: str) -> Decimal | None:
    """A decimal amount rounded to cents, as `numeric(12, 2)` would store it (None if it would overflow)."""
    if _CENTS_SHAPE.fullmatch(text) is not None:
        return Decimal(text)
    if _DECIMAL_SHAPE.fullmatch(text) is None:
        return None
    try:
        value = Decimal(text)
        if value.adjusted() >= 10:  # 10 digits or more before the point, even before rounding
            return None
        cents = value.quantize(_CENTS, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return cents if abs(cents) < _AMOUNT_LIMIT else None
