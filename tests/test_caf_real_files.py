"""CAF flows made the way real ones are, through the registry and the loader into raw.

Real VRSB0801 files written by the CNAF's software declare windows-1252 and carry its bytes
(characters only windows-1252 has), write HEUCREAFLUX with fractional seconds, pad some codes with
spaces, write MATRICULE on 15 digits and NIRs on 13 characters, and carry blocks of the interface
the pipeline does not read. Such a file loads, with the right values, in every encoding its prolog
may declare; what cannot be decoded, a DTD or an entity reference is quarantined with a reason that
names the place and never the content; values too long are flagged and bounded; a dossier that
breaks the schema is kept and flagged with the element and the rule, never the value.
"""

from __future__ import annotations

import io
import re
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from aiguillage.ingest.caf_reader import read_caf
from aiguillage.ingest.caf_schema import caf_schema
from aiguillage.ingest.loader import load_pending
from aiguillage.ingest.raw_tables import COLUMNS, QuarantineError
from aiguillage.landing.caf_header import HeaderError, read_header
from aiguillage.landing.registry import scan_and_record
from aiguillage.partner_schemas import PARTNER_SCHEMAS_VAR
from tests.conftest import partner_schema

DAY = date(2026, 11, 30)
NAME = "VRSB0801_931_20261126_M.xml"

# Names as the CNAF writes them, with characters windows-1252 has and ISO-8859-1 has not (Œ, ’).
NOM = "CŒUR D’ALÈNE"
PRENOM = "ZOË"
VOIE = "DE L’ŒUVRE"

