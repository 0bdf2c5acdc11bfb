"""The deletes, table by table, keyed on the ``ret_*`` tables of :mod:`.candidates`.

The raw layer is listed table by table (its columns say nothing generic about who a row is). Every
other schema but the operational ones (registry, retention, aiguillage_meta) and the reference data
is read from the catalogue: every base table with a column that names a person, a household, a
referral or a raw row is purged on that column. So the layers dbt builds (staging, identifiants,
intermediate, history, marts, and any schema added later) are purged without a change here. Views
need nothing: they read the tables purged here.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

# Not person-level: operational records (checked, never purged: see registry_matches), the purge's
# own aggregates, the pipeline's settings and the seeds. raw is purged by RAW_TABLES.
NOT_PERSONAL_SCHEMAS = ("raw", "registry", "retention", "aiguillage_meta", "referentiel",
                        "pg_catalog", "information_schema")

# (schema, table, condition on the row aliased t): the raw layer, and the registry's record of sends.
RAW_TABLES = [
    ("raw", "caf_person", "(t.file_id, t.position, t.person_position) IN "
                          "(SELECT file_id, position, person_position FROM ret_person_row WHERE purged)"),
    ("raw", "caf_address", "(t.file_id, t.position) IN (SELECT file_id, position FROM ret_dossier_row)"),
    ("raw", "caf_right_situation", "(t.file_id, t.position) IN (SELECT file_id, position FROM ret_dossier_row)"),
    ("raw", "caf_amount", "(t.file_id, t.position) IN (SELECT file_id, position FROM ret_dossier_row)"),
    ("raw", "caf_event", "(t.file_id, t.position) IN (SELECT file_id, position FROM ret_dossier_row)"),
    ("raw", "caf_dossier", "(t.file_id, t.position) IN (SELECT file_id, position FROM ret_dossier_row)"),
    ("raw", "france_travail_record", "(t.file_id, t.line_number) IN (SELECT file_id, line_number FROM ret_line)"),
    ("raw", "ali_report_line", "(t.file_id, t.line_number) IN (SELECT file_id, line_number FROM ret_line)"),
    # Where an ALI-WebRSA report's line came from (its element and the agency's integers) goes with it.
    ("raw", "ali_webrsa_element", "(t.file_id, t.line_number) IN (SELECT file_id, line_number FROM ret_line)"),
    ("raw", "france_travail_api_call", "t.call_id IN (SELECT call_id FROM ret_api_call)"),
    # Rejected lines are kept as received: one naming a purged NIR or referral goes with them.
    ("raw", "france_travail_reject",
     "EXISTS (SELECT FROM ret_token WHERE ret_token.kind = 'nir' AND strpos(t.raw_line, ret_token.token) > 0)"),
    ("raw", "ali_report_reject",
     "EXISTS (SELECT FROM ret_token WHERE ret_token.kind = 'orientation' AND strpos(t.raw_line, ret_token.token) > 0)"),
    # The CNAF's contact details: the lines of a purged person's NIR, and those the build matched to a
    # purged person by MATRICULE and role (the staging view still reads them: raw goes first); a
    # rejected line goes when it quotes a purged NIR.
    ("raw", "caf_contact",
     "left(upper(t.nir), 13) IN (SELECT token FROM ret_token WHERE kind = 'nir')"
     " OR (t.file_id, t.line_number) IN (SELECT file_id, line_number FROM staging.stg_caf_contacts__lines"
     " WHERE person_key IN (SELECT person_key FROM ret_person_key))"),
    ("raw", "caf_contact_reject",
     "EXISTS (SELECT FROM ret_token WHERE ret_token.kind = 'nir' AND strpos(upper(t.raw_line), ret_token.token) > 0)"),
    # The Département's suspension-remobilisation steps name a purged person's cases (the build's list
    # still holds them: raw goes first), and a rejected line may quote such a case.
    ("raw", "departement_remobilisation_step", "t.id_remobilisation IN (SELECT id_remobilisation FROM "
                                               "intermediate.int_remobilisation__cases WHERE person_id IN "
                                               "(SELECT person_id FROM ret_person))"),
    ("raw", "departement_remobilisation_reject",
     "EXISTS (SELECT FROM intermediate.int_remobilisation__cases AS c WHERE c.person_id IN "
     "(SELECT person_id FROM ret_person) AND strpos(lower(t.raw_line), c.id_remobilisation) > 0)"),
    # The orientation team's decisions name a purged person's proposals (the proposals' history still
    # holds them: raw goes first), and a rejected line may quote one.
    ("raw", "departement_decision", "t.id_proposition IN (SELECT id_proposition FROM "
                                    "marts.orientation_proposal_history WHERE person_id IN "
                                    "(SELECT person_id FROM ret_person))"),
    ("raw", "departement_decision_reject",
     "EXISTS (SELECT FROM marts.orientation_proposal_history AS p WHERE p.person_id IN "
     "(SELECT person_id FROM ret_person) AND strpos(upper(t.raw_line), upper(p.id_proposition)) > 0)"),
    # The one registry table that names referrals: which orientation was sent to France Travail, when.
    ("registry", "france_travail_orientation_sent", "t.id_orientation IN (SELECT id_orientation FROM ret_referral)"),
]

# A column of a dbt-built table, and the rows it designates for the purge.
COLUMN_KEYS = {
    "person_id": "t.person_id IN (SELECT person_id FROM ret_person)",
    "id_orientation": "t.id_orientation IN (SELECT id_orientation FROM ret_referral)",
    "dossier_key": "t.dossier_key IN (SELECT dossier_key FROM ret_dossier)",
    "household_id": "t.household_id IN (SELECT household_id FROM ret_household)",
    "dossier_person_key": "t.dossier_person_key IN (SELECT dossier_person_key FROM ret_dossier_person_key)",
    "person_key": "t.person_key IN (SELECT person_key FROM ret_person_key)",
}
# Tables keyed by raw rows (the per-file pseudonyms, the restricted identifiers, checked report lines).
ROW_KEYS = [
    ({"file_id", "position", "person_position"},
     "(t.file_id, t.position, t.person_position) IN "
     "(SELECT file_id, position, person_position FROM ret_person_row WHERE purged)"),
    ({"file_id", "line_number"}, "(t.file_id, t.line_number) IN (SELECT file_id, line_number FROM ret_line)"),
]
DOSSIER_ROW_KEY = "(t.file_id, t.position) IN (SELECT file_id, position FROM ret_dossier_row)"


def _catalogue_tables(conn: psycopg.Connection) -> list[tuple[str, str, set[str]]]:
    rows = conn.execute(
        "SELECT n.nspname, c.relname, array_agg(a.attname::text)"
        " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL(%s)"
        "   AND n.nspname NOT LIKE 'pg\\_%%'"
        " GROUP BY n.nspname, c.relname ORDER BY n.nspname, c.relname",
        (list(NOT_PERSONAL_SCHEMAS),),
    ).fetchall()
    return [(schema, table, set(columns)) for schema, table, columns in rows]


def conditions_for(columns: set[str]) -> list[str]:
    """What designates a purged row in a table with these columns (empty: the table holds nobody)."""
    found = [condition for column, condition in COLUMN_KEYS.items() if column in columns]
    for needed, condition in ROW_KEYS:
        if needed <= columns:
            found.append(condition)
    if {"file_id", "position"} <= columns and "person_position" not in columns:
        found.append(DOSSIER_ROW_KEY)
    return found


def plan(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """Every table to purge, in order: raw first, then the built layers; (schema, table, condition)."""
    planned = [(schema, table, condition) for schema, table, condition in RAW_TABLES
               if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.{table}",)).fetchone()[0]]
    for schema, table, columns in _catalogue_tables(conn):
        found = conditions_for(columns)
        if found:
            planned.append((schema, table, " OR ".join(f"({condition})" for condition in found)))
    return planned


def lock(conn: psycopg.Connection, planned: list[tuple[str, str, str]]) -> None:
    """Take every table before the first delete, reads included: a build's statement in flight
    finishes first, the next one waits for the purge's commit and then reads purged tables (the
    snapshot of a statement is taken once its locks are granted). Bounded, so that a purge meeting a
    long query fails and is retried rather than stalling the warehouse."""
    conn.execute("SET LOCAL lock_timeout = '5min'")
    for schema, table, _ in planned:
        conn.execute(sql.SQL("LOCK TABLE {}.{} IN ACCESS EXCLUSIVE MODE").format(
            sql.Identifier(schema), sql.Identifier(table)))


def delete(conn: psycopg.Connection, planned: list[tuple[str, str, str]]) -> dict[str, int]:
    """Delete the purged rows; returns rows deleted per ``schema.table`` (tables with none left out)."""
    counts: dict[str, int] = {}
    for schema, table, condition in planned:
        cursor = conn.execute(sql.SQL("DELETE FROM {}.{} AS t WHERE {}").format(
            sql.Identifier(schema), sql.Identifier(table), sql.SQL(condition)))
        if cursor.rowcount:
            counts[f"{schema}.{table}"] = cursor.rowcount
    return counts


def registry_matches(conn: psycopg.Connection) -> int:
    """Rows of the registry holding a purged person's NIR, person_id or referral id (expected 0)."""
    tables = conn.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'registry' AND c.relkind = 'r' ORDER BY c.relname").fetchall()
    total = 0
    for (table,) in tables:
        total += conn.execute(sql.SQL(
            "SELECT count(*) FROM registry.{} AS t"
            " WHERE EXISTS (SELECT FROM ret_token WHERE strpos(t::text, ret_token.token) > 0)").format(
            sql.Identifier(table))).fetchone()[0]
    return total
