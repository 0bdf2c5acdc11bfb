"""The project's VRSB0801 schema checks what the CNAF's own schema checks, no more, no less.

The CNAF's schema is the reference (read from the partners' schemas folder, never copied into the
project). Ours is written from the interface's facts; these tests prove the two agree: the same
element tree, and the same verdict on a corpus of real-shaped flows, generated flows and mutations
of them (missing, repeated, reordered, unknown elements; values too long, of the wrong type).
Every generated flow validates against the CNAF's schema.
"""

from __future__ import annotations

import re
from copy import deepcopy
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from aiguillage.synth import generate
from tests.conftest import partner_schema

OURS = Path(__file__).resolve().parent.parent / "plugins" / "aiguillage" / "schemas" / "vrsb0801.xsd"
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "caf_vrsb0801_daily_sample.xml"
_XS = "{http://www.w3.org/2001/XMLSchema}"


@pytest.fixture(scope="module")
def official() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(partner_schema("cnaf-vrsb0801.xsd"))))


@pytest.fixture(scope="module")
def ours() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(OURS)))


@pytest.fixture(scope="module")
def flows(tmp_path_factory) -> list[Path]:
    """Generated flows: a monthly and daily ones, for two seeds and sizes."""
    paths = []
    for seed, households, days in ((5, 400, 4), (17, 60, 3)):
        summary = generate(tmp_path_factory.mktemp(f"flows{seed}"), date(2026, 11, 26), households, days, seed=seed)
        paths += sorted(p for p in summary.files if p.suffix == ".xml")
    return paths


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def parse(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"))


# ----- the same element tree -----


def _tree(path: Path) -> tuple:
    """Racine and InfosFoyerRSA as nested (name, occurrences, content), references and named types
    resolved; a simple type is (base, sorted facets)."""
    root = etree.parse(str(path)).getroot()
    elements = {e.get("name"): e for e in root.findall(f"{_XS}element")}
    complex_types = {e.get("name"): e for e in root.findall(f"{_XS}complexType")}
    simple_types = {e.get("name"): e for e in root.findall(f"{_XS}simpleType")}

    def simple(node):
        restriction = node.find(f"{_XS}restriction")
        base = restriction.get("base").split(":")[-1]
        facets = tuple(sorted((etree.QName(f).localname, f.get("value")) for f in restriction
                              if isinstance(f.tag, str)))
        if base in simple_types:
            inherited_base, inherited = simple(simple_types[base])
            return inherited_base, tuple(sorted(inherited + facets))
        return base, facets

    def complex_(node):
        sequence = node.find(f"{_XS}sequence")
        children = [c for c in (sequence if sequence is not None else []) if isinstance(c.tag, str)
                    and c.tag != f"{_XS}annotation"]
        others = [etree.QName(c).localname for c in node if isinstance(c.tag, str)
                  and c.tag not in (f"{_XS}sequence", f"{_XS}annotation")]
        return "sequence", tuple(declaration(c) if c.tag == f"{_XS}element" else ("any",) for c in children), \
            tuple(others)

    def content(node):
        named = node.get("type")
        if named is not None:
            named = named.split(":")[-1]
            if named in complex_types:
                return complex_(complex_types[named])
            if named in simple_types:
                return simple(simple_types[named])
            return named, ()
        if (inline := node.find(f"{_XS}complexType")) is not None:
            return complex_(inline)
        if (inline := node.find(f"{_XS}simpleType")) is not None:
            return simple(inline)
        return "anyType", ()

    def declaration(node):
        target = elements[node.get("ref")] if node.get("ref") else node
        return target.get("name"), (node.get("minOccurs", "1"), node.get("maxOccurs", "1")), content(target)

    return declaration(elements["Racine"]), declaration(elements["InfosFoyerRSA"])


def test_same_element_tree_as_the_cnaf_schema():
    assert _tree(OURS) == _tree(partner_schema("cnaf-vrsb0801.xsd"))


def test_dossiers_are_declared_globally(ours):
    # The reader validates each InfosFoyerRSA on its own while streaming.
    dossier = parse(sample_text()).find("InfosFoyerRSA")
    assert ours.validate(dossier), ours.error_log


# ----- the same verdict on a corpus -----

# (description, pattern, replacement) applied once to the reference sample.
MUTATIONS = [
    ("missing NUMDEMRSA", r"<NUMDEMRSA>93126100417</NUMDEMRSA>", ""),
    ("missing MTREVGARARSA", r"<MTREVGARARSA>1092.87</MTREVGARARSA>", ""),
    ("missing SEXE", r"<SEXE>1</SEXE>", ""),
    ("missing TroncCommunDroitRSA", r"<TroncCommunDroitRSA>.*?</TroncCommunDroitRSA>", ""),
    ("missing DonneesAdministratives", r"<DonneesAdministratives>.*?</DonneesAdministratives>", ""),
    ("NOM of 29", r"<NOM>BENALI</NOM>", "<NOM>" + "B" * 29 + "</NOM>"),
    ("NOM of 28", r"<NOM>BENALI</NOM>", "<NOM>" + "B" * 28 + "</NOM>"),
    ("TYPEPARTE padded", r"<TYPEPARTE>CG</TYPEPARTE>", "<TYPEPARTE>CG </TYPEPARTE>"),
    ("TYPEPARTE padded too far", r"<TYPEPARTE>CG</TYPEPARTE>", "<TYPEPARTE>CG   </TYPEPARTE>"),
    ("NIR of 13", r"<NIR>185079306612313</NIR>", "<NIR>1850793066123</NIR>"),
    ("NIR of 16", r"<NIR>185079306612313</NIR>", "<NIR>1850793066123130</NIR>"),
    ("MATRICULE of 15", r"<MATRICULE>4471203</MATRICULE>", "<MATRICULE>447120300000000</MATRICULE>"),
    ("MATRICULE of 16", r"<MATRICULE>4471203</MATRICULE>", "<MATRICULE>4471203000000000</MATRICULE>"),
    ("MATRICULE with a letter", r"<MATRICULE>4471203</MATRICULE>", "<MATRICULE>A471203</MATRICULE>"),
    ("NUMDEMRSA of 12", r"<NUMDEMRSA>93126100417</NUMDEMRSA>", "<NUMDEMRSA>931261004170</NUMDEMRSA>"),
    ("CODEPOS of 6 digits", r"<CODEPOS>93200</CODEPOS>", "<CODEPOS>932000</CODEPOS>"),
    ("RGADR of 3 digits", r"<RGADR>02</RGADR>", "<RGADR>102</RGADR>"),
    ("bad date", r"<DTNAI>1985-07-14</DTNAI>", "<DTNAI>14/07/1985</DTNAI>"),
    ("impossible date", r"<DTNAI>1985-07-14</DTNAI>", "<DTNAI>1985-02-30</DTNAI>"),
    ("bad boolean", r"<TOPRESPDOS>1</TOPRESPDOS>", "<TOPRESPDOS>oui</TOPRESPDOS>"),
    ("boolean as a word", r"<TOPRESPDOS>1</TOPRESPDOS>", "<TOPRESPDOS>true</TOPRESPDOS>"),
    ("bad time", r"<HEUCREAFLUX>21:04:12</HEUCREAFLUX>", "<HEUCREAFLUX>21h04</HEUCREAFLUX>"),
    ("time with a fraction", r"<HEUCREAFLUX>21:04:12</HEUCREAFLUX>", "<HEUCREAFLUX>21:04:12.0000</HEUCREAFLUX>"),
    ("HEULIQ with a fraction", r"<HEULIQ>18:22:05</HEULIQ>", "<HEULIQ>18:22:05.25</HEULIQ>"),
    ("amount with 3 decimals", r"<MTTOTDRORSA>962.34</MTTOTDRORSA>", "<MTTOTDRORSA>962.345</MTTOTDRORSA>"),
    ("amount of 10 digits", r"<MTTOTDRORSA>962.34</MTTOTDRORSA>", "<MTTOTDRORSA>12345678.90</MTTOTDRORSA>"),
    ("amount not a number", r"<MTTOTDRORSA>962.34</MTTOTDRORSA>", "<MTTOTDRORSA>n/a</MTTOTDRORSA>"),
    ("IDASSEDIC of 9", r"<IDASSEDIC>4521877K</IDASSEDIC>", "<IDASSEDIC>4521877K0</IDASSEDIC>"),
    ("negative count", r"<NBTOTDOSRSATRANSM>2<", "<NBTOTDOSRSATRANSM>-2<"),
    ("count of 9 digits", r"<NBTOTDOSRSATRANSM>2<", "<NBTOTDOSRSATRANSM>123456789<"),
    ("count zero-padded", r"<NBTOTDOSRSATRANSM>2<", "<NBTOTDOSRSATRANSM>00000002<"),
    ("unknown ETATDOSRSA code", r"<ETATDOSRSA>2</ETATDOSRSA>", "<ETATDOSRSA>7</ETATDOSRSA>"),
    ("ETATDOSRSA of 2", r"<ETATDOSRSA>2</ETATDOSRSA>", "<ETATDOSRSA>22</ETATDOSRSA>"),
    ("unknown ROLEPERS code", r"<ROLEPERS>CJT</ROLEPERS>", "<ROLEPERS>XYZ</ROLEPERS>"),
    ("ROLEPERS of 4", r"<ROLEPERS>CJT</ROLEPERS>", "<ROLEPERS>CONJ</ROLEPERS>"),
    ("TYPEFLUX of 2", r"<TYPEFLUX>I</TYPEFLUX>", "<TYPEFLUX>IM</TYPEFLUX>"),
    ("header order", r"<TYPEFLUX>I</TYPEFLUX>\s*<NATFLUX>D</NATFLUX>", "<NATFLUX>D</NATFLUX><TYPEFLUX>I</TYPEFLUX>"),
    ("amounts order", r"<MTREVMINIGARARSA>1092.87</MTREVMINIGARARSA><MTREVGARARSA>1092.87</MTREVGARARSA>",
     "<MTREVGARARSA>1092.87</MTREVGARARSA><MTREVMINIGARARSA>1092.87</MTREVMINIGARARSA>"),
    ("optional amounts in place", r"<MTREVGARARSA>1092.87</MTREVGARARSA>",
     "<MTPENTRSA>1.00</MTPENTRSA><MTLOCALRSA>2.00</MTLOCALRSA><MTREVGARARSA>1092.87</MTREVGARARSA>"),
    ("optional amount out of place", r"<MTREVGARARSA>1092.87</MTREVGARARSA>",
     "<MTREVGARARSA>1092.87</MTREVGARARSA><MTPENTRSA>1.00</MTPENTRSA>"),
    ("unknown element in Identification", r"<SEXE>1</SEXE>", "<SEXE>1</SEXE><COULEUR>VERT</COULEUR>"),
    ("unknown amount", r"<MTTOTDRORSA>962.34</MTTOTDRORSA>",
     "<MTTOTDRORSA>962.34</MTTOTDRORSA><MTAUTRE>1.00</MTAUTRE>"),
    ("text in a block", r"<DossierCAF>", "<DossierCAF>texte"),
    ("attribute on a field", r"<NOM>BENALI</NOM>", '<NOM statut="x">BENALI</NOM>'),
    ("namespace", r"<Racine>", '<Racine xmlns="urn:x">'),
    ("three Prestations", r"(<Prestations><NATPREST>RSA</NATPREST><ROLEPERS>DEM</ROLEPERS><TOPCHAPERS>0</TOPCHAPERS>"
     r"</Prestations>)", r"\1\1"),
    ("one Prestations", r"<Prestations><NATPREST>RSA</NATPREST><ROLEPERS>DEM</ROLEPERS><TOPCHAPERS>0</TOPCHAPERS>"
     r"</Prestations>", ""),
    ("four addresses", r"(<Adresse>.*?</Adresse>)", r"\1\1\1\1"),
    ("no dossier", r"<InfosFoyerRSA>.*</InfosFoyerRSA>", ""),
    ("no trailer", r"<TransmissionFlux>.*?</TransmissionFlux>", ""),
    ("Ressources, Activite, Rattachement in place", r"<DossierPoleEmploi><IDASSEDIC>4521877K</IDASSEDIC></DossierPoleEmploi>",
     "<Rattachement><NOMNAI>HADDAD</NOMNAI><PRENOM>LINA</PRENOM><DTNAI>2012-01-02</DTNAI><TYPEPAR>ENF</TYPEPAR>"
     "</Rattachement><DossierPoleEmploi><IDASSEDIC>4521877K</IDASSEDIC></DossierPoleEmploi>"
     "<Ressources><GeneraliteRessourcesTrimestre><TOPRESSNUL>0</TOPRESSNUL><DDRESS>2026-07-01</DDRESS>"
     "<DFRESS>2026-09-30</DFRESS></GeneraliteRessourcesTrimestre><RessourcesMensuelles>"
     "<GeneraliteRessourcesMensuelles><MOISRESS>2026-07-01</MOISRESS><NBHEUMENTRA>000</NBHEUMENTRA>"
     "</GeneraliteRessourcesMensuelles><DetailRessourcesMensuelles><NATRESS>001</NATRESS>"
     "<MTNATRESSMEN>0001675.00</MTNATRESSMEN></DetailRessourcesMensuelles></RessourcesMensuelles></Ressources>"),
    ("Ressources out of place", r"<DossierPoleEmploi><IDASSEDIC>4521877K</IDASSEDIC></DossierPoleEmploi>",
     "<Ressources><GeneraliteRessourcesTrimestre><TOPRESSNUL>0</TOPRESSNUL><DDRESS>2026-07-01</DDRESS>"
     "<DFRESS>2026-09-30</DFRESS></GeneraliteRessourcesTrimestre></Ressources>"
     "<DossierPoleEmploi><IDASSEDIC>4521877K</IDASSEDIC></DossierPoleEmploi>"),
    ("Controle and Anomalie", r"(<Evenement><DTLIQ>2026-11-26</DTLIQ>.*?</Evenement>)",
     r"\1<Controle><ControleAdministratif><IdentificationCibleControleAdministratif><DTEFFCIBCONTRO>2026-10-01"
     r"</DTEFFCIBCONTRO><CIBCONTRO>RES</CIBCONTRO></IdentificationCibleControleAdministratif>"
     r"<IdentificationControleAdministratif><DTDETECCONTRO>2026-09-01</DTDETECCONTRO><DTCLOCONTRO>2026-10-15"
     r"</DTCLOCONTRO></IdentificationControleAdministratif><ModaliteControleAdministratif><LIBCIBCONTRO>X"
     r"</LIBCIBCONTRO><FAMCIBCONTRO>RE</FAMCIBCONTRO><NATCIBCONTRO>RES</NATCIBCONTRO><COMMACONTRO>SUR"
     r"</COMMACONTRO><TYPECONTRO>PI</TYPECONTRO></ModaliteControleAdministratif><ResultatControleAdministratif>"
     r"<TYPEIMPACCONTRO>N</TYPEIMPACCONTRO></ResultatControleAdministratif></ControleAdministratif></Controle>"
     r"<Anomalie><LIBANO>ADRESSE INCOMPLETE</LIBANO></Anomalie>"),
    ("Controle with unknown content", r"(<Evenement><DTLIQ>2026-11-26</DTLIQ>.*?</Evenement>)",
     r"\1<Controle><ANYTHING>1</ANYTHING></Controle>"),
    ("LIBANO of 201", r"(<Evenement><DTLIQ>2026-11-26</DTLIQ>.*?</Evenement>)",
     r"\1<Anomalie><LIBANO>" + "A" * 201 + "</LIBANO></Anomalie>"),
    ("Anomalie before Evenement", r"(<Evenement><DTLIQ>2026-11-26</DTLIQ>.*?</Evenement>)",
     r"<Anomalie><LIBANO>X</LIBANO></Anomalie>\1"),
    ("DemandeRMI", r"</DemandeRSA>",
     "</DemandeRSA><DemandeRMI><DateDemandeRMI><DTDEMRMI>2008-01-01</DTDEMRMI></DateDemandeRMI>"
     "<NumeroInstructionRMI><NUMDEPINSRMI>093</NUMDEPINSRMI><TYPEINSRMI>C</TYPEINSRMI>"
     "<NUMCOMINSRMI>066</NUMCOMINSRMI><NUMAGRINSRMI>01</NUMAGRINSRMI><NUMDOSINSRMI>12345</NUMDOSINSRMI>"
     "<NUMCLI>1</NUMCLI></NumeroInstructionRMI></DemandeRMI>"),
]


def _mutated(description: str, pattern: str, replacement: str) -> str:
    text, count = re.subn(pattern, replacement, sample_text(), count=1, flags=re.S)
    assert count == 1, f"pattern for {description!r} not found in the sample"
    return text


@pytest.mark.parametrize(("description", "pattern", "replacement"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_same_verdict_on_mutations_of_the_sample(official, ours, description, pattern, replacement):
    document = parse(_mutated(description, pattern, replacement))
    verdict = official.validate(document)
    assert ours.validate(document) == verdict, (description, verdict, ours.error_log)
    for dossier in document.iterfind("InfosFoyerRSA"):  # and dossier by dossier, as the reader validates
        assert ours.validate(dossier) == official.validate(dossier), description


def test_the_mutations_cover_both_verdicts(official):
    verdicts = {official.validate(parse(_mutated(*mutation))) for mutation in MUTATIONS}
    assert verdicts == {True, False}
    assert official.validate(parse(sample_text()))


def _field_mutations(original: etree._Element):
    """Every field of a dossier removed, repeated, too long, not of its type, moved first (on copies)."""
    tree = original.getroottree()
    base = tree.getpath(original)
    paths = ["." + tree.getpath(e)[len(base):] for e in original.iter() if len(e) == 0 and e is not original]
    for path in paths:
        for kind in ("removed", "repeated", "too long", "not a value", "moved first"):
            dossier = etree.fromstring(etree.tostring(original))
            leaf = dossier.xpath(path)[0]
            parent = leaf.getparent()
            if kind == "removed":
                parent.remove(leaf)
            elif kind == "repeated":
                leaf.addnext(deepcopy(leaf))
            elif kind == "too long":
                leaf.text = (leaf.text or "9") * 70
            elif kind == "not a value":
                leaf.text = "x-1"
            elif parent.index(leaf):
                parent.insert(0, leaf)
            else:
                continue
            yield path, kind, dossier


def test_same_verdict_on_every_field_of_generated_dossiers(official, ours, flows):
    """Each field of a few generated dossiers of each flow, broken five ways: the verdicts agree."""
    compared = rejected = 0
    for path in flows[:3]:
        for original in etree.parse(str(path)).getroot().findall("InfosFoyerRSA")[:2]:
            for field, kind, dossier in _field_mutations(original):
                verdict = official.validate(dossier)
                assert ours.validate(dossier) == verdict, (path.name, field, kind, ours.error_log)
                compared += 1
                rejected += not verdict
    assert compared > 200 and 0 < rejected < compared


# ----- generated flows are valid -----


def test_every_generated_flow_validates_against_the_cnaf_schema(official, flows):
    kinds = set()
    for path in flows:
        document = etree.parse(str(path))
        assert official.validate(document), f"{path.name}: {official.error_log.last_error}"
        kinds.add(document.findtext("IdentificationFlux/TYPEFLUX"))
    assert kinds == {"M", "I"}


def test_defect_runs_break_the_schema_only_where_they_say(official, tmp_path):
    summary = generate(tmp_path, date(2026, 11, 26), 1500, 1, seed=13, defects=True)
    monthly = next(p for p in summary.files if p.name.endswith("_M.xml"))
    dossiers = etree.parse(str(monthly)).getroot().findall("InfosFoyerRSA")
    invalid = [n for n, d in enumerate(dossiers) if not official.validate(d)]
    without_detail = [n for n, d in enumerate(dossiers) if d.find("PrestationRSA/DetailDroitRSA") is None]
    assert invalid and invalid == without_detail, "only the removed DetailDroitRSA breaks the schema"
