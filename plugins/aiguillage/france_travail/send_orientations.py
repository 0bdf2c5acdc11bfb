"""The Département's orientations, sent to France Travail once the day's warehouse passed its gate.

France Travail receives the day's decisions like the agencies do: after the referral warehouse is
built and the quality gate has not withheld the day, each orientation not yet sent is told to France
Travail (search the person by birth date and NIR, then ``POST`` orientationusager v1 ``orientation``
with ``origine``, ``parcours`` and ``organisme: "CD"``). Every response is landed in
``raw.france_travail_api_call`` (purpose ``send``), and each orientation keeps its own record in
``registry.france_travail_orientation_sent``.

An orientation is a referral and what makes it: its parcours, its destination and its date
(:data:`SELECT_ORIENTATIONS_TO_SEND`, read from ``marts.referrals``). Its record's key makes a second
send impossible, whatever the runs:

- before the ``POST``, the orientation is claimed (outcome ``SENDING``, committed): a second run,
  concurrent or later, finds it claimed and leaves it;
- after the answer, the outcome replaces the claim: ``SENT`` and ``REFUSED`` are final; a person not
  found (S002, S003), refused (R001) or without an address at France Travail (R998) is tried again
  once the refresh age has passed; an ``ERROR`` that France Travail surely did not take is tried
  again at the next run;
- a ``POST`` whose fate is unknown (a timeout, a 5xx other than 503, a crash while it was out) keeps
  ``SENDING``: France Travail may hold it, so only an operator sends it again (docs/runbook.md).

The day's limit (``AIGUILLAGE_FT_API_LIMIT``) counts the sends already landed for the logical date,
so that rerunning a day never spends it twice. Logs count; they never name a person.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import psycopg
from psycopg import sql

from aiguillage.france_travail.api_client import (
    ACCESS_REFUSED,
    ERROR,
    NO_CANDIDATE,
    ORGANISME_CD,
    REFUSED,
    SENT,
    SEVERAL_CANDIDATES,
    UNKNOWN_ADDRESS,
    ApiAuthError,
    SendResult,
)
from aiguillage.france_travail.api_sync import SEND, exchanges_for_day, land, nir15_of, outcomes_for_day
from aiguillage.observability.log_context import fields, run_log
from aiguillage.run_lock import exclusive

# Lines start with run_id=… day=… dag=… task=…: counts and codes only.
log = run_log(__name__)

SENDING = "SENDING"
# origine of an orientation sent when France Travail's own origine for the person is unknown (what
# production software sends in that case).
DEFAULT_ORIGINE = "INSCRIPTION_AUTO_CAF"
_ORIGINE = re.compile(r"[A-Za-z0-9_]{1,64}")
# Outcomes tried again once the refresh age has passed: France Travail's answer may change.
RETRIED_WHEN_AGED = (NO_CANDIDATE, SEVERAL_CANDIDATES, ACCESS_REFUSED, UNKNOWN_ADDRESS)

# The orientations France Travail is told of: every open referral of the Département with a parcours,
# a destination and a date of orientation, as the referral mart holds it on the day, once its decision
# is notified (by the orientation team, or by the automatic validation of its rule): a proposal still
# waiting for a decision is never a referral, and a referral without a notified decision (made before
# decisions existed) is not told as one.
SELECT_ORIENTATIONS_TO_SEND = sql.SQL("""
SELECT r.id_orientation, r.parcours, r.code_structure, r.date_orientation, r.person_id
FROM marts.referrals AS r
WHERE r.statut_orientation = 'OUVERTE'
  AND r.parcours IS NOT NULL AND r.code_structure IS NOT NULL AND r.date_orientation IS NOT NULL
  AND r.date_decision IS NOT NULL AND r.date_notification IS NOT NULL
""")

# When a recorded orientation (t: its registry row) may be tried again: after an ERROR, or once the
# refresh age has passed for the outcomes of RETRIED_WHEN_AGED. Shared by the selection and by the
# claim, so that both apply the same rule.
_MAY_RETRY = sql.SQL("""
    (t.outcome = 'ERROR'
     OR (t.outcome IN ('NO_CANDIDATE', 'SEVERAL_CANDIDATES', 'ACCESS_REFUSED', 'UNKNOWN_ADDRESS')
         AND t.last_tried_on <= %(day)s::date - %(max_age_days)s::integer))
""")

_SELECT_DUE = sql.SQL("""
WITH orientations AS ({orientations})
SELECT o.id_orientation, o.parcours, o.code_structure, o.date_orientation, p.nir13, p.date_naissance,
       ft_read.origine, t.outcome IS NOT NULL AS tried_before
