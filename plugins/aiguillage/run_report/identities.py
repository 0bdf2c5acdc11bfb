"""The run report's identity section: how the day's people were recognised, and the NIRs seen with
two birth dates for the data engineer to check (runbook "A NIR seen with two birth dates").

Counts, rule codes and pseudonymous person ids only: never a NIR, its pseudonym or a name.
"""

from __future__ import annotations

from datetime import date

import psycopg

# How many NIRs with two birth dates the report lists one by one (the newest first); the count says
# how many there are in all, the restricted view identifiants.identifiants__nir_anomalies has them all.
ANOMALIES_SHOWN = 20


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()[0]


def summary_for_day(conn: psycopg.Connection, day: date) -> dict:
    """Persons whose identity key was linked on ``day``, by rule; keys moved to an earlier person that
    day; the NIRs seen with two birth dates (total, still current, new that day, the newest listed)."""
    if not all(_exists(conn, relation) for relation in (
            "intermediate.int_persons__identities", "intermediate.int_persons__nir_anomalies",
            "history.person_identity_map")):
        return {"built": False}
    linked = dict(conn.execute(
        "SELECT identity_rule, count(*) FROM intermediate.int_persons__identities WHERE date_liaison = %s"
        " GROUP BY identity_rule ORDER BY identity_rule", (day,)).fetchall())
    merged = conn.execute(
        "SELECT count(*) FROM history.person_identity_map WHERE date_liaison = %s AND previous_person_id IS NOT NULL",
        (day,)).fetchone()[0]
    total, current, new_today = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE nb_dates_actuelles > 1), count(*) FILTER (WHERE anomalie_vue_le = %s)"
        " FROM intermediate.int_persons__nir_anomalies", (day,)).fetchone()
    items = [
        {"person_ids": person_ids.split(), "birth_dates": dates, "current_dates": current_dates, "seen_on": seen_on}
        for person_ids, dates, current_dates, seen_on in conn.execute(
            "SELECT person_ids, nb_dates_naissance, nb_dates_actuelles, anomalie_vue_le"
            " FROM intermediate.int_persons__nir_anomalies"
            " ORDER BY anomalie_vue_le DESC, person_ids LIMIT %s", (ANOMALIES_SHOWN,))
    ]
    return {
        "built": True,
        "linked_today": linked,
        "moved_to_earlier_person": merged,
        "nir_two_birth_dates": {"total": total, "current": current, "new_today": new_today, "items": items},
    }
