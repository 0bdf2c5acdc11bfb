"""The run report's section on the agencies' reports: what each structure told back that day
(appointments, contracts, exits, re-orientation requests, ...), from the lines loaded out of the day's
files, in either format (the project's CSV or the WebRSA exchange: both land in raw.ali_report_line),
and the lines rejected, by reason.

Counts and codes only: never a référent's name or e-mail address, never a line's content.
"""

from __future__ import annotations

from datetime import date

import psycopg


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,)).fetchone()[0]


def summary_for_day(conn: psycopg.Connection, day: date) -> dict:
    """Events loaded from the files recorded for ``day``, per structure and event code; their labels
    (referentiel.codes_evenement_ali, when built); lines rejected per structure and reason."""
    if not _exists(conn, "raw.ali_report_line"):
        return {"built": False}
    events = conn.execute(
        "SELECT l.code_structure, l.evenement, count(*) FROM raw.ali_report_line AS l"
        " JOIN registry.landing_file AS f USING (file_id) WHERE f.logical_date = %s"
        " GROUP BY 1, 2 ORDER BY 1, 2", (day,)).fetchall()
    rejects = conn.execute(
        "SELECT coalesce(f.agency_code, '?'), r.reason_code, count(*) FROM raw.ali_report_reject AS r"
        " JOIN registry.landing_file AS f USING (file_id) WHERE f.logical_date = %s"
        " GROUP BY 1, 2 ORDER BY 1, 2", (day,)).fetchall() if _exists(conn, "raw.ali_report_reject") else []
    labels = {}
    if _exists(conn, "referentiel.codes_evenement_ali"):
        labels = dict(conn.execute("SELECT code, libelle FROM referentiel.codes_evenement_ali").fetchall())
    agencies: dict[str, dict] = {}
    for code, event, n in events:
        agencies.setdefault(code, {"code_structure": code, "events": {}, "rejects": {}})["events"][event] = n
    for code, reason, n in rejects:
        agencies.setdefault(code, {"code_structure": code, "events": {}, "rejects": {}})["rejects"][reason] = n
    by_event: dict[str, int] = {}
    for _, event, n in events:
        by_event[event] = by_event.get(event, 0) + n
    by_reason: dict[str, int] = {}
    for _, reason, n in rejects:
        by_reason[reason] = by_reason.get(reason, 0) + n
    return {"built": True, "by_event": dict(sorted(by_event.items())), "rejects": dict(sorted(by_reason.items())),
            "labels": {code: labels[code] for code in by_event if code in labels},
            "by_agency": [agencies[code] for code in sorted(agencies)]}
