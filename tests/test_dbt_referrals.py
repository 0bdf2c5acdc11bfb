"""The referral warehouse end to end on hand-made deliveries: eligibility, the referral lifecycle,
agencies' activity reports, deadlines, reruns and replays.

The CAF flows are written by the project's own VRSB0801 writer from households built here, then
registered, read and loaded by the real code; dbt builds each day with its run_day. The story:

- 2026-12-30 (monthly flow): Alice lives in Montreuil (T19, ALI19 active), Bruno in Noisy-le-Grand
  (T20, ALI20 active like every ALI of the 2023 call), Chloé's rights-and-duties flag is missing, Denis is not
  subject to rights and duties, Émile's right is open.
- 2026-12-31 (daily flow): Alice moves to Bagnolet (T09), Émile's right is closed.
- 2027-01-01: ALI09 and ALI19 send their first activity reports.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aiguillage import dbt_runner, pseudonyms, warehouse
from aiguillage.ingest.ali_reader import read_ali_report
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.nir import make_nir
from aiguillage.pipeline_tasks import build_referral_warehouse
from aiguillage.synth.caf_xml import FlowHeader, VrsbWriter
from aiguillage.synth.model import Address, Household, Person

pytestmark = pytest.mark.slow

DAY1, DAY2, DAY3 = date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1)

COMMUNES = {  # numcom: (postal code, CAF spelling)
    "93048": ("93100", "MONTREUIL"),
    "93006": ("93170", "BAGNOLET"),
    "93051": ("93160", "NOISY LE GRAND"),
    "93066": ("93200", "SAINT DENIS"),
}


def _address(numcom: str, street: str) -> Address:
    codepos, nomcom = COMMUNES[numcom]
    return Address(numvoie="12", libtypevoie="RUE", nomvoie=street, complideadr="", compladr="", numcom=numcom,
                   codepos=codepos, nomcom=nomcom, localite=nomcom.title(), dtemm=date(2020, 1, 1))


def _person(order: int, prenom: str, role: str = "DEM", rd: int | None = 1, born: date = date(1980, 5, 5)) -> Person:
    return Person(position=1, role=role, sex=2, nom="MARTIN", nomnai="MARTIN", prenom=prenom, prenom2=None,
                  nomcomnai="PARIS", dtnai=born, rgnai=None, nir=make_nir(2, born.year, born.month, "75", 111, order),
                  nir_known_to_caf=True, topvaliec=True, ddratdos=date(2024, 1, 1), rd=rd)


def _household(matricule: str, persons: list[Person], numcom: str, etat: str = "2") -> Household:
    return Household(index=int(matricule), matricule=matricule, numdemrsa=f"D{matricule}", dtdemrsa=date(2024, 1, 1),
                     persons=persons, sitfam="CEL", ddsitfam=date(2020, 1, 1),
                     addresses=[_address(numcom, f"RUE {matricule}")], sans_domicile_fixe=False, etat=etat,
                     oridemrsa="DEM", natpf="RSD", ddnatdro=date(2024, 1, 1))


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
    rows = ["code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email"]
    rows += [f"{agency};{day};{referral};{event};{when};{motif};;" for referral, event, when, motif in lines]
    (folder / f"ali_{agency}_{day:%Y%m%d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _load_and_build(conn, landing: Path, day: date) -> None:
    scan_and_record(conn, landing, day, f"run-{day}")
    load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
    load_pending(conn, "ali", landing, lambda pending, path: read_ali_report(path, pending.agency_code, day))
    conn.commit()
    _build(day)


def _build(day: date) -> None:
    """The day's dbt build, unit tests included (the daily DAG leaves them to this suite)."""
    built = dbt_runner.run(["build", "--vars", f"{{run_day: '{day}'}}"])
    assert built.success, built.failures


def _marts_fingerprint(conn) -> str:
    """A hash of the marts' content, row order aside."""
    digest = hashlib.sha256()
    for table in ("referral_movements", "referrals", "referral_events", "beneficiaries",
                  "orientation_proposal_history", "orientation_proposals"):
        rows = conn.execute(f"SELECT md5(t::text) FROM marts.{table} AS t ORDER BY 1").fetchall()  # noqa: S608
        digest.update(f"{table}:{len(rows)}:".encode())
        digest.update("".join(row[0] for row in rows).encode())
    conn.commit()  # end the read transaction: dbt must be able to replace these tables
    return digest.hexdigest()