FROM orientations AS o
JOIN identifiants.identifiants__france_travail_persons AS p ON p.person_id = o.person_id
LEFT JOIN registry.france_travail_orientation_sent AS t
       ON t.id_orientation = o.id_orientation AND t.parcours = o.parcours
      AND t.code_structure = o.code_structure AND t.date_orientation = o.date_orientation
-- France Travail's own origine for the person, from the latest orientation read (raw, as received).
LEFT JOIN LATERAL (
    SELECT c.response -> 0 ->> 'origine' AS origine
    FROM raw.france_travail_api_call AS c
    WHERE left(c.nir, 13) = p.nir13 AND c.dtnai = p.date_naissance
      AND c.purpose = 'lookup' AND c.endpoint = 'read_orientation' AND c.outcome = 'FOUND'
      AND jsonb_typeof(c.response) = 'array'
    ORDER BY c.requested_at DESC
    LIMIT 1
) AS ft_read ON true
WHERE t.outcome IS NULL OR {may_retry}
-- Never tried first (oldest orientations first), then the retries.
ORDER BY t.outcome IS NOT NULL, o.date_orientation, o.id_orientation, o.parcours, o.code_structure
LIMIT %(limit)s
""").format(orientations=SELECT_ORIENTATIONS_TO_SEND, may_retry=_MAY_RETRY)

# Claim before the POST: a new row, or a row that may be tried again; RETURNING says whether it was ours.
_CLAIM = sql.SQL("""
INSERT INTO registry.france_travail_orientation_sent AS t (
    id_orientation, parcours, code_structure, date_orientation, origine, organisme, outcome, attempts,
    first_tried_on, last_tried_on, lookup_id, run_id)
VALUES (%(id_orientation)s, %(parcours)s, %(code_structure)s, %(date_orientation)s, %(origine)s, %(organisme)s,
        'SENDING', 1, %(day)s, %(day)s, %(lookup_id)s, %(run_id)s)
ON CONFLICT (id_orientation, parcours, code_structure, date_orientation) DO UPDATE SET
    outcome = 'SENDING', attempts = t.attempts + 1, last_tried_on = excluded.last_tried_on, last_tried_at = now(),
    origine = excluded.origine, organisme = excluded.organisme, http_status = NULL, business_code = NULL,
    lookup_id = excluded.lookup_id, run_id = excluded.run_id
WHERE {may_retry}
RETURNING 1
""").format(may_retry=_MAY_RETRY)

# A search that did not find the person: recorded unless another run settled the orientation meanwhile.
_RECORD_NOT_SENT = sql.SQL("""
INSERT INTO registry.france_travail_orientation_sent AS t (
    id_orientation, parcours, code_structure, date_orientation, origine, organisme, outcome, attempts,
    first_tried_on, last_tried_on, http_status, business_code, lookup_id, run_id)
VALUES (%(id_orientation)s, %(parcours)s, %(code_structure)s, %(date_orientation)s, %(origine)s, %(organisme)s,
        %(outcome)s, 1, %(day)s, %(day)s, %(http_status)s, %(business_code)s, %(lookup_id)s, %(run_id)s)
ON CONFLICT (id_orientation, parcours, code_structure, date_orientation) DO UPDATE SET
    outcome = excluded.outcome, attempts = t.attempts + 1, last_tried_on = excluded.last_tried_on,
    last_tried_at = now(), http_status = excluded.http_status, business_code = excluded.business_code,
    lookup_id = excluded.lookup_id, run_id = excluded.run_id
WHERE {may_retry}
""").format(may_retry=_MAY_RETRY)

# The answer to a POST this run claimed (only while the claim is still this exchange's).
_RECORD_ANSWER = """
UPDATE registry.france_travail_orientation_sent
SET outcome = %(outcome)s, http_status = %(http_status)s, business_code = %(business_code)s,
    sent_at = CASE WHEN %(outcome)s = 'SENT' THEN now() END,
    sent_on = CASE WHEN %(outcome)s = 'SENT' THEN %(day)s::date END,
    last_tried_at = now()
WHERE (id_orientation, parcours, code_structure, date_orientation)
      = (%(id_orientation)s, %(parcours)s, %(code_structure)s, %(date_orientation)s)
  AND outcome = 'SENDING' AND lookup_id = %(lookup_id)s
