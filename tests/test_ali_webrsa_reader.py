"""Agencies' reports in the WebRSA exchange format (ALI-WebRSA): the same raw rows as their CSV twin,
per-element rejects with the exchange's reasons, the "already processed" rule, hostile XML refused,
and the reject report back in the agency's folder the next morning.

The reader tests run on a warehouse that only has what the reader reads: the migrations, a
``marts.referral_movements`` of three people and the integers the exchange gave them. The last test
runs the real pipeline: two days of the ``aiguillage`` command on a small synthetic landing zone.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree

from aiguillage.extracts import reject_report
from aiguillage.ingest.ali_webrsa_referentiel import load_referentiel
from aiguillage.ingest.loader import load_pending
from aiguillage.ingest.raw_tables import REJECT_REASONS
from aiguillage.landing.registry import scan_and_record
from aiguillage.pipeline_tasks import _reader_for, build_referral_warehouse
from tests.conftest import partner_schema, run_cli

DAY = date(2026, 11, 5)
AGENCY = "ALI19"
REFERENTS = [(7, "ALI19", "Claire Dupont", "claire.dupont@ali19.example", None),
             (8, "ALI19", "Paul Ancien", None, date(2026, 10, 1)),
             (9, "ALI20", "Nora Voisine", None, None)]
_NIR_SHAPED = re.compile(r"(?<![0-9])[12][0-9]{12}([0-9]{2})?(?![0-9])")


# ----- building reports


def header(structure: int, generated: str = "2026-11-05 18:30:00", stock: str = "0") -> str:
    return (f"<entete><date_generation>{generated}</date_generation><id_structure_ali>{structure}</id_structure_ali>"
            f"<fichier_stock>{stock}</fichier_stock></entete>")


def report(head: str, *dossiers: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    body = "".join(f"\n  <dossier>{dossier}</dossier>" for dossier in dossiers)
    return f"{prolog}<ALI-WebRSA>\n {head}\n <dossiers>{body}\n </dossiers>\n</ALI-WebRSA>\n".encode()


def designation(referent: int, when: str, id_ali: int = 501) -> str:
    return (f"<liste_referents_parcours><referent_parcours><id_webrsa>{referent}</id_webrsa><id_ali>{id_ali}</id_ali>"
            f"<date_designation>{when}</date_designation></referent_parcours></liste_referents_parcours>")


def appointment(structure: int, when: str, statut: int = 2, objet: int = 1, referent: int | None = 7,
                id_ali: int = 502) -> str:
    who = f"<id_referent>{referent}</id_referent>" if referent else ""
    return (f"<rendez_vous><id_ali>{id_ali}</id_ali><id_structurereferente>{structure}</id_structurereferente>{who}"
            f"<id_objet_rdv>{objet}</id_objet_rdv><thematiques><id_thematique_rdv>3</id_thematique_rdv></thematiques>"
            f"<id_statut_rdv>{statut}</id_statut_rdv><date_rdv>{when}</date_rdv><heure_rdv>10:30:00</heure_rdv>"
            f"<commentaire_rdv>=HYPERLINK(\"http://x\")</commentaire_rdv></rendez_vous>")


def contract(referent: int, signed: str, id_ali: int = 503) -> str:
    return (f"<cer><id_ali>{id_ali}</id_ali><id_referent>{referent}</id_referent><inscrit_PE>0</inscrit_PE>"
            "<id_cmu>1</id_cmu><id_cmu_c>1</id_cmu_c><id_niveau_etude>2</id_niveau_etude>"
            "<emploi_trouve>0</emploi_trouve><mois_a_venir>Recherche d'emploi</mois_a_venir>"
            "<id_duree_cer>6</id_duree_cer><id_point_parcours>1</id_point_parcours>"
            f"<date_debut>{signed}</date_debut><date_saisie>{signed}</date_saisie>"
            f"<date_signature>{signed}</date_signature></cer>")


def reorientation(type_orientation: int, when: str, referent: int = 7, id_ali: int = 504) -> str:
    return (f"<liste_changements_orientation><changement_orientation><id_ali>{id_ali}</id_ali>"
            f"<id_referent>{referent}</id_referent><date_demande>{when}</date_demande><id_origine>1</id_origine>"
            f"<id_type_orientation>{type_orientation}</id_type_orientation>"
            "<id_structure_referente_accueil>122</id_structure_referente_accueil><id_statut>1</id_statut>"
            "</changement_orientation></liste_changements_orientation>")


def exit_form(motif: int, id_ali: int = 505) -> str:
    return (f"<formulaire_d2><id_ali>{id_ali}</id_ali><id_statut_accompagnement>2</id_statut_accompagnement>"
            f"<sortie_accompagnement><id_motif_sortie_accompagnement>{motif}</id_motif_sortie_accompagnement>"
            "</sortie_accompagnement></formulaire_d2>")


def dossier(person: int, *parts: str) -> str:
    """A dossier's content: appointments and contracts gathered in their lists, where the first one is."""
    lists = {"<rendez_vous": "liste_rendez_vous", "<cer>": "liste_cers"}
    order: list[str] = []
    grouped: dict[str, list[str]] = {}
    for part in parts:
        tag = next((name for start, name in lists.items() if part.startswith(start)), None)
        if tag is None:
            order.append(part)
            continue
        if tag not in grouped:
            order.append(tag)
        grouped.setdefault(tag, []).append(part)
    inner = "".join(f"<{part}>{''.join(grouped[part])}</{part}>" if part in grouped else part for part in order)
    return f"<id_personne>{person}</id_personne>{inner}"