def _person_id(conn, prenom: str) -> str:
    """The resolved person_id of one of the story's people, found through the restricted identifiers."""
    return conn.execute(
        "SELECT s.person_id FROM intermediate.int_persons__identities s"
        " JOIN staging.stg_caf__persons p USING (dossier_person_key)"
        " JOIN identifiants.identifiants__persons i ON i.person_key = p.person_key"
        " WHERE i.prenom = %s", (prenom,)).fetchone()[0]


def _movements(conn, person_id: str) -> list[tuple]:
    return conn.execute(
        "SELECT date_mouvement, type_mouvement, code_structure, parcours, motif_cloture, id_orientation"
        " FROM marts.referral_movements WHERE person_id = %s ORDER BY date_mouvement, type_mouvement",
        (person_id,)).fetchall()


def _story(landing: Path) -> None:
    alice, bruno = _person(1, "ALICE"), _person(2, "BRUNO")
    chloe, denis, emile = _person(3, "CHLOE", rd=None), _person(4, "DENIS", rd=0), _person(5, "EMILE")
    _write_caf(landing, DAY1, "M", [
        _household("1000001", [alice], "93048"),
        _household("1000002", [bruno], "93051"),
        _household("1000003", [chloe], "93066"),
        _household("1000004", [denis], "93066"),
        _household("1000005", [emile], "93066"),
    ])
    moved = _household("1000001", [_person(1, "ALICE")], "93006")
    closed = _household("1000005", [_person(5, "EMILE")], "93066", etat="5")
    _write_caf(landing, DAY2, "I", [moved, closed])


