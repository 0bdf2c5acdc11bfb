"""The équipe pluridisciplinaire's suspension-remobilisation list, end to end on hand-made deliveries.

CAF flows written by the project's VRSB0801 writer, agencies' activity reports and the Département's
steps file go through the real registry, readers and loaders; dbt builds each day with its run_day
(the first day with the dbt unit tests of the remobilisation models). The story:

- 2026-11-02 (monthly flow): Alice lives alone in Montreuil; Bruno, Chloé (his spouse) and their
  child live in Bagnolet. Everyone subject to rights and duties is referred to the territory's ALI.
- 11-03: Alice's ALI reports a missed appointment (and a refused contract without its motif, which
  the reader rejects): a case A_EXAMINER, reported by that ALI.
- 11-04: the Département records that it invited Alice to present observations (and a step for an
  unknown case, rejected in the warehouse); the CAF's daily flow carries a CG suspension on Bruno's
  household, with no breach reported: a case for Bruno and one for Chloé, not for the child.
- 11-05: Alice keeps an appointment: REMOBILISE.
- 11-06: Alice refuses to update her contract: a second case (rang 2), A_EXAMINER.

Then: nothing of it is in the agencies' extract (columns, lineage, the agency role), bi_reader reads
the list and an agency role does not, and a rerun of the day gives the same list.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from aiguillage import dbt_runner, pseudonyms
from aiguillage.extracts.columns import EXTRACT_COLUMNS
from aiguillage.ingest.ali_reader import ALI_COLUMNS, read_ali_report
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.loader import load_pending
from aiguillage.ingest.remobilisation_reader import STEP_COLUMNS, read_remobilisation_steps
from aiguillage.landing.registry import scan_and_record
from aiguillage.nir import make_nir
from aiguillage.roles import BI_ROLE, agency_role, ensure_roles
from aiguillage.synth.caf_xml import FlowHeader, VrsbWriter
from aiguillage.synth.model import Address, Household, Person

pytestmark = pytest.mark.slow

D1, D2, D3, D4, D5 = (date(2026, 11, day) for day in (2, 3, 4, 5, 6))
UNKNOWN_CASE = "0" * 32
COMMUNES = {"93048": ("93100", "MONTREUIL"), "93006": ("93170", "BAGNOLET")}
# Words that name the remobilisation list's content: none may be a column an agency receives.
REMOBILISATION_WORDS = re.compile(r"remobilis|manquement|sanction|suspension|observation|(^|_)ep(_|$)")


def _person(order: int, prenom: str, role: str = "DEM", rd: int | None = 1, born: date = date(1985, 3, 3)) -> Person:
    return Person(position=order, role=role, sex=2, nom="MOREAU", nomnai="MOREAU", prenom=prenom, prenom2=None,
                  nomcomnai="PARIS", dtnai=born, rgnai=None, nir=make_nir(2, born.year, born.month, "75", 222, order),
                  nir_known_to_caf=True, topvaliec=True, ddratdos=date(2024, 1, 1), rd=rd)


def _household(matricule: str, persons: list[Person], numcom: str,
               suspensions: list[tuple[str, date]] | None = None) -> Household:
    codepos, nomcom = COMMUNES[numcom]
    address = Address(numvoie="3", libtypevoie="RUE", nomvoie=f"RUE {matricule}", complideadr="", compladr="",
                      numcom=numcom, codepos=codepos, nomcom=nomcom, localite=nomcom.title(), dtemm=date(2020, 1, 1))
    return Household(index=int(matricule), matricule=matricule, numdemrsa=f"D{matricule}", dtdemrsa=date(2024, 1, 1),
                     persons=persons, sitfam="MAR" if len(persons) > 1 else "CEL", ddsitfam=date(2020, 1, 1),
                     addresses=[address], sans_domicile_fixe=False, etat="2", oridemrsa="DEM", natpf="RSD",
                     ddnatdro=date(2024, 1, 1), suspensions_versement=suspensions or [])


def _bruno_household(suspensions: list[tuple[str, date]] | None = None) -> Household:
    return _household("2000002", [_person(2, "BRUNO"), _person(3, "CHLOE", role="CJT"),
                                  _person(4, "LOU", role="ENF", rd=0, born=date(2016, 6, 6))], "93006", suspensions)


def _write_caf(landing: Path, day: date, typeflux: str, households: list[Household]) -> None:
    folder = landing / "caf"
    folder.mkdir(parents=True, exist_ok=True)
    header = FlowHeader(typeflux=typeflux, created=day, created_time="06:00:00", dtref=day.replace(day=1))
    with VrsbWriter(folder / f"VRSB0801_931_{day:%Y%m%d}_{typeflux}.xml", "UTF-8", header) as writer:
        for household in households:
            writer.write(household)
        writer.close()


def _write_ali(landing: Path, agency: str, day: date, lines: list[tuple[str, str, date, str]]) -> None:
    folder = landing / "ali" / agency
    folder.mkdir(parents=True, exist_ok=True)
    rows = [";".join(ALI_COLUMNS)]
    rows += [f"{agency};{day};{referral};{event};{when};{motif};;" for referral, event, when, motif in lines]
    (folder / f"ali_{agency}_{day:%Y%m%d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _write_steps(landing: Path, day: date, lines: list[str]) -> None:
    folder = landing / "departement"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"remobilisation_{day:%Y%m%d}.csv").write_text(
        "\n".join([";".join(STEP_COLUMNS), *lines]) + "\n", encoding="utf-8")


def _load_and_build(conn, landing: Path, day: date, unit_tests: bool = False) -> None:
    scan_and_record(conn, landing, day, f"run-{day}")
    load_pending(conn, "caf", landing, lambda pending, stream: read_caf(stream))
    load_pending(conn, "ali", landing, lambda pending, stream: read_ali_report(stream, pending.agency_code, day))
    load_pending(conn, "departement", landing, lambda pending, stream: read_remobilisation_steps(stream, day))
    conn.commit()
    # Every model, seed and snapshot, and the remobilisation models' data tests (their unit tests once).
    built = dbt_runner.run([
        "build", "--vars", f"{{run_day: '{day}'}}",
        "--select", "resource_type:seed", "resource_type:snapshot", "resource_type:model",
        "path:models/intermediate/remobilisation", "path:models/staging/remobilisation",
        "path:models/marts/remobilisation_cases.sql", "path:models/marts/remobilisation_breaches.sql",
        "path:models/reporting/reporting__remobilisation.sql",
        "path:models/reporting/reporting__remobilisation_manquements.sql",
        "--indirect-selection", "empty", *([] if unit_tests else ["--exclude-resource-type", "unit_test"]),
    ])
    assert built.success, (day, built.failures)


def _referral_of(conn, prenom: str) -> tuple[str, str]:
    """(id_orientation, code_structure) of one of the story's people, from the day's extract lines."""
    return conn.execute("SELECT id_orientation, code_structure FROM identifiants.identifiants__extract_lines"
                        " WHERE prenom = %s AND fichier = 'mouvements'", (prenom,)).fetchone()


def _cases(conn) -> dict[str, dict]:
    """The list as bi_reader sees it, by the referral that names the person."""
    cursor = conn.execute("SELECT * FROM reporting.remobilisation ORDER BY id_orientation, rang_cas")
    names = [column.name for column in cursor.description]
    cases: dict[str, dict] = {}
    for row in cursor.fetchall():
        case = dict(zip(names, row, strict=True))
        cases[f"{case['id_orientation']}#{case['rang_cas']}"] = case
    conn.commit()
    return cases


def _fingerprint(conn) -> str:
    digest = hashlib.sha256()
    for table in ("marts.remobilisation_cases", "marts.remobilisation_breaches",
                  "intermediate.int_remobilisation__steps_checked"):
        rows = conn.execute(f"SELECT md5(t::text) FROM {table} AS t ORDER BY 1").fetchall()  # noqa: S608
        digest.update(f"{table}:{len(rows)}:{''.join(row[0] for row in rows)}".encode())
    conn.commit()
    return digest.hexdigest()


@contextmanager
def _login_member_of(admin, role: str):
    """A connection as a new password-less LOGIN role that is only a member of ``role``; dropped afterwards."""
    login = "login_" + uuid.uuid4().hex[:12]
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
    try:
        admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(login)))
        params = psycopg.conninfo.conninfo_to_dict(admin.info.dsn)
        params["user"] = login
        with psycopg.connect(**params, autocommit=True) as connection:
            yield connection
    finally:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(login)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def test_the_list_follows_breaches_steps_sanctions_and_reengagement(conn, tmp_path):
    landing = tmp_path / "landing"
    pseudonyms.install_key(conn)
    alice = _household("2000001", [_person(1, "ALICE")], "93048")
    _write_caf(landing, D1, "M", [alice, _bruno_household()])

    # Day 1: everyone subject to rights and duties is referred; nobody is on the list.
    _load_and_build(conn, landing, D1, unit_tests=True)
    alice_referral, alice_agency = _referral_of(conn, "ALICE")
    bruno_referral, _ = _referral_of(conn, "BRUNO")
    chloe_referral, _ = _referral_of(conn, "CHLOE")
    assert alice_agency.startswith("ALI") and _referral_of(conn, "LOU") is None
    assert _cases(conn) == {}

    # Day 2: a missed appointment opens a case to examine; a refused contract without its motif is
    # rejected by the reader, with its reason.
    _write_ali(landing, alice_agency, D2, [(alice_referral, "RDV_NON_HONORE", D2, ""),
                                           (alice_referral, "CONTRAT_REFUSE", D2, "")])
    _load_and_build(conn, landing, D2)
    assert conn.execute("SELECT reason_code FROM raw.ali_report_reject").fetchall() == [("UNKNOWN_MOTIF",)]
    [(case_key, first)] = _cases(conn).items()
    assert case_key == f"{alice_referral}#1"
    assert (first["statut_remobilisation"], first["origine"], first["nb_manquements"]) == ("A_EXAMINER", "MANQUEMENT", 1)
    assert (first["premier_manquement"], first["date_premier_manquement"], first["code_structure_premier"]) == (
        "RDV_NON_HONORE", D2, alice_agency)
    assert (first["jours_depuis_debut"], first["manquement_repete"], first["foyer_plusieurs_personnes"]) == (0, False, False)
    alice_case = first["id_remobilisation"]

    # Day 3: the Département invited Alice to present her observations; a step for a case that does not
    # exist is rejected in the warehouse, one with no date by the reader. The CAF applies a sanction
    # (CG) on Bruno's household with no breach reported here: the list shows it for both adults.
    _write_steps(landing, D3, [f"{alice_case};OBSERVATIONS_INVITEES;{D3};", f"{UNKNOWN_CASE};EP_CONSULTEE;{D3};",
                               f"{alice_case};EP_CONSULTEE;;"])
    _write_caf(landing, D3, "I", [_bruno_household([("CG", date(2026, 11, 1))])])
    _load_and_build(conn, landing, D3)
    assert conn.execute("SELECT reason_code FROM raw.departement_remobilisation_reject").fetchall() == [("SCHEMA",)]
    assert conn.execute("SELECT statut, motif_rejet FROM intermediate.int_remobilisation__steps_checked"
                        " ORDER BY line_number").fetchall() == [("ACCEPTEE", None), ("REJETEE", "UNKNOWN_CASE")]
    cases = _cases(conn)
    assert set(cases) == {f"{alice_referral}#1", f"{bruno_referral}#1", f"{chloe_referral}#1"}
    first = cases[f"{alice_referral}#1"]
    assert (first["statut_remobilisation"], first["date_observations_invitees"], first["date_limite_observations"],
            first["jours_manquement_invitation"]) == ("OBSERVATIONS_ATTENDUES", D3, date(2026, 12, 4), 1)
    for referral in (bruno_referral, chloe_referral):
        sanction = cases[f"{referral}#1"]
        assert (sanction["origine"], sanction["statut_remobilisation"], sanction["date_suspension"],
                sanction["suspension_vue_le"], sanction["foyer_plusieurs_personnes"]) == (
            "SANCTION_CAF", "SUSPENSION_EN_COURS", date(2026, 11, 1), D3, True)
        assert sanction["sanction_sans_invitation_observations"] and sanction["sanction_sans_avis_ep"]

    # Day 4: a kept appointment after the breach: remobilised.
    _write_ali(landing, alice_agency, D4, [(alice_referral, "RDV_HONORE", D4, "")])
    _load_and_build(conn, landing, D4)
    first = _cases(conn)[f"{alice_referral}#1"]
    assert (first["statut_remobilisation"], first["date_remobilisation"], first["evenement_remobilisation"]) == (
        "REMOBILISE", D4, "RDV_HONORE")
    assert not first["reprise_versement_a_signaler"]

    # Day 5: a refusal to update the contract after that is a second case; the first stays closed.
    _write_ali(landing, alice_agency, D5, [(alice_referral, "CONTRAT_REFUSE", D5, "ACTUALISATION")])
    _load_and_build(conn, landing, D5)
    cases = _cases(conn)
    assert cases[f"{alice_referral}#1"]["statut_remobilisation"] == "REMOBILISE"
    second = cases[f"{alice_referral}#2"]
    assert (second["statut_remobilisation"], second["manquement_repete"], second["premier_manquement"],
            second["date_observations_invitees"]) == ("A_EXAMINER", True, "CONTRAT_REFUSE", None)
    assert conn.execute("SELECT rang_dans_cas, evenement, motif, date_manquement, code_structure"
                        " FROM reporting.remobilisation_manquements ORDER BY date_manquement").fetchall() == [
        (1, "RDV_NON_HONORE", None, D2, alice_agency), (1, "CONTRAT_REFUSE", "ACTUALISATION", D5, alice_agency)]

    # A rerun of the day gives the same list.
    before = _fingerprint(conn)
    _load_and_build(conn, landing, D5)
    assert _fingerprint(conn) == before

    _nothing_reaches_an_agency(conn, alice_agency, alice_referral)


def _nothing_reaches_an_agency(conn, agency: str, referral: str) -> None:
    """No column of the extract (file contract, lines table, the agencies' view) names the list's
    content, no extract model reads a remobilisation model, and an agency role cannot read the list
    while bi_reader can."""
    list_columns = {name for (name,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'reporting'"
        " AND table_name IN ('remobilisation', 'remobilisation_manquements')")}
    assert {column for column in list_columns if REMOBILISATION_WORDS.search(column)} >= {
        "id_remobilisation", "statut_remobilisation", "date_suspension", "date_observations_invitees", "date_ep"}
    for schema, table in (("identifiants", "identifiants__extract_lines"), ("agences", "orientations")):
        columns = [name for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (schema, table))]
        assert columns, f"{schema}.{table} was not built"
        assert [column for column in columns if REMOBILISATION_WORDS.search(column)] == []
    assert [column for column in EXTRACT_COLUMNS if REMOBILISATION_WORDS.search(column)] == []

    manifest = json.loads((dbt_runner.target_dir() / "manifest.json").read_text(encoding="utf-8"))
    parents = manifest["parent_map"]

    def ancestors(node: str) -> set[str]:
        seen, todo = set(), [node]
        while todo:
            for parent in parents.get(todo.pop(), []):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    for model in ("identifiants__extract_lines", "agences__orientations"):
        upstream = ancestors(f"model.aiguillage.{model}")
        assert upstream, model
        assert [node for node in upstream if "remobilisation" in node or node.endswith("codes_motisusversrsa")] == []

    conn.commit()
    ensure_roles(conn, [agency])
    conn.commit()
    with psycopg.connect(conn.info.dsn, autocommit=True) as admin:
        with _login_member_of(admin, BI_ROLE) as bi:
            assert bi.execute("SELECT count(*) FROM reporting.remobilisation WHERE id_orientation = %s",
                              (referral,)).fetchone() == (2,)
            assert bi.execute("SELECT count(*) FROM reporting.remobilisation_manquements").fetchone() == (2,)
        with _login_member_of(admin, agency_role(agency)) as agency_login:
            assert agency_login.execute("SELECT count(*) FROM agences.orientations").fetchone()[0] >= 1
            for relation in ("reporting.remobilisation", "reporting.remobilisation_manquements",
                             "marts.remobilisation_cases", "raw.departement_remobilisation_step"):
                with pytest.raises(errors.InsufficientPrivilege):
                    agency_login.execute(f"SELECT * FROM {relation}")  # noqa: S608