_DOSSIER = """\t<InfosFoyerRSA>
\t\t<IdentificationRSA>
\t\t\t<Organisme>
\t\t\t\t<FONORG>CAF</FONORG>
\t\t\t\t<NUMORG>931</NUMORG>
\t\t\t\t<MATRICULE>{matricule}</MATRICULE>
\t\t\t</Organisme>
\t\t\t<Partenaire>
\t\t\t\t<TYPEPARTE>CG </TYPEPARTE>
\t\t\t\t<IDEPARTE>093</IDEPARTE>
\t\t\t</Partenaire>
\t\t\t<DemandeRSA>
\t\t\t\t<DTDEMRSA>2019-03-04</DTDEMRSA>
\t\t\t\t<NUMDEMRSA>{numdemrsa}</NUMDEMRSA>
\t\t\t</DemandeRSA>
\t\t\t<DemandeRMI>
\t\t\t\t<DateDemandeRMI><DTDEMRMI>2007-05-02</DTDEMRMI></DateDemandeRMI>
\t\t\t\t<NumeroInstructionRMI><NUMDEPINSRMI>093</NUMDEPINSRMI><TYPEINSRMI>C</TYPEINSRMI><NUMCOMINSRMI>066</NUMCOMINSRMI><NUMAGRINSRMI>01</NUMAGRINSRMI><NUMDOSINSRMI>04521</NUMDOSINSRMI><NUMCLI>001</NUMCLI></NumeroInstructionRMI>
\t\t\t</DemandeRMI>
\t\t</IdentificationRSA>
\t\t<Personne>
\t\t\t<Identification>
\t\t\t\t<QUAL>MME</QUAL>
\t\t\t\t<NOM>{nom}</NOM>
\t\t\t\t<NOMNAI>{nom}</NOMNAI>
\t\t\t\t<PRENOM>{prenom}</PRENOM>
\t\t\t\t<NOMCOMNAI>CŒUVRES ET VALSERY</NOMCOMNAI>
\t\t\t\t<DTNAI>1982-02-01</DTNAI>
\t\t\t\t<TYPEDTNAI>N</TYPEDTNAI>
\t\t\t\t<NIR>{nir}</NIR>
\t\t\t\t<TOPVALIEC>1</TOPVALIEC>
\t\t\t\t<SEXE>2</SEXE>
\t\t\t</Identification>
\t\t\t<DossierCAF>
\t\t\t\t<TOPRESPDOS>1</TOPRESPDOS>
\t\t\t\t<DDRATDOS>2019-03-01</DDRATDOS>
\t\t\t</DossierCAF>
\t\t\t<Prestations>
\t\t\t\t<NATPREST>PFA</NATPREST>
\t\t\t\t<ROLEPERS>DEM</ROLEPERS>
\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>
\t\t\t</Prestations>
\t\t\t<Prestations>
\t\t\t\t<NATPREST>RSA</NATPREST>
\t\t\t\t<ROLEPERS>DEM</ROLEPERS>
\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>
\t\t\t</Prestations>
\t\t\t<Rattachement>
\t\t\t\t<NOMNAI>{nom}</NOMNAI>
\t\t\t\t<PRENOM>NOÉ</PRENOM>
\t\t\t\t<DTNAI>2015-06-07</DTNAI>
\t\t\t\t<TYPEPAR>ENF</TYPEPAR>
\t\t\t</Rattachement>
\t\t\t<DossierPoleEmploi>
\t\t\t\t<IDASSEDIC>1253359X</IDASSEDIC>
\t\t\t</DossierPoleEmploi>
\t\t\t<Ressources>
\t\t\t\t<GeneraliteRessourcesTrimestre>
\t\t\t\t\t<TOPRESSNUL>0</TOPRESSNUL>
\t\t\t\t\t<DDRESS>2026-07-01</DDRESS>
\t\t\t\t\t<DFRESS>2026-09-30</DFRESS>
\t\t\t\t</GeneraliteRessourcesTrimestre>
\t\t\t\t<RessourcesMensuelles>
\t\t\t\t\t<GeneraliteRessourcesMensuelles>
\t\t\t\t\t\t<MOISRESS>2026-07-01</MOISRESS>
\t\t\t\t\t\t<NBHEUMENTRA>000</NBHEUMENTRA>
\t\t\t\t\t</GeneraliteRessourcesMensuelles>
\t\t\t\t\t<DetailRessourcesMensuelles>
\t\t\t\t\t\t<NATRESS>001</NATRESS>
\t\t\t\t\t\t<MTNATRESSMEN>0000412.00</MTNATRESSMEN>
\t\t\t\t\t</DetailRessourcesMensuelles>
\t\t\t\t</RessourcesMensuelles>
\t\t\t</Ressources>
\t\t\t<MontantCalculDroitRSAPersonne>
\t\t\t\t<TOPPERSDRODEVORSA>1</TOPPERSDRODEVORSA>
\t\t\t</MontantCalculDroitRSAPersonne>
\t\t\t<Activite>
\t\t\t\t<REG>GE</REG>
\t\t\t\t<ACT>CHO</ACT>
\t\t\t\t<DDACT>2026-06-20</DDACT>
\t\t\t</Activite>
\t\t\t<AvisPCGPersonne>
\t\t\t\t<Derogation><TYPEDERO>AGE</TYPEDERO><AVISDERO>A</AVISDERO><DDAVISDERO>2026-01-01</DDAVISDERO></Derogation>
\t\t\t</AvisPCGPersonne>
\t\t</Personne>
\t\t<DonneesAdministratives>
\t\t\t<SituationFamille>
\t\t\t\t<SITFAM>CEL</SITFAM>
\t\t\t\t<DDSITFAM>2010-10-27</DDSITFAM>
\t\t\t</SituationFamille>
\t\t\t<Adresse>
\t\t\t\t<TroncCommunAdresse>
\t\t\t\t\t<RGADR>{rgadr}</RGADR>
\t\t\t\t\t<DTEMM>2021-05-26</DTEMM>
\t\t\t\t\t<PAYS>FRA</PAYS>
\t\t\t\t\t<TYPEADR>D</TYPEADR>
\t\t\t\t\t<ETATADR>CO</ETATADR>
\t\t\t\t</TroncCommunAdresse>
\t\t\t\t<AdresseDetailleeFrance>
\t\t\t\t\t<COMPLIDEADR />
\t\t\t\t\t<COMPLADR />
\t\t\t\t\t<NUMVOIE>25</NUMVOIE>
\t\t\t\t\t<LIBTYPEVOIE>RUE</LIBTYPEVOIE>
\t\t\t\t\t<NOMVOIE>{voie}</NOMVOIE>
\t\t\t\t\t<LIEUDIST />
\t\t\t\t\t<NUMCOM>93066</NUMCOM>
\t\t\t\t\t<CODEPOS>93200</CODEPOS>
\t\t\t\t\t<NOMCOM>SAINT DENIS</NOMCOM>
\t\t\t\t</AdresseDetailleeFrance>
\t\t\t</Adresse>
\t\t</DonneesAdministratives>
\t\t<PrestationRSA>
\t\t\t<SituationDossierRSA>
\t\t\t\t<EtatDossierRSA>
\t\t\t\t\t<ETATDOSRSA>2</ETATDOSRSA>
\t\t\t\t</EtatDossierRSA>
\t\t\t</SituationDossierRSA>
\t\t\t<DetailDroitRSA>
\t\t\t\t<TroncCommunDroitRSA>
\t\t\t\t\t<TOPSANSDOMFIXE>0</TOPSANSDOMFIXE>
\t\t\t\t\t<ORIDEMRSA>DEM</ORIDEMRSA>
\t\t\t\t\t<DTORIDEMRSA>2019-03-04</DTORIDEMRSA>
\t\t\t\t</TroncCommunDroitRSA>
\t\t\t\t<MontantsCalculDroitRSA>
\t\t\t\t\t<DDELECAL>2026-11-01</DDELECAL>
\t\t\t\t\t<MTREVMINIGARARSA>646.52</MTREVMINIGARARSA>
\t\t\t\t\t<MTREVGARARSA>646.52</MTREVGARARSA>
\t\t\t\t\t<MTRESSMENRSA>412.00</MTRESSMENRSA>
\t\t\t\t\t<MTTOTDRORSA>234.52</MTTOTDRORSA>
\t\t\t\t</MontantsCalculDroitRSA>
\t\t\t</DetailDroitRSA>
\t\t</PrestationRSA>
\t\t<Evenement>
\t\t\t<DTLIQ>2026-11-25</DTLIQ>
\t\t\t<HEULIQ>18:22:05.0000</HEULIQ>
\t\t\t<FG>CHGSITFAM</FG>
\t\t</Evenement>
\t\t<Controle>
\t\t\t<ControleAdministratif>
\t\t\t\t<IdentificationCibleControleAdministratif><DTEFFCIBCONTRO>2026-10-01</DTEFFCIBCONTRO><CIBCONTRO>RES</CIBCONTRO></IdentificationCibleControleAdministratif>
\t\t\t\t<IdentificationControleAdministratif><DTDETECCONTRO>2026-09-01</DTDETECCONTRO><DTCLOCONTRO>2026-10-15</DTCLOCONTRO></IdentificationControleAdministratif>
\t\t\t\t<ModaliteControleAdministratif><LIBCIBCONTRO>RESSOURCES</LIBCIBCONTRO><FAMCIBCONTRO>RE</FAMCIBCONTRO><NATCIBCONTRO>RES</NATCIBCONTRO><COMMACONTRO>SUR</COMMACONTRO><TYPECONTRO>PI</TYPECONTRO></ModaliteControleAdministratif>
\t\t\t\t<ResultatControleAdministratif><TYPEIMPACCONTRO>N</TYPEIMPACCONTRO></ResultatControleAdministratif>
\t\t\t</ControleAdministratif>
\t\t</Controle>
\t\t<Anomalie>
\t\t\t<LIBANO>{libano}</LIBANO>
\t\t</Anomalie>
\t</InfosFoyerRSA>
"""

