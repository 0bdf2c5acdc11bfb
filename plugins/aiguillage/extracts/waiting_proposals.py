"""The orientation team's morning list: the proposals waiting for a decision, as a file in the outbox.

``<outbox>/_departement/<YYYY-MM-DD>/propositions_en_attente.csv`` (contract: docs/data-contracts.md §6),
written every day, even with no line, from ``identifiants.identifiants__waiting_proposals``: UTF-8 with a
BOM, ``;``-separated, one header line, the longest-waiting proposals first. After the columns the team
reads come the decision columns, empty, under the names of the decisions file: the list itself, filled
in and saved as ``<landing>/departement/decisions_<YYYYMMDD>.csv``, is a decisions file (the reader
ignores the list's own columns, and the lines left undecided). Every value goes through
:func:`aiguillage.extracts.spreadsheet.neutralised`: no cell is ever a formula.

No NIR, no name, no street address: the CAF allocataire number and the role designate the person in the
team's own tools. The file is written under a hidden name and renamed into place; rerunning a day
rewrites the same bytes. Logs count lines, never a value.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime
from hashlib import sha256
from pathlib import Path

import psycopg

from aiguillage import dag_defaults, warehouse
from aiguillage.extracts import files
from aiguillage.extracts.spreadsheet import neutralised
from aiguillage.ingest.decisions_reader import DECISION_COLUMNS, LIST_COLUMNS, OPTIONAL_COLUMNS
from aiguillage.observability.log_context import fields, run_log
from aiguillage.run_lock import exclusive

log = run_log(__name__)

LINES_TABLE = "identifiants.identifiants__waiting_proposals"
FOLDER = "_departement"
FILE_NAME = "propositions_en_attente.csv"
# The team reads the list's columns, then fills in the decision columns (id_proposition comes first).
HEADER: tuple[str, ...] = ("id_proposition", *LIST_COLUMNS, *DECISION_COLUMNS[1:], *OPTIONAL_COLUMNS)
# A proposal waiting longer than this is counted apart in the reports (two weeks of the six the law
# gives to orient a person).
LONG_WAIT_DAYS = 14


class WaitingListDayMismatch(RuntimeError):
    """The list's table was built for another day than the one asked for."""


def list_path(outbox: Path, day: date) -> Path:
    """``<outbox>/_departement/<YYYY-MM-DD>/propositions_en_attente.csv``."""
    return Path(outbox) / FOLDER / day.isoformat() / FILE_NAME


def _rows(conn: psycopg.Connection, day: date) -> list[tuple]:
    built = conn.execute(f"SELECT DISTINCT date_liste FROM {LINES_TABLE}").fetchall()  # noqa: S608
    other = sorted(str(when) for when, in built if when != day)
    if other:
        raise WaitingListDayMismatch(
            f"{LINES_TABLE} holds the list of {', '.join(other)}, not of {day}: build the referral warehouse "
            f"for {day} before writing its list")
    wanted = ", ".join(("id_proposition", *LIST_COLUMNS))
    return conn.execute(
        f"SELECT {wanted} FROM {LINES_TABLE}"  # noqa: S608 - constant names only
        " ORDER BY jours_attente DESC, id_proposition COLLATE \"C\"").fetchall()


def render(rows: list[tuple]) -> bytes:
    """The list's bytes: BOM, header, one line per proposal with its decision columns empty."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    empty = [""] * (len(HEADER) - 1 - len(LIST_COLUMNS))
    for row in rows:
        writer.writerow([neutralised(value) for value in row] + empty)
    return "\ufeff".encode() + text.getvalue().encode("utf-8")


def write_list(conn: psycopg.Connection, outbox: Path, day: date) -> dict:
    """Write the day's list; returns its path, line count, sha256 and the oldest wait."""
    rows = _rows(conn, day)
    data = render(rows)
    path = list_path(outbox, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_bytes_atomically(path, data)
    waits = [row[2] for row in rows]
    return {"path": str(path), "rows": len(rows), "sha256": sha256(data).hexdigest(),
            "oldest_days": max(waits) if waits else None}


@exclusive("referral_extracts", part="waiting_proposals")
def deliver_waiting_list(logical_date: datetime, outbox_dir: str | None) -> dict:
    """The referral_extracts task: the day's list in the outbox. Not held back by the quality gate: it
    goes to the Département's own team, and the proposals wait whatever the agencies' files."""
    from aiguillage.extracts.daily import resolve_outbox

    day = dag_defaults.day_of(logical_date)
    with warehouse.connect() as conn:
        written = write_list(conn, resolve_outbox(outbox_dir), day)
    log.info("waiting proposals: %s", fields(lines=written["rows"], oldest_days=written["oldest_days"],
                                             file=written["path"]))
    return {"day": day.isoformat(), **written}


def summary_for_day(conn: psycopg.Connection, day: date) -> dict:
    """What the reports say of the day's proposals and decisions: counts and codes only."""
    def exists(name: str) -> bool:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]

    if not exists("marts.orientation_proposals"):
        return {"built": False}
    waiting = conn.execute(
        "SELECT code_regle, libelle_regle, count(*), max(jours_attente),"
        " count(*) FILTER (WHERE jours_attente > %s)"
        " FROM marts.orientation_proposals WHERE statut_proposition = 'EN_ATTENTE_DECISION'"
        " GROUP BY 1, 2 ORDER BY 3 DESC, 1", (LONG_WAIT_DAYS,)).fetchall()
    made = Counter(dict(conn.execute(
        "SELECT statut_proposition, count(*) FROM marts.orientation_proposal_history"
        " WHERE date_statut = %s AND date_proposition = %s GROUP BY 1", (day, day)).fetchall()))
    decided = Counter(dict(conn.execute(
        "SELECT statut_proposition, count(*) FROM marts.orientation_proposal_history"
        " WHERE date_statut = %s AND date_proposition < %s GROUP BY 1", (day, day)).fetchall()))
    rejected: dict[str, int] = {}
    if exists("intermediate.int_orientations__decisions_checked"):
        rejected = dict(conn.execute(
            "SELECT motif_rejet, count(*) FROM intermediate.int_orientations__decisions_checked"
            " WHERE verifie_le = %s AND statut = 'REJETEE' GROUP BY 1 ORDER BY 1", (day,)).fetchall())
    return {
        "built": True,
        "waiting": sum(row[2] for row in waiting),
        "waiting_long": sum(row[4] for row in waiting),
        "long_wait_days": LONG_WAIT_DAYS,
        "oldest_days": max((row[3] for row in waiting), default=None),
        "waiting_by_rule": [{"code_regle": code, "libelle_regle": label, "waiting": n, "oldest_days": oldest}
                            for code, label, n, oldest, _ in waiting],
        "made_today": sum(made.values()),
        "validated_automatically": made.get("VALIDEE", 0),
        "decided_today": {status: decided.get(status, 0) for status in ("VALIDEE", "MODIFIEE", "REFUSEE")},
        "obsolete_today": decided.get("CADUQUE", 0),
        "decisions_rejected": rejected,
    }
