"""Proposal → decision → notification end to end: the real ``aiguillage run`` (real DAGs, real PostgreSQL)
over a synthetic landing zone of three days, with the orientation team's decisions files written by the
test for proposals read from the warehouse.

One warehouse and one landing zone for the module; the tests run in file order and build on each other:
day 1 (every orientable person gets a proposal: the rules the Département validates automatically make
orientations at once, the others wait), the team's decisions for day 2, day 2 and day 3.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest

from aiguillage.extracts import columns
from aiguillage.extracts.spreadsheet import FORMULA_STARTS
from aiguillage.extracts.waiting_proposals import HEADER, list_path
from tests.conftest import _with_database, run_cli

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAY1, DAY2, DAY3 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)
NIR_SHAPED = re.compile(
    r"(?<![0-9A-Za-z])[12]\s?\d{2}\s?\d{2}\s?(\d{2}|2A|2B)\s?\d{3}\s?\d{3}(\s?\d{2})?(?![0-9A-Za-z])")
DECISIONS_HEADER = "id_proposition;decision;parcours;code_structure;date_decision;date_notification;decide_par;motif"


@pytest.fixture(scope="module")
def zone(server_url, tmp_path_factory):
    """200 households over 3 days, an outbox and a warehouse database of their own."""
    dbname = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    root = tmp_path_factory.mktemp("decisions")
    landing, outbox = root / "landing", root / "outbox"
    result = run_cli("synth", "--date", DAY1.isoformat(), "--households", "200", "--days", "3", "--seed", "31",
                     "--landing", str(landing))
    assert result.returncode == 0, result.stderr
    yield {"url": _with_database(server_url, dbname), "landing": landing, "outbox": outbox, "chosen": {}}
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _run(zone, day: date):
    result = run_cli("run", "--date", day.isoformat(), "--landing", str(zone["landing"]), "--outbox",
                     str(zone["outbox"]), "--france-travail-standin", env={"AIGUILLAGE_WAREHOUSE_URL": zone["url"]})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def _query(zone, text: str, params=()) -> list[tuple]:
    with psycopg.connect(zone["url"]) as conn:
        return conn.execute(text, params).fetchall()


def _extract_lines(zone, day: date) -> list[dict]:
    """Every line of every agency's files of the day."""
    lines = []
    for path in sorted(zone["outbox"].glob(f"*/{day.isoformat()}/*.csv")):
        if path.parts[-3].startswith("_"):
            continue
        reader = csv.DictReader(path.read_bytes().decode("utf-8-sig").splitlines(), delimiter=";")
        assert tuple(reader.fieldnames) == columns.EXTRACT_COLUMNS, path
        lines += [{**row, "fichier": path.name} for row in reader]
    return lines


def _decided_only(zone, day: date) -> list[dict]:
    """The day's extract lines, each checked against the proposal that made its orientation: decided by
    the team, or validated automatically by a rule that allows it. Returns the lines."""
    lines = _extract_lines(zone, day)
    assert lines, f"no extract line on {day}"
    made = {id_orientation: (statut, decide_par, automatique) for id_orientation, statut, decide_par, automatique
            in _query(zone, "SELECT r.id_orientation, p.statut_proposition, p.decide_par, p.validation_automatique"
                            " FROM marts.referrals r JOIN marts.orientation_proposals p USING (id_proposition)")}
    for line in lines:
        statut, decide_par, automatique = made[line["id_orientation"]]
        assert statut in ("VALIDEE", "MODIFIEE"), line["id_orientation"]
        assert decide_par != "POLITIQUE_AUTOMATIQUE" or automatique, line["id_orientation"]
        assert line["date_notification"], line["id_orientation"]
    return lines