_FLOW = """<?xml version="1.0" encoding="{encoding}"?>
<Racine xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="vrsb0801.xsd">
\t<IdentificationFlux>
\t\t<APPLIEME>CRI</APPLIEME>
\t\t<NUMVERSIONAPPLIEME>6200</NUMVERSIONAPPLIEME>
\t\t<TYPEFLUX>M</TYPEFLUX>
\t\t<NATFLUX>D</NATFLUX>
\t\t<DTCREAFLUX>2026-11-26</DTCREAFLUX>
\t\t<HEUCREAFLUX>01:18:36.0000</HEUCREAFLUX>
\t\t<DTREF>2026-10-31</DTREF>
\t</IdentificationFlux>
{dossiers}\t<TransmissionFlux>
\t\t<NBTOTDOSRSATRANSM>{count:08d}</NBTOTDOSRSATRANSM>
\t\t<NBTOTDOSRSATRANSMANO>{count:08d}</NBTOTDOSRSATRANSMANO>
\t</TransmissionFlux>
</Racine>
"""

# Two households; the second one's NIR is on 15 characters, the first one's on 13 (no key).
_HOUSEHOLDS = (
    {"matricule": "205599300000000", "numdemrsa": "01024041052", "nom": NOM, "prenom": PRENOM,
     "nir": "2820293066017", "rgadr": "01", "voie": VOIE, "libano": "ADRESSE A CONFIRMER"},
    {"matricule": "208956400000000", "numdemrsa": "01024041053", "nom": "HAÿ", "prenom": "ŸVES",
     "nir": "182029306601789", "rgadr": "01", "voie": "DES LILAS", "libano": "NIR EN COURS"},
)


