"""The project's VRSB0801 schema: accepts the reference sample and clean generated flows, rejects
what docs/data-contracts.md §2 forbids."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from aiguillage.synth import generate

# The partners' hand-written samples (data contracts), kept with the tests.
SAMPLES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = SAMPLES / "caf_vrsb0801_daily_sample.xml"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    xsd = resources.files("aiguillage").joinpath("schemas", "vrsb0801.xsd")
    with resources.as_file(xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture(scope="module")
def sample_text() -> str:
    if SAMPLE.exists():
        return SAMPLE.read_text(encoding="utf-8")
    pytest.skip("reference sample not available")


def _validate(schema: etree.XMLSchema, text: str) -> bool:
    return schema.validate(etree.fromstring(text.encode("utf-8")))


def test_reference_sample_validates(schema, sample_text):
    assert _validate(schema, sample_text), schema.error_log


def test_generated_clean_flows_validate(schema, tmp_path):
    summary = generate(tmp_path, date(2026, 11, 26), households=400, days=4, seed=5)
    caf_files = sorted(p for p in summary.files if p.suffix == ".xml")
    assert len(caf_files) == 4
    for path in caf_files:
        assert schema.validate(etree.parse(str(path))), f"{path.name}: {schema.error_log.last_error}"


@pytest.mark.parametrize(
    ("description", "pattern", "replacement"),
    [
        ("unknown ETATDOSRSA", r"<ETATDOSRSA>2</ETATDOSRSA>", "<ETATDOSRSA>7</ETATDOSRSA>"),
        ("unknown TYPEFLUX", r"<TYPEFLUX>I</TYPEFLUX>", "<TYPEFLUX>Q</TYPEFLUX>"),
        ("unknown NATFLUX", r"<NATFLUX>D</NATFLUX>", "<NATFLUX>X</NATFLUX>"),
        ("unknown ROLEPERS", r"<ROLEPERS>CJT</ROLEPERS>", "<ROLEPERS>CONJ</ROLEPERS>"),
        ("unknown NATPREST", r"<NATPREST>PFA</NATPREST>", "<NATPREST>AAH</NATPREST>"),
        ("SEXE 3", r"<SEXE>2</SEXE>", "<SEXE>3</SEXE>"),
        ("4-digit CODEPOS", r"<CODEPOS>93200</CODEPOS>", "<CODEPOS>9320</CODEPOS>"),
        ("NUMCOM over 5", r"<NUMCOM>93066</NUMCOM>", "<NUMCOM>930660</NUMCOM>"),
        ("MATRICULE with a letter", r"<MATRICULE>4471203</MATRICULE>", "<MATRICULE>A471203</MATRICULE>"),
        ("MATRICULE over 15 digits", r"<MATRICULE>4471203</MATRICULE>", f"<MATRICULE>{'4' * 16}</MATRICULE>"),
        ("NUMDEMRSA over 11", r"<NUMDEMRSA>93126100417</NUMDEMRSA>", "<NUMDEMRSA>931261004170</NUMDEMRSA>"),
        ("NIR over 15", r"<NIR>185079306612313</NIR>", "<NIR>1850793066123130</NIR>"),
        ("bad date", r"<DTNAI>1985-07-14</DTNAI>", "<DTNAI>14/07/1985</DTNAI>"),
        ("bad boolean", r"<TOPRESPDOS>1</TOPRESPDOS>", "<TOPRESPDOS>oui</TOPRESPDOS>"),
        ("bad time", r"<HEUCREAFLUX>21:04:12</HEUCREAFLUX>", "<HEUCREAFLUX>21h04</HEUCREAFLUX>"),
        ("RGADR 04", r"<RGADR>02</RGADR>", "<RGADR>04</RGADR>"),
        ("amount not a number", r"<MTTOTDRORSA>962.34</MTTOTDRORSA>", "<MTTOTDRORSA>n/a</MTTOTDRORSA>"),
        ("IDASSEDIC over 8", r"<IDASSEDIC>4521877K</IDASSEDIC>", "<IDASSEDIC>4521877K0</IDASSEDIC>"),
        ("negative count", r"<NBTOTDOSRSATRANSM>2<", "<NBTOTDOSRSATRANSM>-2<"),
    ],
)
def test_bad_values_are_rejected(schema, sample_text, description, pattern, replacement):
    broken, count = re.subn(pattern, replacement, sample_text, count=1)
    assert count == 1, f"pattern for {description!r} not found in the sample"
    assert not _validate(schema, broken), description


def _first_person_prestations(text: str, copies: int) -> str:
    role = "<ROLEPERS>DEM</ROLEPERS><TOPCHAPERS>0</TOPCHAPERS>"
    prestation = f"<Prestations><NATPREST>RSA</NATPREST>{role}</Prestations>"
    assert prestation in text
    return text.replace(prestation, prestation * copies, 1)


def test_three_prestations_are_rejected(schema, sample_text):
    assert not _validate(schema, _first_person_prestations(sample_text, 2))


def test_one_prestation_is_rejected(schema, sample_text):
    assert not _validate(schema, _first_person_prestations(sample_text, 0))


def test_structure_violations_are_rejected(schema, sample_text):
    no_trailer = re.sub(r"<TransmissionFlux>.*?</TransmissionFlux>", "", sample_text, flags=re.S)
    assert not _validate(schema, no_trailer)
    no_header = re.sub(r"<IdentificationFlux>.*?</IdentificationFlux>", "", sample_text, flags=re.S)
    assert not _validate(schema, no_header)
    no_person = re.sub(r"<Personne>.*?</Personne>", "", sample_text, flags=re.S)
    assert not _validate(schema, no_person), "a dossier has at least one Personne"
    address = re.search(r"<Adresse>.*?</Adresse>", sample_text, flags=re.S)
    assert address is not None
    four_addresses = sample_text.replace(address.group(0), address.group(0) * 4, 1)
    assert not _validate(schema, four_addresses), "at most 3 addresses"
    swapped = sample_text.replace(
        "<TYPEFLUX>I</TYPEFLUX>\n    <NATFLUX>D</NATFLUX>", "<NATFLUX>D</NATFLUX>\n    <TYPEFLUX>I</TYPEFLUX>"
    )
    assert swapped != sample_text and not _validate(schema, swapped), "element order is fixed"
    unknown = sample_text.replace("<SEXE>1</SEXE>", "<SEXE>1</SEXE><COULEUR>VERT</COULEUR>", 1)
    assert not _validate(schema, unknown), "no unknown element in Identification"
    namespaced = sample_text.replace("<Racine>", '<Racine xmlns="urn:x">', 1)
    assert not _validate(schema, namespaced), "no namespace"


def test_tolerated_variants_are_accepted(schema, sample_text):
    as_words = sample_text.replace("<TOPRESPDOS>1</TOPRESPDOS>", "<TOPRESPDOS>true</TOPRESPDOS>")
    assert _validate(schema, as_words), "xsd:boolean accepts true/false"
    extra_amount = sample_text.replace(
        "<MTTOTDRORSA>962.34</MTTOTDRORSA>",
        "<MTTOTDRORSA>962.34</MTTOTDRORSA><MTAUTREMONTANT>1.00</MTAUTREMONTANT>",
    )
    assert _validate(schema, extra_amount), "MontantsCalculDroitRSA is open after DDELECAL"
    without_optional = re.sub(
        r"<MontantCalculDroitRSAPersonne>.*?</MontantCalculDroitRSAPersonne>", "", sample_text, flags=re.S
    )
    assert _validate(schema, without_optional), "MontantCalculDroitRSAPersonne is optional"
    without_dossiers = re.sub(r"<InfosFoyerRSA>.*?</InfosFoyerRSA>", "", sample_text, flags=re.S)
    assert _validate(schema, without_dossiers), "a flow may carry no dossier"
    controle = sample_text.replace(
        "<Evenement><DTLIQ>2026-11-26</DTLIQ><HEULIQ>18:22:05</HEULIQ><FG>OUVDRO</FG></Evenement>",
        "<Evenement><DTLIQ>2026-11-26</DTLIQ><HEULIQ>18:22:05</HEULIQ><FG>OUVDRO</FG></Evenement>"
        "<Controle><ANYTHING>1</ANYTHING></Controle><Anomalie><LIBANO>ADRESSE INCOMPLETE</LIBANO></Anomalie>",
    )
    assert _validate(schema, controle), "blocks we do not read are open"
