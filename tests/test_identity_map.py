"""Identity that survives: the synthetic identity events, the run report's identity section, and the
end-to-end story through the real pipeline.

The story: a small synthetic landing zone (the generator's own identity events, at their usual
rates) in which a person known to the CAF without a NIR on days 1 and 2, oriented, gets their NIR in
day 3's daily flow. ``aiguillage backfill`` runs the three days as the scheduled pipeline would: the
person keeps their person_id and their referral (no CLOTUREE / NOUVELLE pair in the agency's extract),
the run report counts the NIR that appeared; a rerun of day 3 changes nothing, and the documented
restore (the days replayed on an empty warehouse) gives the same identity map.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, timedelta

import psycopg
import pytest

from aiguillage.nir import is_valid_nir
from aiguillage.run_report import identities as identity_section
from aiguillage.run_report.render import render
from aiguillage.runner import DAILY_DAGS
from aiguillage.synth import generate
from aiguillage.synth.identity import TEMPORARY_SHARE_BORN_ABROAD, is_temporary
from aiguillage.synth.model import ADULT_ROLES
from aiguillage.synth.movements import Kind, Timeline
from aiguillage.synth.population import GenerationContext
from tests.conftest import new_database, run_cli

DAY1 = date(2026, 11, 2)
DAY2, DAY3 = DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)
HOUSEHOLDS = 300


# --- the generator's identity events ------------------------------------------------------------------

def _identity_changes(ctx: GenerationContext, days: int) -> list[tuple[int, int, str, str]]:
    """(day, household, person's role, what happened) for every identity event that changed someone."""
    timeline = Timeline(ctx, days)
    changes = []
    for day in range(1, days):
        events = timeline.per_day[day]
        for position, index in enumerate(events.households):
            if events.kinds[position] != Kind.IDENTITY:
                continue
            before, after = timeline.household_at(index, day - 1), timeline.household_at(index, day)
            for was, now in zip(before.persons, after.persons, strict=True):
                if (was.nir, was.nir_known_to_caf) == (now.nir, now.nir_known_to_caf):
                    continue
                assert is_valid_nir(now.nir) and now.nir_known_to_caf
                what = "certified" if was.nir_known_to_caf else "temporary" if not was.nir else "known"
                if what == "certified":
                    assert is_temporary(was.nir) and not is_temporary(now.nir)
                    assert now.nir[1:10] == was.nir[1:10], "same birth year, month and place"
                changes.append((day, index, now.role, what))
    return changes


def test_synthetic_nirs_appear_and_get_certified_at_realistic_rates():
    ctx = GenerationContext(seed=5, start=DAY1, n_initial=3000)
    timeline = Timeline(ctx, 1)
    adults = [p for index in range(ctx.n_initial) for p in timeline.initial_household(index).adults()]
    abroad = [p for p in adults if p.nir_known_to_caf and p.nir[5:7] == "99"]
    temporary = [p for p in abroad if is_temporary(p.nir)]
    assert all(is_valid_nir(p.nir) for p in temporary)
    assert 0.5 * TEMPORARY_SHARE_BORN_ABROAD < len(temporary) / len(abroad) < 2 * TEMPORARY_SHARE_BORN_ABROAD
    unknown = [p for p in adults if not p.nir_known_to_caf]
    assert 0.01 < len(unknown) / len(adults) < 0.10, "a few adults are not known by their NIR yet"

    changes = _identity_changes(ctx, 40)
    kinds = {what for _, _, _, what in changes}
    assert {"certified", "known"} <= kinds, changes
    assert all(role in ADULT_ROLES for _, _, role, _ in changes)
    # About one person in a few hundred of those who can, per day: a wait of months to a year.
    per_day = len(changes) / 39
    assert 0.1 < per_day < 3, per_day
    assert _identity_changes(ctx, 40) == changes, "the same seed gives the same events"


def test_the_rest_of_the_population_is_drawn_as_before():
    """Identity draws have their own stream: every other event of the schedule is unchanged."""
    ctx = GenerationContext(seed=11, start=DAY1, n_initial=2000)
    timeline = Timeline(ctx, 15)
    for day in range(1, 15):
        events = timeline.per_day[day]
        others = [(index, kind) for index, kind in zip(events.households, events.kinds, strict=True)
                  if kind != Kind.IDENTITY]
        assert len(others) > 0
    assert sum(Kind.IDENTITY in timeline.per_day[day].kinds for day in range(1, 15)) > 0


# --- the run report's identity section ----------------------------------------------------------------

def _identity_tables(conn) -> None:
    """The three relations the section reads, with the columns dbt gives them."""
    conn.execute("""
        CREATE SCHEMA intermediate; CREATE SCHEMA history;
        CREATE TABLE history.person_identity_map (identity_key text, person_id text, date_liaison date,
            previous_person_id text);
        CREATE TABLE intermediate.int_persons__identities (dossier_person_key text, person_id text,
            identity_rule text, date_liaison date);
        CREATE TABLE intermediate.int_persons__nir_anomalies (person_key text, nb_dates_naissance bigint,
            nb_dates_actuelles bigint, person_ids text, premiere_vue_le date, anomalie_vue_le date);
        INSERT INTO history.person_identity_map VALUES
            ('IDENTITE|931-1|civil', 'p-first', '2026-11-02', NULL),
            ('NIR|nir-pseudonym-1|1980-01-01', 'p-first', '2026-11-04', NULL),
            ('IDENTITE|931-2|civil', 'p-first', '2026-11-04', 'p-second');
        INSERT INTO intermediate.int_persons__identities VALUES
            ('931-1:a', 'p-first', 'NIR_APPARU', '2026-11-04'), ('931-3:a', 'p-third', 'NIR_CERTIFIE', '2026-11-04'),
            ('931-4:a', 'p-fourth', 'NIR13_DTNAI', '2026-11-02');
        INSERT INTO intermediate.int_persons__nir_anomalies VALUES
            ('nir-pseudonym-9', 2, 2, 'p-ninth p-tenth', '2026-11-02', '2026-11-04'),
            ('nir-pseudonym-8', 2, 1, 'p-eighth p-seventh', '2026-11-02', '2026-11-03');
    """)


def test_report_section_counts_links_and_lists_nirs_with_two_birth_dates(conn):
    assert identity_section.summary_for_day(conn, DAY3) == {"built": False}
    _identity_tables(conn)
    part = identity_section.summary_for_day(conn, DAY3)
    assert part["linked_today"] == {"NIR_APPARU": 1, "NIR_CERTIFIE": 1}
    assert part["moved_to_earlier_person"] == 1  # the civil key of 931-2 now belongs to p-first
    anomalies = part["nir_two_birth_dates"]
    assert (anomalies["total"], anomalies["current"], anomalies["new_today"]) == (2, 1, 1)
    assert [item["person_ids"] for item in anomalies["items"]] == [["p-ninth", "p-tenth"], ["p-eighth", "p-seventh"]]
    page = render({"day": DAY3, "run_id": "r", "generated_at": "t", "status": "complete", "withheld": [],
                   "failed": [], "files": {"count": 0, "by_status": {}, "items": []}, "layers": [],
                   "gate": {"ran": False}, "extracts": [], "referrals": {"built": False, "by_agency": []},
                   "deadlines": {"built": False, "history_built": False}, "france_travail": {"built": False},
                   "identities": part, "tasks": [], "task_runs": [], "slowest_tasks": []})
    assert "id='identities'" in page and "p-tenth" in page and "NIR_APPARU" in page
    assert "nir-pseudonym" not in page, "never the NIR nor its pseudonym"


# --- the RGPD purge follows the map ------------------------------------------------------------------

def test_the_purge_takes_every_row_of_a_person_whose_nir_appeared(conn):
    """Three CAF rows of one person: day 1 without a NIR, day 3 with a temporary NIR, day 4 with the
    certified one (the current row). The identity map gives all three the person's first id, so the
    purge judges them together: the day-3 row, neither current nor keyed by that id, goes too."""
    from aiguillage.retention import candidates

    civil = "IDENTITE|931-7|identity-pseudonym"
    temporary, certified = "NIR|temporary-pseudonym|1980-01-01", "NIR|certified-pseudonym|1980-01-01"
    person = hashlib.md5(civil.encode()).hexdigest()
    conn.execute("""
        CREATE SCHEMA staging; CREATE SCHEMA intermediate; CREATE SCHEMA history; CREATE SCHEMA marts;
        CREATE TABLE history.snap_persons__situations (person_id text, droit_ouvert boolean,
            dbt_valid_from timestamp, dbt_valid_to timestamp);
        CREATE TABLE marts.referral_movements (id_orientation text, person_id text, type_mouvement text,
            date_mouvement date);
        CREATE TABLE intermediate.int_persons__identities (dossier_person_key text, person_id text);
        CREATE TABLE staging.base_caf__person_pseudonyms (file_id bigint, position integer,
            person_position integer, person_pseudonym text, identity_pseudonym text);
        CREATE TABLE staging.base_caf__dossier_pseudonyms (file_id bigint, position integer, household_id text);
        CREATE TABLE history.person_identity_map (identity_key text, person_id text);
    """)
    files = [conn.execute(
        "INSERT INTO registry.landing_file (sha256, relative_path, source, size_bytes, mtime_ns, delivered_on,"
        " status, logical_date, run_id) VALUES (%s, %s, 'caf', 1, 0, %s, 'registered', %s, 'r') RETURNING file_id",
        (str(day) * 64, f"caf/VRSB0801_931_2026110{day}_I.xml", date(2026, 11, day), date(2026, 11, day))
    ).fetchone()[0] for day in (1, 3, 4)]
    nirs = (None, ("780017511100142", "temporary-pseudonym"), ("180017511100142", "certified-pseudonym"))
    for file_id, nir in zip(files, nirs, strict=True):
        conn.execute("INSERT INTO raw.caf_dossier (file_id, position, numorg, matricule) VALUES (%s, 1, '931', '7')",
                     (file_id,))
        conn.execute("INSERT INTO raw.caf_person (file_id, position, person_position, nir, nir_valid, dtnai, nom,"
                     " prenom) VALUES (%s, 1, 1, %s, %s, '1980-01-01', 'X', 'Y')",
                     (file_id, nir and nir[0], nir is not None))
        conn.execute("INSERT INTO staging.base_caf__person_pseudonyms VALUES (%s, 1, 1, %s, 'identity-pseudonym')",
                     (file_id, nir and nir[1]))
        conn.execute("INSERT INTO staging.base_caf__dossier_pseudonyms VALUES (%s, 1, 'household')", (file_id,))
    conn.execute("INSERT INTO intermediate.int_persons__identities VALUES ('931-7:certified-pseudonym', %s)",
                 (person,))
    conn.execute("INSERT INTO history.person_identity_map VALUES (%s, %s), (%s, %s), (%s, %s)",
                 (civil, person, temporary, person, certified, person))
    conn.execute("INSERT INTO history.snap_persons__situations VALUES (%s, false, '2026-11-01', NULL)", (person,))
    assert candidates.select(conn, date(2028, 11, 1)) == {"persons": 1, "households": 1}
    rows = conn.execute("SELECT file_id, person_id, purged FROM ret_person_row ORDER BY file_id").fetchall()
    assert rows == [(file_id, person, True) for file_id in files]


# --- the story through the real pipeline --------------------------------------------------------------

def _orientable_without_nir(before, person) -> bool:
    """A person the rules refer on day 1 with no other criterion than the default one."""
    children = sum(p.role == "ENF" for p in before.persons)
    return (person.role in ADULT_ROLES and person.rd == 1 and before.etat == "2" and person.ft is None
            and before.addresses[0].in_departement and not before.sans_domicile_fixe and children < 3
            and (DAY1 - person.dtnai).days > 30 * 365)


def _story_seed() -> tuple[int, str, str, date]:
    """The first seed whose day 3 gives a NIR to such a person: (seed, name, first name, birth date)."""
    for seed in range(1, 1000):
        ctx = GenerationContext(seed=seed, start=DAY1, n_initial=HOUSEHOLDS)
        timeline = Timeline(ctx, 3)
        events = timeline.per_day[2]
        for position, index in enumerate(events.households):
            if events.kinds[position] != Kind.IDENTITY:
                continue
            before, after = timeline.household_at(index, 1), timeline.household_at(index, 2)
            for was, now in zip(before.persons, after.persons, strict=True):
                if not was.nir_known_to_caf and now.nir_known_to_caf and _orientable_without_nir(before, was):
                    return seed, was.nom, was.prenom, was.dtnai
    raise AssertionError("no seed in 1..999 gives a NIR on day 3 to a person referred on day 1")


def _person_id(conn, name: str, first_name: str, born: date) -> str:
    """The person's id, found through the restricted identifiers (never printed)."""
    rows = conn.execute(
        "SELECT DISTINCT identities.person_id FROM identifiants.identifiants__persons AS people"
        " JOIN staging.stg_caf__persons AS persons ON persons.person_key = people.person_key"
        " JOIN intermediate.int_persons__identities AS identities USING (dossier_person_key)"
        " WHERE people.nom = %s AND people.prenom = %s AND people.date_naissance = %s",
        (name, first_name, born)).fetchall()
    assert len(rows) == 1
    return rows[0][0]


def _fingerprint(conn, query: str) -> list[tuple]:
    return conn.execute(query).fetchall()


MAP = "SELECT * FROM history.person_identity_map ORDER BY identity_key"


@pytest.mark.slow
@pytest.mark.airflow
def test_a_nir_that_appears_on_day_3_keeps_the_person_and_their_referral(tmp_path, server_url):
    seed, name, first_name, born = _story_seed()
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    generate(landing, DAY1, HOUSEHOLDS, 3, seed=seed)
    with new_database(server_url, "t_identity_") as url, new_database(server_url, "t_identity_replay_") as replay:
        env = {"AIGUILLAGE_WAREHOUSE_URL": url, "AIGUILLAGE_TASK_RETRIES": "0"}
        ran = run_cli("backfill", "--from", DAY1.isoformat(), "--to", DAY3.isoformat(), "--landing", str(landing),
                      "--outbox", str(outbox), env=env, timeout=1800)
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]

        with psycopg.connect(url) as conn:
            person = _person_id(conn, name, first_name, born)
            # Known by their civil identity from day 1, by their NIR from day 3: one person, the first id.
            keys = conn.execute(
                "SELECT key_type, identity_rule, first_seen_on, date_liaison FROM history.person_identity_map"
                " WHERE person_id = %s ORDER BY first_seen_on, key_type", (person,)).fetchall()
            assert keys[0] == ("IDENTITE", "IDENTITE_MATRICULE", DAY1, DAY1)
            assert ("NIR", "NIR_APPARU", DAY3, DAY3) in keys
            assert conn.execute(
                "SELECT identity_rule, date_liaison FROM intermediate.int_persons__identities WHERE person_id = %s",
                (person,)).fetchall() == [("NIR_APPARU", DAY3)]
            # The referral made on day 1 is the same one on day 3: no closure, no new referral.
            movements = conn.execute(
                "SELECT date_mouvement, type_mouvement, id_orientation, code_structure FROM marts.referral_movements"
                " WHERE person_id = %s ORDER BY date_mouvement, type_mouvement", (person,)).fetchall()
            assert movements and movements[0][1] == "NOUVELLE", "the story's person is referred before day 3"
            referral, agency = movements[0][2], movements[0][3]
            assert all(kind not in ("CLOTUREE", "NOUVELLE") for day, kind, *_ in movements if day == DAY3)
            assert {row[2] for row in movements} == {referral}
            assert conn.execute("SELECT statut_orientation FROM marts.referrals WHERE id_orientation = %s",
                                (referral,)).fetchone()[0] != "CLOTUREE"
            identity_map = _fingerprint(conn, MAP)

        # The agency's extract of day 3 has no closure or new referral for them.
        extract = outbox / agency / DAY3.isoformat() / f"orientations_{agency}_{DAY3:%Y%m%d}.csv"
        with extract.open(encoding="utf-8-sig", newline="") as handle:
            lines = [line for line in csv.DictReader(handle, delimiter=";") if line["id_orientation"] == referral]
        assert all(line["type_mouvement"] not in ("CLOTUREE", "NOUVELLE") for line in lines)

        # The run report counts the NIR that appeared, and names no one.
        report_text = (outbox / "_runs" / DAY3.isoformat() / "run_report.json").read_text(encoding="utf-8")
        section = json.loads(report_text)["identities"]
        assert section["built"] and section["linked_today"].get("NIR_APPARU", 0) >= 1
        assert name not in report_text and first_name not in report_text

        # Rerunning day 3 changes nothing.
        again = run_cli("run", "--date", DAY3.isoformat(), "--landing", str(landing), "--outbox", str(outbox),
                        env=env)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        with psycopg.connect(url) as conn:
            assert _fingerprint(conn, MAP) == identity_map
            assert _person_id(conn, name, first_name, born) == person

        # Restoring on an empty warehouse (the days replayed from the landing zone) gives the same ids.
        restored = run_cli(
            "backfill", "--from", DAY1.isoformat(), "--to", DAY3.isoformat(), "--landing", str(landing),
            "--outbox", str(tmp_path / "outbox-replay"),
            "--only", ",".join(dag for dag in DAILY_DAGS if dag != "referral_extracts"),
            env={**env, "AIGUILLAGE_WAREHOUSE_URL": replay}, timeout=1800)
        assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-3000:]
        with psycopg.connect(replay) as conn:
            assert _fingerprint(conn, MAP) == identity_map