def real_flow(encoding: str = "windows-1252", **changes: str) -> str:
    """The text of a flow made the way real ones are; ``changes`` replace values of the first household."""
    households = [{**_HOUSEHOLDS[0], **changes}, _HOUSEHOLDS[1]]
    dossiers = "".join(_DOSSIER.format(**household) for household in households)
    return _FLOW.format(encoding=encoding, dossiers=dossiers, count=len(households))


def line_of(text: str | bytes, needle: str | bytes, start: int = 0) -> int:
    """The line (from 1) where ``needle`` first occurs in ``text`` after ``start``."""
    index = text.index(needle, start)
    return text.count("\n" if isinstance(text, str) else b"\n", 0, index) + 1


def land(folder: Path, content: bytes, name: str = NAME) -> Path:
    path = folder / "landing" / "caf" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return folder / "landing"


def load(conn, landing: Path, monkeypatch) -> dict:
    """Scan and load the landing zone as the DAGs do; the file's registry row."""
    monkeypatch.setenv("AIGUILLAGE_LANDING_SETTLE_SECONDS", "0")  # written just now by the test
    scan_and_record(conn, landing, DAY, "test-run")
    conn.commit()
    load_pending(conn, "caf", landing, lambda pending, stream: read_caf(stream))
    row = conn.execute(
        "SELECT file_id, status, status_reason, header FROM registry.landing_file WHERE source = 'caf'"
    ).fetchone()
    return {"file_id": row[0], "status": row[1], "reason": row[2], "header": row[3]}


def persons(conn) -> list[tuple]:
    return conn.execute(
        "SELECT position, nom, nomnai, prenom, nomcomnai, nir, nir_valid, flags FROM raw.caf_person"
        " ORDER BY position, person_position"
    ).fetchall()


def dossiers(conn) -> list[tuple]:
    return conn.execute(
        "SELECT position, matricule, typeparte, etatdosrsa, mttotdrorsa, caf_anomalies, flags, schema_errors"
        " FROM raw.caf_dossier ORDER BY position"
    ).fetchall()


EXPECTED_PERSONS = [
    (1, NOM, NOM, PRENOM, "CŒUVRES ET VALSERY", "2820293066017", True, []),
    (2, "HAÿ", "HAÿ", "ŸVES", "CŒUVRES ET VALSERY", "182029306601789", True, []),
]


@pytest.mark.parametrize("schema", ["ours", "the CNAF's"])
def test_a_real_windows_1252_flow_loads_with_the_right_values(conn, tmp_path, monkeypatch, schema):
    if schema == "the CNAF's":
        monkeypatch.setenv(PARTNER_SCHEMAS_VAR, str(partner_schema("cnaf-vrsb0801.xsd").parent))
        assert caf_schema().path.name == "cnaf-vrsb0801.xsd"
    content = real_flow().encode("cp1252")
    assert b"\x8c" in content and b"\x92" in content, "Œ and ’: bytes only windows-1252 gives them"
    registered = load(conn, land(tmp_path, content), monkeypatch)

    assert (registered["status"], registered["reason"]) == ("loaded", None)
    assert registered["header"]["HEUCREAFLUX"] == "01:18:36.0000"
    assert registered["header"]["encoding"] == "WINDOWS-1252"
    assert persons(conn) == EXPECTED_PERSONS
    # Codes trimmed, 15-digit MATRICULE kept whole, unread blocks (DemandeRMI, Rattachement, Ressources,
    # Activite, AvisPCGPersonne, Controle) ignored without a flag, and the dossier validates.
    assert dossiers(conn) == [
        (1, "205599300000000", "CG", "2", Decimal("234.52"), ["ADRESSE A CONFIRMER"], [], []),
        (2, "208956400000000", "CG", "2", Decimal("234.52"), ["NIR EN COURS"], [], []),
    ]
    assert conn.execute("SELECT nomvoie FROM raw.caf_address ORDER BY position").fetchall() == [
        (VOIE,), ("DES LILAS",)
    ]
    assert conn.execute("SELECT DISTINCT heuliq FROM raw.caf_event").fetchall() == [(time(18, 22, 5),)]