# ----- the warehouse the reader reads


@pytest.fixture
def world(conn, tmp_path, monkeypatch):
    """Three people with their exchange integers: A referred to ALI19 (ORI-A), B to ALI20, C nowhere."""
    monkeypatch.delenv("AIGUILLAGE_PARTNER_SCHEMAS_DIR", raising=False)
    conn.execute("CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.referral_movements (id_orientation text, date_mouvement date,"
                 " type_mouvement text, code_structure text, person_id text)")
    conn.execute("INSERT INTO marts.referral_movements VALUES ('ORI-A', '2026-11-02', 'NOUVELLE', 'ALI19', 'PA'),"
                 " ('ORI-B', '2026-11-02', 'NOUVELLE', 'ALI20', 'PB')")
    numbers = {}
    for person in ("PA", "PB", "PC"):
        numbers[person] = conn.execute(
            "INSERT INTO identifiants.webrsa_identifiant (kind, identifiant, premier_jour)"
            " VALUES ('personne', %s, '2026-11-02') RETURNING numero", (person,)).fetchone()[0]
    conn.cursor().executemany("INSERT INTO registry.webrsa_referent VALUES (%s, %s, %s, %s, %s)", REFERENTS)
    conn.commit()
    referentiel = load_referentiel(conn)
    landing = tmp_path / "landing"
    return {"conn": conn, "landing": landing, "people": numbers, "ali19": referentiel.structure_id("ALI19"),
            "ali20": referentiel.structure_id("ALI20"),
            "types": {parcours: number for number, parcours in _types().items()}}


def _types() -> dict[int, str]:
    from aiguillage.ingest.csv_fields import seed_rows

    return {int(row["identifiant"]): row["code"] for row in seed_rows("webrsa_correspondances")
            if row["referentiel"] == "typesorients"}


def drop(world, name: str, data: bytes, agency: str = AGENCY) -> Path:
    folder = world["landing"] / "ali" / agency
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def load(world, day: date = DAY) -> dict[str, tuple[str, str | None]]:
    """Scan and load the landing zone as the day's run does; {file name: (status, reason)}."""
    conn = world["conn"]
    scan_and_record(conn, world["landing"], day, f"run-{day}", settle_seconds=0)
    load_pending(conn, "ali", world["landing"], _reader_for("ali", day, conn))
    conn.commit()
    return {Path(path).name: (status, reason) for path, status, reason in conn.execute(
        "SELECT relative_path, status, status_reason FROM registry.landing_file ORDER BY file_id")}


def lines_of(conn, name: str) -> list[tuple]:
    return conn.execute(
        "SELECT code_structure, date_rapport, id_orientation, evenement, date_evenement, motif, referent_nom,"
        " referent_email FROM raw.ali_report_line JOIN registry.landing_file USING (file_id)"
        " WHERE relative_path LIKE %s ORDER BY line_number", (f"%/{name}",)).fetchall()


def rejects_of(conn, name: str) -> list[tuple]:
    return conn.execute(
        "SELECT reason_code, raw_line FROM raw.ali_report_reject JOIN registry.landing_file USING (file_id)"
        " WHERE relative_path LIKE %s ORDER BY line_number", (f"%/{name}",)).fetchall()


