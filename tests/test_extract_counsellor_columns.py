"""What a counsellor reads in the agencies' extract (schema 1.2), and the Saint-Denis move, end to end.

CAF flows written by the project's own VRSB0801 writer, a France Travail registrations file and an
ALI activity report, all registered, read and loaded by the real code; dbt builds each day; the
agencies' files are written by the real writer and read back as CSV. The story:

- 2026-12-30 (monthly flow): Sarah (demandeur) and Karim (conjoint), married with two children, live
  in Saint-Denis 93066 under 93200 (territory T05): both referred to ALI05. France Travail knows
  Sarah under its number. Léa lives in Montreuil (T19), referred to ALI19; her conjoint Marc is in
  France Travail's category F, so referred to the social service SSD19: elsewhere.
- 2026-12-31: ALI05 reports Sarah's contrat d'engagement signed.
- 2027-01-01 (daily flow): the couple moves inside Saint-Denis, to a 93380 address (the former
  Pierrefitte): same INSEE code, territory T01. ALI05 gets two CLOTUREE lines, ALI01 two NOUVELLE.
"""

from __future__ import annotations

import csv
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest

from aiguillage import dbt_runner, pseudonyms, warehouse
from aiguillage.extracts import columns
from aiguillage.extracts.writer import write_extract
from aiguillage.ingest.ali_reader import read_ali_report
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.contacts_reader import read_contacts
from aiguillage.ingest.france_travail_reader import read_france_travail
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.nir import make_nir
from aiguillage.synth.caf_xml import FlowHeader, VrsbWriter
from aiguillage.synth.model import Address, Household, Person
from tests.conftest import _with_database

pytestmark = pytest.mark.slow

DAY1, DAY2, DAY3 = date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1)
OLD_STREET, NEW_STREET = "RUE GABRIEL PERI", "RUE DES BOULANGERS"
FT_NUMBER = "0123456A789"
SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


def _address(numcom: str, codepos: str, nomcom: str, street: str) -> Address:
    return Address(numvoie="7", libtypevoie="", nomvoie=street, complideadr="", compladr="", numcom=numcom,
                   codepos=codepos, nomcom=nomcom, localite=nomcom.title(), dtemm=date(2020, 1, 1))


def _person(order: int, prenom: str, role: str, born: date, rd: int | None = 1) -> Person:
    return Person(position=(order - 1) % 4 + 1, role=role, sex=2 if order % 2 else 1, nom="DIALLO", nomnai="DIALLO",
                  prenom=prenom, prenom2=None, nomcomnai="PARIS", dtnai=born, rgnai=None,
                  nir=make_nir(2 if order % 2 else 1, born.year, born.month, "75", 222, order),
                  nir_known_to_caf=True, topvaliec=True, ddratdos=date(2024, 1, 1), rd=rd)


def _household(matricule: str, persons: list[Person], address: Address, sitfam: str) -> Household:
    return Household(index=int(matricule), matricule=matricule, numdemrsa=f"D{matricule}", dtdemrsa=date(2024, 1, 1),
                     persons=persons, sitfam=sitfam, ddsitfam=date(2020, 1, 1), addresses=[address],
                     sans_domicile_fixe=False, etat="2", oridemrsa="DEM", natpf="RSD", ddnatdro=date(2024, 1, 1))


def _diallo(address: Address) -> Household:
    return _household("3000001", [
        _person(1, "SARAH", "DEM", date(1985, 3, 3)),
        _person(2, "KARIM", "CJT", date(1983, 4, 4)),
        _person(3, "INES", "ENF", date(2015, 5, 5), rd=None),
        _person(4, "YANIS", "ENF", date(2018, 6, 6), rd=None),
    ], address, "MAR")


def _write_caf(landing: Path, day: date, typeflux: str, households: list[Household]) -> None:
    folder = landing / "caf"
    folder.mkdir(parents=True, exist_ok=True)
    header = FlowHeader(typeflux=typeflux, created=day, created_time="06:00:00", dtref=day.replace(day=1))
    with VrsbWriter(folder / f"VRSB0801_931_{day:%Y%m%d}_{typeflux}.xml", "UTF-8", header) as writer:
        for household in households:
            writer.write(household)
        writer.close()