@pytest.mark.parametrize(
    ("declared", "codec", "bom"),
    [
        ("ISO-8859-15", "iso8859-15", b""),
        ("latin9", "iso8859-15", b""),
        ("UTF-8", "utf-8", b"\xef\xbb\xbf"),
        ("utf8", "utf-8", b""),
        ("CP1252", "cp1252", b""),
    ],
)
def test_other_encodings_load_the_same_values(conn, tmp_path, monkeypatch, declared, codec, bom):
    # ISO-8859-15 has Œ and Ÿ but not ’: the variant writes an apostrophe instead.
    text = real_flow(declared, nom=NOM.replace("’", "'"), voie=VOIE.replace("’", "'"))
    registered = load(conn, land(tmp_path, bom + text.encode(codec)), monkeypatch)
    assert (registered["status"], registered["reason"]) == ("loaded", None)
    expected = [
        (1, "CŒUR D'ALÈNE", "CŒUR D'ALÈNE", *EXPECTED_PERSONS[0][3:]),
        EXPECTED_PERSONS[1],
    ]
    assert persons(conn) == expected
    assert [row[:3] for row in dossiers(conn)] == [(1, "205599300000000", "CG"), (2, "208956400000000", "CG")]


def test_an_undecodable_byte_in_the_body_quarantines_naming_the_place_not_the_content(conn, tmp_path, monkeypatch):
    content = real_flow().encode("cp1252")
    second = content.index(b"<NOM>HA") + len(b"<NOM>HA")
    broken = content[:second] + b"\x81" + content[second:]  # 0x81: no character in windows-1252
    registered = load(conn, land(tmp_path, broken), monkeypatch)

    # The header was read at scan time: the body's byte is not a header problem.
    assert registered["header"]["TYPEFLUX"] == "M"
    assert registered["status"] == "quarantined"
    line = line_of(broken, b"\x81")
    column = second - broken.rindex(b"\n", 0, second)
    start = line_of(broken, b"<InfosFoyerRSA>", broken.index(b"</InfosFoyerRSA>"))
    assert registered["reason"] == (
        f"caf/{NAME}: line {line}, column {column}: a byte that is not WINDOWS-1252 (the encoding the prolog "
        f"declares) in InfosFoyerRSA block 2 (starting line {start}), after 1 complete InfosFoyerRSA blocks"
    )
    assert conn.execute("SELECT count(*) FROM raw.caf_dossier").fetchone() == (0,)


def test_the_header_is_read_up_to_its_end_and_no_further(tmp_path):
    content = real_flow().encode("cp1252")
    end = content.index(b"</IdentificationFlux>") + len(b"</IdentificationFlux>")
    # What follows the header is broken twice, well within the first 64 KB: not the header's problem.
    after = content[:end] + b"\n\t<InfosFoyerRSA><NOM>\x81</PRENOM>" + content[end:]
    path = land(tmp_path, after) / "caf" / NAME
    header = read_header(path)
    assert (header.kind, header.fields["HEUCREAFLUX"], header.encoding) == ("monthly", "01:18:36.0000", "WINDOWS-1252")
    # A byte that cannot be decoded inside the header is the header's problem, at its place.
    inside = content.replace(b"<APPLIEME>CRI<", b"<APPLIEME>C\x81I<")
    path.write_bytes(inside)
    with pytest.raises(HeaderError, match=r"^line 4, column 14: a byte that is not WINDOWS-1252"):
        read_header(path)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (lambda text: text.replace("<Racine ", '<!DOCTYPE Racine [<!ENTITY x "y">]>\n<Racine ', 1), "a DOCTYPE"),
        (lambda text: text.replace("<Racine ", '<!DOCTYPE Racine SYSTEM "http://example.org/x.dtd">\n<Racine ', 1),
         "a DOCTYPE"),
        (lambda text: text.replace(f"<NOM>{NOM}</NOM>", "<NOM>&x;</NOM>", 1), "an entity reference"),
        (lambda text: text.replace(f"<NOM>{NOM}</NOM>", "<NOM>&nbsp;</NOM>", 1), "an entity reference"),
    ],
    ids=["internal DTD", "external DTD", "undeclared entity", "HTML entity"],
)
def test_dtds_and_entity_references_are_refused(tmp_path, document, words):
    path = land(tmp_path, document(real_flow()).encode("cp1252")) / "caf" / NAME
    rows = []
    with pytest.raises(QuarantineError) as caught:
        rows.extend(read_caf(path))
    message = str(caught.value)
    assert message.startswith(f"caf/{NAME}: ") and words in message, message
    assert rows == [], "refused before any row"
    if words == "an entity reference":
        line = line_of(document(real_flow()), "<NOM>&")
        assert re.search(rf"line {line}, column \d+: .* \(in InfosFoyerRSA block 1 \(starting line 12\)", message)


