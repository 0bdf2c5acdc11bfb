"""Who gets looked up at France Travail, how the answers land in raw.france_travail_api_call, and the
day's quota: a rerun of the day does not spend it again."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from aiguillage.france_travail.api_client import ApiSettings, FranceTravailClient
from aiguillage.france_travail.api_standin import (
    NO_ORIENTATION,
    UNKNOWN_ADDRESS,
    StandinPerson,
    StandinServer,
)
from aiguillage.france_travail.api_sync import (
    Person,
    exchanges_for_day,
    lookups_for_day,
    refresh,
    select_people,
    sync,
)
from aiguillage.nir import make_nir

AS_OF = date(2026, 3, 2)
BORN = date(1985, 6, 1)


def nir(order: int) -> str:
    return make_nir(1 + order % 2, 1985, 6, "93", 8, order)


def add_file(conn, delivered_on: date, status: str = "loaded") -> int:
    return conn.execute(
        """
        INSERT INTO registry.landing_file (sha256, relative_path, source, size_bytes, mtime_ns, delivered_on,
                                           status, logical_date, run_id)
        VALUES (%s, %s, 'caf', 1, 0, %s, %s, %s, 'test')
        RETURNING file_id
        """,
        (uuid.uuid4().hex * 2, f"caf/{uuid.uuid4().hex}.xml", delivered_on, status, delivered_on),
    ).fetchone()[0]


def add_dossier(conn, file_id: int, position: int, matricule: str, etat: str) -> None:
    conn.execute(
        "INSERT INTO raw.caf_dossier (file_id, position, matricule, etatdosrsa) VALUES (%s, %s, %s, %s)",
        (file_id, position, matricule, etat),
    )


def add_person(conn, file_id: int, position: int, matricule: str, nir_value: str, *, rd: bool = True,
               valid: bool = True, born: date = BORN, person_position: int = 1) -> None:
    conn.execute(
        """
        INSERT INTO raw.caf_person (file_id, position, person_position, matricule, nir, nir_valid, dtnai,
                                    toppersdrodevorsa, rolepers_rsa)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'DEM')
        """,
        (file_id, position, person_position, matricule, nir_value, valid, born, rd),
    )


def add_lookup(conn, nir_value: str, days_before: int, outcome: str, *, born: date = BORN,
               purpose: str = "lookup") -> None:
    at = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=UTC) - timedelta(days=days_before)
    conn.execute(
        """
        INSERT INTO raw.france_travail_api_call (lookup_id, purpose, logical_date, run_id, requested_at, nir,
                                                 dtnai, endpoint, http_status, outcome)
        VALUES (%s, %s, %s, 'earlier', %s, %s, %s, 'search', 200, %s)
        """,
        (uuid.uuid4().hex, purpose, at.date(), at, nir_value, born, outcome),
    )


@pytest.fixture
def population(conn):
    """A few dossiers over three files; returns the NIRs by what should happen to them."""
    first = add_file(conn, date(2026, 1, 5))
    second = add_file(conn, date(2026, 2, 5))
    # Inserted last (greatest file_id) but delivered first: never the "latest".
    late_registered_old_file = add_file(conn, date(2025, 12, 1))
    unloaded = add_file(conn, date(2026, 2, 20), status="registered")

    add_dossier(conn, first, 1, "M1", "2")
    add_person(conn, first, 1, "M1", nir(1))  # due
    add_person(conn, first, 1, "M1", nir(2), rd=False, person_position=2)  # not subject to R&D
    add_dossier(conn, first, 2, "M2", "5")
    add_person(conn, first, 2, "M2", nir(3))  # right closed
    add_dossier(conn, first, 3, "M3", "Z")
    add_person(conn, first, 3, "M3", nir(4))  # due (Z counts as open)
    add_person(conn, first, 3, "M3", nir(5), valid=False, person_position=2)  # invalid NIR
    add_person(conn, first, 3, "M3", nir(6)[:13], person_position=3)  # 13-character NIR: due, key computed
    add_dossier(conn, first, 4, "M4", "2")
    add_person(conn, first, 4, "M4", nir(7))  # the dossier closes in the second file
    add_dossier(conn, first, 5, "M5", "5")
    add_person(conn, first, 5, "M5", nir(8))  # the dossier reopens in the second file: due
    add_person(conn, first, 5, "M5", nir(9), person_position=2)  # leaves R&D in the second file
    add_dossier(conn, first, 6, "M6", "3")
    add_person(conn, first, 6, "M6", nir(10))  # looked up 2 days ago: fresh
    add_person(conn, first, 6, "M6", nir(11), person_position=2)  # looked up 40 days ago: stale
    add_person(conn, first, 6, "M6", nir(12), person_position=3)  # only an ERROR yesterday: due
    add_person(conn, first, 6, "M6", nir(13), person_position=4)  # S002 10 days ago: fresh

    add_dossier(conn, second, 1, "M4", "5")
    add_dossier(conn, second, 2, "M5", "4")
    add_person(conn, second, 2, "M5", nir(8))
    add_person(conn, second, 2, "M5", nir(9), rd=False, person_position=2)
    add_dossier(conn, late_registered_old_file, 1, "M1", "6")  # older news: M1 stays open
    add_dossier(conn, unloaded, 1, "M3", "5")  # not loaded yet: ignored

    add_lookup(conn, nir(10), 2, "FOUND")
    add_lookup(conn, nir(11), 40, "FOUND")
    add_lookup(conn, nir(12), 1, "ERROR")
    add_lookup(conn, nir(13), 10, "NO_CANDIDATE")
    conn.commit()
    never_looked_up = sorted([nir(1), nir(4), nir(6), nir(8)])
    return {"order": [*never_looked_up, nir(12), nir(11)]}


def test_selection_picks_due_people_in_order(conn, population):
    people = select_people(conn, AS_OF, max_age_days=30, limit=100)

    assert [p.nir15 for p in people] == population["order"]
    assert all(p.dtnai == BORN for p in people)
    # The CAF's 13-character NIR is completed with its key, as France Travail's search wants 15.
    assert nir(6) in [p.nir15 for p in people]


def test_a_send_is_not_a_lookup(conn, population):
    """The search made to send an orientation finds the person, but reads nothing of France Travail's
    orientation: it does not settle the person's lookup."""
    add_lookup(conn, nir(1), 1, "FOUND", purpose="send")
    conn.commit()
    assert nir(1) in [p.nir15 for p in select_people(conn, AS_OF, 30, limit=100)]
    # The same lookup with purpose lookup does.
    add_lookup(conn, nir(1), 1, "FOUND")
    conn.commit()
    assert nir(1) not in [p.nir15 for p in select_people(conn, AS_OF, 30, limit=100)]