def full_report(world) -> bytes:
    a = world["people"]["PA"]
    return report(header(world["ali19"]), dossier(
        a, designation(7, "2026-11-03"), appointment(world["ali19"], "2026-11-04"),
        appointment(world["ali19"], "2026-11-20", statut=1, id_ali=510),  # planned: nothing to report yet
        contract(7, "2026-11-05"), reorientation(world["types"]["PSP"], "2026-11-05"), exit_form(1)))


CSV_TWIN = """code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email
ALI19;2026-11-05;ORI-A;PRISE_EN_CHARGE;2026-11-03;;Claire Dupont;claire.dupont@ali19.example
ALI19;2026-11-05;ORI-A;RDV_HONORE;2026-11-04;;Claire Dupont;claire.dupont@ali19.example
ALI19;2026-11-05;ORI-A;CONTRAT_SIGNE;2026-11-05;;Claire Dupont;claire.dupont@ali19.example
ALI19;2026-11-05;ORI-A;REORIENTATION_DEMANDEE;2026-11-05;PARCOURS_SOCIAL;Claire Dupont;claire.dupont@ali19.example
ALI19;2026-11-05;ORI-A;SORTIE;2026-11-05;EMPLOI;;
"""


# ----- tests


def test_a_valid_report_loads_into_the_same_raw_rows_as_its_csv_twin(world):
    data = full_report(world)
    # The file is what WebRSA itself accepts: valid against the partner's public schema.
    public = etree.XMLSchema(etree.parse(str(partner_schema("webrsa-ALI-WebRSA.xsd"))))
    public.assertValid(etree.fromstring(data))
    drop(world, "ali_ALI19_20261105.xml", data)
    drop(world, "ali_ALI19_20261105.csv", CSV_TWIN.encode())
    statuses = load(world)
    assert statuses == {"ali_ALI19_20261105.xml": ("loaded", None), "ali_ALI19_20261105.csv": ("loaded", None)}, \
        world["conn"].execute("SELECT reason_code, detail, raw_line FROM raw.ali_report_reject").fetchall()
    conn = world["conn"]
    xml_lines = lines_of(conn, "ali_ALI19_20261105.xml")
    assert len(xml_lines) == 5
    assert sorted(xml_lines) == sorted(lines_of(conn, "ali_ALI19_20261105.csv"))
    # Each line keeps the element it came from and the identifiers the agency sent.
    assert conn.execute("SELECT element, id_personne, id_ali FROM raw.ali_webrsa_element ORDER BY line_number"
                        ).fetchall() == [
        ("dossier[1]/liste_referents_parcours/referent_parcours", world["people"]["PA"], 501),
        ("dossier[1]/liste_rendez_vous/rendez_vous[1]", world["people"]["PA"], 502),
        ("dossier[1]/liste_cers/cer[1]", world["people"]["PA"], 503),
        ("dossier[1]/liste_changements_orientation/changement_orientation", world["people"]["PA"], 504),
        ("dossier[1]/formulaire_d2/sortie_accompagnement", world["people"]["PA"], 505),
    ]
    assert conn.execute("SELECT code_structure, date_generation::text, fichier_stock FROM registry.ali_webrsa_report"
                        ).fetchall() == [("ALI19", "2026-11-05 18:30:00", False)]