"""


@dataclass(frozen=True)
class Orientation:
    """One orientation to send. The NIR stays out of the repr, so that printing it never leaks it."""

    id_orientation: str
    parcours: str
    code_structure: str
    date_orientation: date
    nir15: str
    dtnai: date
    origine: str = DEFAULT_ORIGINE
    tried_before: bool = False

    def __repr__(self) -> str:
        return (f"Orientation({self.id_orientation!r}, {self.parcours}, {self.code_structure}, "
                f"{self.date_orientation})")


class SendsOrientations(Protocol):
    def send_orientation(self, nir15: str, birth_date: date, *, origine: str, parcours: str,
                         organisme: str = ORGANISME_CD, may_send=None) -> SendResult: ...


@dataclass
class SendReport:
    counts: dict[str, int]  # orientations per outcome of this run (SENDING: left uncertain)
    orientations: int
    requests: int
    skipped: int = 0  # claimed by another run meanwhile
    spent_before: int = 0  # sends already landed for the logical date by earlier runs

    def as_dict(self) -> dict:
        return {"counts": dict(self.counts), "orientations": self.orientations, "requests": self.requests,
                "skipped": self.skipped, "spent_before": self.spent_before}


def _origine(value: str | None) -> str:
    return value if isinstance(value, str) and _ORIGINE.fullmatch(value) else DEFAULT_ORIGINE


def select_orientations(conn: psycopg.Connection, day: date, max_age_days: int, limit: int) -> list[Orientation]:
    """The orientations to send on `day`, at most `limit`, in a deterministic order: never tried
    first, then those that may be tried again. Empty when the warehouse is not built yet."""
    if limit <= 0:
        return []
    built = conn.execute("SELECT to_regclass('marts.referrals') IS NOT NULL"
                         " AND to_regclass('identifiants.identifiants__france_travail_persons') IS NOT NULL").fetchone()[0]
    if not built:
        log.warning("France Travail sends: the referral warehouse is not built, nothing to send")
        return []
    rows = conn.execute(_SELECT_DUE, {"day": day, "max_age_days": max_age_days, "limit": limit}).fetchall()
    conn.commit()
    return [Orientation(id_orientation, parcours, code_structure, date_orientation, nir15_of(nir13), dtnai,
                        _origine(origine), tried_before)
            for id_orientation, parcours, code_structure, date_orientation, nir13, dtnai, origine, tried_before
            in rows]


def send(conn: psycopg.Connection, client: SendsOrientations, orientations: list[Orientation], day: date,
         run_id: str, *, max_age_days: int) -> SendReport:
    """Send each orientation, one exchange (and its transactions) at a time. `max_age_days`: when an
    orientation whose person was not found may be tried again (the claim checks it once more)."""
    counts: Counter[str] = Counter()
    requests = skipped = 0
    started = time.monotonic()
    conn.commit()
    for index, orientation in enumerate(orientations, start=1):
        lookup_id = uuid.uuid4().hex
        values = {"id_orientation": orientation.id_orientation, "parcours": orientation.parcours,
                  "code_structure": orientation.code_structure, "date_orientation": orientation.date_orientation,
                  "origine": orientation.origine, "organisme": ORGANISME_CD, "day": day, "run_id": run_id,
                  "lookup_id": lookup_id, "max_age_days": max_age_days}
        claimed = []

        def claim(values=values, claimed=claimed) -> bool:
            # Committed before the POST leaves: a concurrent or later run sees the claim.
            with conn.transaction():
                claimed.append(conn.execute(_CLAIM, values).fetchone() is not None)
            return claimed[-1]

        try:
            result = client.send_orientation(orientation.nir15, orientation.dtnai, origine=orientation.origine,
                                             parcours=orientation.parcours, may_send=claim)
        except ApiAuthError:
            # Refused credentials surface before any request leaves: a claim taken is given back.
            if claimed and claimed[-1]:
                with conn.transaction():
                    conn.execute(_RECORD_ANSWER, {**values, "outcome": ERROR, "http_status": None,
                                                  "business_code": None})
            raise
        requests += result.requests
        with conn.transaction():
            land(conn, lookup_id, SEND, day, run_id, orientation.nir15, orientation.dtnai, result.records)
            last = result.records[-1]
            answer = {**values, "http_status": last.http_status, "business_code": last.business_code}
            if claimed and not claimed[-1]:
                skipped += 1  # another run holds or settled it: its record stays as that run left it
            elif claimed:
                outcome = SENDING if result.uncertain else result.outcome
                conn.execute(_RECORD_ANSWER, {**answer, "outcome": outcome})
                counts[outcome] += 1
            else:
                conn.execute(_RECORD_NOT_SENT, {**answer, "outcome": result.outcome})
                counts[result.outcome] += 1
        if result.uncertain:
            log.warning("France Travail send %d/%d: no answer France Travail could be held to (exchange %s):"
                        " left SENDING, not sent again automatically", index, len(orientations), lookup_id)
        if index % 100 == 0:
            log.info("France Travail sends: %d/%d orientations, %s", index, len(orientations), dict(counts))
    log.info("France Travail sends: %d orientations, %d requests in %.1f s, %s, %d skipped", len(orientations),
             requests, time.monotonic() - started, dict(counts), skipped)
    return SendReport(dict(counts), len(orientations), requests, skipped)


def send_due(conn: psycopg.Connection, client: SendsOrientations, *, day: date, max_age_days: int, limit: int,
             run_id: str) -> SendReport:
    """Select the orientations due on `day` and send them. `limit` is the day's: sends already landed
    for `day` (an earlier run of the same day) count against it."""
    spent = exchanges_for_day(conn, day, SEND)
    remaining = max(0, limit - spent)
    orientations = select_orientations(conn, day, max_age_days, remaining)
    log.info("France Travail: %d orientations to send (day's limit %d, %d already spent)", len(orientations),
             limit, spent)
    report = send(conn, client, orientations, day, run_id, max_age_days=max_age_days)
    report.spent_before = spent
    return report


# -- what the reports show -----------------------------------------------------------------------

SUMMARY_KEYS = ("sent", "refused", "not_found", "access_refused", "unknown_address", "errors", "uncertain")


def summary_for_day(conn: psycopg.Connection, day: date) -> dict[str, int]:
    """The day's sends (every run of the logical date), in the reports' words: sent, refused by France
    Travail, person not found (S002, S003), access refused (R001), no address at France Travail (R998),
    errors, and uncertain (left SENDING: France Travail may hold them). Empty when nothing was tried."""
    by_outcome = outcomes_for_day(conn, day, SEND)
    if not by_outcome:
        return {}
    uncertain = 0
    if conn.execute("SELECT to_regclass('registry.france_travail_orientation_sent')").fetchone()[0] is not None:
        uncertain = conn.execute(
            "SELECT count(*) FROM registry.france_travail_orientation_sent WHERE outcome = %s AND last_tried_on = %s",
            (SENDING, day)).fetchone()[0]
    summary = {
        "sent": by_outcome.get(SENT, 0),
        "refused": by_outcome.get(REFUSED, 0),
        "not_found": by_outcome.get(NO_CANDIDATE, 0) + by_outcome.get(SEVERAL_CANDIDATES, 0),
        "access_refused": by_outcome.get(ACCESS_REFUSED, 0),
        "unknown_address": by_outcome.get(UNKNOWN_ADDRESS, 0),
        "errors": max(0, by_outcome.get(ERROR, 0) - uncertain),
        "uncertain": uncertain,
    }
    return summary


# -- the task ------------------------------------------------------------------------------------

# Under the DAG's run lock, as a part of its own: the agencies' deliveries go on beside it.
@exclusive("referral_extracts", part="france_travail")
def send_day(logical_date: datetime, run_id: str, gate: dict) -> dict:
    """Body of referral_extracts.send_orientations_to_france_travail: the day's orientations to France
    Travail, unless the quality gate withheld the day or the partner access is not set up."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from aiguillage import config, dag_defaults, warehouse
    from aiguillage.france_travail.api_client import FranceTravailClient, settings_from_airflow

    day = dag_defaults.day_of(logical_date)
    if gate.get("day_verdict") == "withhold":
        # France Travail is a receiver of the day's decisions: what the gate withholds is not sent.
        log.warning("France Travail sends: the quality gate withheld the day, nothing sent")
        return {"day": day.isoformat(), "state": "withheld"}
    try:
        settings = settings_from_airflow(dag_defaults.FRANCE_TRAVAIL_API_CONN_ID)
    except AirflowNotFoundException:
        log.warning("France Travail API not configured (no Airflow connection '%s'): no orientation sent",
                    dag_defaults.FRANCE_TRAVAIL_API_CONN_ID)
        return {"day": day.isoformat(), "state": "not_configured"}
    with FranceTravailClient(settings) as client, warehouse.connect() as conn:
        warehouse.migrate(conn)
        conn.commit()
        report = send_due(conn, client, day=day, max_age_days=config.france_travail_api_max_age_days(),
                          limit=config.france_travail_api_limit(), run_id=run_id)
    log.info("France Travail sends: %s", fields(source="france_travail_api", orientations=report.orientations,
                                                 requests=report.requests, outcomes=dict(report.counts),
                                                 skipped=report.skipped, spent_before=report.spent_before))
    return {"day": day.isoformat(), "state": "done", **report.as_dict()}
