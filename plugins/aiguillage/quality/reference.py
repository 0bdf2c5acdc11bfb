"""What the gate reads from the warehouse besides the batches: reference lists for the suite
parameters, the run's SQL literals, the movement history behind the volume checks, rows per agency.

Plain psycopg, small queries; no personal data is read here.
"""

from __future__ import annotations

import os
import re
from datetime import date

import psycopg

from aiguillage.extracts.columns import LINES_TABLE, MOVEMENTS

MIN_RATIO_VAR = "AIGUILLAGE_GATE_VOLUME_MIN_RATIO"
MAX_RATIO_VAR = "AIGUILLAGE_GATE_VOLUME_MAX_RATIO"
MIN_HISTORY_DAYS = 3  # fewer previous days than this: the volume checks are skipped, with a note
HISTORY_DAYS = 7
_AGENCY_CODE = re.compile(r"^[A-Z0-9]{2,10}\Z")  # \Z: "$" would accept a trailing newline

# Suite parameter -> query giving its values (one column: a list; two columns: a list of pairs).
PARAMETER_QUERIES: dict[str, str] = {
    "structures_actives_destinataires": (
        "SELECT code_structure FROM referentiel.destinations WHERE recoit_extrait"
        " AND (actif_du IS NULL OR actif_du <= %(day)s) AND (actif_au IS NULL OR actif_au >= %(day)s)"
        " ORDER BY 1"
    ),
    "structures": "SELECT code_structure FROM referentiel.destinations ORDER BY 1",
    "couples_structure_parcours": (
        "SELECT code_structure, parcours FROM referentiel.destinations ORDER BY 1, 2"
    ),
    "couples_postal_commune": (
        # codes_postaux holds several codes separated by spaces or '|'.
        "SELECT DISTINCT code_postal, code_insee FROM referentiel.communes,"
        " regexp_split_to_table(coalesce(codes_postaux, ''), '[ |]+') AS code_postal"
        " WHERE code_postal <> '' ORDER BY 1, 2"
    ),
    "codes_rolepers": "SELECT code FROM referentiel.codes_rolepers ORDER BY 1",
    "codes_etatdosrsa": "SELECT code FROM referentiel.codes_etatdosrsa ORDER BY 1",
    "codes_sitfam": "SELECT code FROM referentiel.codes_sitfam ORDER BY 1",
    "codes_evenement_ali": "SELECT code FROM referentiel.codes_evenement_ali ORDER BY 1",
    "codes_motif_ali": "SELECT DISTINCT code FROM referentiel.codes_motif_ali ORDER BY 1",
}
# Postal codes routed explicitly under another commune (e.g. 93380 addressed under 93066 since the merger).
_ROUTED_PAIRS = (
    "SELECT DISTINCT code_postal, code_insee FROM referentiel.routage_codes_postaux"
    " WHERE code_postal IS NOT NULL AND code_postal <> ''"
)


def volume_ratios() -> tuple[float, float]:
    """Bounds of the volume checks, as multiples of the reference volume."""
    def ratio(name: str, default: float) -> float:
        raw = os.environ.get(name)
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise ValueError(f"{name} must be a number, got {raw!r}") from None
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {raw!r}")
        return value

    return ratio(MIN_RATIO_VAR, 0.2), ratio(MAX_RATIO_VAR, 5.0)


def checked_agencies(agencies: list[str]) -> list[str]:
    """The agency codes, checked: they go into SQL literals and file names."""
    for code in agencies:
        if not isinstance(code, str) or not _AGENCY_CODE.match(code):
            raise ValueError(f"agency code {code!r} is not a structure code such as ALI01 or SSD05")
    return sorted(set(agencies))


def sql_literals(day: date, agencies: list[str]) -> dict[str, str]:
    """The placeholders of the suites' queries, as SQL literals built from checked values only."""
    if not isinstance(day, date):
        raise TypeError(f"day must be a date, got {type(day).__name__}")
    min_ratio, max_ratio = volume_ratios()
    return {
        "day": f"DATE '{day.isoformat()}'",
        "min_ratio": repr(float(min_ratio)),
        "max_ratio": repr(float(max_ratio)),
        "agencies": ", ".join(f"'{code}'" for code in checked_agencies(agencies)) or "NULL",
    }


def parameter_values(conn: psycopg.Connection, names: set[str], day: date, agencies: list[str]) -> dict:
    """Values of the suite parameters the suites use."""
    values: dict = {}
    for name in sorted(names):
        if name == "agences_destinataires":
            values[name] = checked_agencies(agencies)
            continue
        if name == "couples_postal_commune":
            values[name] = postal_pairs(conn)
            continue
        if name not in PARAMETER_QUERIES:
            raise ValueError(f"suite parameter {name!r} has no source: add it to PARAMETER_QUERIES")
        rows = conn.execute(PARAMETER_QUERIES[name], {"day": day}).fetchall()
        values[name] = [row[0] for row in rows] if rows and len(rows[0]) == 1 else [list(r) for r in rows]
    return values


def postal_pairs(conn: psycopg.Connection) -> list[list[str]]:
    pairs = {tuple(row) for row in conn.execute(PARAMETER_QUERIES["couples_postal_commune"])}
    if conn.execute("SELECT to_regclass('referentiel.routage_codes_postaux')").fetchone()[0] is not None:
        pairs |= {tuple(row) for row in conn.execute(_ROUTED_PAIRS)}
    return [list(pair) for pair in sorted(pairs)]


def movement_history(conn: psycopg.Connection, day: date) -> dict:
    """Movement lines of the day against the previous days' movements to receiving structures:
    what the day volume check compares (its query in extract_day.json is the one that decides)."""
    previous = [row[0] for row in conn.execute(
        "SELECT count(*) FROM marts.referral_movements m JOIN referentiel.destinations d"
        " ON d.code_structure = m.code_structure AND d.recoit_extrait"
        " WHERE m.date_mouvement < %s"
        # the warehouse's first day is its initial stock, every referral a NOUVELLE: not a day's volume
        " AND m.date_mouvement > (SELECT min(date_mouvement) FROM marts.referral_movements)"
        " GROUP BY m.date_mouvement ORDER BY m.date_mouvement DESC LIMIT %s",
        (day, HISTORY_DAYS),
    )] if _exists(conn, "marts.referral_movements") else []
    today = conn.execute(
        f"SELECT count(*) FROM {LINES_TABLE} WHERE date_extrait = %s AND fichier = %s",  # noqa: S608 - constant table name
        (day, MOVEMENTS),
    ).fetchone()[0]
    median = _median(previous) if previous else None
    min_ratio, max_ratio = volume_ratios()
    return {
        "days": len(previous), "median": median, "today": today,
        "min": None if median is None else min_ratio * median,
        "max": None if median is None else max_ratio * median,
    }


def rows_per_agency(conn: psycopg.Connection, day: date) -> dict[str, int]:
    return dict(conn.execute(
        f"SELECT code_structure, count(*) FROM {LINES_TABLE} WHERE date_extrait = %s"  # noqa: S608 - constant table name
        " AND code_structure IS NOT NULL GROUP BY code_structure",
        (day,),
    ).fetchall())


def lines_of_day(conn: psycopg.Connection, day: date) -> int:
    return conn.execute(
        f"SELECT count(*) FROM {LINES_TABLE} WHERE date_extrait = %s", (day,)  # noqa: S608 - constant table name
    ).fetchone()[0]


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
