"""Who is looked up at France Travail, and where the answers land.

:func:`select_people` picks, in one set-based query, the persons subject to rights and duties on an
open right whose France Travail situation is unknown or stale; :func:`sync` looks each one up (search,
then France Travail's orientation read) and lands every call's response in
``raw.france_travail_api_call``, committing person by person: a crash keeps what was done, and the
rerun's selection skips the people just looked up. :func:`refresh` is what the daily task runs: the
day's limit counts the lookups already landed for the same logical date, so that rerunning a day
never spends its quota twice.

NIRs are never logged: logs count people, outcomes and requests.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import psycopg
from psycopg.types.json import Jsonb

from aiguillage.france_travail.api_client import ERROR, LookupResult, ResponseRecord
from aiguillage.nir import nir_key

log = logging.getLogger(__name__)

LOOKUP = "lookup"
SEND = "send"
# Search outcomes that settle a person's situation until it ages, when no call of the lookup ended
# in ERROR (an ERROR settles nothing: retried next run).
SETTLED_OUTCOMES = ("FOUND", "NO_CANDIDATE", "SEVERAL_CANDIDATES", "UNKNOWN_ADDRESS", "ACCESS_REFUSED")
OPEN_RIGHT_STATES = ("Z", "2", "3", "4")  # ETATDOSRSA counted as an open right in the 93
LOADED_FILE_STATUSES = ("loaded", "loaded_with_rejects")


@dataclass(frozen=True)
class Person:
    """Who is looked up. The NIR stays out of the repr, so that printing a Person never leaks it."""

    nir15: str = field(repr=False)
    dtnai: date


def nir15_of(nir13: str) -> str:
    """The 15-character NIR France Travail's search wants: the 13 characters and their key (CAF
    files often carry 13 only)."""
    return f"{nir13}{nir_key(nir13):02d}"


class LooksUp(Protocol):
    def lookup(self, nir15: str, birth_date: date) -> LookupResult: ...


@dataclass
class SyncReport:
    counts: dict[str, int]  # lookups per final outcome
    people: int
    requests: int  # HTTP requests of the landed calls, retries included (token requests aside)
    spent_before: int = 0  # lookups already landed for the logical date by earlier runs

    def as_dict(self) -> dict:
        return {"counts": dict(self.counts), "people": self.people, "requests": self.requests,
                "spent_before": self.spent_before}


# "Latest" row = from the loaded file with the greatest delivered_on, then file_id.
# A person is keyed by their NIR13, a dossier by its matricule (numdemrsa changes with each new demand).
_SELECT_PEOPLE = """
WITH person_rows AS (
    SELECT DISTINCT ON (left(upper(p.nir), 13))
           left(upper(p.nir), 13) AS nir13, p.dtnai, p.matricule, p.toppersdrodevorsa, p.nir_valid
    FROM raw.caf_person AS p
    JOIN registry.landing_file AS f ON f.file_id = p.file_id
    WHERE p.nir IS NOT NULL AND length(p.nir) >= 13 AND f.status = ANY(%(loaded)s)
    ORDER BY left(upper(p.nir), 13), f.delivered_on DESC NULLS LAST, f.file_id DESC, p.position DESC,
             p.person_position DESC
),
dossier_rows AS (
    SELECT DISTINCT ON (d.matricule) d.matricule, d.etatdosrsa
    FROM raw.caf_dossier AS d
    JOIN registry.landing_file AS f ON f.file_id = d.file_id
    WHERE d.matricule IS NOT NULL AND f.status = ANY(%(loaded)s)
    ORDER BY d.matricule, f.delivered_on DESC NULLS LAST, f.file_id DESC, d.position DESC
),
candidates AS (
    SELECT p.nir13, p.dtnai
    FROM person_rows AS p
    JOIN dossier_rows AS d ON d.matricule = p.matricule
    WHERE p.toppersdrodevorsa AND p.nir_valid AND p.dtnai IS NOT NULL
      AND d.etatdosrsa = ANY(%(open_states)s)
),
lookups AS (
    -- One row per lookup: settled when its search was, and none of its calls ended in ERROR.
    SELECT lookup_id, left(min(upper(nir)), 13) AS nir13, min(dtnai) AS dtnai, min(requested_at) AS requested_at,
           bool_or(endpoint = 'search' AND outcome = ANY(%(settled)s)) AND NOT bool_or(outcome = 'ERROR')
               AS settled
    FROM raw.france_travail_api_call
    WHERE purpose = 'lookup'
    GROUP BY lookup_id
),
history AS (
    SELECT nir13, dtnai, max(requested_at) FILTER (WHERE settled) AS last_settled,
           max(requested_at) AS last_attempt
    FROM lookups
    GROUP BY nir13, dtnai
)
SELECT c.nir13, c.dtnai
FROM candidates AS c
LEFT JOIN history AS h ON h.nir13 = c.nir13 AND h.dtnai = c.dtnai
WHERE h.last_settled IS NULL
   OR (h.last_settled AT TIME ZONE 'UTC')::date <= %(as_of)s::date - %(max_age_days)s::integer
