"""What the suites validate, restricted to the day, checks run by PostgreSQL.

- The extract lines: a table asset with a daily batch on ``date_extrait`` (a WHERE on the day).
  Not a query asset: Great Expectations reads a query asset's columns by running the whole query
  (93,000 lines fetched, 0.28 s, per suite), a table's by reflection.
- The sources: query assets over the rows of the files loaded for the day (registry.landing_file,
  logical_date = day), so their cost, that column read included, follows the day's volume. A daily
  batch on a view would first list every date of the raw layer's history.
``{day}`` is replaced by a SQL date literal built from a ``date``.
"""

from __future__ import annotations

from typing import NamedTuple


class Table(NamedTuple):
    schema: str
    table: str
    date_column: str


TABLES: dict[str, Table] = {
    "extract_lines": Table("identifiants", "identifiants__extract_lines", "date_extrait"),
}

QUERIES: dict[str, str] = {
    "source_caf": (
        "SELECT p.file_id, d.matricule, d.numdemrsa, d.etatdosrsa, d.sitfam, p.rolepers_rsa,"
        " p.nom, p.prenom, p.dtnai"
        " FROM raw.caf_person p JOIN raw.caf_dossier d ON d.file_id = p.file_id AND d.position = p.position"
        " WHERE p.file_id IN (SELECT file_id FROM registry.landing_file WHERE source = 'caf'"
        " AND logical_date = {day} AND status IN ('loaded', 'loaded_with_rejects'))"
    ),
    "source_france_travail": (
        "SELECT file_id, kind, identifiantpe, nir, dtnai, date_evenement, code, codeinsee"
        " FROM raw.france_travail_record"
        " WHERE file_id IN (SELECT file_id FROM registry.landing_file WHERE source = 'france_travail'"
        " AND logical_date = {day} AND status IN ('loaded', 'loaded_with_rejects'))"
    ),
    "source_ali": (
        "SELECT file_id, code_structure, id_orientation, evenement, date_evenement, motif"
        " FROM raw.ali_report_line"
        " WHERE file_id IN (SELECT file_id FROM registry.landing_file WHERE source = 'ali'"
        " AND logical_date = {day} AND status IN ('loaded', 'loaded_with_rejects'))"
    ),
}


def query(name: str, day_literal: str) -> str:
    try:
        return QUERIES[name].replace("{day}", day_literal)
    except KeyError:
        raise ValueError(f"no source batch named {name!r} (known: {', '.join(QUERIES)})") from None
