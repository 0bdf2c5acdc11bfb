"""Who is looked up at France Travail, and where the answers land.

:func:`select_people` picks, in one set-based query, the persons subject to rights and duties on an
open right whose France Travail situation is unknown or stale; :func:`sync` looks each one up and
lands every call's response in ``raw.france_travail_api_call``, committing person by person: a crash
keeps what was done, and the rerun's selection skips the people just looked up.

NIRs are never logged: logs count people, outcomes and requests.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import psycopg
from psycopg.types.json import Jsonb

from aiguillage.france_travail.api_client import ERROR, LookupResult

log = logging.getLogger(__name__)

# Outcomes that settle a person's situation until it ages (ERROR settles nothing: retried next run).
SETTLED_OUTCOMES = ("FOUND", "NO_CANDIDATE", "SEVERAL_CANDIDATES", "UNKNOWN_ADDRESS", "ACCESS_REFUSED")
OPEN_RIGHT_STATES = ("Z", "2", "3", "4")  # ETATDOSRSA counted as an open right in the 93
LOADED_FILE_STATUSES = ("loaded", "loaded_with_rejects")


@dataclass(frozen=True)
class Person:
    """Who is looked up. The NIR stays out of the repr, so that printing a Person never leaks it."""

    nir15: str = field(repr=False)
    dtnai: date


class LooksUp(Protocol):
    def lookup(self, nir15: str, birth_date: date) -> LookupResult: ...


@dataclass
class SyncReport:
    counts: dict[str, int]  # lookups per final outcome
    people: int
    requests: int  # HTTP requests of the landed calls, retries included (token requests aside)

    def as_dict(self) -> dict:
        return {"counts": dict(self.counts), "people": self.people, "requests": self.requests}


# "Latest" row = from the loaded file with the greatest delivered_on, then file_id.
# A person is keyed by their NIR, a dossier by its matricule (numdemrsa changes with each new demand).
_SELECT_PEOPLE = """
WITH person_rows AS (
    SELECT DISTINCT ON (upper(p.nir))
           upper(p.nir) AS nir, p.dtnai, p.matricule, p.toppersdrodevorsa, p.nir_valid
    FROM raw.caf_person AS p
    JOIN registry.landing_file AS f ON f.file_id = p.file_id
    WHERE p.nir IS NOT NULL AND f.status = ANY(%(loaded)s)
    ORDER BY upper(p.nir), f.delivered_on DESC NULLS LAST, f.file_id DESC, p.position DESC,
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
    SELECT p.nir, p.dtnai
    FROM person_rows AS p
    JOIN dossier_rows AS d ON d.matricule = p.matricule
    WHERE p.toppersdrodevorsa AND p.nir_valid AND length(p.nir) = 15 AND p.dtnai IS NOT NULL
      AND d.etatdosrsa = ANY(%(open_states)s)
),
lookups AS (
    -- Per person: the last settled lookup (none of its calls ended in ERROR) and the last attempt.
    SELECT s.nir, s.dtnai,
           max(s.requested_at) FILTER (
               WHERE s.outcome = ANY(%(settled)s) AND NOT EXISTS (
                   SELECT 1 FROM raw.france_travail_api_call AS e
                   WHERE e.lookup_id = s.lookup_id AND e.outcome = 'ERROR')
           ) AS last_settled,
           max(s.requested_at) AS last_attempt
    FROM raw.france_travail_api_call AS s
    WHERE s.endpoint = 'search'
    GROUP BY s.nir, s.dtnai
)
SELECT c.nir, c.dtnai
FROM candidates AS c
LEFT JOIN lookups AS l ON l.nir = c.nir AND l.dtnai = c.dtnai
WHERE l.last_settled IS NULL
   OR (l.last_settled AT TIME ZONE 'UTC')::date <= %(as_of)s::date - %(max_age_days)s::integer
-- Never tried first, then failed tries (oldest first), then the oldest settled lookups.
ORDER BY l.last_settled NULLS FIRST, l.last_attempt NULLS FIRST, c.nir, c.dtnai
LIMIT %(limit)s
"""

_INSERT_CALL = """
INSERT INTO raw.france_travail_api_call (
    lookup_id, logical_date, run_id, requested_at, nir, dtnai, endpoint, http_status, business_code,
    outcome, attempts, elapsed_ms, response)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def select_people(conn: psycopg.Connection, as_of: date, max_age_days: int, limit: int) -> list[Person]:
    """Persons to look up on `as_of`, at most `limit`, in a deterministic order.

    Subject to rights and duties (latest CAF row of the person), valid 15-character NIR, on a dossier
    whose latest row has an open right (ETATDOSRSA Z, 2, 3, 4), and whose last settled lookup is
    missing or was made `max_age_days` or more days before `as_of`.
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
    return [Person(nir, dtnai) for nir, dtnai in rows]


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
        with conn.cursor() as cursor:
            cursor.executemany(_INSERT_CALL, [
                (lookup_id, logical_date, run_id, record.requested_at, person.nir15, person.dtnai,
                 record.endpoint, record.http_status, record.business_code, record.outcome,
                 record.attempts, record.elapsed_ms, Jsonb(record.body))
                for record in result.records
            ])
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


def refresh(conn: psycopg.Connection, client: LooksUp, *, as_of: date, max_age_days: int, limit: int,
            logical_date: date, run_id: str) -> SyncReport:
    """Select the people due on `as_of` and sync them: what a daily task runs."""
    people = select_people(conn, as_of, max_age_days, limit)
    log.info("France Travail: %d people due (limit %d, refresh after %d days)", len(people), limit, max_age_days)
    return sync(conn, client, people, logical_date, run_id)


def lookups_for_day(conn: psycopg.Connection, logical_date: date) -> dict[str, int]:
    """France Travail API lookups of the day's runs, by outcome of the person's search."""
    rows = conn.execute(
        "SELECT outcome, count(*) FROM raw.france_travail_api_call"
        " WHERE logical_date = %s AND endpoint = 'search' GROUP BY outcome",
        (logical_date,),
    )
    return dict(rows.fetchall())