def test_character_references_and_the_five_predefined_entities_are_text(tmp_path):
    text = real_flow().replace(f"<NOM>{NOM}</NOM>", "<NOM>C&#338;UR &amp; &lt;&gt;&apos;&quot;&#x2019;</NOM>", 1)
    path = land(tmp_path, text.encode("cp1252")) / "caf" / NAME
    person = next(row for row in read_caf(path) if row.table == "caf_person")
    assert person.values[5] == "CŒUR & <>'\"’"


def test_values_too_long_are_flagged_and_bounded_and_cannot_break_a_load(conn, tmp_path, monkeypatch):
    huge_name = "Œ" * 5_000_000  # a 5 MB name must not reach an agency's file
    text = real_flow(
        nom=huge_name, matricule="1" * 100_000, rgadr="0" * 10_000 + "1", libano="X" * 10_000, voie="V" * 33
    )
    registered = load(conn, land(tmp_path, text.encode("cp1252")), monkeypatch)
    assert (registered["status"], registered["reason"]) == ("loaded", None)
    person = conn.execute("SELECT nom, nomnai, flags FROM raw.caf_person WHERE position = 1").fetchone()
    assert person == ("Œ" * 28, "Œ" * 28, ["TOO_LONG:NOM", "TOO_LONG:NOMNAI"])
    dossier = conn.execute(
        "SELECT matricule, caf_anomalies, flags, schema_errors FROM raw.caf_dossier WHERE position = 1"
    ).fetchone()
    assert dossier[0] == "1" * 15 and dossier[1] == ["X" * 200]
    assert {"TOO_LONG:MATRICULE", "TOO_LONG:LIBANO", "SCHEMA_INVALID"} <= set(dossier[2])
    address = conn.execute("SELECT rgadr, nomvoie, flags FROM raw.caf_address WHERE position = 1").fetchone()
    assert address == ("00", "V" * 32, ["TOO_LONG:RGADR", "TOO_LONG:NOMVOIE"])
    # The schema errors name element and rule, never the value.
    nom, matricule = line_of(text, "<NOM>"), line_of(text, "<MATRICULE>")
    assert f"InfosFoyerRSA/Personne/Identification/NOM: facet maxLength 28 (line {nom})" in dossier[3]
    assert f"InfosFoyerRSA/IdentificationRSA/Organisme/MATRICULE: facet totalDigits 15 (line {matricule})" in dossier[3]
    assert not any("Œ" in error or "111" in error or "XXX" in error for error in dossier[3])


def test_a_dossier_breaking_the_schema_is_kept_and_flagged_with_element_and_rule(conn, tmp_path, monkeypatch):
    text = real_flow()
    first_end = text.index("</InfosFoyerRSA>")
    broken = (
        text[:first_end]
        .replace("\t\t\t\t\t<MTREVGARARSA>646.52</MTREVGARARSA>\n", "", 1)  # mandatory in the schema
        .replace("<DDRESS>2026-07-01</DDRESS>", "<DDRESS>SECRET-1982</DDRESS>", 1)  # in a block never read
        .replace("<SEXE>2</SEXE>", "<SEXE>2</SEXE><COULEUR>VERT</COULEUR>", 1)
        .replace("<TYPEPARTE>CG </TYPEPARTE>", "<TYPEPARTE>CG    </TYPEPARTE>", 1)  # padded past its width
    ) + text[first_end:]
    registered = load(conn, land(tmp_path, broken.encode("cp1252")), monkeypatch)
    assert registered["status"] == "loaded", "schema errors never sink the file"
    (first, second) = dossiers(conn)
    assert first[2] == "CG" and first[6] == ["SCHEMA_INVALID"]
    assert first[7] == [
        f"InfosFoyerRSA/IdentificationRSA/Partenaire/TYPEPARTE: facet maxLength 4 (line {line_of(broken, '<TYPEPARTE>')})",
        "InfosFoyerRSA/Personne/Identification/COULEUR: cardinality or order: element not expected here "
        f"(line {line_of(broken, '<COULEUR>')})",
        "InfosFoyerRSA/Personne/Ressources/GeneraliteRessourcesTrimestre/DDRESS: type xs:date "
        f"(line {line_of(broken, '<DDRESS>')})",
        "InfosFoyerRSA/PrestationRSA/DetailDroitRSA/MontantsCalculDroitRSA/MTRESSMENRSA: cardinality or order: "
        f"element not expected here (expected: MTPENTRSA, MTLOCALRSA, MTREVGARARSA) (line {line_of(broken, '<MTRESSMENRSA>')})",
    ]
    assert not any(secret in "\n".join(first[7]) for secret in ("SECRET", "VERT", "1982"))
    assert (second[6], second[7]) == ([], [])