def test_selection_respects_the_limit_and_the_age(conn, population):
    assert [p.nir15 for p in select_people(conn, AS_OF, 30, limit=2)] == population["order"][:2]
    assert select_people(conn, AS_OF, 30, limit=0) == []
    # With a 5-day refresh, the S002 of 10 days ago is due again, after the 40-day-old FOUND.
    assert [p.nir15 for p in select_people(conn, AS_OF, 5, limit=100)] == [*population["order"], nir(13)]


def test_a_lookup_with_an_error_after_the_search_is_not_settled(conn, population):
    lookup_id = uuid.uuid4().hex
    at = datetime(2026, 3, 1, tzinfo=UTC)
    for endpoint, outcome in (("search", "FOUND"), ("read_orientation", "ERROR")):
        conn.execute(
            "INSERT INTO raw.france_travail_api_call (lookup_id, logical_date, run_id, requested_at, nir, dtnai,"
            " endpoint, outcome) VALUES (%s, %s, 'r', %s, %s, %s, %s, %s)",
            (lookup_id, at.date(), at, nir(1), BORN, endpoint, outcome),
        )
    conn.commit()

    assert nir(1) in [p.nir15 for p in select_people(conn, AS_OF, 30, limit=100)]


def test_person_repr_hides_the_nir():
    assert nir(1) not in repr(Person(nir(1), BORN))


def standin_people(population_order: list[str]) -> dict:
    first, second, third, *_ = population_order
    return {
        (first, BORN): StandinPerson.found("PED"),
        (second, BORN): StandinPerson(UNKNOWN_ADDRESS),
        (third, BORN): StandinPerson(NO_ORIENTATION),
        # the rest are unknown to France Travail: S002
    }


