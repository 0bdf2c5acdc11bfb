"""File names, encodings and creation times of the landing zone, all derived from (seed, day).

Partners do not agree on encodings: CAF files come in windows-1252, as the CNAF's software writes
them (declared in the prolog); France Travail files in ISO-8859-1 or UTF-8 with or without BOM, a
choice that rotates with the day so that any run of two days or more shows every variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aiguillage.synth.rng import STREAM_FLOW, derived_random

CAF_DIR = "caf"
FT_DIR = "france_travail"


@dataclass(frozen=True, slots=True)
class TextVariant:
    """How a France Travail file is encoded: Python codec, line ending, and a label for humans."""

    codec: str
    newline: str
    label: str


FT_VARIANTS = (
    TextVariant("iso-8859-1", "\r\n", "ISO-8859-1, CRLF"),
    TextVariant("utf-8-sig", "\r\n", "UTF-8 with BOM, CRLF"),
    TextVariant("utf-8", "\n", "UTF-8 without BOM, LF"),
)


def caf_file_name(day: date, typeflux: str, suffix: str = "") -> str:
    """`VRSB0801_931_<YYYYMMDD>_<TYPEFLUX><suffix>.xml` (the date is DTCREAFLUX)."""
    return f"VRSB0801_931_{day:%Y%m%d}_{typeflux}{suffix}.xml"


def ft_file_name(kind: str, day: date) -> str:
    """`<kind>_<YYYYMMDD>.csv` with kind in stock, inscriptions, cessations, radiations."""
    return f"{kind}_{day:%Y%m%d}.csv"


def caf_encoding(seed: int, day_number: int) -> str:
    """Encoding declared by the CAF file of day `day_number` (0 = the monthly flow): windows-1252,
    as real flows are (other encodings are the reader's tests' business)."""
    return "windows-1252"


def ft_variant(seed: int, day_number: int, file_number: int) -> TextVariant:
    """Encoding of France Travail file `file_number` (0..2) of day `day_number`."""
    return FT_VARIANTS[(seed + day_number + file_number) % len(FT_VARIANTS)]


def flow_time(seed: int, day_number: int) -> str:
    """HEUCREAFLUX: monthly flows are produced at night, daily ones in the evening; written with
    fractional seconds, as the CNAF's software does (``01:18:36.0000``)."""
    rng = derived_random(seed, STREAM_FLOW, day_number)
    start_hour, span = (1, 4) if day_number == 0 else (19, 4)
    seconds = start_hour * 3600 + int(rng.random() * span * 3600)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.0000"
