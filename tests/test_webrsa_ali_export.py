"""The WebRSA ALI exchange out: one agency's day as a WebRSA-ALI document, stock and diff.

A real warehouse built by dbt from hand-made CAF flows (two days: a stock, then a move), the files
written by ``write_file`` and checked with lxml against WebRSA's PUBLIC schema, independently of the
validation the writer does itself. Beside it: the renderer as a pure function (the counsellor's
columns), and the project's own schema agreeing with WebRSA's on a corpus.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import psycopg
import pytest
from lxml import etree

from aiguillage import dbt_runner, partner_schemas, pseudonyms, warehouse
from aiguillage.extracts import webrsa_ali
from aiguillage.extracts.safety import UnsafeExtract
from aiguillage.extracts.writer import write_extract
from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.loader import load_pending
from aiguillage.landing.registry import scan_and_record
from aiguillage.nir import make_nir
from aiguillage.retention import layers
from aiguillage.synth.caf_xml import FlowHeader, VrsbWriter
from aiguillage.synth.model import Address, Household, Person
from tests.conftest import new_database, partner_schema

pytestmark = pytest.mark.slow

DAY1, DAY2 = date(2026, 12, 30), date(2026, 12, 31)
OURS = Path(__file__).resolve().parent.parent / "plugins" / "aiguillage" / "schemas" / "webrsa_ali.xsd"
SEED = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "webrsa_correspondances.csv"
FORMULA_NAME = '=HYPERLINK("http://x";"y")'  # within the CAF flow's 32 characters
COMMUNES = {"93048": ("93100", "MONTREUIL"), "93006": ("93170", "BAGNOLET")}
NIR_SHAPED = re.compile(rb"(?<![0-9A-Za-z])[12]\d{2}\d{2}(\d{2}|2A|2B)\d{3}\d{3}(\d{2})?(?![0-9A-Za-z])")


# ----- a real warehouse, two days -----


def _person(order: int, nom: str, prenom: str) -> Person:
    born = date(1980, 5, order)
    return Person(position=1, role="DEM", sex=2, nom=nom, nomnai=nom, prenom=prenom, prenom2=None,
                  nomcomnai="PARIS", dtnai=born, rgnai=None, nir=make_nir(2, born.year, born.month, "75", 111, order),
                  nir_known_to_caf=True, topvaliec=True, ddratdos=date(2024, 1, 1), rd=1)


def _household(matricule: str, person: Person, numcom: str) -> Household:
    codepos, nomcom = COMMUNES[numcom]
    address = Address(numvoie="12", libtypevoie="RUE", nomvoie=f"RUE {matricule}", complideadr="", compladr="",
                      numcom=numcom, codepos=codepos, nomcom=nomcom, localite=nomcom.title(), dtemm=date(2020, 1, 1))
    return Household(index=int(matricule), matricule=matricule, numdemrsa=f"D{matricule}", dtdemrsa=date(2024, 1, 1),
                     persons=[person], sitfam="CEL", ddsitfam=date(2020, 1, 1), addresses=[address],
                     sans_domicile_fixe=False, etat="2", oridemrsa="DEM", natpf="RSD", ddnatdro=date(2024, 1, 1))


def _write_caf(landing: Path, day: date, typeflux: str, households: list[Household]) -> None:
    folder = landing / "caf"
    folder.mkdir(parents=True, exist_ok=True)
    header = FlowHeader(typeflux=typeflux, created=day, created_time="06:00:00", dtref=day.replace(day=1))
    with VrsbWriter(folder / f"VRSB0801_931_{day:%Y%m%d}_{typeflux}.xml", "UTF-8", header) as writer:
        for household in households:
            writer.write(household)
        writer.close()


PEOPLE = {"alice": _person(1, FORMULA_NAME, "ALICE"), "bruno": _person(2, "MARTIN", "BRUNO")}


def _build_day(url: str, landing: Path, day: date) -> None:
    with psycopg.connect(url) as conn:
        scan_and_record(conn, landing, day, f"run-{day}")
        load_pending(conn, "caf", landing, lambda pending, path: read_caf(path))
        conn.commit()
    # What the extract lines and this writer read (models, seeds, snapshots), without the data tests:
    # those are other suites' business, and slow.
    built = dbt_runner.run(["build", "--select", "+identifiants__extract_lines", "webrsa_correspondances",
                            "--exclude", "test_type:data", "test_type:unit", "--vars", f"{{run_day: '{day}'}}"])
    assert built.success, built.failures


@pytest.fixture(scope="module")
def world(server_url, tmp_path_factory):
    """Day 1: Alice (her CAF name starts with '=') and Bruno live in Montreuil (ALI19). Day 2: Alice
    moves to Bagnolet (ALI09). Yields a function building a day, and the database URL."""
    landing = tmp_path_factory.mktemp("webrsa") / "landing"
    _write_caf(landing, DAY1, "M", [_household("1000001", PEOPLE["alice"], "93048"),
                                     _household("1000002", PEOPLE["bruno"], "93048")])
    _write_caf(landing, DAY2, "I", [_household("1000001", PEOPLE["alice"], "93006")])
    with new_database(server_url) as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIGUILLAGE_WAREHOUSE_URL", url)
        with psycopg.connect(url) as conn:
            warehouse.migrate(conn)
            pseudonyms.install_key(conn)
            conn.commit()
        _build_day(url, landing, DAY1)
        yield {"url": url, "build": lambda day: _build_day(url, landing, day)}


@pytest.fixture(scope="module")
def public() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(partner_schema("webrsa-WebRSA-ALI.xsd"))))


def _write(url: str, day: date, code: str, fichier: str, path: Path) -> dict:
    with psycopg.connect(url) as conn:
        return webrsa_ali.write_file(conn, day, code, fichier, path)


def _line_columns(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {name for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'identifiants' AND table_name = 'identifiants__extract_lines'")}


def _numbers(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT kind, identifiant, numero, premier_jour FROM identifiants.webrsa_identifiant"
                            " ORDER BY numero").fetchall()


# ----- the tests on the real warehouse, in order: day 1, then day 2 -----


def test_stock_and_diff_validate_against_the_public_schema(world, public, tmp_path):
    stock = _write(world["url"], DAY1, "ALI19", "stock", tmp_path / "stock.xml")
    diff = _write(world["url"], DAY1, "ALI19", "mouvements", tmp_path / "diff.xml")

    for path in (tmp_path / "stock.xml", tmp_path / "diff.xml"):
        document = etree.parse(str(path))
        assert public.validate(document), public.error_log.last_error
    assert stock["rows"] == 2 and stock["rows_by_type"] == {"STOCK": 2}
    assert diff["rows_by_type"] == {"NOUVELLE": 2, "MODIFIEE": 0, "CLOTUREE": 0}
    stock_doc, diff_doc = etree.parse(str(tmp_path / "stock.xml")), etree.parse(str(tmp_path / "diff.xml"))
    assert stock_doc.findtext("entete/fichier_stock") == "1" and diff_doc.findtext("entete/fichier_stock") == "0"
    assert stock_doc.findtext("entete/date_generation") == "2026-12-30 00:00:00"
    codes = _seed_codes()
    assert stock_doc.findtext("entete/id_structure_ali") == str(codes["structuresreferentes"]["ALI19"])
    dossiers = stock_doc.findall("dossiers/dossier")
    assert len(dossiers) == 2 and len({d.findtext("id_personne") for d in dossiers}) == 2
    bruno = next(d for d in dossiers if d.findtext("allocataire/prenom") == "BRUNO")
    assert bruno.findtext("allocataire/numero_caf") == "1000002"
    assert bruno.findtext("allocataire/numero_demande_rsa") == "D1000002"
    assert bruno.findtext("allocataire/date_demande_rsa") == "2024-01-01"
    assert bruno.findtext("allocataire/code_postal") == "93100"
    assert bruno.findtext("allocataire/role_personne") == str(codes["rolepers"]["DEM"])
    assert bruno.findtext("allocataire/etat_droit") == str(codes["etatdos"]["2"])
    # Bruno's household is CEL in his CAF flow: known once the lines carry the family situation.
    family = "CEL" if "situation_familiale" in _line_columns(world["url"]) else "NON_RENSEIGNE"
    assert bruno.findtext("allocataire/situation_familiale") == str(codes["sitfam"][family])
    assert bruno.findtext("allocataire/nb_enfants_foyer") == "0"
    assert bruno.findtext("orientations/orientation/type_orient") == str(codes["typesorients"]["PSO"])
    assert bruno.findtext("orientations/orientation/statut_orient") == str(codes["orient_statut"]["OUVERTE"])
    assert bruno.findtext("orientations/orientation/structure_referente") == str(
        codes["structuresreferentes"]["ALI19"])


def test_no_nir_anywhere_in_the_bytes(world, tmp_path):
    _write(world["url"], DAY1, "ALI19", "stock", tmp_path / "stock.xml")
    raw = (tmp_path / "stock.xml").read_bytes()
    assert b"<nir" not in raw
    for person in PEOPLE.values():
        assert person.nir.encode() not in raw and person.nir[:13].encode() not in raw
    assert NIR_SHAPED.search(raw) is None


def test_a_name_starting_with_equals_is_inert_escaped_text(world, tmp_path):
    _write(world["url"], DAY1, "ALI19", "stock", tmp_path / "stock.xml")
    raw = (tmp_path / "stock.xml").read_bytes()
    # XML text, typed xs:string: the '=' is a character of the name, no software runs it.
    names = [n.text for n in etree.parse(str(tmp_path / "stock.xml")).iter("nom")]
    assert FORMULA_NAME in names, names  # read back as the same text, element content and nothing else
    assert b'<nom>=HYPERLINK("http://x";"y")</nom>' in raw


def test_same_content_same_bytes(world, tmp_path):
    first = _write(world["url"], DAY1, "ALI19", "stock", tmp_path / "a.xml")
    again = _write(world["url"], DAY1, "ALI19", "stock", tmp_path / "b.xml")
    assert first["sha256"] == again["sha256"]
    assert (tmp_path / "a.xml").read_bytes() == (tmp_path / "b.xml").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xml", "b.xml"]  # no temporary file left


def test_invalid_document_is_refused_naming_the_element(world, tmp_path):
    final = tmp_path / "stock.xml"
    final.write_bytes(b"previous")
    with psycopg.connect(world["url"]) as conn:
        conn.execute("UPDATE identifiants.identifiants__extract_lines SET numero_caf = 'X99Z'"
                     " WHERE code_structure = 'ALI19' AND fichier = 'stock' AND nom = 'MARTIN'")
        with pytest.raises(webrsa_ali.WebrsaAliInvalid) as refused:
            webrsa_ali.write_file(conn, DAY1, "ALI19", "stock", final)
        conn.rollback()
    message = str(refused.value)
    assert "numero_caf" in message and "xs:integer" in message and "X99Z" not in message
    assert final.read_bytes() == b"previous"  # left as it was, no temporary file beside it
    assert [p.name for p in tmp_path.iterdir()] == ["stock.xml"]


def test_through_the_extract_writer_a_refused_document_withholds_the_file(world, tmp_path):
    """As the daily task writes it (format "webrsa"): a valid file gets its manifest; an invalid one is
    an UnsafeExtract (the agency's day withheld, the reason recorded) and nothing is left."""
    with psycopg.connect(world["url"]) as conn:
        written = write_extract(conn, DAY1, "ALI19", "stock", tmp_path / "ok", "run-1", "webrsa")
        conn.commit()
        assert Path(written["path"]).name == "export_webrsa_ali_ALI19_stock_20261230.xml"
        assert written["rows_by_type"] == {"STOCK": 2} and Path(written["manifest"]).is_file()
        conn.execute("UPDATE identifiants.identifiants__extract_lines SET code_postal = '9310O'"
                     " WHERE code_structure = 'ALI19' AND fichier = 'stock'")
        with pytest.raises(UnsafeExtract, match="code_postal"):
            write_extract(conn, DAY1, "ALI19", "stock", tmp_path / "refused", "run-1", "webrsa")
        conn.rollback()
    assert list((tmp_path / "refused").iterdir()) == []


def test_a_code_without_correspondence_is_refused(world, tmp_path):
    with psycopg.connect(world["url"]) as conn:
        conn.execute("UPDATE identifiants.identifiants__extract_lines SET civilite = 'MLLE'"
                     " WHERE code_structure = 'ALI19' AND fichier = 'mouvements'")
        with pytest.raises(webrsa_ali.WebrsaAliInvalid, match=r"civilite.*'MLLE'.*webrsa_correspondances"):
            webrsa_ali.write_file(conn, DAY1, "ALI19", "mouvements", tmp_path / "diff.xml")
        conn.rollback()
    assert not (tmp_path / "diff.xml").exists()


def test_numbers_are_stable_across_days_and_reruns(world, tmp_path):
    _write(world["url"], DAY1, "ALI19", "stock", tmp_path / "d1.xml")
    day1 = _numbers(world["url"])
    _write(world["url"], DAY1, "ALI19", "stock", tmp_path / "d1-again.xml")
    assert _numbers(world["url"]) == day1  # a rerun adds nothing, changes nothing
    alice_d1 = _id_personne(tmp_path / "d1.xml", "ALICE")

    world["build"](DAY2)  # Alice moves to Bagnolet: CLOTUREE at ALI19, NOUVELLE at ALI09
    closed = _write(world["url"], DAY2, "ALI19", "mouvements", tmp_path / "d2-ali19.xml")
    opened = _write(world["url"], DAY2, "ALI09", "mouvements", tmp_path / "d2-ali09.xml")
    assert closed["rows_by_type"]["CLOTUREE"] == 1 and opened["rows_by_type"]["NOUVELLE"] == 1
    day2 = _numbers(world["url"])
    assert day2[:len(day1)] == day1  # every number of day 1 kept, with its first day
    assert {row[3] for row in day2[len(day1):]} == {DAY2}
    assert _id_personne(tmp_path / "d2-ali19.xml", "ALICE") == alice_d1 == _id_personne(
        tmp_path / "d2-ali09.xml", "ALICE")
    codes = _seed_codes()
    closing = etree.parse(str(tmp_path / "d2-ali19.xml")).find("dossiers/dossier/orientations/orientation")
    assert closing.findtext("statut_orient") == str(codes["orient_statut"]["CLOTUREE"])
    # the agency of departure does not learn the new address
    assert b"BAGNOLET" not in (tmp_path / "d2-ali19.xml").read_bytes().upper()
    new = etree.parse(str(tmp_path / "d2-ali09.xml")).find("dossiers/dossier/orientations/orientation")
    assert new.findtext("origine_orient") == str(codes["orient_origine"]["DEMENAGEMENT"])


def test_the_rgpd_purge_deletes_a_purged_persons_numbers(world):
    """The purge finds person-level tables by their columns: ours is found, and its condition deletes
    the numbers of a purged person and of their referrals, nobody else's."""
    with psycopg.connect(world["url"]) as conn:
        [(condition,)] = [(c,) for schema, table, c in layers.plan(conn)
                          if (schema, table) == ("identifiants", "webrsa_identifiant")]
        person_id, id_orientation = conn.execute(
            "SELECT r.person_id, r.id_orientation FROM marts.referrals AS r"
            " JOIN identifiants.webrsa_identifiant AS w ON w.kind = 'personne' AND w.identifiant = r.person_id"
            " LIMIT 1").fetchone()
        conn.execute("CREATE TEMP TABLE ret_person AS SELECT %s::text AS person_id", (person_id,))
        conn.execute("CREATE TEMP TABLE ret_referral AS SELECT id_orientation FROM marts.referrals"
                     " WHERE person_id = %s", (person_id,))
        before = conn.execute("SELECT count(*) FROM identifiants.webrsa_identifiant").fetchone()[0]
        conn.execute(f"DELETE FROM identifiants.webrsa_identifiant AS t WHERE {condition}")  # noqa: S608
        left = conn.execute("SELECT count(*) FILTER (WHERE identifiant IN (%s, %s)), count(*)"
                            " FROM identifiants.webrsa_identifiant", (person_id, id_orientation)).fetchone()
        conn.rollback()
    assert left[0] == 0 and 0 < before - left[1] < before


def _id_personne(path: Path, prenom: str) -> str:
    for dossier in etree.parse(str(path)).iter("dossier"):
        if dossier.findtext("allocataire/prenom") == prenom:
            return dossier.findtext("id_personne")
    raise AssertionError(f"{prenom} not in {path.name}")


# ----- the renderer as a pure function -----


def _seed_codes() -> dict[str, dict[str, int]]:
    import csv

    lists: dict[str, dict[str, int]] = {}
    with open(SEED, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            lists.setdefault(row["referentiel"], {})[row["code"]] = int(row["identifiant"])
    return lists


def _row(**values) -> dict:
    return {"id_personne": 7, "id_orient_webrsa": 9, "type_mouvement": "NOUVELLE", "date_orientation": DAY1,
            "parcours": "PSO", "code_structure": "ALI05", "civilite": "MME", "nom": "TESTNOM", "prenom": "Émilie",
            "date_naissance": date(1980, 1, 31), "numero_caf": "0123456", "role": "CJT", "adresse": None,
            "code_postal": "93100", "commune": "Montreuil", "etat_droit": "3", "statut_orientation": "OUVERTE",
            "origine": "REORIENTATION", "date_demande_rsa": date(2024, 1, 1), "soumis_droits_devoirs": True,
            "numero_demande_rsa": "D1", **values}


def _render(tmp_path: Path, rows: list[dict], stock: bool = False) -> Path:
    path = tmp_path / "doc.xml"
    with open(path, "wb") as handle:
        webrsa_ali.render(handle, day=DAY1, id_structure_ali=1, libelle_ali="Agence", stock=stock, rows=rows,
                          codes=webrsa_ali.Correspondances(_seed_codes()))
    return path


def test_counsellor_columns_when_present(public, tmp_path):
    codes = _seed_codes()
    path = _render(tmp_path, [_row(situation_familiale="MAR", nombre_enfants=3, telephone="0601020304",
                                   email="e@example.org")])
    document = etree.parse(str(path))
    assert public.validate(document), public.error_log.last_error
    assert document.findtext(".//situation_familiale") == str(codes["sitfam"]["MAR"])
    assert document.findtext(".//nb_enfants_foyer") == "3"
    assert document.findtext(".//modes_contact/telephone_1") == "0601020304"
    assert document.findtext(".//modes_contact/email") == "e@example.org"
    assert document.find(".//nom_voie") is None  # no street: the element is left out, not empty


def test_unknowns_are_explicit(public, tmp_path):
    codes = _seed_codes()
    document = etree.parse(str(_render(tmp_path, [_row(civilite=None)])))
    assert public.validate(document), public.error_log.last_error
    assert document.find(".//civilite") is None  # optional: left out
    assert document.findtext(".//situation_familiale") == str(codes["sitfam"]["NON_RENSEIGNE"])
    assert document.find(".//modes_contact") is None
    with pytest.raises(webrsa_ali.WebrsaAliInvalid, match=r"element role_personne: required"):
        _render(tmp_path, [_row(role=None)])
    with pytest.raises(webrsa_ali.WebrsaAliInvalid, match=r"element situation_familiale: code 'XYZ'"):
        _render(tmp_path, [_row(situation_familiale="XYZ")])
    with pytest.raises(webrsa_ali.WebrsaAliInvalid, match=r"element nom: .*XML 1.0"):
        _render(tmp_path, [_row(nom="A\x00B")])


def test_one_dossier_per_person_and_an_empty_day(public, tmp_path):
    rows = [_row(), _row(id_orient_webrsa=10, type_mouvement="CLOTUREE", statut_orientation="CLOTUREE"),
            _row(id_personne=8, id_orient_webrsa=11)]
    document = etree.parse(str(_render(tmp_path, rows)))
    assert public.validate(document), public.error_log.last_error
    assert [len(d.findall("orientations/orientation")) for d in document.iter("dossier")] == [2, 1]
    empty = etree.parse(str(_render(tmp_path, [], stock=True)))
    assert public.validate(empty) and empty.find("dossiers") is None


@pytest.mark.parametrize(("pattern", "replacement", "named", "hidden"), [
    (r"2026-12-30 08:15:00", "31/12/2026", ["date_generation", "pattern"], "31/12/2026"),
    (r"<numero_caf>0123456<", "<numero_caf>A123456<", ["numero_caf", "xs:integer", "id_personne 1"], "A123456"),
    (r"<nom>N</nom>", "", ["allocataire", "nom"], None),
])
def test_validation_names_element_and_rule_never_the_value(tmp_path, pattern, replacement, named, hidden):
    path = tmp_path / "doc.xml"
    path.write_text(re.sub(pattern, replacement, FULL, count=1), encoding="utf-8")
    for schema in (OURS, partner_schema("webrsa-WebRSA-ALI.xsd")):
        with pytest.raises(webrsa_ali.WebrsaAliInvalid) as refused:
            webrsa_ali.validate(path, schema)
        message = str(refused.value)
        assert all(word in message for word in named), message
        assert hidden is None or hidden not in message, message


# ----- the schema in use, and ours agreeing with WebRSA's -----


def test_schema_in_use_is_the_partners_when_provided(monkeypatch, tmp_path):
    monkeypatch.delenv(partner_schemas.PARTNER_SCHEMAS_VAR, raising=False)
    assert webrsa_ali.schema_path() == OURS
    monkeypatch.setenv(partner_schemas.PARTNER_SCHEMAS_VAR, str(partner_schema("webrsa-WebRSA-ALI.xsd").parent))
    assert webrsa_ali.schema_path() == partner_schema("webrsa-WebRSA-ALI.xsd").resolve()
    monkeypatch.setenv(partner_schemas.PARTNER_SCHEMAS_VAR, str(tmp_path))  # set, but the file is not there
    assert webrsa_ali.schema_path() == OURS


FULL = """<?xml version="1.0" encoding="UTF-8"?>
<WebRSA-ALI>
  <entete><date_generation>2026-12-30 08:15:00</date_generation><id_structure_ali>12</id_structure_ali>
    <libelle_ali>ALI</libelle_ali><fichier_stock>1</fichier_stock></entete>
  <dossiers>
    <dossier>
      <id_personne>1</id_personne>
      <allocataire><civilite>1</civilite><nom>N</nom><prenom>P</prenom><numero_caf>0123456</numero_caf>
        <date_naissance>1980-01-31</date_naissance><numero_voie>12</numero_voie><type_voie>RUE</type_voie>
        <nom_voie>X</nom_voie><complement_adresse>B</complement_adresse><code_postal>93100</code_postal>
        <ville>V</ville><date_demande_rsa>2024-01-01</date_demande_rsa><numero_demande_rsa>D1</numero_demande_rsa>
        <etat_droit>2</etat_droit><soumis_droits_devoirs>1</soumis_droits_devoirs><role_personne>1</role_personne>
        <nb_enfants_foyer>0</nb_enfants_foyer><situation_familiale>3</situation_familiale></allocataire>
      <referents_parcours><referent_parcours><id_structure_referente>4</id_structure_referente>
        <id_referent>5</id_referent><date_debut_designation>2026-01-01</date_debut_designation>
        <date_fin_designation>2026-02-01</date_fin_designation></referent_parcours></referents_parcours>
      <modes_contact><telephone_1>01</telephone_1><modif_telephone_1>2026-01-01 10:00:00</modif_telephone_1>
        <telephone_2>06</telephone_2><modif_telephone_2>2026-01-01 10:00:00.5</modif_telephone_2>
        <email>a@b</email><modif_email>2026-01-01 10:00:00</modif_email></modes_contact>
      <orientations><orientation><id_orient_webrsa>9</id_orient_webrsa><id_orient_ali>8</id_orient_ali>
        <date_orient>2026-01-01</date_orient><origine_orient>1</origine_orient><statut_orient>1</statut_orient>
        <type_orient>1</type_orient><rang_orient>1</rang_orient><structure_referente>4</structure_referente>
        <tag_entretien_diag>0</tag_entretien_diag></orientation></orientations>
      <cers><cer><id_cer_webrsa>1</id_cer_webrsa><id_cer_ali>2</id_cer_ali><structure_referente>4</structure_referente>
        <statut>1</statut><rang>1</rang><date_debut>2026-01-01</date_debut><date_fin>2026-06-30</date_fin></cer></cers>
      <dsp><id_dsp_webrsa>1</id_dsp_webrsa><id_dsp_ali>2</id_dsp_ali><niveau_etude><niveau_etude>1</niveau_etude>
        <diplome_plus_eleve>2</diplome_plus_eleve><annee_obtention>2001</annee_obtention>
        <qualifications_pro>1</qualifications_pro><precisions_qualifications_pro>Q</precisions_qualifications_pro>
        <competences_extrapro>0</competences_extrapro>
        <precisions_competences_extrapro>C</precisions_competences_extrapro></niveau_etude></dsp>
    </dossier>
  </dossiers>
</WebRSA-ALI>
"""

# (what, regex on FULL, replacement): each a small change of the full document.
MUTATIONS = [
    ("full document", r"^$", ""),
    ("fichier_stock as true (xs:boolean)", r"<fichier_stock>1<", "<fichier_stock>true<"),
    ("fichier_stock 2", r"<fichier_stock>1<", "<fichier_stock>2<"),
    ("no dossiers", r"<dossiers>.*</dossiers>", ""),
    ("empty dossiers", r"<dossiers>.*</dossiers>", "<dossiers/>"),
    ("no entete", r"<entete>.*?</entete>", ""),
    ("dossiers before entete", r"(<entete>.*?</entete>)\s*(<dossiers>.*</dossiers>)", r"\2\1"),
    ("entete in another order", r"<date_generation>(.*?)</date_generation>(.*?)</entete>",
     r"\2<date_generation>\1</date_generation></entete>"),
    ("date_generation without time", r"2026-12-30 08:15:00", "2026-12-30"),
    ("date_generation with a T", r"2026-12-30 08:15:00", "2026-12-30T08:15:00"),
    ("modif with 4-digit milliseconds", r"10:00:00\.5", "10:00:00.5000"),
    ("no id_personne", r"<id_personne>1</id_personne>", ""),
    ("id_personne text", r"<id_personne>1<", "<id_personne>A1<"),
    ("id_personne negative", r"<id_personne>1<", "<id_personne>-1<"),
    ("a nir", r"<numero_caf>", "<nir>1800575111001</nir><numero_caf>"),
    ("two nom", r"<nom>N</nom>", "<nom>N</nom><nom>M</nom>"),
    ("no nom", r"<nom>N</nom>", ""),
    ("numero_caf not a number", r"<numero_caf>0123456<", "<numero_caf>A123456<"),
    ("code_postal 2A", r"<code_postal>93100<", "<code_postal>2A004<"),
    ("date_naissance french", r"1980-01-31", "31/01/1980"),
    ("no civilite", r"<civilite>1</civilite>", ""),
    ("no situation_familiale", r"<situation_familiale>3</situation_familiale>", ""),
    ("no nb_enfants_foyer", r"<nb_enfants_foyer>0</nb_enfants_foyer>", ""),
    ("soumis 2", r"<soumis_droits_devoirs>1<", "<soumis_droits_devoirs>2<"),
    ("soumis true", r"<soumis_droits_devoirs>1<", "<soumis_droits_devoirs>true<"),
    ("unknown element in allocataire", r"<ville>V</ville>", "<ville>V</ville><pays>FR</pays>"),
    ("unknown element in dossier", r"<id_personne>1</id_personne>", "<id_personne>1</id_personne><x/>"),
    ("no allocataire", r"<allocataire>.*?</allocataire>", ""),
    ("two allocataire", r"(<allocataire>.*?</allocataire>)", r"\1\1"),
    ("orientation without structure", r"<structure_referente>4</structure_referente>\s*<tag", "<tag"),
    ("tag_entretien_diag 3", r"<tag_entretien_diag>0<", "<tag_entretien_diag>3<"),
    ("two orientations", r"(<orientation>.*?</orientation>)", r"\1\1"),
    ("empty orientations", r"<orientations>.*?</orientations>", "<orientations/>"),
    ("referent without start", r"<date_debut_designation>2026-01-01</date_debut_designation>", ""),
    ("cer statut text", r"<statut>1<", "<statut>valide<"),
    ("cer without statut", r"<statut>1</statut>", ""),
    ("dsp without niveau_etude", r"<niveau_etude><niveau_etude>.*?</niveau_etude></dsp>",
     "</dsp>"),
    ("annee_obtention 01", r"<annee_obtention>2001<", "<annee_obtention>01<"),
    ("qualifications_pro yes", r"<qualifications_pro>1<", "<qualifications_pro>oui<"),
    ("another root", r"<WebRSA-ALI>(.*)</WebRSA-ALI>", r"<WebRSA_ALI>\1</WebRSA_ALI>"),
    ("a namespace", r"<WebRSA-ALI>", '<WebRSA-ALI xmlns="urn:x">'),
]


@pytest.fixture(scope="module")
def ours() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(OURS)))


@pytest.mark.parametrize(("what", "pattern", "replacement"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_our_schema_gives_the_public_schemas_verdict(public, ours, what, pattern, replacement):
    text = FULL if pattern == "^$" else re.sub(pattern, replacement, FULL, count=1, flags=re.DOTALL)
    assert pattern == "^$" or text != FULL, f"mutation {what!r} changed nothing"
    document = etree.fromstring(text.encode("utf-8"))
    assert ours.validate(document) == public.validate(document), what


def test_the_corpus_holds_both_verdicts(public):
    verdicts = set()
    for _, pattern, replacement in MUTATIONS:
        text = FULL if pattern == "^$" else re.sub(pattern, replacement, FULL, count=1, flags=re.DOTALL)
        verdicts.add(public.validate(etree.fromstring(text.encode("utf-8"))))
    assert verdicts == {True, False}