def test_referral_lifecycle_reports_deadlines_and_reruns(conn, tmp_path):
    landing = tmp_path / "landing"
    _story(landing)
    pseudonyms.install_key(conn)  # the suite's key, as the pipeline's own task installs it

    # Day 1: who is referred where, and who is only listed for follow-up.
    _load_and_build(conn, landing, DAY1)
    alice, bruno, chloe, denis, emile = (_person_id(conn, name) for name in ("ALICE", "BRUNO", "CHLOE", "DENIS", "EMILE"))
    eligibility = dict(conn.execute("SELECT person_id, statut_eligibilite || ':' || coalesce(motif_eligibilite, '')"
                                    " FROM marts.beneficiaries").fetchall())
    assert eligibility[chloe] == "A_SUIVRE:DROITS_DEVOIRS_INCONNU"
    assert eligibility[denis] == "NON_ORIENTABLE:HORS_DROITS_DEVOIRS"
    assert eligibility[alice] == eligibility[bruno] == eligibility[emile] == "ORIENTABLE:"
    assert _movements(conn, chloe) == [] and _movements(conn, denis) == []
    [(_, kind, structure, parcours, _, alice_first)] = _movements(conn, alice)
    assert (kind, structure, parcours) == ("NOUVELLE", "ALI19", "PSO")
    [(_, kind, structure, _, _, bruno_id)] = _movements(conn, bruno)
    assert (kind, structure) == ("NOUVELLE", "ALI20")
    assert conn.execute("SELECT statut_orientation, code_regle FROM marts.referrals WHERE id_orientation = %s",
                        (bruno_id,)).fetchone() == ("OUVERTE", "DEFAUT")

    # Day 2: a move from Montreuil to Bagnolet closes the referral and opens one at ALI09 the same
    # day; a closed right closes the referral with its reason.
    _load_and_build(conn, landing, DAY2)
    alice_moves = _movements(conn, alice)
    assert [(d, k, s, m) for d, k, s, _, m, _ in alice_moves] == [
        (DAY1, "NOUVELLE", "ALI19", None),
        (DAY2, "CLOTUREE", "ALI19", "DEMENAGEMENT"),
        (DAY2, "NOUVELLE", "ALI09", None),
    ]
    alice_new = alice_moves[2][5]
    assert alice_new != alice_first and alice_moves[1][5] == alice_first
    # The move keeps the parcours and the decision of day 1 (validated automatically by its rule):
    # no new proposal, the new agency learns where she comes from.
    assert conn.execute(
        "SELECT origine, structure_precedente, id_orientation_precedente, decide_par, date_decision,"
        " date_notification FROM marts.referrals WHERE id_orientation = %s", (alice_new,)).fetchone() == (
        "DEMENAGEMENT", "ALI19", alice_first, "POLITIQUE_AUTOMATIQUE", DAY1, DAY1)
    assert conn.execute("SELECT count(*) FROM marts.orientation_proposals WHERE person_id = %s",
                        (alice,)).fetchone() == (1,)
    assert [(k, m) for _, k, _, _, m, _ in _movements(conn, emile)][-1] == ("CLOTUREE", "FIN_DE_DROIT")

    # Day 3: Bruno's referral stays at ALI20, unmoved. The agencies' reports: ALI09 holds Alice's new
    # referral; ALI19 no longer holds anything of hers.
    _write_ali(landing, "ALI09", DAY3, [
        (alice_new, "PRISE_EN_CHARGE", DAY3, ""),
        (alice_new, "PRISE_EN_CHARGE", DAY3, ""),  # the same event twice: the reader rejects it
        (alice_new, "CONTRAT_SIGNE", DAY3, ""),
        (alice_new, "RDV_HONORE", DAY1, ""),  # before the referral existed
        ("ORINCONNU000000000", "PRISE_EN_CHARGE", DAY3, ""),
    ])
    _write_ali(landing, "ALI19", DAY3, [
        (alice_new, "PRISE_EN_CHARGE", DAY3, ""),  # another agency's referral
        (alice_first, "SORTIE", DAY3, "DEMENAGEMENT"),  # closed on day 2
    ])
    _load_and_build(conn, landing, DAY3)
    assert _movements(conn, bruno) == [(DAY1, "NOUVELLE", "ALI20", "PSO", None, bruno_id)]
    checked = conn.execute(
        "SELECT code_structure, evenement, date_evenement, statut, coalesce(motif_rejet, '')"
        " FROM intermediate.int_ali__events_checked ORDER BY code_structure, line_number").fetchall()
    assert [(agency, event, status, reason) for agency, event, _, status, reason in checked] == [
        ("ALI09", "PRISE_EN_CHARGE", "ACCEPTE", ""),
        ("ALI09", "CONTRAT_SIGNE", "ACCEPTE", ""),
        ("ALI09", "RDV_HONORE", "REJETE", "DATE_INCOHERENT"),
        ("ALI09", "PRISE_EN_CHARGE", "REJETE", "UNKNOWN_REFERRAL"),
        ("ALI19", "PRISE_EN_CHARGE", "REJETE", "REFERRAL_NOT_HELD"),
        ("ALI19", "SORTIE", "REJETE", "REFERRAL_NOT_HELD"),
    ]
    assert conn.execute("SELECT reason_code FROM raw.ali_report_reject").fetchall() == [("DUPLICATE_EVENT",)]
    # Alice's move kept the decision notified on day 1: her contract is due a month after that
    # notification (later than 1 January 2027, the date for the caseload already there before 2025),
    # not a month after her new agency got her; signed on day 3, in time.
    referral = conn.execute(
        "SELECT etape, date_orientation, date_notification, date_contrat, regle_limite_contrat, date_limite_contrat,"
        " statut_contrat, depassement_contrat FROM marts.referrals WHERE id_orientation = %s", (alice_new,)).fetchone()
    assert referral == ("CONTRAT_SIGNE", DAY2, DAY1, DAY3, "NOTIFICATION_1_MOIS", date(2027, 1, 30), "SIGNE", False)
    # Bruno was in the first monthly flow: the Département had the information before the warehouse
    # existed (REPRISE_DE_STOCK), so no orientation deadline is computed or judged; his contract is
    # due a month after his decision's notification, day 1.
    assert conn.execute(
        "SELECT regle_limite_orientation, date_limite_orientation, reprise_de_stock, depassement_orientation,"
        " regle_limite_contrat, date_limite_contrat, statut_contrat FROM marts.referrals"
        " WHERE id_orientation = %s", (bruno_id,)).fetchone() == (
        "REPRISE_DE_STOCK", None, True, False, "NOTIFICATION_1_MOIS", date(2027, 1, 30), "A_SIGNER")

    # Rerunning the latest day gives the same marts; an earlier day is refused.
    before = _marts_fingerprint(conn)
    _build(DAY3)
    assert _marts_fingerprint(conn) == before
    assert warehouse.latest_referral_day(conn) == DAY3
    with pytest.raises(RuntimeError, match="out of order"):
        build_referral_warehouse(datetime(2026, 12, 31, tzinfo=UTC))

    # History: the SCD2 snapshot knows where Alice lived on day 1.
    assert conn.execute(
        "SELECT code_insee FROM history.snap_persons__situations WHERE person_id = %s"
        " AND dbt_valid_from <= %s AND %s < coalesce(dbt_valid_to, 'infinity')", (alice, DAY1, DAY1)
    ).fetchone() == ("93048",)

    # Replaying the three days in order on an empty warehouse, from the landing zone as it now
    # stands (every file already loaded), gives the same marts as running them day by day.
    for schema in ("intermediate", "marts", "history", "reporting"):
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # noqa: S608
    conn.commit()
    for day in (DAY1, DAY2, DAY3):
        _build(day)
    assert _marts_fingerprint(conn) == before