def client_for(server: StandinServer) -> FranceTravailClient:
    return FranceTravailClient(ApiSettings(server.base_url, "aiguillage-dev", "standin-secret", timeout=2,
                                           backoff_base=0.01, max_requests_per_second=0))


def landed(conn) -> list[tuple]:
    return conn.execute(
        "SELECT lookup_id, nir, dtnai, endpoint, http_status, business_code, outcome, attempts, requested_at,"
        " logical_date, run_id, response FROM raw.france_travail_api_call WHERE run_id = 'run-1'"
        " ORDER BY call_id"
    ).fetchall()


def test_sync_lands_one_row_per_response(conn, population, caplog):
    caplog.set_level(logging.DEBUG)
    order = population["order"]
    with StandinServer(standin_people(order)) as server, client_for(server) as client:
        report = sync(conn, client, select_people(conn, AS_OF, 30, 100), AS_OF, "run-1")

    assert report.people == 6
    assert report.counts == {"FOUND": 1, "UNKNOWN_ADDRESS": 1, "NO_ORIENTATION": 1, "NO_CANDIDATE": 3}
    assert report.requests == 2 + 2 + 2 + 3  # found, R998 and 204: 2 calls each; three S002: 1 each
    rows = landed(conn)
    assert len(rows) == 9
    by_lookup: dict[str, list[tuple]] = {}
    for row in rows:
        by_lookup.setdefault(row[0], []).append(row)
    assert len(by_lookup) == 6
    for calls in by_lookup.values():
        assert len({(c[1], c[2]) for c in calls}) == 1  # one person per lookup
        assert all(c[8] is not None and c[8].tzinfo is not None for c in calls)
        assert all(c[9] == AS_OF for c in calls)
    found = next(calls for calls in by_lookup.values() if calls[0][1] == order[0])
    assert [(c[3], c[4], c[6]) for c in found] == [("search", 200, "FOUND"), ("read_orientation", 200, "FOUND")]
    assert found[1][11][0]["parcours"] == "PED"  # the list, as received
    assert found[0][11]["jetonUsager"] == "[redacted]"
    no_address = next(calls for calls in by_lookup.values() if calls[0][1] == order[1])
    assert [(c[3], c[5], c[6]) for c in no_address][-1] == ("read_orientation", "R998", "UNKNOWN_ADDRESS")
    no_orientation = next(calls for calls in by_lookup.values() if calls[0][1] == order[2])
    assert [(c[3], c[4], c[6], c[11]) for c in no_orientation][-1] == ("read_orientation", 204, "NO_ORIENTATION",
                                                                        None)
    assert {calls[0][6] for calls in by_lookup.values() if len(calls) == 1} == {"NO_CANDIDATE"}
    assert lookups_for_day(conn, AS_OF) == {"FOUND": 1, "UNKNOWN_ADDRESS": 1, "NO_ORIENTATION": 1, "NO_CANDIDATE": 3}

    assert select_people(conn, AS_OF, 30, 100) == []  # everybody settled
    for value in order:
        assert value not in caplog.text


def test_a_rerun_of_the_day_does_not_spend_the_quota_again(conn, population):
    order = population["order"]
    with StandinServer(standin_people(order)) as server, client_for(server) as client:
        first = refresh(conn, client, as_of=AS_OF, max_age_days=30, limit=2, logical_date=AS_OF, run_id="run-1")
        assert (first.people, first.spent_before) == (2, 0)
        # The day is run again (a fix elsewhere, a replay): its limit is already spent.
        again = refresh(conn, client, as_of=AS_OF, max_age_days=30, limit=2, logical_date=AS_OF, run_id="run-1")
        assert (again.people, again.spent_before) == (0, 2)
        assert server.request_counts["search"] == 2
        assert exchanges_for_day(conn, AS_OF, "lookup") == 2
        # A larger limit for the same day only spends the difference.
        more = refresh(conn, client, as_of=AS_OF, max_age_days=30, limit=3, logical_date=AS_OF, run_id="run-2")
        assert more.people == 1
        # The next day has its own quota.
        next_day = AS_OF + timedelta(days=1)
        tomorrow = refresh(conn, client, as_of=next_day, max_age_days=30, limit=2, logical_date=next_day,
                           run_id="run-3")
        assert tomorrow.people == 2
        assert server.request_counts["search"] == 5
    assert {row[1] for row in landed(conn)} == set(order[:2])