-- Never tried first, then failed tries (oldest first), then the oldest settled lookups.
ORDER BY h.last_settled NULLS FIRST, h.last_attempt NULLS FIRST, c.nir13, c.dtnai
LIMIT %(limit)s
"""

_INSERT_CALL = """
INSERT INTO raw.france_travail_api_call (
    lookup_id, purpose, logical_date, run_id, requested_at, nir, dtnai, endpoint, http_status, business_code,
    outcome, attempts, elapsed_ms, response)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def select_people(conn: psycopg.Connection, as_of: date, max_age_days: int, limit: int) -> list[Person]:
    """Persons to look up on `as_of`, at most `limit`, in a deterministic order.

    Subject to rights and duties (latest CAF row of the person), valid NIR (13 or 15 characters: the
    key is computed for 13, as production software does), on a dossier whose latest row has an open
    right (ETATDOSRSA Z, 2, 3, 4), and whose last settled lookup is missing or was made `max_age_days`
    or more days before `as_of`.
    """
    if limit <= 0:
        return []
    with conn.transaction():
        # The latest-row CTEs are under-estimated (function filters, freshly loaded tables): a nested
        # loop between them takes minutes on a 90,000-household caseload, hash joins a second.
        conn.execute("SET LOCAL enable_nestloop = off")
        rows = conn.execute(_SELECT_PEOPLE, {
            "loaded": list(LOADED_FILE_STATUSES), "open_states": list(OPEN_RIGHT_STATES),
            "settled": list(SETTLED_OUTCOMES), "as_of": as_of, "max_age_days": max_age_days, "limit": limit,
        }).fetchall()
    return [Person(nir15_of(nir13), dtnai) for nir13, dtnai in rows]


def land(conn: psycopg.Connection, exchange_id: str, purpose: str, logical_date: date, run_id: str,
         nir15: str, dtnai: date, records: Sequence[ResponseRecord]) -> None:
    """Insert the responses of one exchange (the caller commits)."""
    with conn.cursor() as cursor:
        cursor.executemany(_INSERT_CALL, [
            (exchange_id, purpose, logical_date, run_id, record.requested_at, nir15, dtnai, record.endpoint,
             record.http_status, record.business_code, record.outcome, record.attempts, record.elapsed_ms,
             None if record.body is None else Jsonb(record.body))
            for record in records
        ])


def sync(conn: psycopg.Connection, client: LooksUp, people: list[Person], logical_date: date,
         run_id: str) -> SyncReport:
    """Look each person up and land every response, one transaction per person."""
    counts: Counter[str] = Counter()
    requests = 0
    started = time.monotonic()
    conn.commit()  # whatever the caller left open is not ours to roll into a person's transaction
    for index, person in enumerate(people, start=1):
        result = client.lookup(person.nir15, person.dtnai)
        lookup_id = uuid.uuid4().hex
        land(conn, lookup_id, LOOKUP, logical_date, run_id, person.nir15, person.dtnai, result.records)
        conn.commit()
        counts[result.outcome] += 1
        requests += result.requests
        if result.outcome == ERROR:
            log.warning("France Travail lookup %d/%d ended in ERROR (lookup %s)", index, len(people), lookup_id)
        if index % 100 == 0:
            log.info("France Travail sync: %d/%d people, %s", index, len(people), dict(counts))
    log.info("France Travail sync: %d people, %d requests in %.1f s, %s", len(people), requests,
             time.monotonic() - started, dict(counts))
    return SyncReport(dict(counts), len(people), requests)


def exchanges_for_day(conn: psycopg.Connection, logical_date: date, purpose: str) -> int:
    """Lookups (or sends) already landed for `logical_date`, by any run: what the day's quota has spent."""
    return conn.execute(
        "SELECT count(DISTINCT lookup_id) FROM raw.france_travail_api_call WHERE logical_date = %s AND purpose = %s",
        (logical_date, purpose),
    ).fetchone()[0]


def refresh(conn: psycopg.Connection, client: LooksUp, *, as_of: date, max_age_days: int, limit: int,
            logical_date: date, run_id: str) -> SyncReport:
    """Select the people due on `as_of` and sync them: what a daily task runs. `limit` is the day's:
    lookups already landed for `logical_date` (an earlier run of the same day) count against it."""
    spent = exchanges_for_day(conn, logical_date, LOOKUP)
    remaining = max(0, limit - spent)
    people = select_people(conn, as_of, max_age_days, remaining)
    log.info("France Travail: %d people due (day's limit %d, %d already spent, refresh after %d days)",
             len(people), limit, spent, max_age_days)
    report = sync(conn, client, people, logical_date, run_id)
    report.spent_before = spent
    return report


def outcomes_for_day(conn: psycopg.Connection, logical_date: date, purpose: str) -> dict[str, int]:
    """The day's exchanges of one purpose, by final outcome (the outcome of each exchange's last call)."""
    rows = conn.execute(
        """
        SELECT outcome, count(*) FROM (
            SELECT (array_agg(outcome ORDER BY call_id DESC))[1] AS outcome
            FROM raw.france_travail_api_call
            WHERE logical_date = %s AND purpose = %s
            GROUP BY lookup_id
        ) AS exchanges
        GROUP BY outcome
        """,
        (logical_date, purpose),
    )
    return dict(rows.fetchall())


def lookups_for_day(conn: psycopg.Connection, logical_date: date) -> dict[str, int]:
    """France Travail API lookups of the day's runs, by final outcome (FOUND: an orientation was read)."""
    return outcomes_for_day(conn, logical_date, LOOKUP)
