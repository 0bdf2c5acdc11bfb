"""Who is past the retention period, and which rows are theirs: temporary key tables for the purge.

The warehouse's latest state decides who may go; the as-of day only sets the cut-off. A person goes
when all of this holds:

* their right is closed, or they left the caseload, and that happened before the cut-off: the start
  of their latest run of versions with the right closed in ``history.snap_persons__situations``
  (or the end of their last version, for someone who left the caseload with a right open). It is
  the day the warehouse saw the closure, never earlier than the CAF's own date: a person is kept a
  little longer rather than purged early;
* none of their referrals is open (the latest movement of each is CLOTUREE) and the last one was
  closed before the cut-off;
* nothing of today's build says otherwise (no open right in ``int_persons__situations``, no
  proposal in ``int_orientations__proposals``).

A CAF dossier (household) goes when every person row it ever held belongs to a purged person.
Every table is ``ON COMMIT DROP``: the keys never outlive the transaction.
"""

from __future__ import annotations

from datetime import date

import psycopg

# What a build must have produced before anyone can be judged.
REQUIRED = ("history.snap_persons__situations", "marts.referral_movements", "intermediate.int_persons__identities",
            "staging.base_caf__person_pseudonyms", "staging.base_caf__dossier_pseudonyms")

_PERSONS = """
CREATE TEMP TABLE ret_person ON COMMIT DROP AS
WITH versions AS (
    SELECT person_id, droit_ouvert, dbt_valid_from::date AS valid_from, dbt_valid_to::date AS valid_to,
           row_number() OVER (PARTITION BY person_id ORDER BY dbt_valid_from DESC) AS recency
    FROM history.snap_persons__situations
),
last_open AS (
    SELECT person_id, max(valid_from) FILTER (WHERE droit_ouvert) AS open_from FROM versions GROUP BY person_id
),
closed_start AS (
    SELECT versions.person_id, min(versions.valid_from) AS closed_from
    FROM versions
    JOIN last_open ON last_open.person_id = versions.person_id
    WHERE NOT versions.droit_ouvert AND versions.valid_from > coalesce(last_open.open_from, '-infinity'::date)
    GROUP BY versions.person_id
),
closed AS (
    SELECT latest.person_id,
           CASE WHEN latest.droit_ouvert THEN latest.valid_to ELSE closed_start.closed_from END AS rights_closed_on
    FROM versions AS latest
    LEFT JOIN closed_start ON closed_start.person_id = latest.person_id
    WHERE latest.recency = 1 AND (latest.valid_to IS NOT NULL OR NOT latest.droit_ouvert)
),
referral_state AS (
    SELECT person_id, bool_or(type_mouvement <> 'CLOTUREE') AS any_open, max(date_mouvement) AS last_ended_on
    FROM (SELECT DISTINCT ON (id_orientation) id_orientation, person_id, type_mouvement, date_mouvement
          FROM marts.referral_movements ORDER BY id_orientation, date_mouvement DESC) AS latest_movements
    GROUP BY person_id
)
SELECT closed.person_id
FROM closed
LEFT JOIN referral_state ON referral_state.person_id = closed.person_id
WHERE closed.rights_closed_on < %(cutoff)s
  AND NOT coalesce(referral_state.any_open, false)
  AND coalesce(referral_state.last_ended_on, '-infinity'::date) < %(cutoff)s
  {guards}
"""

_GUARDS = {
    "intermediate.int_persons__situations":
        "AND closed.person_id NOT IN (SELECT person_id FROM intermediate.int_persons__situations WHERE droit_ouvert)",
    "intermediate.int_orientations__proposals":
        "AND closed.person_id NOT IN (SELECT person_id FROM intermediate.int_orientations__proposals)",
}