def test_each_element_gets_its_own_verdict_with_the_exchange_reasons(world):
    a, b, c = (world["people"][p] for p in ("PA", "PB", "PC"))
    ali19, ali20, types = world["ali19"], world["ali20"], world["types"]
    data = report(
        header(ali19),
        dossier(a, "<date_naissance>1980-01-01</date_naissance>"),  # not in the schema: the dossier goes
        dossier(999999),  # no person has this integer
        dossier(b, designation(7, "2026-11-03")),  # B was never referred to ALI19
        dossier(c, designation(7, "2026-11-03")),  # nor was C
        dossier(
            a,
            designation(8, "2026-11-03"),  # référent closed on 1 October
            appointment(9999, "2026-11-04", id_ali=601),  # structure not in the référentiel
            appointment(ali20, "2026-11-04", id_ali=602),  # another agency's appointment
            appointment(ali19, "2026-11-04", objet=99, id_ali=603),
            appointment(ali19, "2026-11-04", statut=99, id_ali=604),
            appointment(ali19, "2026-11-04", referent=77, id_ali=605),  # nobody's référent
            appointment(ali19, "2026-11-04", referent=9, id_ali=606),  # ALI20's référent
            appointment(ali19, "2026-11-04", statut=3, id_ali=607),  # a no-show: accepted
            contract(7, "2026-11-06"),  # signed after the report was generated
            reorientation(types["PSO"], "2026-11-05"),  # not a parcours an agency may ask for
            exit_form(99),
        ),
    )
    drop(world, "ali_ALI19_20261105.xml", data)
    assert load(world)["ali_ALI19_20261105.xml"][0] == "loaded_with_rejects"
    conn = world["conn"]
    rejects = rejects_of(conn, "ali_ALI19_20261105.xml")
    assert [code for code, _ in rejects] == [
        "validation_schema", "personne_inconnue", "REFERRAL_NOT_HELD", "REFERRAL_NOT_HELD",
        "referent_cloture", "structure_inconnue", "STRUCTURE_MISMATCH", "rdv_objet_inconnu", "rdv_statut_inconnu",
        "referent_inconnu", "referent_inconnu", "DATE_INCOHERENT", "UNKNOWN_MOTIF", "UNKNOWN_MOTIF",
    ]
    assert all(code in REJECT_REASONS and code in reject_report.REASONS_FR for code, _ in rejects)
    # Each reject names the element, its line and the integers the agency sent, nothing else.
    assert rejects[0][1].startswith("element=dossier[1]; line=5; id_personne=")
    assert rejects[5][1] == f"element=dossier[5]/liste_rendez_vous/rendez_vous[1]; line=9; id_personne={a}; id_ali=601"
    detail = conn.execute("SELECT detail FROM raw.ali_report_reject WHERE reason_code = 'validation_schema'"
                          ).fetchone()[0]
    assert "dossier" in detail and "1980" not in detail
    assert lines_of(conn, "ali_ALI19_20261105.xml") == [
        ("ALI19", DAY, "ORI-A", "RDV_NON_HONORE", date(2026, 11, 4), None, "Claire Dupont",
         "claire.dupont@ali19.example")]


def test_a_report_sent_again_under_the_same_date_generation_is_already_processed(world):
    a = world["people"]["PA"]
    drop(world, "ali_ALI19_20261105.xml", report(header(world["ali19"]), dossier(a, designation(7, "2026-11-03"))))
    assert load(world)["ali_ALI19_20261105.xml"] == ("loaded", None)
    # The next day the agency's software sends the report again, completed: same date_generation.
    drop(world, "ali_ALI19_20261106.xml", report(header(world["ali19"]), dossier(a, designation(7, "2026-11-03")),
                                                 dossier(a, contract(7, "2026-11-05"))))
    # And another agency's header dropped in ALI19's folder.
    drop(world, "autre_20261106.xml", report(header(world["ali20"], "2026-11-06 08:00:00"),
                                             dossier(a, designation(7, "2026-11-03"))))
    statuses = load(world, date(2026, 11, 6))
    assert statuses["ali_ALI19_20261106.xml"][0] == "loaded_with_rejects"
    conn = world["conn"]
    assert [code for code, _ in rejects_of(conn, "ali_ALI19_20261106.xml")] == ["deja_traite"]
    assert lines_of(conn, "ali_ALI19_20261106.xml") == []
    assert [code for code, _ in rejects_of(conn, "autre_20261106.xml")] == ["STRUCTURE_MISMATCH"]
    assert lines_of(conn, "autre_20261106.xml") == []
    # Loaded again from scratch (a replay on a new warehouse), the first report still counts once.
    assert conn.execute("SELECT count(*) FROM registry.ali_webrsa_report").fetchone() == (1,)


def test_a_stock_report_sends_again_what_the_warehouse_has_and_only_the_news_load(world):
    conn = world["conn"]
    conn.execute("CREATE SCHEMA intermediate")
    conn.execute("CREATE TABLE intermediate.int_ali__events_checked (id_orientation text, evenement text,"
                 " date_evenement date, statut text)")
    conn.execute("INSERT INTO intermediate.int_ali__events_checked VALUES"
                 " ('ORI-A', 'PRISE_EN_CHARGE', '2026-11-03', 'ACCEPTE'), ('ORI-A', 'RDV_HONORE', '2026-11-04', 'REJETE')")
    conn.commit()
    drop(world, "ali_ALI19_20261105.xml", report(header(world["ali19"], stock="1"), dossier(
        world["people"]["PA"], designation(7, "2026-11-03"), appointment(world["ali19"], "2026-11-04"))))
    assert load(world)["ali_ALI19_20261105.xml"] == ("loaded", None)
    assert [line[3] for line in lines_of(conn, "ali_ALI19_20261105.xml")] == ["RDV_HONORE"]
    assert conn.execute("SELECT fichier_stock FROM registry.ali_webrsa_report").fetchone() == (True,)


