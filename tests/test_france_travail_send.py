"""The Département's orientations sent to France Travail: once and only once, whatever the runs.

The referral mart and the restricted identities table are made here by hand (the real models build
them in test_france_travail_dags.py); the API is the stand-in, over real HTTP on loopback.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from aiguillage import report
from aiguillage.france_travail.api_client import ApiSettings, FranceTravailClient
from aiguillage.france_travail.api_standin import (
    NO_ORIENTATION,
    UNKNOWN_ADDRESS,
    StandinPerson,
    StandinServer,
    orientation_for,
)
from aiguillage.france_travail.send_orientations import (
    SELECT_ORIENTATIONS_TO_SEND,
    send_day,
    send_due,
    summary_for_day,
)
from aiguillage.nir import make_nir
from aiguillage.run_report.render import render

DAY = date(2026, 3, 2)
BORN = date(1984, 9, 12)
MAX_AGE = 30


def nir(order: int) -> str:
    return make_nir(2 - order % 2, 1984, 9, "93", 48, order)


def make_warehouse(conn) -> None:
    """The two relations the sends read, shaped as dbt builds them."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
    conn.execute("CREATE SCHEMA IF NOT EXISTS identifiants")
    conn.execute("CREATE TABLE marts.referrals (id_orientation text, person_id text, statut_orientation text,"
                 " parcours text, code_structure text, date_orientation date, date_decision date,"
                 " date_notification date)")
    conn.execute("CREATE TABLE identifiants.identifiants__france_travail_persons"
                 " (person_id text, nir13 text, date_naissance date)")
    conn.commit()


def add_referral(conn, order: int, parcours: str = "PSO", code_structure: str = "ALI05",
                 statut: str = "OUVERTE", oriented: date | None = date(2026, 2, 20),
                 notified: date | None = date(2026, 2, 20)) -> str:
    person = f"P{order}"
    conn.execute("INSERT INTO marts.referrals VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                 (f"ORI-{order}", person, statut, parcours, code_structure, oriented, notified, notified))
    if not conn.execute("SELECT 1 FROM identifiants.identifiants__france_travail_persons WHERE person_id = %s",
                        (person,)).fetchone():
        conn.execute("INSERT INTO identifiants.identifiants__france_travail_persons VALUES (%s, %s, %s)",
                     (person, nir(order)[:13], BORN))
    conn.commit()
    return f"ORI-{order}"


@pytest.fixture
def warehouse(conn):
    make_warehouse(conn)
    return conn


@pytest.fixture
def server():
    people = {(nir(order), BORN): StandinPerson.found("PED") for order in range(1, 30)}
    people[(nir(40), BORN)] = StandinPerson(UNKNOWN_ADDRESS)
    people[(nir(41), BORN)] = StandinPerson(NO_ORIENTATION)  # found; France Travail holds no orientation
    with StandinServer(people) as running:
        yield running


def client_for(server: StandinServer, **overrides) -> FranceTravailClient:
    values = dict(timeout=2, backoff_base=0.01, max_attempts=3, max_requests_per_second=0)
    values.update(overrides)
    return FranceTravailClient(ApiSettings(server.base_url, "aiguillage-dev", "standin-secret", **values))


def run_sends(conn, server, day=DAY, limit=100, run_id="run-1", **client_options):
    with client_for(server, **client_options) as client:
        return send_due(conn, client, day=day, max_age_days=MAX_AGE, limit=limit, run_id=run_id)


def records(conn) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in conn.execute(
        "SELECT id_orientation, outcome, attempts, first_tried_on, last_tried_on, sent_on, origine, organisme"
        " FROM registry.france_travail_orientation_sent ORDER BY id_orientation")}


def test_the_selection_is_one_named_query_on_the_referral_mart():
    text = SELECT_ORIENTATIONS_TO_SEND.as_string(None)
    assert "FROM marts.referrals" in text and "intermediate" not in text
    assert "statut_orientation = 'OUVERTE'" in text