def test_a_stream_is_read_as_given_and_named_by_its_label(tmp_path):
    content = real_flow().encode("cp1252")
    from_path = list(read_caf(land(tmp_path, content) / "caf" / NAME))

    class Stream(io.BytesIO):
        name = "/somewhere/else/not-opened.xml"
        label = "caf/labelled.xml"

    assert list(read_caf(Stream(content))) == from_path
    stream = Stream(content.replace(b"<TYPEFLUX>M</TYPEFLUX>", b"<TYPEFLUX>M</TYPE>", 1))
    line = line_of(content, b"<TYPEFLUX>")
    with pytest.raises(QuarantineError, match=rf"^caf/labelled\.xml: line {line}, column \d+: XML not well-formed"):
        list(read_caf(stream))
    assert not stream.closed, "the caller's stream is left open"


def test_the_partner_schemas_are_found_or_the_test_fails_saying_how(monkeypatch, tmp_path, partner_schemas_dir):
    from tests import conftest

    assert (partner_schemas_dir / "cnaf-vrsb0801.xsd").is_file()
    assert partner_schema("cnaf-vrsb0801.xsd") == partner_schemas_dir / "cnaf-vrsb0801.xsd"
    monkeypatch.setattr(conftest, "_CONFIGURED_PARTNER_SCHEMAS", str(tmp_path / "nowhere"))
    with pytest.raises(pytest.fail.Exception, match=f"set {PARTNER_SCHEMAS_VAR} to the folder"):
        partner_schema("cnaf-vrsb0801.xsd")
    monkeypatch.setattr(conftest, "_CONFIGURED_PARTNER_SCHEMAS", str(partner_schemas_dir))
    with pytest.raises(pytest.fail.Exception, match="partner schema nothing.xsd not found"):
        partner_schema("nothing.xsd")


def test_schema_errors_say_which_rule_with_its_limit(tmp_path):
    text = (
        real_flow()
        .replace("<MTTOTDRORSA>234.52<", "<MTTOTDRORSA>234.525<", 1)
        .replace("\t\t\t\t<NUMDEMRSA>01024041052</NUMDEMRSA>\n", "", 1)
        .replace("<NBHEUMENTRA>000<", "<NBHEUMENTRA>1234<", 1)
    )
    path = land(tmp_path, text.encode("cp1252")) / "caf" / NAME
    errors_at = COLUMNS["caf_dossier"].index("schema_errors")
    first = next(row for row in read_caf(path) if row.table == "caf_dossier").values[errors_at]
    assert first == [
        "InfosFoyerRSA/IdentificationRSA/DemandeRSA: cardinality: a mandatory element is missing "
        f"(expected: NUMDEMRSA) (line {line_of(text, '<DemandeRSA>')})",
        "InfosFoyerRSA/Personne/Ressources/RessourcesMensuelles/GeneraliteRessourcesMensuelles/NBHEUMENTRA: "
        f"facet totalDigits 3 (line {line_of(text, '<NBHEUMENTRA>')})",
        "InfosFoyerRSA/PrestationRSA/DetailDroitRSA/MontantsCalculDroitRSA/MTTOTDRORSA: facet fractionDigits 2 "
        f"(line {line_of(text, '<MTTOTDRORSA>')})",
    ]