@pytest.mark.parametrize("prolog, entity", [
    ('<?xml version="1.0"?>\n<!DOCTYPE ALI-WebRSA [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n', "x"),
    ('<?xml version="1.0"?>\n<!DOCTYPE ALI-WebRSA [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
     '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>\n', "c"),
    ('<?xml version="1.0"?>\n<!DOCTYPE ALI-WebRSA SYSTEM "http://127.0.0.1:9/ali.dtd">\n', None),
])
def test_a_dtd_or_an_entity_quarantines_the_file_and_nothing_is_read(world, prolog, entity):
    data = report(header(world["ali19"]), dossier(world["people"]["PA"], designation(7, "2026-11-03")), prolog=prolog)
    if entity:
        data = data.replace(b"<id_ali>501", f"<id_ali>&{entity};501".encode())
    drop(world, "ali_ALI19_20261105.xml", data)
    status, reason = load(world)["ali_ALI19_20261105.xml"]
    assert status == "quarantined"
    assert "DOCTYPE" in reason and "passwd" not in reason
    conn = world["conn"]
    assert conn.execute("SELECT count(*) FROM raw.ali_report_line").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM registry.ali_webrsa_report").fetchone() == (0,)


def test_a_report_that_is_no_report_is_quarantined_with_the_line_and_rule(world):
    a = world["people"]["PA"]
    drop(world, "a_20261105.xml", report(header(world["ali19"]), dossier(a, designation(7, "2026-11-03")))
         .replace(b"</dossiers>", b"</dossiers><dossiers/>"))
    drop(world, "b_20261105.xml", report(header(world["ali19"]), dossier(a, designation(7, "2026-11-03")))[:-30])
    statuses = load(world)
    assert statuses["a_20261105.xml"][0] == "quarantined" and "line 6" in statuses["a_20261105.xml"][1]
    assert statuses["b_20261105.xml"][0] == "quarantined" and "not well-formed" in statuses["b_20261105.xml"][1]
    assert world["conn"].execute("SELECT count(*) FROM raw.ali_report_line").fetchone() == (0,)


def test_the_reject_report_lists_each_file_line_and_element_in_the_agency_terms(world, tmp_path):
    a = world["people"]["PA"]
    drop(world, "ali_ALI19_20261105.xml", report(header(world["ali19"]), dossier(a, designation(77, "2026-11-03")),
                                                 dossier(31337, designation(7, "2026-11-03"))))
    drop(world, "ali_ALI19_20261105.csv", (CSV_TWIN.splitlines()[0] + "\n"
                                           "ALI19;2026-11-05;ORI-A;@SUM(1);2026-11-05;;;\n").encode())
    drop(world, "casse_20261105.xml", b"<ALI-WebRSA><entete>")
    drop(world, "rapport_20261105.xlsx", b"PK")
    drop(world, "ali_ALI20_20261105.csv", CSV_TWIN.replace("ALI19;", "ALI20;").encode(), agency="ALI20")
    load(world)
    outbox = tmp_path / "outbox"
    assert reject_report.write_reports(world["conn"], outbox, DAY) == {"ALI19": 5, "ALI20": 0}
    raw = (outbox / "ALI19" / "2026-11-05" / "rejets_ALI19_20261105.csv").read_bytes()
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0] == list(reject_report.HEADER)
    by_file = {(row[0], row[2]): row for row in rows[1:]}
    assert set(by_file) == {("casse_20261105.xml", "FICHIER_REFUSE"), ("rapport_20261105.xlsx", "FICHIER_REFUSE"),
                            ("ali_ALI19_20261105.csv", "UNKNOWN_EVENT"),
                            ("ali_ALI19_20261105.xml", "referent_inconnu"),
                            ("ali_ALI19_20261105.xml", "personne_inconnue")}
    unknown = by_file[("ali_ALI19_20261105.xml", "referent_inconnu")]
    assert unknown[1] == "dossier[1]/liste_referents_parcours/referent_parcours (ligne 5)"
    assert unknown[3] == "Référent inconnu pour votre structure" and unknown[6:8] == [str(a), "501"]
    event = by_file[("ali_ALI19_20261105.csv", "UNKNOWN_EVENT")]
    assert event[1] == "ligne 2" and event[5] == "ORI-A" and event[8] == "'@SUM(1)"  # sent back inert
    # ALI20's file was read and all of it accepted: the header alone tells it so.
    assert (outbox / "ALI20" / "2026-11-05" / "rejets_ALI20_20261105.csv").read_bytes() == \
        reject_report.render([])
    # Rewritten the same, byte for byte.
    reject_report.write_reports(world["conn"], outbox, DAY)
    assert (outbox / "ALI19" / "2026-11-05" / "rejets_ALI19_20261105.csv").read_bytes() == raw