def test_only_orientations_with_a_notified_decision_are_selected(warehouse):
    decided = add_referral(warehouse, 1)
    add_referral(warehouse, 2, notified=None)  # no decision on record: never told to France Travail
    selected = [row[0] for row in warehouse.execute(SELECT_ORIENTATIONS_TO_SEND)]
    assert selected == [decided]


def test_each_open_orientation_is_sent_once_and_only_once(warehouse, server):
    for order in (1, 2, 3):
        add_referral(warehouse, order, parcours=("PSO", "PSP", "PED")[order - 1])
    add_referral(warehouse, 4, statut="CLOTUREE")  # closed: not sent
    add_referral(warehouse, 5, statut="EN_ATTENTE_STRUCTURE", code_structure=None, oriented=None)

    first = run_sends(warehouse, server)
    assert first.counts == {"SENT": 3}
    received = server.received_orientations
    assert sorted((r["nir"], r["parcours"], r["organisme"]) for r in received) == sorted(
        [(nir(1), "PSO", "CD"), (nir(2), "PSP", "CD"), (nir(3), "PED", "CD")])
    assert {r["origine"] for r in received} == {"INSCRIPTION_AUTO_CAF"}  # France Travail's origine unknown
    assert {outcome for outcome, *_ in records(warehouse).values()} == {"SENT"}
    assert all(row[4] == DAY for row in records(warehouse).values())  # sent_on

    # The day run again, then the next day: nothing is sent twice.
    assert run_sends(warehouse, server).orientations == 0
    assert run_sends(warehouse, server, day=DAY + timedelta(days=1), run_id="run-2").orientations == 0
    assert len(server.received_orientations) == 3
    assert server.request_counts["send_orientation"] == 3
    calls = warehouse.execute("SELECT endpoint, outcome, count(*) FROM raw.france_travail_api_call"
                              " WHERE purpose = 'send' GROUP BY 1, 2 ORDER BY 1").fetchall()
    assert calls == [("search", "FOUND", 3), ("send_orientation", "SENT", 3)]


def test_a_new_parcours_or_destination_is_a_new_orientation(warehouse, server):
    add_referral(warehouse, 1, parcours="PSO", code_structure="ALI05")
    run_sends(warehouse, server)
    # The referral now says PSP at the social service: France Travail is told again.
    warehouse.execute("UPDATE marts.referrals SET parcours = 'PSP', code_structure = 'SSD05'")
    warehouse.commit()
    assert run_sends(warehouse, server, day=DAY + timedelta(days=1)).counts == {"SENT": 1}
    assert [r["parcours"] for r in server.received_orientations] == ["PSO", "PSP"]