# Every raw CAF person row, with the person it belongs to: identity resolution's answer for the rows
# of current dossier states (int_persons__identities), else the person the identity map gives the
# row's NIR key or civil key (history.person_identity_map: a person whose NIR appeared later goes with
# the rows from before), else the key's own id. A row of a file not pseudonymised yet has no person:
# it keeps its dossier.
_PERSON_ROWS = """
CREATE TEMP TABLE ret_person_row ON COMMIT DROP AS
WITH person_rows AS (
    SELECT person.file_id, person.position, person.person_position, person.nir_valid, person.dtnai,
           dossier.dossier_key,
           coalesce(pseudonyms.person_pseudonym, pseudonyms.identity_pseudonym) AS person_key,
           pseudonyms.person_pseudonym, pseudonyms.identity_pseudonym,
           CASE WHEN person.nir_valid THEN left(upper(person.nir), 13) END AS nir13,
           upper(coalesce(trim(person.nom), '')) AS nom, upper(coalesce(trim(person.prenom), '')) AS prenom
    FROM raw.caf_person AS person
    JOIN (SELECT file_id, position, coalesce(numorg, '') || '-' || matricule AS dossier_key
          FROM raw.caf_dossier WHERE matricule IS NOT NULL) AS dossier
        ON dossier.file_id = person.file_id AND dossier.position = person.position
    LEFT JOIN staging.base_caf__person_pseudonyms AS pseudonyms
        ON pseudonyms.file_id = person.file_id AND pseudonyms.position = person.position
        AND pseudonyms.person_position = person.person_position
),
resolved AS (
    SELECT person_rows.file_id, person_rows.position, person_rows.person_position, person_rows.dossier_key,
           person_rows.person_key, person_rows.nir13, person_rows.dtnai, person_rows.nom, person_rows.prenom,
           coalesce(identities.person_id, {mapped} CASE
               WHEN person_rows.person_key IS NULL THEN NULL
               ELSE md5(person_rows.own_key)
           END) AS person_id
    FROM (SELECT *, CASE WHEN nir_valid AND person_pseudonym IS NOT NULL
                         THEN 'NIR|' || person_pseudonym || '|' || coalesce(dtnai::text, '') END AS nir_key,
                    'IDENTITE|' || dossier_key || '|' || identity_pseudonym AS civil_key,
                    CASE WHEN nir_valid AND person_pseudonym IS NOT NULL
                         THEN 'NIR|' || person_pseudonym || '|' || coalesce(dtnai::text, '')
                         ELSE 'IDENTITE|' || dossier_key || '|' || identity_pseudonym END AS own_key
          FROM person_rows) AS person_rows
    LEFT JOIN intermediate.int_persons__identities AS identities
        ON identities.dossier_person_key = person_rows.dossier_key || ':' || person_rows.person_key
    {map_joins}
)
SELECT resolved.*, coalesce(resolved.person_id IN (SELECT person_id FROM ret_person), false) AS purged
FROM resolved
"""

# The identity map's answer for rows outside the current states, when the build has made it.
_IDENTITY_MAP = "history.person_identity_map"
_MAPPED = "nir_keys.person_id, civil_keys.person_id,"
_MAP_JOINS = (
    "LEFT JOIN history.person_identity_map AS nir_keys ON nir_keys.identity_key = person_rows.nir_key"
    " LEFT JOIN history.person_identity_map AS civil_keys"
    " ON civil_keys.identity_key = person_rows.civil_key"
)

