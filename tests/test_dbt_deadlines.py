"""The legal deadlines (docs/data-contracts.md §10) from the dates the law names.

- The dbt unit tests of the deadline rules, with dated examples (receipt of the information against
  the demand date, a transfer into the département, the notification plus a month, the caseload due
  by 1 January 2027, destinations that report no contract, the social-parcours review at 6 and 12
  months, the France Travail flag), run alone on an empty warehouse.
- A story on hand-made deliveries through the real readers and loaders, dbt building each day:

  - 2026-11-02 (monthly flow): Stéphane, in rights and duties since 2020, is the caseload taken over.
  - flow created 2026-11-04, run on 2026-11-05: Nina asked for the RSA on 2026-09-01; Arthur's right is
    transferred into the département; Sacha and Samia have no fixed address (social parcours, to be
    decided); Jules is 22 (Mission locale, to be decided).
  - 2026-11-12: the orientation team decides Sacha's and Jules's proposals (decided on the 10th,
    notified on the 12th); Samia's waits.
  - 2026-12-18: ALI05 reports Arthur's contract, signed on 2026-12-10.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aiguillage import dbt_runner, pseudonyms, report
from aiguillage.ingest.ali_reader import read_ali_report
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.decisions_reader import read_decisions
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.nir import make_nir
from aiguillage.synth.caf_xml import FlowHeader, VrsbWriter
from aiguillage.synth.model import Address, Household, Person

pytestmark = pytest.mark.slow

DAY1, DAY2, DAY3, DAY4 = date(2026, 11, 2), date(2026, 11, 5), date(2026, 11, 12), date(2026, 12, 18)
CREATED2 = date(2026, 11, 4)  # the second flow's creation date: its delivery, a day before the run

DEADLINE_MODELS = ("int_persons__information_receipts", "int_persons__eligibility", "int_orientations__deadlines",
                   "beneficiaries")

COMMUNES = {"93048": ("93100", "MONTREUIL"), "93006": ("93170", "BAGNOLET"), "93066": ("93200", "SAINT DENIS")}


def test_deadline_rules_unit_tests(conn):
    """Each legal rule's dated examples (the models' YAML), on an empty warehouse built for the purpose."""
    pseudonyms.install_key(conn)
    conn.commit()
    built = dbt_runner.run(["build", "--vars", "{run_day: '2026-11-02'}",
                            "--select", "resource_type:seed", *(f"+{model}" for model in DEADLINE_MODELS),
                            "--exclude", "test_type:unit", "test_type:data"])
    assert built.success, built.failures
    tested = dbt_runner.run(["test", "--vars", "{run_day: '2026-11-02'}",
                             "--select", *(f"{model},test_type:unit" for model in DEADLINE_MODELS)])
    assert tested.success, tested.failures


def _address(numcom: str) -> Address:
    codepos, nomcom = COMMUNES[numcom]
    return Address(numvoie="3", libtypevoie="RUE", nomvoie="DES LILAS", complideadr="", compladr="", numcom=numcom,
                   codepos=codepos, nomcom=nomcom, localite=nomcom.title(), dtemm=date(2020, 1, 1))


def _person(order: int, prenom: str, born: date = date(1980, 5, 5), joined: date = date(2024, 1, 1)) -> Person:
    return Person(position=1, role="DEM", sex=2, nom="BERNARD", nomnai="BERNARD", prenom=prenom, prenom2=None,
                  nomcomnai="PARIS", dtnai=born, rgnai=None, nir=make_nir(2, born.year, born.month, "75", 222, order),
                  nir_known_to_caf=True, topvaliec=True, ddratdos=joined, rd=1)


def _household(matricule: str, person: Person, numcom: str, demanded: date, **extra) -> Household:
    return Household(index=int(matricule), matricule=matricule, numdemrsa=f"D{matricule}", dtdemrsa=demanded,
                     persons=[person], sitfam="CEL", ddsitfam=date(2020, 1, 1), addresses=[_address(numcom)],
                     sans_domicile_fixe=extra.pop("sdf", False), etat="2", oridemrsa="DEM", natpf="RSD",
                     ddnatdro=demanded, **extra)


def _write_caf(landing: Path, created: date, typeflux: str, households: list[Household]) -> None:
    folder = landing / "caf"
    folder.mkdir(parents=True, exist_ok=True)
    header = FlowHeader(typeflux=typeflux, created=created, created_time="06:00:00", dtref=created.replace(day=1))
    with VrsbWriter(folder / f"VRSB0801_931_{created:%Y%m%d}_{typeflux}.xml", "UTF-8", header) as writer:
        for household in households:
            writer.write(household)
        writer.close()


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _load_and_build(conn, landing: Path, day: date) -> None:
    scan_and_record(conn, landing, day, f"run-{day}")
    load_pending(conn, "caf", landing, lambda pending, stream: read_caf(stream))
    load_pending(conn, "ali", landing, lambda pending, stream: read_ali_report(stream, pending.agency_code, day))
    load_pending(conn, "departement", landing, lambda pending, stream: read_decisions(stream, day))
    conn.commit()
    # the deadline models' unit tests run in the first test: the story builds without them
    built = dbt_runner.run(["build", "--vars", f"{{run_day: '{day}'}}", "--exclude", "test_type:unit"])
    assert built.success, built.failures


def _person_id(conn, prenom: str) -> str:
    return conn.execute(
        "SELECT s.person_id FROM intermediate.int_persons__identities s"
        " JOIN staging.stg_caf__persons p USING (dossier_person_key)"
        " JOIN identifiants.identifiants__persons i ON i.person_key = p.person_key"
        " WHERE i.prenom = %s", (prenom,)).fetchone()[0]


def _referral(conn, person_id: str) -> dict:
    cursor = conn.execute(
        "SELECT id_orientation, parcours, code_structure, date_decision, date_notification, date_reception_information,"
        " regle_limite_orientation, date_limite_orientation, depassement_orientation, regle_limite_contrat,"
        " date_limite_contrat, statut_contrat, depassement_contrat, regle_revision_parcours_social,"
        " date_revision_parcours_social FROM marts.referrals"
        " WHERE person_id = %s AND statut_orientation <> 'CLOTUREE'", (person_id,))
    names = [column.name for column in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(names, rows[0], strict=True))


def _flagged(conn) -> dict[str, bool]:
    return dict(conn.execute("SELECT person_id, orientation_par_france_travail FROM marts.beneficiaries").fetchall())


def test_deadlines_run_from_the_receipt_and_the_notification(conn, tmp_path):
    landing = tmp_path / "landing"
    pseudonyms.install_key(conn)
    conn.commit()
    _write_caf(landing, DAY1, "M", [
        _household("2000001", _person(1, "STEPHANE", joined=date(2020, 1, 15)), "93048", date(2020, 1, 15)),
    ])
    _write_caf(landing, CREATED2, "I", [
        _household("2000002", _person(2, "NINA", joined=date(2026, 9, 1)), "93006", date(2026, 9, 1)),
        _household("2000003", _person(3, "ARTHUR"), "93066", date(2018, 4, 1),
                   organisme_cedant=("CAF", "751", "7777777", date(2026, 10, 20))),
        _household("2000004", _person(4, "SACHA"), "93066", date(2026, 10, 1), sdf=True),
        _household("2000005", _person(5, "SAMIA"), "93066", date(2026, 10, 1), sdf=True),
        _household("2000006", _person(6, "JULES", born=date(2004, 3, 3)), "93048", date(2026, 10, 1)),
    ])

    _load_and_build(conn, landing, DAY1)
    stephane = _person_id(conn, "STEPHANE")
    _load_and_build(conn, landing, DAY2)
    nina, arthur, sacha, samia, jules = (_person_id(conn, name) for name in ("NINA", "ARTHUR", "SACHA", "SAMIA", "JULES"))

    # Day 3: the orientation team decides two of the proposals waiting for a decision.
    waiting = dict(conn.execute(
        "SELECT person_id, id_proposition FROM marts.orientation_proposals"
        " WHERE statut_proposition = 'EN_ATTENTE_DECISION'").fetchall())
    assert {sacha, samia, jules} <= set(waiting)
    _write(landing / "departement" / f"decisions_{DAY3:%Y%m%d}.csv", [
        "id_proposition;decision;parcours;code_structure;date_decision;date_notification;decide_par",
        f"{waiting[sacha]};VALIDEE;;;2026-11-10;2026-11-12;EQUIPE_ORIENTATION",
        f"{waiting[jules]};VALIDEE;;;2026-11-10;2026-11-12;EQUIPE_ORIENTATION",
    ])
    _load_and_build(conn, landing, DAY3)
    assert not any(_flagged(conn).values())  # nobody is past six weeks yet

    # Day 4: Arthur's agency reports his contract, signed after its deadline.
    arthur_id = _referral(conn, arthur)["id_orientation"]
    _write(landing / "ali" / "ALI05" / f"ali_ALI05_{DAY4:%Y%m%d}.csv", [
        "code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email",
        f"ALI05;{DAY4};{arthur_id};CONTRAT_SIGNE;2026-12-10;;;",
    ])
    _load_and_build(conn, landing, DAY4)

    # The orientation deadline runs from the delivery of the flow that carried the open right (created
    # on 4 November, built on the 5th), not from Nina's demand of 1 September nor from the run day.
    referral = _referral(conn, nina)
    assert (referral["date_reception_information"], referral["regle_limite_orientation"],
            referral["date_limite_orientation"], referral["depassement_orientation"]) == (
        CREATED2, "D262-65-2_RECEPTION", date(2026, 12, 16), False)
    # Her contract is due a month after the notification (automatic validation: the proposal day), at
    # an ALI, which reports contracts: none by 18 December, late.
    assert (referral["date_notification"], referral["regle_limite_contrat"], referral["date_limite_contrat"],
            referral["statut_contrat"], referral["depassement_contrat"]) == (
        DAY2, "NOTIFICATION_1_MOIS", date(2026, 12, 5), "EN_RETARD", True)

    # A right transferred into the département: its own rule; the contract reported late.
    referral = _referral(conn, arthur)
    assert (referral["regle_limite_orientation"], referral["date_limite_orientation"], referral["statut_contrat"],
            referral["depassement_contrat"]) == ("D262-65-2_TRANSFERT", date(2026, 12, 16), "SIGNE_HORS_DELAI", True)

    # The caseload taken over: no orientation deadline judged, the contract due on 1 January 2027.
    referral = _referral(conn, stephane)
    assert (referral["regle_limite_orientation"], referral["date_limite_orientation"], referral["depassement_orientation"],
            referral["regle_limite_contrat"], referral["date_limite_contrat"], referral["statut_contrat"]) == (
        "REPRISE_DE_STOCK", None, False, "STOCK_2027", date(2027, 1, 1), "A_SIGNER")

    # A social-parcours orientation and a Mission locale one, notified more than a month ago with no
    # contract: not followed here, never late; the social one is reviewed six months after the
    # notification (no signature reported).
    social, young = _referral(conn, sacha), _referral(conn, jules)
    assert (social["parcours"], social["date_decision"], social["date_notification"]) == (
        "PSP", date(2026, 11, 10), DAY3)
    assert (social["regle_limite_contrat"], social["date_limite_contrat"], social["statut_contrat"],
            social["depassement_contrat"]) == ("NON_SUIVI", None, "NON_SUIVI", False)
    assert (social["regle_revision_parcours_social"], social["date_revision_parcours_social"]) == (
        "L262-31_6_MOIS", date(2027, 5, 12))
    assert (young["parcours"], young["statut_contrat"], young["depassement_contrat"],
            young["date_revision_parcours_social"]) == ("PED", "NON_SUIVI", False, None)
    assert conn.execute(
        "SELECT count(*) FROM marts.referrals WHERE parcours IN ('PSP', 'PED') AND depassement_contrat").fetchone() == (0,)
    assert conn.execute(
        "SELECT coalesce(sum(nb_depassement_contrat), 0) FROM reporting.orientations_en_retard"
        " WHERE parcours IN ('PSP', 'PED')").fetchone() == (0,)

    # Samia's proposal was never decided: six weeks after the receipt (16 December), France Travail
    # orients her; nobody else is flagged.
    assert {person for person, flagged in _flagged(conn).items() if flagged} == {samia}
    assert conn.execute("SELECT code_territoire, nb_personnes, plus_ancienne_echeance_depassee, retard_max_jours"
                        " FROM reporting.orientations_par_france_travail").fetchall() == [
        ("T05", 1, date(2026, 12, 16), 2)]
    assert conn.execute(
        "SELECT sum(nb_en_retard), sum(nb_depassement_contrat), sum(nb_sans_contrat_hors_delai)"
        " FROM reporting.orientations_en_retard").fetchone() == (2, 2, 1)
    # The run's summary says the same.
    lines = report.referral_lines(conn)
    assert "Open referrals past a deadline: orientation 0, contract 2 (contracts not followed, never late: 2)" in lines
    assert "Persons past six weeks without a decision (France Travail orients them): 1" in lines
