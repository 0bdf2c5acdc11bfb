"""The roles the warehouse knows, and which agencies get one.

Roles belong to the whole PostgreSQL server; what each may read is granted per database.
"""

from __future__ import annotations

import csv
import re
from datetime import date

import psycopg

from aiguillage import config

PIPELINE_ROLE = "aiguillage_pipeline"
BI_ROLE = "bi_reader"
AGENCY_ROLE_PREFIX = "agence_"

# Every schema the pipeline writes (migrations, loaders, dbt): the pipeline role uses them all.
PIPELINE_SCHEMAS = ("raw", "registry", "identifiants", "staging", "intermediate", "marts", "history", "reporting",
                    "referentiel", "aiguillage_meta", "agences", "retention")
# The only schema the analysts' role enters.
BI_SCHEMA = "reporting"
# The only schema an agency role enters: views filtered to the reading agency.
AGENCY_SCHEMA = "agences"

_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,15}\Z")


def agency_code(text: str) -> str:
    """A code_structure as the seed spells it (ALI01, SSD12), or ALL; refuses anything else, since it names
    a role."""
    code = text.strip().upper()
    if not _CODE.match(code) and code != "ALL":
        raise ValueError(f"{text!r} is not an agency code (letters then digits, such as ALI01 or SSD12)")
    return code


def agency_role(code: str) -> str:
    """The role of an agency: agence_ali01 for ALI01."""
    code = agency_code(code)
    if code == "ALL":
        raise ValueError("ALL names every agency, not one")
    return AGENCY_ROLE_PREFIX + code.lower()


def receiving_agencies(conn: psycopg.Connection, today: date | None = None) -> list[str]:
    """The agencies that receive an extract on the warehouse's latest day (marts.structures: recoit_extrait
    and active). Before the first build, the seed file read for ``today``. FT93, which receives no extract,
    gets no role; an agency whose row ended, or that left the seed, is no longer listed."""
    if conn.execute("SELECT to_regclass('marts.structures')").fetchone()[0] is not None:
        rows = conn.execute(
            "SELECT DISTINCT code_structure FROM marts.structures WHERE recoit_extrait AND actif ORDER BY 1")
        return [agency_code(code) for (code,) in rows]
    return _seed_agencies(today or date.today())


def _seed_agencies(day: date) -> list[str]:
    seed = config.dbt_project_dir() / "seeds" / "destinations.csv"
    codes = set()
    with seed.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            starts = date.fromisoformat(row["actif_du"]) if row["actif_du"] else None
            ends = date.fromisoformat(row["actif_au"]) if row["actif_au"] else None
            if (row["recoit_extrait"].strip().lower() == "true" and (starts is None or starts <= day)
                    and (ends is None or ends >= day)):
                codes.add(agency_code(row["code_structure"]))
    return sorted(codes)