def test_day_one_orients_only_what_the_policy_validates_and_lists_the_rest(zone):
    result = _run(zone, DAY1)
    assert "Orientation team:" in result.stdout and "Waiting list for the orientation team:" in result.stdout

    lines = _decided_only(zone, DAY1)
    waiting = _query(zone, "SELECT id_proposition, person_id, parcours_propose, code_structure_proposee,"
                           " code_regle, libelle_regle, validation_automatique FROM marts.orientation_proposals"
                           " WHERE statut_proposition = 'EN_ATTENTE_DECISION' ORDER BY id_proposition")
    assert len(waiting) >= 4, "the default policy leaves some proposals to the team"
    assert not any(automatic for *_, automatic in waiting)
    # Nobody waiting has an orientation, so nobody waiting is in any agency's file.
    waiting_people = {person for _, person, *_ in waiting}
    oriented = dict(_query(zone, "SELECT id_orientation, person_id FROM marts.referrals"))
    assert not waiting_people & {oriented[line["id_orientation"]] for line in lines}
    assert not waiting_people & set(oriented.values())
    # Every orientation of the day was validated automatically, the same day, by the policy.
    assert set(_query(zone, "SELECT decide_par, date_decision, date_notification, origine FROM marts.referrals")) == {
        ("POLITIQUE_AUTOMATIQUE", DAY1, DAY1, "INITIALE")}

    # The team's morning list: every waiting proposal, with its reason in plain French, safe in a spreadsheet.
    path = list_path(zone["outbox"], DAY1)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert tuple(rows[0].keys()) == HEADER
    assert sorted(row["id_proposition"] for row in rows) == [proposal for proposal, *_ in waiting]
    labels = {proposal: label for proposal, _, _, _, _, label, _ in waiting}
    assert all(row["motif_proposition"] == labels[row["id_proposition"]] for row in rows)
    assert all(row["numero_caf"] and row["role"] in ("DEM", "CJT") for row in rows)
    assert all(not row["decision"] and not row["decide_par"] for row in rows)
    assert not NIR_SHAPED.search(raw.decode("utf-8-sig"))
    assert not any(value.startswith(FORMULA_STARTS) for row in rows for value in row.values())
    assert "nom" not in rows[0] and "prenom" not in rows[0] and "adresse" not in rows[0]

    # Who will decide what tomorrow: a proposal whose destination receives extracts to validate, one to
    # refuse, one to change to the social parcours.
    receiving = {code for code, in _query(zone, "SELECT code_structure FROM referentiel.destinations"
                                               " WHERE recoit_extrait")}
    to_validate = next(row for row in waiting if row[3] in receiving)
    others = [row for row in waiting if row is not to_validate and row[2] != "PSP"]
    zone["chosen"] = {"VALIDEE": to_validate, "REFUSEE": others[0], "MODIFIEE": others[1]}