def test_an_sftp_agency_receives_its_reject_report_on_its_server(world, tmp_path, monkeypatch):
    from sftp_server import SftpServer

    drop(world, "ali_ALI19_20261105.csv", (CSV_TWIN.splitlines()[0] + "\n"
                                           "ALI19;2026-11-05;ORI-A;INCONNU;2026-11-05;;;\n").encode())
    load(world)
    # Who receives how: the warehouse's referential and a delivery configuration sending ALI19 by SFTP.
    world["conn"].execute("CREATE SCHEMA IF NOT EXISTS referentiel")
    world["conn"].execute("CREATE TABLE referentiel.destinations (code_structure text, actif_du date,"
                          " actif_au date, recoit_extrait boolean)")
    world["conn"].execute("INSERT INTO referentiel.destinations VALUES ('ALI19', '2024-01-01', NULL, true)")
    world["conn"].commit()
    config = tmp_path / "delivery.toml"
    config.write_text('[default]\nmethod = "outbox"\n\n[destinations.ALI19]\nmethod = "sftp"\n'
                      'conn_id = "sftp_ali19"\nremote_dir = "/depot"\n')
    monkeypatch.setenv("AIGUILLAGE_DELIVERY_CONFIG", str(config))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    remote, outbox = tmp_path / "remote", tmp_path / "outbox"
    with SftpServer(remote, password="s3cret-pass") as server:
        monkeypatch.setenv("AIRFLOW_CONN_SFTP_ALI19", server.airflow_connection())
        assert reject_report.write_reports(world["conn"], outbox, DAY) == {"ALI19": 1}
        uploads = server.writes()
    kept = outbox / "ALI19" / "2026-11-05" / "rejets_ALI19_20261105.csv"
    sent = remote / "depot" / "2026-11-05" / "rejets_ALI19_20261105.csv"
    assert sent.read_bytes() == kept.read_bytes() and b"UNKNOWN_EVENT" in sent.read_bytes()
    assert [name.rsplit("/", 1)[1] for name in uploads] == [".rejets_ALI19_20261105.csv.part"]
    assert sorted(p.name for p in sent.parent.iterdir()) == [sent.name]  # no temporary name left


def test_every_reason_an_agency_can_get_has_its_french_wording():
    assert set(reject_report.ALI_REASONS) <= set(REJECT_REASONS)
    ali_codes = {"SCHEMA", "FIELD_TOO_LONG", "STRUCTURE_MISMATCH", "UNKNOWN_EVENT", "UNKNOWN_MOTIF",
                 "DATE_INCOHERENT", "DUPLICATE_EVENT", "UNKNOWN_REFERRAL", "REFERRAL_NOT_HELD"}
    assert ali_codes <= set(reject_report.ALI_REASONS)


# ----- end to end: the reject report of the next morning


DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 3)


