"""The purged persons' contribution to the analysts' totals, kept as anonymous counts.

Written before the rows are deleted, from the same marts and with the same groups as the live side
of the BI view ``reporting.totaux_avec_purges`` (dbt_project/models/reporting): live + purged then
gives the totals the BI had before the purge. A change of groups here goes with a change there.
"""

from __future__ import annotations

import psycopg

_AGGREGATES = """
INSERT INTO retention.aggregats_purges
    (retention_run_id, mesure, mois, code_territoire, parcours, code_structure, categorie, nombre)
SELECT %(run)s, mesure, mois, code_territoire, parcours, code_structure, categorie, count(*)
FROM (
    SELECT 'orientations' AS mesure, date_trunc('month', date_creation)::date AS mois,
           code_territoire, parcours, code_structure, statut_orientation AS categorie
    FROM marts.referrals
    WHERE person_id IN (SELECT person_id FROM ret_person)
    UNION ALL
    SELECT 'mouvements', date_trunc('month', date_mouvement)::date,
           code_territoire, parcours, code_structure, type_mouvement
    FROM marts.referral_movements
    WHERE person_id IN (SELECT person_id FROM ret_person)
    UNION ALL
    SELECT 'evenements_ali', date_trunc('month', events.date_evenement)::date,
           referrals.code_territoire, referrals.parcours, events.code_structure, events.evenement
    FROM intermediate.int_ali__events_checked AS events
    LEFT JOIN marts.referrals AS referrals ON referrals.id_orientation = events.id_orientation
    WHERE events.statut = 'ACCEPTE' AND events.id_orientation IN (SELECT id_orientation FROM ret_referral)
) AS purged
GROUP BY mesure, mois, code_territoire, parcours, code_structure, categorie
"""

_SOURCES = ("marts.referrals", "marts.referral_movements", "intermediate.int_ali__events_checked")


def add(conn: psycopg.Connection, retention_run_id: int) -> int:
    """Add the purged persons' counts under ``retention_run_id``; returns the rows written."""
    for relation in _SOURCES:
        if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()[0]:
            return 0
    return conn.execute(_AGGREGATES, {"run": retention_run_id}).rowcount