def test_the_teams_decisions_make_orientations_the_next_day(zone):
    chosen = zone["chosen"]
    decided_on = DAY1  # decided and notified the day the list came out
    folder = zone["landing"] / "departement"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"decisions_{DAY2:%Y%m%d}.csv").write_text("\n".join([
        DECISIONS_HEADER,
        f"{chosen['VALIDEE'][0]};VALIDEE;;;{decided_on};{decided_on};EQUIPE_ORIENTATION;",
        f"{chosen['REFUSEE'][0]};REFUSEE;;;{decided_on};{decided_on};RESPONSABLE_ORIENTATION;ORIENTATION_INADAPTEE",
        f"{chosen['MODIFIEE'][0]};MODIFIEE;PSP;;{decided_on};{DAY2};RESPONSABLE_ORIENTATION;ENTRETIEN_DIAGNOSTIC",
        f"PR{'0' * 16};VALIDEE;;;{decided_on};{decided_on};EQUIPE_ORIENTATION;",  # nobody's: the warehouse says so
        f"{chosen['VALIDEE'][0]};VALIDEE;;;{decided_on};{decided_on};Jeanne Martin;",  # a name: the reader says no
    ]) + "\n", encoding="utf-8")

    result = _run(zone, DAY2)
    assert "Decisions of the team applied today: VALIDEE 1, MODIFIEE 1, REFUSEE 1" in result.stdout
    assert "Decision lines rejected by the warehouse: UNKNOWN_PROPOSAL 1" in result.stdout
    assert _query(zone, "SELECT status, rejects FROM registry.landing_file WHERE source = 'departement'") == [
        ("loaded_with_rejects", {"UNKNOWN_ROLE": 1})]

    statuses = dict(_query(zone, "SELECT id_proposition, statut_proposition FROM marts.orientation_proposals"))
    assert {decision: statuses[row[0]] for decision, row in chosen.items()} == {
        "VALIDEE": "VALIDEE", "REFUSEE": "REFUSEE", "MODIFIEE": "MODIFIEE"}

    # The validated proposal is the NOUVELLE of day 2's file of its structure, with its decision.
    validated, person, parcours, structure = chosen["VALIDEE"][:4]
    [(id_orientation, decide_par, notified)] = _query(
        zone, "SELECT id_orientation, decide_par, date_notification FROM marts.referrals WHERE id_proposition = %s",
        (validated,))
    assert (decide_par, notified) == ("EQUIPE_ORIENTATION", DAY1)
    lines = _decided_only(zone, DAY2)
    [line] = [line for line in lines if line["id_orientation"] == id_orientation]
    assert (line["type_mouvement"], line["code_structure"], line["parcours"], line["origine"]) == (
        "NOUVELLE", structure, parcours, "INITIALE")
    assert line["fichier"] == f"orientations_{structure}_{DAY2:%Y%m%d}.csv"
    assert line["date_notification"] == DAY1.isoformat()

    # The changed one goes to the social parcours; the refused one to nobody.
    assert _query(zone, "SELECT parcours, decide_par FROM marts.referrals WHERE id_proposition = %s",
                  (chosen["MODIFIEE"][0],)) == [("PSP", "RESPONSABLE_ORIENTATION")]
    assert _query(zone, "SELECT count(*) FROM marts.referrals WHERE person_id = %s", (chosen["REFUSEE"][1],)) == [(0,)]

    # The decided proposals left the list; the run report tells the day.
    listed = {row["id_proposition"] for row in csv.DictReader(
        list_path(zone["outbox"], DAY2).read_bytes().decode("utf-8-sig").splitlines(), delimiter=";")}
    assert not listed & {row[0] for row in chosen.values()}
    report = json.loads((zone["outbox"] / "_runs" / DAY2.isoformat() / "run_report.json").read_text())
    assert report["proposals"]["decided_today"] == {"VALIDEE": 1, "MODIFIEE": 1, "REFUSEE": 1}
    assert report["proposals"]["decisions_rejected"] == {"UNKNOWN_PROPOSAL": 1}
    assert report["proposals"]["waiting"] == len(listed)
    html = (zone["outbox"] / "_runs" / DAY2.isoformat() / "run_report.html").read_text()
    assert "Propositions d'orientation et décisions" in html and "propositions_en_attente.csv" in html


def test_day_three_a_refusal_stands_and_france_travail_hears_only_of_decisions(zone):
    _run(zone, DAY3)
    _decided_only(zone, DAY3)
    refused, person = zone["chosen"]["REFUSEE"][:2]
    content = _query(zone, "SELECT parcours_propose, code_regle, code_territoire FROM marts.orientation_proposals"
                           " WHERE id_proposition = %s", (refused,))[0]
    again = _query(zone, "SELECT parcours_propose, code_regle, code_territoire FROM marts.orientation_proposals"
                         " WHERE person_id = %s AND id_proposition <> %s", (person, refused))
    assert content not in again, "a refused proposal is not made again while it would be the same"
    # Every orientation France Travail was told of had a decision.
    sent = _query(zone, "SELECT s.id_orientation, r.date_decision FROM registry.france_travail_orientation_sent s"
                        " JOIN marts.referrals r USING (id_orientation)")
    assert sent and all(decided is not None for _, decided in sent)
    assert not {orientation for orientation, _ in sent} & {
        orientation for orientation, in _query(zone, "SELECT id_orientation FROM marts.referrals"
                                                     " WHERE date_decision IS NULL")}
    # Three days of proposals kept with their dates: one history row per proposal and status change.
    assert _query(zone, "SELECT count(*) - count(DISTINCT (id_proposition, date_statut))"
                        " FROM marts.orientation_proposal_history") == [(0,)]
    assert Path(list_path(zone["outbox"], DAY3)).is_file()
