"""The CNAF's contact-details file (data contract §11): its place in the landing zone, the reader's
rules on the real layout (the columns rdv-insertion's public code expects), windows-1252, bad lines and
their reasons, a formula that stays text, nothing personal in errors or logs; then a real warehouse:
registry → loader → raw → dbt → identifiants__contact_details, where a mobile is never overwritten by
a landline, and the RGPD purge's plan covers the new raw tables."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from aiguillage import dbt_runner, pseudonyms
from aiguillage.ingest.contacts_reader import (
    MAX_CHARS,
    checked_email,
    national_phone,
    normalised_matricule,
    read_contacts,
)
from aiguillage.ingest.loader import load_pending
from aiguillage.ingest.raw_tables import COLUMNS, REJECT_REASONS, QuarantineError
from aiguillage.landing import layout
from aiguillage.landing.registry import scan_and_record
from aiguillage.nir import make_nir
from aiguillage.pipeline_tasks import _reader_for
from aiguillage.retention import layers
from aiguillage.synth.caf_xml import FlowHeader, VrsbWriter
from aiguillage.synth.contacts import COLUMNS as SYNTH_COLUMNS
from aiguillage.synth.model import Address, Household, Person

HEADER = ";".join(SYNTH_COLUMNS)
NIR_A = make_nir(2, 1980, 5, "75", 222, 1)
NIR_B = make_nir(1, 1979, 3, "93", 66, 2)


def line(matricule="0123456", role="DEM", nir=NIR_A, phone1="06 12 34 56 78", phone2="", email="",
         nom="LEFÈVRE", prenom="Hélène") -> str:
    return ";".join((matricule, role, "P", nir, "93100012345", "15/01/2020", "01/02/2020", nom, prenom,
                     phone1, phone2, email))


def write(folder: Path, lines: list[str], encoding: str = "windows-1252",
          name: str = "contacts_rsa_20261102.csv") -> Path:
    directory = folder / "caf_contacts"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes("".join(text + "\r\n" for text in lines).encode(encoding))
    return path


def read(path: Path) -> list:
    return list(read_contacts(path))


def test_the_place_of_the_contact_files():
    assert layout.classify("caf_contacts/contacts_rsa_20261102.csv") == layout.Placement(
        "caf_contacts", "contacts", None, None)
    assert "YYYYMMDD" in layout.classify("caf_contacts/contacts_rsa.csv").problem
    assert "must be a .csv file" in layout.classify("caf_contacts/contacts_20261102.xlsx").problem
    assert layout.classify("caf_contacts/sub/contacts_20261102.csv").source == "unknown"
    assert "caf_contacts/*.csv" in layout.classify("elsewhere/contacts_20261102.csv").problem


def test_phone_numbers_become_national_form():
    assert national_phone("06 12 34 56 78") == "0612345678"
    assert national_phone("06.12.34.56.78") == "0612345678"
    assert national_phone("+33 6 12 34 56 78") == "0612345678"
    assert national_phone("+33 (0)6 12 34 56 78") == "0612345678"
    assert national_phone("0033612345678") == "0612345678"
    assert national_phone("612345678") == "0612345678"  # a spreadsheet dropped the leading zero
    assert national_phone("+262 692 12 34 56") == "0692123456"  # La Réunion keeps its nine digits
    assert national_phone("01-48-12-34-56") == "0148123456"
    for bad in ("06 12 34", "+44 20 7946 0958", "0012345678", "=1+2", "06 12 34 56 78 9", "O612345678", ""):
        assert national_phone(bad) is None, bad


def test_emails_are_checked_loosely_and_lower_cased():
    assert checked_email("Helene.Lefevre@Courriel.Example") == "helene.lefevre@courriel.example"
    assert checked_email("a+b@x.fr") == "a+b@x.fr"
    for bad in ("sans-arobase", "a@b", "a b@x.fr", "a@@x.fr", "@x.fr", "a@x.fr;b@y.fr", "a@-x.fr"):
        assert checked_email(bad) is None, bad


def test_matricules_are_read_on_seven_digits():
    assert normalised_matricule("123456") == "0123456"
    assert normalised_matricule("012345600000000") == "0123456"
    assert normalised_matricule("12345678") == "12345678"
    assert normalised_matricule("12A4567") is None


def test_the_real_layout_in_windows_1252(tmp_path):
    rows = read(write(tmp_path, [
        HEADER,
        line(phone1="01 48 12 34 56", phone2="07 12 34 56 78", email="Helene.Lefevre@Courriel.Example"),
        line(role="CJT", nir=NIR_B, phone1="+33 6 98 76 54 32"),
        line(matricule="123456", nir="", phone1="", email="x@courriel.example"),
        line(phone1="", phone2="", email=""),  # nothing to keep
        "",
    ]))
    assert [row.table for row in rows] == ["caf_contact"] * 3
    assert all(len(row.values) == len(COLUMNS["caf_contact"]) for row in rows)
    assert rows[0].values == (2, "0123456", "93100012345", "DEM", "P", NIR_A, True, date(2020, 1, 15),
                              date(2020, 2, 1), "0148123456", "0712345678", "helene.lefevre@courriel.example")
    assert rows[1].values[5:7] == (NIR_B, True) and rows[1].values[9] == "0698765432"
    # No NIR: kept, the warehouse finds the person by MATRICULE (zero-padded) and role.
    assert rows[2].values[:2] == (4, "0123456") and rows[2].values[5:7] == (None, False)


def test_another_separator_quotes_utf8_and_columns_in_any_order(tmp_path):
    header = '"ADRESSE ELECTRONIQUE DOSSIER","NIR","Matricule","ROLE PERSONNE","NUMERO TELEPHONE DOSSIER",' \
             '"NUMERO TELEPHONE 2 DOSSIER","COMMENTAIRE CNAF"'
    rows = read(write(tmp_path, ["", header, f'"a@x.fr","{NIR_A}","0123456","dem","0612345678","","libre, texte"'],
                      encoding="utf-8-sig"))
    assert [row.table for row in rows] == ["caf_contact"]
    assert rows[0].values[1] == "0123456" and rows[0].values[3] == "DEM" and rows[0].values[11] == "a@x.fr"
    assert rows[0].values[2] is None and rows[0].values[7] is None  # optional columns absent


def test_bad_lines_are_rejected_with_a_reason_naming_no_value(tmp_path):
    secret_phone, secret_mail = "06 12 34", "helene.lefevre chez courriel.example"
    rows = read(write(tmp_path, [
        HEADER,
        line(phone1=secret_phone),
        line(email=secret_mail),
        line(matricule="12A4567"),
        line(phone2="+44 20 7946 0958"),
        line() + ";en trop",
        line(nir=NIR_A + "9999"),
        line().replace("15/01/2020", "31/02/2020"),
        line(),
    ]))
    rejects = [row.values for row in rows if row.table == "caf_contact_reject"]
    assert [(number, code) for number, code, _, _ in rejects] == [
        (2, "PHONE_FORMAT"), (3, "EMAIL_FORMAT"), (4, "MATRICULE_FORMAT"), (5, "PHONE_FORMAT"),
        (6, "COLUMN_COUNT"), (7, "FIELD_TOO_LONG"), (8, "DATE_INVALID")]
    assert all(code in REJECT_REASONS for _, code, _, _ in rejects)
    assert "NUMERO TELEPHONE DOSSIER" in rejects[0][2] and "NUMERO TELEPHONE 2 DOSSIER" in rejects[3][2]
    for _, _, detail, raw_line in rejects:
        for personal in (secret_phone, secret_mail, NIR_A, "LEFÈVRE", "Hélène", "0123456", "7946"):
            assert personal not in detail
        assert raw_line  # the line as received, in the restricted raw layer
    assert [row.table for row in rows][-1] == "caf_contact"


def test_a_formula_stays_text(tmp_path):
    rows = read(write(tmp_path, [
        HEADER,
        line(email="=cmd|'/c#calc'!a0@x.fr"),
        line(phone1="=1+2"),
        line(phone1="", email='=HYPERLINK("http://x.fr","clic")'),
    ]))
    assert rows[0].table == "caf_contact" and rows[0].values[11] == "=cmd|'/c#calc'!a0@x.fr"
    assert [row.values[1] for row in rows[1:]] == ["PHONE_FORMAT", "EMAIL_FORMAT"]


def test_files_that_cannot_be_read_are_quarantined_naming_no_value(tmp_path):
    with pytest.raises(QuarantineError, match=r"caf_contacts/.*line 1: header: required column\(s\) NIR not found"):
        read(write(tmp_path, [HEADER.replace("NIR", "NUMERO SECU"), line()]))
    with pytest.raises(QuarantineError) as raised:
        read(write(tmp_path, [line(), line()], name="contacts_rsa_20261103.csv"))  # no header
    assert NIR_A not in str(raised.value) and "06 12" not in str(raised.value)
    with pytest.raises(QuarantineError, match="appears twice"):
        read(write(tmp_path, [HEADER + ";NIR", line() + ";x"], name="contacts_rsa_20261104.csv"))
    with pytest.raises(QuarantineError, match="empty file"):
        read(write(tmp_path, ["", ""], name="contacts_rsa_20261105.csv"))
    assert max(MAX_CHARS.values()) == 254


# ---- a real warehouse ------------------------------------------------------------------------------

DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 9)


def _person(role: str, position: int, prenom: str, nir: str, known: bool = True) -> Person:
    return Person(position=position, role=role, sex=2, nom="LEFÈVRE", nomnai="LEFÈVRE", prenom=prenom, prenom2=None,
                  nomcomnai="PARIS", dtnai=date(1980, 5, 5), rgnai=None, nir=nir, nir_known_to_caf=known,
                  topvaliec=True, ddratdos=date(2020, 2, 1), rd=1)


def _household(matricule: str, persons: list[Person]) -> Household:
    address = Address(numvoie="3", libtypevoie="RUE", nomvoie="DES LILAS", complideadr="", compladr="",
                      numcom="93048", codepos="93100", nomcom="MONTREUIL", localite="Montreuil",
                      dtemm=date(2020, 1, 1))
    return Household(index=int(matricule), matricule=matricule, numdemrsa=f"D{matricule}", dtdemrsa=date(2020, 1, 15),
                     persons=persons, sitfam="MAR", ddsitfam=date(2020, 1, 1), addresses=[address],
                     sans_domicile_fixe=False, etat="2", oridemrsa="DEM", natpf="RSD", ddnatdro=date(2020, 1, 15))


def _load_and_build(conn, landing: Path, day: date) -> list:
    scan_and_record(conn, landing, day, f"run-{day}")
    load_pending(conn, "caf", landing, _reader_for("caf", day))
    outcomes = load_pending(conn, "caf_contacts", landing, _reader_for("caf_contacts", day))
    conn.commit()
    built = dbt_runner.run(["build", "--vars", f"{{run_day: '{day}'}}", "--select", "+identifiants__contact_details",
                            "--indirect-selection", "cautious", "--exclude", "test_type:unit"])
    assert built.success, built.failures
    return outcomes


def _contacts(conn) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT p.prenom, c.telephone, c.telephone_mobile, c.email, c.date_maj"
        " FROM identifiants.identifiants__contact_details AS c"
        " JOIN identifiants.identifiants__persons AS p USING (person_key)").fetchall()
    conn.commit()
    return {prenom: tuple(rest) for prenom, *rest in rows}


@pytest.mark.slow
def test_contacts_reach_the_restricted_model_and_a_mobile_outlives_a_landline(conn, tmp_path, caplog):
    landing = tmp_path / "landing"
    pseudonyms.install_key(conn)
    conn.commit()
    folder = landing / "caf"
    folder.mkdir(parents=True)
    header = FlowHeader(typeflux="M", created=DAY1, created_time="06:00:00", dtref=DAY1.replace(day=1))
    with VrsbWriter(folder / f"VRSB0801_931_{DAY1:%Y%m%d}_M.xml", "UTF-8", header) as writer:
        writer.write(_household("2000001", [_person("DEM", 1, "HELENE", NIR_A), _person("CJT", 2, "MARC", NIR_B)]))
        # Nadia's NIR is not certified yet: her line is matched by MATRICULE and role.
        writer.write(_household("0200002", [_person("DEM", 1, "NADIA", "", known=False)]))
        writer.close()
    write(landing, [
        HEADER,
        line(matricule="2000001", nir=NIR_A, phone1="06 11 11 11 11", email="helene@courriel.example"),
        line(matricule="2000001", role="CJT", nir=NIR_B, phone1="01 48 22 22 22"),
        line(matricule="200002", nir="", phone1="+33 1 43 33 33 33"),  # leading zero lost by a spreadsheet
        line(matricule="2000001", nir=NIR_A, phone1="06 12"),  # rejected
        line(matricule="9999999", nir=make_nir(1, 1990, 1, "75", 1, 9), phone1="0644444444"),  # not in the caseload
    ], name=f"contacts_rsa_{DAY1:%Y%m%d}.csv")
    # A week later: Hélène gives only a landline (her mobile stays) and a new e-mail; Marc a mobile.
    write(landing, [
        HEADER,
        line(matricule="2000001", nir=NIR_A, phone1="01 48 55 55 55", email="h.lefevre@courriel.example"),
        line(matricule="2000001", role="CJT", nir=NIR_B, phone1="01 48 22 22 22", phone2="06 66 66 66 66"),
    ], name=f"contacts_rsa_{DAY2:%Y%m%d}.csv")
    with caplog.at_level(logging.DEBUG):
        first, second = _load_and_build(conn, landing, DAY2)
    assert first.status == "loaded_with_rejects" and second.status == "loaded"
    assert first.rows == {"caf_contact": 4, "caf_contact_reject": 1} and first.rejects == {"PHONE_FORMAT": 1}
    assert _contacts(conn) == {
        "HELENE": ("0611111111", True, "h.lefevre@courriel.example", DAY2),
        "MARC": ("0666666666", True, None, DAY2),
        "NADIA": ("0143333333", False, None, DAY1),
    }
    for personal in ("06 11", "0611111111", "helene@", NIR_A, "LEFÈVRE", "06 12"):
        assert personal not in caplog.text
    # Restricted: PUBLIC has no right on it; the staging view holds no phone, e-mail or NIR.
    assert conn.execute(
        "SELECT relacl IS NOT NULL AND NOT EXISTS (SELECT FROM aclexplode(relacl) WHERE grantee = 0) FROM pg_class"
        " WHERE oid = 'identifiants.identifiants__contact_details'::regclass").fetchone()[0]
    columns = {row[0] for row in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'staging'"
        " AND table_name = 'stg_caf_contacts__lines'")}
    assert columns and not columns & {"telephone_1", "telephone_2", "email", "nir"}
    # The purge plans the raw contact lines and the built tables keyed by person.
    planned = {f"{schema}.{table}": condition for schema, table, condition in layers.plan(conn)}
    assert "raw.caf_contact" in planned and "raw.caf_contact_reject" in planned
    assert "person_key" in planned["identifiants.identifiants__contact_details"]
    assert "person_key" in planned["staging.base_caf_contacts__pseudonyms"]
    conn.rollback()