class CrashingClient:
    """Lets `allowed` lookups through, then fails as a killed worker would."""

    def __init__(self, inner: FranceTravailClient, allowed: int) -> None:
        self.inner, self.allowed = inner, allowed

    def lookup(self, nir15, birth_date):
        if self.allowed == 0:
            raise RuntimeError("worker killed")
        self.allowed -= 1
        return self.inner.lookup(nir15, birth_date)


def test_rerun_after_a_crash_only_queries_the_rest(conn, population):
    order = population["order"]
    with StandinServer(standin_people(order)) as server, client_for(server) as client:
        with pytest.raises(RuntimeError):
            sync(conn, CrashingClient(client, allowed=2), select_people(conn, AS_OF, 30, 100), AS_OF, "run-1")
        done = {row[1] for row in landed(conn)}
        assert done == set(order[:2])

        remaining = select_people(conn, AS_OF, 30, 100)
        assert [p.nir15 for p in remaining] == order[2:]
        report = refresh(conn, client, as_of=AS_OF, max_age_days=30, limit=100, logical_date=AS_OF,
                         run_id="run-1")

        assert report.people == len(order) - 2
        assert server.request_counts["search"] == len(order)  # each person searched once in all
    assert {row[1] for row in landed(conn)} == set(order)
    assert select_people(conn, AS_OF, 30, 100) == []


def test_errors_are_landed_and_retried_next_run(conn, population):
    order = population["order"]
    with StandinServer(standin_people(order)) as server, client_for(server) as client:
        server.set_faults(fail_rate=1.0, fail_status=503, endpoints=("read_orientation",))
        report = sync(conn, client, [Person(order[0], BORN)], AS_OF, "run-1")

    assert report.counts == {"ERROR": 1}
    assert [(row[3], row[4], row[6], row[7]) for row in landed(conn)] == [
        ("search", 200, "FOUND", 1), ("read_orientation", 503, "ERROR", 5)]
    # The search found the person, but the lookup is incomplete: due again, ahead of stale lookups.
    assert order[0] in [p.nir15 for p in select_people(conn, AS_OF, 30, 100)]


def test_standin_knows_the_warehouse_people_with_a_france_travail_line(conn, population):
    from aiguillage.france_travail.api_standin import FOUND, people_from_warehouse

    ft_file = add_file(conn, date(2026, 2, 10))
    conn.execute(
        """
        INSERT INTO raw.france_travail_record (file_id, line_number, kind, nir, identifiantpe, dtnai,
                                               date_evenement, code, motif)
        VALUES (%(f)s, 1, 'inscriptions', %(nir)s, '1234567A123', %(born)s, '2026-01-10', '1', NULL),
               (%(f)s, 2, 'inscriptions', %(other)s, '7654321B321', %(born)s, '2026-01-15', 'G', NULL),
               (%(f)s, 3, 'stock', %(third)s, '7654321B322', %(born)s, '2026-01-15', 'F', NULL)
        """,
        {"f": ft_file, "nir": nir(1)[:13], "other": nir(4)[:13], "third": nir(6)[:13], "born": BORN},
    )

    people = people_from_warehouse(conn)

    # Keyed by the 15-character NIR the search sends, the key computed for the CAF's 13 characters.
    assert set(people) == {(nir(1), BORN.isoformat()), (nir(4), BORN.isoformat()), (nir(6), BORN.isoformat())}
    assert people[(nir(4), BORN.isoformat())].behaviour == NO_ORIENTATION  # G: waiting for orientation
    followed = people[(nir(6), BORN.isoformat())]
    assert (followed.behaviour, followed.orientation["parcours"], followed.orientation["organisme"]) == (
        FOUND, "PSP", "CD")  # F: social accompaniment by the Département
    assert people_from_warehouse(conn) == people  # deterministic