_KEY_TABLES = [
    "CREATE INDEX ON ret_person_row (file_id, position, person_position)",
    # A household goes when none of its persons is kept, and its latest state is not an open right.
    """
    CREATE TEMP TABLE ret_dossier ON COMMIT DROP AS
    SELECT dossier_key FROM ret_person_row GROUP BY dossier_key
    HAVING bool_and(purged) {open_dossiers}
    """,
    """
    CREATE TEMP TABLE ret_dossier_row ON COMMIT DROP AS
    SELECT dossier.file_id, dossier.position, pseudonyms.household_id
    FROM raw.caf_dossier AS dossier
    LEFT JOIN staging.base_caf__dossier_pseudonyms AS pseudonyms
        ON pseudonyms.file_id = dossier.file_id AND pseudonyms.position = dossier.position
    WHERE dossier.matricule IS NOT NULL
      AND coalesce(dossier.numorg, '') || '-' || dossier.matricule IN (SELECT dossier_key FROM ret_dossier)
    """,
    """
    CREATE TEMP TABLE ret_household ON COMMIT DROP AS
    SELECT DISTINCT household_id FROM ret_dossier_row WHERE household_id IS NOT NULL
    """,
    # Keys shared with a kept row (the same NIR with another birth date, a homonym) stay.
    """
    CREATE TEMP TABLE ret_person_key ON COMMIT DROP AS
    SELECT person_key FROM ret_person_row WHERE person_key IS NOT NULL GROUP BY person_key HAVING bool_and(purged)
    """,
    """
    CREATE TEMP TABLE ret_dossier_person_key ON COMMIT DROP AS
    SELECT dossier_key || ':' || person_key AS dossier_person_key FROM ret_person_row
    WHERE person_key IS NOT NULL GROUP BY dossier_key, person_key HAVING bool_and(purged)
    """,
    """
    CREATE TEMP TABLE ret_identity ON COMMIT DROP AS
    SELECT nir13, dtnai FROM ret_person_row WHERE nir13 IS NOT NULL GROUP BY nir13, dtnai HAVING bool_and(purged)
    """,
    """
    CREATE TEMP TABLE ret_kept_identity ON COMMIT DROP AS
    SELECT DISTINCT nir13, dtnai FROM ret_person_row WHERE nir13 IS NOT NULL AND NOT purged
    """,
    """
    CREATE TEMP TABLE ret_name ON COMMIT DROP AS
    SELECT nom, prenom, dtnai FROM ret_person_row GROUP BY nom, prenom, dtnai HAVING bool_and(purged)
    """,
    """
    CREATE TEMP TABLE ret_referral ON COMMIT DROP AS
    SELECT DISTINCT id_orientation FROM marts.referral_movements WHERE person_id IN (SELECT person_id FROM ret_person)
    """,
    # France Travail lines: matched by NIR and birth date, or by name and birth date unless the NIR
    # is a kept person's (the partner's matching rules, int_france_travail__situations).
    """
    CREATE TEMP TABLE ret_line ON COMMIT DROP AS
    SELECT record.file_id, record.line_number
    FROM raw.france_travail_record AS record
    WHERE (left(upper(record.nir), 13), record.dtnai) IN (SELECT nir13, dtnai FROM ret_identity)
       OR ((upper(coalesce(trim(record.nom), '')), upper(coalesce(trim(record.prenom), '')), record.dtnai)
               IN (SELECT nom, prenom, dtnai FROM ret_name)
           AND (left(upper(record.nir), 13), record.dtnai) NOT IN (SELECT nir13, dtnai FROM ret_kept_identity))
    UNION ALL
    SELECT line.file_id, line.line_number
    FROM raw.ali_report_line AS line
    WHERE line.id_orientation IN (SELECT id_orientation FROM ret_referral)
    """,
    """
    CREATE TEMP TABLE ret_api_call ON COMMIT DROP AS
    SELECT call_id FROM raw.france_travail_api_call
    WHERE (left(upper(nir), 13), dtnai) IN (SELECT nir13, dtnai FROM ret_identity)
    """,
    # Values that would betray a purged person inside free text (rejected lines, the registry).
    """
    CREATE TEMP TABLE ret_token ON COMMIT DROP AS
    SELECT DISTINCT nir13 AS token, 'nir' AS kind FROM ret_identity
    UNION ALL SELECT id_orientation, 'orientation' FROM ret_referral
    UNION ALL SELECT person_id, 'person' FROM ret_person
    """,
]

_OPEN_DOSSIERS = (
    "AND NOT bool_or(dossier_key IN (SELECT states.dossier_key FROM staging.stg_caf__dossier_states AS states"
    " JOIN referentiel.codes_etatdosrsa AS codes ON codes.code = states.etat_dossier_rsa WHERE codes.est_ouvert))"
)


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()[0]


def warehouse_built(conn: psycopg.Connection) -> bool:
    """Whether a build produced the history and the referrals the judgement needs."""
    return all(_exists(conn, relation) for relation in REQUIRED)


def select(conn: psycopg.Connection, cutoff: date) -> dict[str, int]:
    """Create the ``ret_*`` key tables for ``cutoff``; returns how many persons and households go."""
    guards = "\n  ".join(sql for relation, sql in _GUARDS.items() if _exists(conn, relation))
    conn.execute(_PERSONS.format(guards=guards), {"cutoff": cutoff})
    conn.execute("CREATE INDEX ON ret_person (person_id)")
    mapped = _exists(conn, _IDENTITY_MAP)
    conn.execute(_PERSON_ROWS.format(mapped=_MAPPED if mapped else "", map_joins=_MAP_JOINS if mapped else ""))
    open_dossiers = _OPEN_DOSSIERS if (_exists(conn, "staging.stg_caf__dossier_states")
                                       and _exists(conn, "referentiel.codes_etatdosrsa")) else ""
    for statement in _KEY_TABLES:
        conn.execute(statement.replace("{open_dossiers}", open_dossiers))
    persons = conn.execute("SELECT count(*) FROM ret_person").fetchone()[0]
    households = conn.execute("SELECT count(*) FROM ret_dossier").fetchone()[0]
    return {"persons": persons, "households": households}