def test_two_concurrent_runs_send_each_orientation_once(warehouse, server, warehouse_url):
    for order in range(1, 13):
        add_referral(warehouse, order)
    server.set_faults(slow_rate=1.0, slow_seconds=0.05, endpoints=("search",))  # the runs overlap
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def one_run(run_id: str) -> None:
        try:
            with psycopg.connect(warehouse_url) as own:
                barrier.wait()
                reports.append(run_sends(own, server, run_id=run_id))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=one_run, args=(f"run-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors

    received = [r["nir"] for r in server.received_orientations]
    assert sorted(received) == sorted(nir(order) for order in range(1, 13))  # each exactly once
    assert sum(r.counts.get("SENT", 0) for r in reports) == 12
    assert {outcome for outcome, *_ in records(warehouse).values()} == {"SENT"}


def test_an_unanswered_post_is_left_sending_and_never_sent_again_automatically(warehouse, server):
    add_referral(warehouse, 1)
    server.set_faults(slow_next=1, slow_seconds=1.0, endpoints=("send_orientation",))

    report_ = run_sends(warehouse, server, timeout=0.3)

    assert report_.counts == {"SENDING": 1}
    assert records(warehouse)["ORI-1"][0] == "SENDING"
    assert summary_for_day(warehouse, DAY)["uncertain"] == 1
    # The stand-in did receive it, after the client had given up: sending it again would double it.
    server.set_faults()
    assert run_sends(warehouse, server, day=DAY + timedelta(days=1)).orientations == 0
    assert run_sends(warehouse, server, day=DAY + timedelta(days=MAX_AGE + 5)).orientations == 0
    deadline = time.monotonic() + 5
    while not server.received_orientations and time.monotonic() < deadline:
        time.sleep(0.05)  # the stand-in answers once its slowness is over
    assert len(server.received_orientations) == 1


def test_an_error_france_travail_did_not_take_is_tried_again(warehouse, server):
    add_referral(warehouse, 1)
    server.set_faults(fail_rate=1.0, fail_status=503, endpoints=("send_orientation",))
    assert run_sends(warehouse, server).counts == {"ERROR": 1}
    assert records(warehouse)["ORI-1"][:2] == ("ERROR", 1)
    assert summary_for_day(warehouse, DAY)["errors"] == 1

    server.set_faults()
    assert run_sends(warehouse, server, day=DAY + timedelta(days=1), run_id="run-2").counts == {"SENT": 1}
    outcome, attempts, first, last, sent_on, *_ = records(warehouse)["ORI-1"]
    assert (outcome, attempts, first, last, sent_on) == ("SENT", 2, DAY, DAY + timedelta(days=1),
                                                         DAY + timedelta(days=1))


def test_a_person_not_found_is_tried_again_once_the_refresh_age_has_passed(warehouse, server):
    add_referral(warehouse, 30)  # unknown to the stand-in: S002
    add_referral(warehouse, 40)  # R998
    add_referral(warehouse, 41)  # found, no orientation at France Travail: the orientation is still sent
    first = run_sends(warehouse, server)
    assert first.counts == {"NO_CANDIDATE": 1, "UNKNOWN_ADDRESS": 1, "SENT": 1}
    assert server.request_counts["send_orientation"] == 2  # R998 answered the send itself

    assert run_sends(warehouse, server, day=DAY + timedelta(days=MAX_AGE - 1)).orientations == 0
    server.add_person(nir(30), BORN, StandinPerson.found("PSO"))  # registered meanwhile
    later = run_sends(warehouse, server, day=DAY + timedelta(days=MAX_AGE))
    assert later.counts == {"SENT": 1, "UNKNOWN_ADDRESS": 1}
    assert records(warehouse)["ORI-30"][:2] == ("SENT", 2)


def test_a_refusal_by_france_travail_is_final(warehouse, server):
    add_referral(warehouse, 1, parcours="PSO")
    # France Travail refuses what it cannot read: the stand-in refuses a parcours it does not know.
    warehouse.execute("ALTER TABLE registry.france_travail_orientation_sent"
                      " DROP CONSTRAINT france_travail_orientation_sent_parcours_check")
    warehouse.execute("UPDATE marts.referrals SET parcours = 'XYZ'")
    warehouse.commit()
    assert run_sends(warehouse, server).counts == {"REFUSED": 1}
    assert run_sends(warehouse, server, day=DAY + timedelta(days=MAX_AGE + 1)).orientations == 0
    business = warehouse.execute("SELECT response ->> 'message' FROM raw.france_travail_api_call"
                                 " WHERE endpoint = 'send_orientation'").fetchone()[0]
    assert "orientation invalide" in business


def test_the_days_send_quota_counts_the_sends_already_landed(warehouse, server):
    for order in range(1, 6):
        add_referral(warehouse, order)
    assert run_sends(warehouse, server, limit=2).orientations == 2
    again = run_sends(warehouse, server, limit=2)
    assert (again.orientations, again.spent_before) == (0, 2)
    assert run_sends(warehouse, server, limit=2, day=DAY + timedelta(days=1)).orientations == 2
    assert len(server.received_orientations) == 4


def test_france_travails_own_origine_is_sent_back(warehouse, server):
    add_referral(warehouse, 1)
    add_referral(warehouse, 2)
    # A lookup of person 1 read France Travail's orientation, origine included.
    at = datetime(2026, 2, 25, 9, tzinfo=UTC)
    warehouse.execute(
        "INSERT INTO raw.france_travail_api_call (lookup_id, purpose, logical_date, run_id, requested_at, nir,"
        " dtnai, endpoint, http_status, outcome, response) VALUES (%s, 'lookup', %s, 'r', %s, %s, %s,"
        " 'read_orientation', 200, 'FOUND', %s)",
        (uuid.uuid4().hex, at.date(), at, nir(1), BORN, Jsonb([orientation_for("PED", origine="PRESCRIPTION")])))
    warehouse.commit()
    run_sends(warehouse, server)
    by_nir = {r["nir"]: r["origine"] for r in server.received_orientations}
    assert by_nir == {nir(1): "PRESCRIPTION", nir(2): "INSCRIPTION_AUTO_CAF"}
    assert records(warehouse)["ORI-1"][5:] == ("PRESCRIPTION", "CD")


def test_the_reports_count_the_days_sends(warehouse, server):
    add_referral(warehouse, 1)
    add_referral(warehouse, 30)
    run_sends(warehouse, server)
    summary = summary_for_day(warehouse, DAY)
    assert summary == {"sent": 1, "refused": 0, "not_found": 1, "access_refused": 0, "unknown_address": 0,
                       "errors": 0, "uncertain": 0}
    assert summary_for_day(warehouse, DAY + timedelta(days=1)) == {}

    [line] = report.api_lines({}, True, summary)
    assert line == "  France Travail API: 2 orientations of the day sent or tried (sent 1, person not found 1)"
    page = render({"day": DAY.isoformat(), "run_id": "r", "generated_at": "now", "status": "complete",
                   "withheld": [], "failed": [], "extracts": [], "files": {"items": [], "count": 0, "by_status": {}},
                   "layers": [], "gate": {"ran": False}, "referrals": {"built": False},
                   "deadlines": {"built": False, "history_built": False},
                   "france_travail": {"built": True, "lookups": {"FOUND": 4}, "sends": summary}, "tasks": []})
    section = page[page.index("id='france-travail'"):page.index("id='referrals'")]
    assert "Personne introuvable (S002, S003)" in section and "Personnes recherchées" in section
    assert nir(1) not in page


def test_nothing_is_sent_when_the_gate_withheld_the_day(warehouse, server, monkeypatch):
    add_referral(warehouse, 1)
    monkeypatch.setenv("AIRFLOW_CONN_FRANCE_TRAVAIL_API", "{}")  # never read: the gate stops it first
    moment = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    assert send_day(moment, "run-1", {"day_verdict": "withhold"}) == {"day": DAY.isoformat(), "state": "withheld"}
    assert server.request_counts["search"] == 0
    assert records(warehouse) == {}


def test_the_sent_record_and_the_api_calls_are_closed_to_other_roles(warehouse, intruder):
    for table in ("registry.france_travail_orientation_sent", "raw.france_travail_api_call"):
        assert warehouse.execute("SELECT has_table_privilege('public', %s, 'SELECT')", (table,)).fetchone() == (False,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            intruder.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
        intruder.rollback()


def test_the_landed_calls_accept_only_the_known_endpoints_and_outcomes(warehouse):
    insert = ("INSERT INTO raw.france_travail_api_call (lookup_id, purpose, logical_date, run_id, requested_at,"
              " nir, dtnai, endpoint, outcome) VALUES ('x', %s, %s, 'r', now(), %s, %s, %s, %s)")
    warehouse.execute(insert, ("lookup", DAY, nir(1), BORN, "read_orientation", "NO_ORIENTATION"))
    warehouse.execute(insert, ("send", DAY, nir(1), BORN, "send_orientation", "SENT"))
    warehouse.commit()
    for purpose, endpoint, outcome in (("lookup", "inscription", "FOUND"), ("lookup", "search", "MAYBE"),
                                       ("other", "search", "FOUND")):
        with pytest.raises(psycopg.errors.CheckViolation):
            warehouse.execute(insert, (purpose, DAY, nir(1), BORN, endpoint, outcome))
        warehouse.rollback()