def _build(day: date) -> None:
    """The day's warehouse build, as the referral_warehouse DAG's task does it."""
    build_referral_warehouse(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


@pytest.mark.airflow
@pytest.mark.slow
def test_the_reject_report_reaches_the_agency_folder_the_next_morning(warehouse_url, conn, tmp_path, monkeypatch):
    from tests.test_dbt_referrals import _household, _person, _write_caf

    monkeypatch.delenv("AIGUILLAGE_PARTNER_SCHEMAS_DIR", raising=False)
    landing, outbox = tmp_path / "landing", tmp_path / "outbox"
    # Day 1: Alice (Montreuil) is referred to ALI19, Bruno (Noisy-le-Grand) to ALI20.
    _write_caf(landing, DAY1, "M", [_household("1000001", [_person(1, "ALICE")], "93048"),
                                    _household("1000002", [_person(2, "BRUNO")], "93051")])
    scan_and_record(conn, landing, DAY1, "run-day1", settle_seconds=0)
    load_pending(conn, "caf", landing, _reader_for("caf", DAY1, conn))
    conn.commit()
    _build(DAY1)
    held = dict(conn.execute("SELECT code_structure, id_orientation FROM marts.referral_movements").fetchall())
    alice = conn.execute("SELECT person_id FROM marts.referral_movements WHERE code_structure = 'ALI19'").fetchone()[0]
    # Alice got her exchange integer in ALI19's WebRSA extract; ALI19's référent 7 is listed.
    number = conn.execute("INSERT INTO identifiants.webrsa_identifiant (kind, identifiant, premier_jour)"
                          " VALUES ('personne', %s, %s) RETURNING numero", (alice, DAY1)).fetchone()[0]
    conn.execute("INSERT INTO registry.webrsa_referent VALUES (7, 'ALI19', 'Claire Dupont', NULL, NULL)")
    ali19 = load_referentiel(conn).structure_id("ALI19")
    conn.commit()

    # The evening of day 1, ALI19 reports in both formats, good lines and bad ones.
    folder = landing / "ali" / "ALI19"
    folder.mkdir(parents=True)
    (folder / "ali_ALI19_20261102.csv").write_text(
        CSV_TWIN.splitlines()[0] + "\n"
        f"ALI19;2026-11-02;{held['ALI19']};PRISE_EN_CHARGE;2026-11-02;;;\n"
        f"ALI19;2026-11-02;{held['ALI20']};PRISE_EN_CHARGE;2026-11-02;;;\n"  # Bruno is ALI20's
        f"ALI19;2026-11-02;{held['ALI19']};=HYPERLINK(\"http://x\");2026-11-02;;;\n", encoding="utf-8")
    (folder / "ali_ALI19_20261102.xml").write_bytes(report(
        header(ali19, "2026-11-02 19:00:00"),
        dossier(number, appointment(ali19, "2026-10-01"), contract(7, "2026-11-02")),  # RDV before the referral
        dossier(424242, designation(7, "2026-11-02"))))
    # Day 2's run reads them; its extracts DAG writes the report beside ALI19's extract.
    scan_and_record(conn, landing, DAY2, "run-day2", settle_seconds=0)
    load_pending(conn, "ali", landing, _reader_for("ali", DAY2, conn))
    conn.commit()
    _build(DAY2)
    run_cli("run", "--date", DAY2.isoformat(), "--landing", str(landing), "--outbox", str(outbox),
            "--only", "referral_extracts", env={"AIGUILLAGE_WAREHOUSE_URL": warehouse_url})
    path = outbox / "ALI19" / "2026-11-03" / "rejets_ALI19_20261103.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert {(row["fichier"], row["ligne_ou_element"], row["code_motif"]) for row in rows} == {
        ("ali_ALI19_20261102.csv", "ligne 3", "REFERRAL_NOT_HELD"),
        ("ali_ALI19_20261102.csv", "ligne 4", "UNKNOWN_EVENT"),
        ("ali_ALI19_20261102.xml", "dossier[1]/liste_rendez_vous/rendez_vous[1] (ligne 5)", "DATE_INCOHERENT"),
        ("ali_ALI19_20261102.xml", "dossier[2] (ligne 6)", "personne_inconnue"),
    }
    by_code = {row["code_motif"]: row for row in rows}
    assert by_code["REFERRAL_NOT_HELD"]["id_orientation"] == held["ALI20"]
    assert by_code["REFERRAL_NOT_HELD"]["motif"] == "Personne non orientée vers votre structure à cette date"
    # The XML line refused by the warehouse is told in the agency's terms: its integers, not our id.
    late = by_code["DATE_INCOHERENT"]
    assert (late["id_personne"], late["id_ali"], late["id_orientation"]) == (str(number), "502", "")
    assert by_code["UNKNOWN_EVENT"]["evenement"] == "'=HYPERLINK(\"http://x\")"  # inert
    assert not _NIR_SHAPED.search(raw.decode("utf-8-sig"))
    # ALI20 sent nothing: no report; and none the day before for ALI19.
    assert not list(outbox.glob("ALI20/*/rejets_*")) and not list(outbox.glob("ALI19/2026-11-02/rejets_*"))