def _write_france_travail(landing: Path, day: date, people: list[tuple[Person, str, str]]) -> None:
    folder = landing / "france_travail"
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["nir;identifiantpe;nom;prenom;dtnai;date;code;nir2;codeinsee;localite;adresse;ale"]
    rows += [f"{p.nir[:13]};{number};{p.nom};{p.prenom};{p.dtnai:%d/%m/%Y};{day:%d/%m/%Y};{category};"
             f"{p.nir[:13]};93048;MONTREUIL;;93045" for p, number, category in people]
    (folder / f"inscriptions_{day:%Y%m%d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _write_contacts(landing: Path, day: date, matricule: str, people: list[tuple[Person, str, str, str]]) -> None:
    """A CNAF contact-details file: (person, phone, phone 2, e-mail) per line."""
    folder = landing / "caf_contacts"
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["MATRICULE;NIR;ROLE PERSONNE;NUMERO TELEPHONE DOSSIER;NUMERO TELEPHONE 2 DOSSIER;ADRESSE ELECTRONIQUE DOSSIER"]
    rows += [f"{matricule};{p.nir};{p.role};{phone};{phone2};{email}" for p, phone, phone2, email in people]
    (folder / f"contacts_rsa_{day:%Y%m%d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _write_ali(landing: Path, agency: str, day: date, lines: list[tuple[str, str, date]]) -> None:
    folder = landing / "ali" / agency
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email"]
    rows += [f"{agency};{day};{referral};{event};{when};;;" for referral, event, when in lines]
    (folder / f"ali_{agency}_{day:%Y%m%d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _load_and_build(conn, landing: Path, day: date) -> None:
    scan_and_record(conn, landing, day, f"run-{day}")
    load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
    load_pending(conn, "caf_contacts", landing, lambda pending, path: read_contacts(path))
    load_pending(conn, "france_travail", landing, lambda pending, path: read_france_travail(path, pending.kind))
    load_pending(conn, "ali", landing, lambda pending, path: read_ali_report(path, pending.agency_code, day))
    conn.commit()
    seeds = ["resource_type:seed"] if day == DAY1 else []  # loaded once: they do not change here
    built = dbt_runner.run([
        "build", "--vars", f"{{run_day: '{day}'}}",
        "--select", *seeds, "resource_type:snapshot", "resource_type:model",
        "path:models/identifiants", "--exclude", "path:models/reporting", "--indirect-selection", "empty",
    ])
    assert built.success, (day, built.failures)


def _extract(conn, day: date, agency: str, folder: Path, fichier: str = columns.MOVEMENTS) -> list[dict]:
    """The agency's file as written by the real writer, read back as CSV."""
    written = write_extract(conn, day, agency, fichier, folder / agency / day.isoformat(), f"run-{day}")
    raw = Path(written["path"]).read_bytes()
    reader = csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";")
    assert tuple(reader.fieldnames) == columns.EXTRACT_COLUMNS
    return list(reader)


def _by_name(lines: list[dict]) -> dict[str, dict]:
    return {line["prenom"]: line for line in lines}


@pytest.fixture(scope="module")
def story(server_url, tmp_path_factory):
    """The three days built and each agency's files written; yields {(day, agency, fichier): lines}."""
    dbname = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    url = _with_database(server_url, dbname)
    root = tmp_path_factory.mktemp("counsellor")
    landing, outbox = root / "landing", root / "outbox"
    saint_denis_93200 = _address("93066", "93200", "SAINT DENIS", OLD_STREET)
    saint_denis_93380 = _address("93066", "93380", "SAINT DENIS", NEW_STREET)
    lea, marc = _person(5, "LEA", "DEM", date(1990, 7, 7)), _person(6, "MARC", "CJT", date(1988, 8, 8))
    files: dict[tuple[date, str, str], list[dict]] = {}
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AIGUILLAGE_WAREHOUSE_URL", url)
            with psycopg.connect(url) as conn:
                warehouse.migrate(conn)
                conn.commit()
                pseudonyms.install_key(conn)
                conn.commit()
                diallo = _diallo(saint_denis_93200)
                _write_caf(landing, DAY1, "M", [
                    diallo,
                    _household("3000002", [lea, marc], _address("93048", "93100", "MONTREUIL", "RUE DE PARIS"), "VIM"),
                ])
                # Sarah's mobile and e-mail; Karim's mobile, then a landline a later file must not impose.
                _write_contacts(landing, DAY1, "3000001", [
                    (diallo.persons[0], "06 12 34 56 78", "", "sarah.diallo@example.org"),
                    (diallo.persons[1], "0698765432", "", ""),
                ])
                _write_france_travail(landing, DAY1, [(diallo.persons[0], FT_NUMBER, "1"), (marc, "0765432B321", "F")])
                _load_and_build(conn, landing, DAY1)
                for agency in ("ALI05", "ALI19", "SSD19"):
                    files[DAY1, agency, columns.STOCK] = _extract(conn, DAY1, agency, outbox, columns.STOCK)

                sarah_first = _by_name(files[DAY1, "ALI05", columns.STOCK])["SARAH"]["id_orientation"]
                _write_ali(landing, "ALI05", DAY2, [(sarah_first, "CONTRAT_SIGNE", DAY2)])
                _write_contacts(landing, DAY2, "3000001", [(diallo.persons[1], "0148000000", "", "")])
                _load_and_build(conn, landing, DAY2)

                _write_caf(landing, DAY3, "I", [_diallo(saint_denis_93380)])
                _load_and_build(conn, landing, DAY3)
                for agency in ("ALI05", "ALI01"):
                    files[DAY3, agency, columns.MOVEMENTS] = _extract(conn, DAY3, agency, outbox)
                files["view_columns"] = [name for name, in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = 'agences.orientations'::regclass"
                    " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")]
                conn.commit()
            yield files
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _rule_label(code_regle: str) -> str:
    with (SEEDS / "regles_parcours.csv").open(encoding="utf-8", newline="") as seed:
        return next(row["libelle"] for row in csv.DictReader(seed) if row["code_regle"] == code_regle)


def test_schema_1_2_appends_the_counsellor_columns_in_order(story):
    assert columns.SCHEMA_VERSION == "1.2"
    assert columns.EXTRACT_COLUMNS[-10:] == (
        "libelle_motif", "id_orientation_conjoint", "cle_foyer", "situation_familiale", "nombre_enfants",
        "identifiant_france_travail", "date_debut_contrat_precedent", "date_fin_contrat_precedent",
        "telephone", "email")
    assert set(columns.MAX_LENGTHS) >= set(columns.EXTRACT_COLUMNS)
    # What an agency reads in the warehouse has the same columns as its files.
    assert story["view_columns"] == ["date_extrait", "fichier", *columns.EXTRACT_COLUMNS]


def test_a_household_followed_by_one_agency_is_linked_and_described(story):
    sarah, karim = (_by_name(story[DAY1, "ALI05", columns.STOCK])[name] for name in ("SARAH", "KARIM"))
    assert (sarah["role"], karim["role"]) == ("DEM", "CJT")
    # The reason in words, from the rules' seed, beside its code.
    assert sarah["motif_orientation"] == "DEFAUT" and sarah["libelle_motif"] == _rule_label("DEFAUT")
    # Each one's line names the other's referral, and both carry the same household key.
    assert sarah["id_orientation_conjoint"] == karim["id_orientation"]
    assert karim["id_orientation_conjoint"] == sarah["id_orientation"]
    assert sarah["cle_foyer"] == karim["cle_foyer"] and sarah["cle_foyer"].startswith("FO")
    assert len(sarah["cle_foyer"]) == 18
    assert (sarah["situation_familiale"], sarah["nombre_enfants"]) == ("MAR", "2")
    assert (karim["situation_familiale"], karim["nombre_enfants"]) == ("MAR", "2")
    # France Travail's number when its files know the person; nothing of a previous contract yet.
    assert (sarah["identifiant_france_travail"], karim["identifiant_france_travail"]) == (FT_NUMBER, "")
    assert sarah["date_debut_contrat_precedent"] == sarah["date_fin_contrat_precedent"] == ""
    # How to reach them, from the CNAF contact-details file (phones in national form).
    assert (sarah["telephone"], sarah["email"]) == ("0612345678", "sarah.diallo@example.org")
    assert (karim["telephone"], karim["email"]) == ("0698765432", "")


def test_nothing_about_a_conjoint_referred_elsewhere(story):
    (lea,) = story[DAY1, "ALI19", columns.STOCK]
    (marc,) = story[DAY1, "SSD19", columns.STOCK]
    assert (lea["prenom"], lea["parcours"], marc["prenom"], marc["parcours"]) == ("LEA", "PSO", "MARC", "PSP")
    assert marc["motif_orientation"] == "FT_CATEGORIE_F" and marc["libelle_motif"] == _rule_label("FT_CATEGORIE_F")
    assert lea["id_orientation_conjoint"] == "" and marc["id_orientation_conjoint"] == ""
    # One household, two agencies: two keys that cannot be matched with each other.
    assert lea["cle_foyer"] and marc["cle_foyer"] and lea["cle_foyer"] != marc["cle_foyer"]
    assert marc["identifiant_france_travail"] == "0765432B321" and lea["identifiant_france_travail"] == ""
    assert (lea["situation_familiale"], lea["nombre_enfants"]) == ("VIM", "0")
    assert (lea["telephone"], lea["email"], marc["telephone"]) == ("", "", "")


def test_a_move_inside_saint_denis_to_93380_closes_without_the_new_street(story):
    closing = story[DAY3, "ALI05", columns.MOVEMENTS]
    assert sorted((line["prenom"], line["type_mouvement"], line["motif_cloture"]) for line in closing) == [
        ("KARIM", "CLOTUREE", "DEMENAGEMENT"), ("SARAH", "CLOTUREE", "DEMENAGEMENT")]
    for line in closing:
        # The place the former agency knew, and no street: the new one is not theirs to know.
        assert (line["code_commune"], line["code_postal"], line["code_territoire"]) == ("93066", "93200", "T05")
        assert line["adresse"] == ""
        assert NEW_STREET not in ";".join(line.values()) and "93380" not in line.values()
        # Nor anything of the person's situation today.
        for column in ("id_orientation_conjoint", "situation_familiale", "nombre_enfants",
                       "identifiant_france_travail", "telephone", "email"):
            assert line[column] == "", column


def test_the_new_agency_gets_the_move_the_new_address_and_the_previous_contract(story):
    opening = _by_name(story[DAY3, "ALI01", columns.MOVEMENTS])
    assert set(opening) == {"SARAH", "KARIM"}
    sarah, karim = opening["SARAH"], opening["KARIM"]
    closed = _by_name(story[DAY3, "ALI05", columns.MOVEMENTS])
    for name, line in opening.items():
        assert (line["type_mouvement"], line["origine"], line["structure_precedente"]) == (
            "NOUVELLE", "DEMENAGEMENT", "ALI05")
        assert (line["code_commune"], line["code_postal"], line["code_territoire"]) == ("93066", "93380", "T01")
        assert NEW_STREET in line["adresse"] and OLD_STREET not in line["adresse"]
        # A household key of ALI01's own, unrelated to the one ALI05 had.
        assert line["cle_foyer"] != closed[name]["cle_foyer"]
    assert sarah["id_orientation_conjoint"] == karim["id_orientation"]
    assert sarah["cle_foyer"] == karim["cle_foyer"]
    assert sarah["identifiant_france_travail"] == FT_NUMBER
    assert (sarah["situation_familiale"], sarah["nombre_enfants"]) == ("MAR", "2")
    # A mobile is never replaced by the landline of a later file.
    assert (sarah["telephone"], karim["telephone"]) == ("0612345678", "0698765432")
    # Sarah's contract signed with ALI05 on day 2, whose accompaniment ended with the move.
    assert (sarah["date_debut_contrat_precedent"], sarah["date_fin_contrat_precedent"]) == (
        DAY2.isoformat(), DAY3.isoformat())
    assert sarah["date_contrat"] == DAY2.isoformat()
    assert karim["date_debut_contrat_precedent"] == karim["date_fin_contrat_precedent"] == ""
