"""Synthetic partner files: layout, determinism, realism, encodings, defects, memory."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from aiguillage.ingest.france_travail_reader import job_seeker_categories
from aiguillage.nir import is_valid_nir, nir_key
from aiguillage.referential import load_communes
from aiguillage.synth import SynthSummary, generate
from aiguillage.synth.france_travail import EXIT_COLUMNS, REGISTRATION_COLUMNS
from aiguillage.synth.movements import Timeline
from aiguillage.synth.population import GenerationContext

START = date(2026, 11, 26)
HOUSEHOLDS = 3000
DAYS = 8
BOM = b"\xef\xbb\xbf"
IDENTIFIANTPE = re.compile(r"[0-9]{7}[0-9A-Z][0-9]{3}")


# ----- runs shared by the tests (generated once per module) -----


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> SynthSummary:
    return generate(tmp_path_factory.mktemp("run"), START, HOUSEHOLDS, DAYS, seed=11)


@pytest.fixture(scope="module")
def rerun(tmp_path_factory) -> SynthSummary:
    return generate(tmp_path_factory.mktemp("rerun"), START, HOUSEHOLDS, DAYS, seed=11)


@pytest.fixture(scope="module")
def other_seed(tmp_path_factory) -> SynthSummary:
    return generate(tmp_path_factory.mktemp("other"), START, HOUSEHOLDS, DAYS, seed=12)


@pytest.fixture(scope="module")
def with_defects(tmp_path_factory) -> SynthSummary:
    return generate(tmp_path_factory.mktemp("defects"), START, 1500, 4, seed=13, defects=True)


@dataclass
class Dossier:
    element: etree._Element

    def text(self, path: str) -> str | None:
        return self.element.findtext(path)

    @property
    def persons(self) -> list[etree._Element]:
        return self.element.findall("Personne")

    @property
    def numdemrsa(self) -> str:
        return self.element.findtext("IdentificationRSA/DemandeRSA/NUMDEMRSA") or ""

    @property
    def events(self) -> list[str]:
        return [e.findtext("FG") or "" for e in self.element.findall("Evenement")]


def dossiers(path: Path) -> list[Dossier]:
    return [Dossier(e) for e in etree.parse(str(path)).getroot().iterfind("InfosFoyerRSA")]


@pytest.fixture(scope="module")
def monthly(run) -> list[Dossier]:
    return dossiers(_caf_files(run)[0])


@pytest.fixture(scope="module")
def dailies(run) -> list[tuple[Path, list[Dossier]]]:
    return [(path, dossiers(path)) for path in _caf_files(run)[1:]]


def _caf_files(summary: SynthSummary) -> list[Path]:
    return sorted(p for p in summary.files if p.parent.name == "caf")


def _ft_files(summary: SynthSummary) -> list[Path]:
    return sorted(p for p in summary.files if p.parent.name == "france_travail")


def read_ft(path: Path) -> tuple[str, list[str], list[list[str]]]:
    """(encoding seen, header, rows) of a France Travail file."""
    raw = path.read_bytes()
    if raw.startswith(BOM):
        encoding, text = "utf-8-sig", raw[3:].decode("utf-8")
    else:
        try:
            encoding, text = "utf-8", raw.decode("utf-8")
        except UnicodeDecodeError:
            encoding, text = "iso-8859-1", raw.decode("iso-8859-1")
    lines = text.splitlines()
    return encoding, lines[0].split(";"), [line.split(";") for line in lines[1:]]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def role(person: etree._Element) -> str:
    return person.findtext("Prestations/ROLEPERS") or ""


# ----- layout and determinism -----


def test_layout_and_file_names(run):
    landing = run.landing
    days = [START + timedelta(days=n) for n in range(DAYS)]
    expected = {f"caf/VRSB0801_931_{START:%Y%m%d}_M.xml", f"france_travail/stock_{START:%Y%m%d}.csv",
                f"caf_contacts/contacts_rsa_{START:%Y%m%d}.csv"}
    for day in days[1:]:
        expected.add(f"caf/VRSB0801_931_{day:%Y%m%d}_I.xml")
        expected |= {
            f"france_travail/{kind}_{day:%Y%m%d}.csv" for kind in ("inscriptions", "cessations", "radiations")
        }
    written = {p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file()}
    assert written == expected
    assert {p.relative_to(landing).as_posix() for p in run.files} == expected
    assert all(p.is_absolute() for p in run.files)
    assert list(run.per_day) == days
    assert sum(len(paths) for paths in run.per_day.values()) == len(run.files)
    assert len(run.per_day[START]) == 3 and all(len(run.per_day[day]) == 4 for day in days[1:])
    assert run.households >= HOUSEHOLDS and run.persons > HOUSEHOLDS
    assert run.defects == []
    assert run.bytes_written == sum(p.stat().st_size for p in run.files)


def test_same_seed_gives_identical_bytes(run, rerun):
    assert [p.name for p in run.files] == [p.name for p in rerun.files]
    for first, second in zip(run.files, rerun.files, strict=True):
        assert sha256(first) == sha256(second), first.name


def test_other_seed_gives_other_files(run, other_seed):
    assert [p.name for p in run.files] == [p.name for p in other_seed.files]
    assert sha256(_caf_files(run)[0]) != sha256(_caf_files(other_seed)[0])
    assert sha256(_ft_files(run)[-1]) != sha256(_ft_files(other_seed)[-1]), "the stocks differ"
    assert all(
        sha256(a) != sha256(b) for a, b in zip(_caf_files(run), _caf_files(other_seed), strict=True)
    ), "every CAF flow depends on the seed"


def test_household_state_is_a_function_of_seed_index_and_day():
    timeline = Timeline(GenerationContext(seed=5, start=START, n_initial=500), days=6)
    for index in (0, 17, 499, timeline.households_total - 1):
        for day in (0, 3, 5):
            if index >= 500 and day < timeline.created_day[index - 500]:
                continue
            assert timeline.household_at(index, day) == timeline.household_at(index, day)
    assert timeline.household_at(3, 0) == timeline.initial_household(3)


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, START, 0, 1, seed=1)
    with pytest.raises(ValueError):
        generate(tmp_path, START, 10, 0, seed=1)


def test_progress_lines(tmp_path):
    lines: list[str] = []
    generate(tmp_path, START, 50, 2, seed=1, progress=lines.append)
    assert any(line == "CAF monthly flow: 50/50 households" for line in lines)
    assert any(line.startswith(f"Day {START + timedelta(days=1)}") for line in lines)


# ----- CAF flows -----


def test_headers_and_trailers(run):
    for number, path in enumerate(_caf_files(run)):
        root = etree.parse(str(path)).getroot()
        header = root.find("IdentificationFlux")
        day = START + timedelta(days=number)
        assert header.findtext("TYPEFLUX") == ("M" if number == 0 else "I")
        assert header.findtext("NATFLUX") == "D"
        assert header.findtext("APPLIEME") == "CRI"
        assert header.findtext("NUMVERSIONAPPLIEME") == "4200"
        assert header.findtext("DTCREAFLUX") == day.isoformat() and f"_{day:%Y%m%d}_" in path.name
        assert header.findtext("DTREF") == day.replace(day=1).isoformat()
        # as the CNAF writes it: fractional seconds (xsd:time), e.g. 01:18:36.0000
        datetime.strptime(header.findtext("HEUCREAFLUX"), "%H:%M:%S.%f")
        blocks = root.findall("InfosFoyerRSA")
        assert int(root.findtext("TransmissionFlux/NBTOTDOSRSATRANSM")) == len(blocks)
        with_anomaly = sum(1 for b in blocks if b.find("Anomalie") is not None)
        assert int(root.findtext("TransmissionFlux/NBTOTDOSRSATRANSMANO")) == with_anomaly
        if number == 0:
            assert len(blocks) == HOUSEHOLDS
            assert not root.findall("InfosFoyerRSA/Evenement"), "no Evenement in the monthly flow"
        else:
            assert blocks, "every day has movements"
            for block in blocks:
                events = block.findall("Evenement")
                assert events and all(e.findtext("DTLIQ") == day.isoformat() for e in events)


def test_every_etatdosrsa_code_occurs_with_its_blocks(monthly):
    states = Counter(d.text(".//ETATDOSRSA") for d in monthly)
    assert set(states) == {"Z", "0", "1", "2", "3", "4", "5", "6"}
    assert states["2"] > 0.7 * len(monthly)
    for dossier in monthly:
        state = dossier.text(".//ETATDOSRSA")
        situation = dossier.element.find("PrestationRSA/SituationDossierRSA")
        if state == "1":
            assert dossier.text(".//Refus/MOTIREFURSA") in {
                "DSD",
                "F02",
                "F04",
                "F09",
                "F85",
                "F97",
                "FDB",
                "FDD",
                "PCG",
            }
        if state == "3":
            assert situation.findtext("SuspensionDroit/MOTISUSDRORSA")
        if state == "4":
            assert situation.findtext("SuspensionVersement/MOTISUSVERSRSA")
        if state == "5":
            assert situation.findtext("FinDroit/MOTICLORSA") and situation.findtext("FinDroit/DTCLORSA")
        if state == "6":
            assert situation.findtext("FinDroitMoisAnterieur/MOTICLORSA")


def test_household_composition(monthly):
    roles = Counter(role(p) for d in monthly for p in d.persons)
    adults = roles["DEM"] + roles["CJT"]
    assert roles["DEM"] == len(monthly) and roles["CJT"] > 0 and roles["ENF"] > 0 and roles["AUT"] > 0
    assert 0.55 <= adults / sum(roles.values()) <= 0.65
    for dossier in monthly:
        persons = dossier.persons
        assert [role(p) for p in persons].count("DEM") == 1
        for person in persons:
            assert len(person.findall("Prestations")) == 2
            assert {p.findtext("NATPREST") for p in person.findall("Prestations")} == {"PFA", "RSA"}
            assert person.findtext("Identification/NOM") == person.findtext("Identification/NOM").upper()
            assert (
                person.findtext("Identification/PRENOM") == person.findtext("Identification/PRENOM").upper()
            )


def test_rights_and_duties_flags(monthly):
    flags = Counter()
    for dossier in monthly:
        for person in dossier.persons:
            if role(person) in ("DEM", "CJT"):
                flags[person.findtext("MontantCalculDroitRSAPersonne/TOPPERSDRODEVORSA")] += 1
    adults = sum(flags.values())
    assert 0.10 <= flags["0"] / adults <= 0.20, flags
    assert 0 < flags[None] / adults < 0.06, "a few adults have no MontantCalculDroitRSAPersonne at all"


def test_identity_traps(monthly):
    births: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
    twins = same_first_name_couples = corsica = born_abroad = adults_without_nir = children_without_nir = 0
    for dossier in monthly:
        matricule = dossier.text(".//MATRICULE")
        dates = Counter()
        ranks: dict[str, set[str]] = {}
        adult_names = []
        for person in dossier.persons:
            ident = person.find("Identification")
            nir = ident.findtext("NIR")
            dtnai = ident.findtext("DTNAI")
            dates[dtnai] += 1
            ranks.setdefault(dtnai, set()).add(ident.findtext("RGNAI"))
            if nir is not None:
                assert is_valid_nir(nir), f"clean files only carry valid NIRs: {nir}"
                corsica += nir[5:7] in ("2A", "2B")
                if nir[5:7] == "99":
                    born_abroad += 1
                    assert ident.findtext("NOMCOMNAI")
            if role(person) in ("DEM", "CJT"):
                adult_names.append(ident.findtext("PRENOM"))
                adults_without_nir += nir is None
                key = (ident.findtext("NOM"), ident.findtext("PRENOM"), dtnai)
                births.setdefault(key, set()).add((matricule, nir or ""))
            elif role(person) == "ENF":
                children_without_nir += nir is None
        twins += sum(1 for dtnai, n in dates.items() if n >= 2 and {"1", "2"} <= ranks[dtnai])
        same_first_name_couples += len(adult_names) == 2 and adult_names[0] == adult_names[1]
    homonyms = [key for key, holders in births.items() if len({m for m, _ in holders}) > 1]
    homonyms_with_other_nir = [key for key in homonyms if len({nir for _, nir in births[key] if nir}) > 1]
    assert twins >= 5 and same_first_name_couples >= 5
    assert homonyms and homonyms_with_other_nir, (
        "same NOM, PRENOM, DTNAI in different dossiers, different NIR"
    )
    assert corsica >= 5 and born_abroad > 0.1 * len(monthly)
    assert adults_without_nir > 0 and children_without_nir > adults_without_nir


def test_dates_are_coherent(monthly):
    today = START.isoformat()
    adult_limit = date(START.year - 18, START.month, START.day).isoformat()
    for dossier in monthly:
        dtdemrsa = dossier.text(".//DTDEMRSA")
        assert dtdemrsa <= today
        births = {}
        for person in dossier.persons:
            dtnai = person.findtext("Identification/DTNAI")
            births[role(person)] = min(births.get(role(person), dtnai), dtnai)
            assert dtnai < today and person.findtext("DossierCAF/DDRATDOS") <= today
            if role(person) in ("DEM", "CJT"):
                assert dtnai <= adult_limit, "beneficiaries are adults"
            nir = person.findtext("Identification/NIR")
            if nir is not None and nir[3:5] <= "12":
                assert nir[1:5] == dtnai[2:4] + dtnai[5:7], "the NIR carries the birth year and month"
        if "ENF" in births:
            assert births["DEM"] < births["ENF"]
        for address in dossier.element.iterfind("DonneesAdministratives/Adresse"):
            assert address.findtext("TroncCommunAdresse/DTEMM") <= today
        ranks = [
            a.findtext("TroncCommunAdresse/DTEMM")
            for a in dossier.element.iterfind("DonneesAdministratives/Adresse")
        ]
        assert ranks == sorted(ranks, reverse=True), "RGADR 01 is the latest move"


def test_identifiers(monthly):
    matricules = [d.text(".//MATRICULE") for d in monthly]
    numbers = [d.numdemrsa for d in monthly]
    assert len(set(numbers)) == len(numbers) and all(len(n) <= 11 for n in numbers)
    assert len(set(matricules)) == len(matricules)
    assert all(m.isdigit() and len(m) <= 15 for m in matricules)
    lengths = Counter(len(m) for m in matricules)
    assert lengths.most_common(1)[0][0] == 7, "mostly 7 digits"
    assert lengths[15] > len(matricules) // 5, "some on 15 digits, as the CNAF's software writes them"
    # A 15-digit MATRICULE is the allocataire number then zeros: its first 7 characters (numero_caf) name it.
    assert all(m[7:] == "0" * 8 for m in matricules if len(m) == 15)
    # Codes padded to their width, as real flows have them (the reader trims them).
    assert {d.text(".//TYPEPARTE") for d in monthly} == {"CG "}
    assert {p.findtext("Identification/QUAL") for d in monthly for p in d.persons} >= {"MR ", "MME"}
    for dossier in monthly:
        assert dossier.text(".//DTDEMRSA") < START.isoformat()


def test_addresses(monthly):
    communes = {c.code_insee: c for c in load_communes()}
    per_commune = Counter()
    pierrefitte_codes = Counter()
    ranks = Counter()
    outside = homeless = 0
    for dossier in monthly:
        addresses = dossier.element.findall("DonneesAdministratives/Adresse")
        assert 1 <= len(addresses) <= 3
        assert [a.findtext("TroncCommunAdresse/RGADR") for a in addresses] == [
            f"0{n}" for n in range(1, len(addresses) + 1)
        ]
        ranks[len(addresses)] += 1
        current = addresses[0].find("AdresseDetailleeFrance")
        numcom, codepos = current.findtext("NUMCOM"), current.findtext("CODEPOS")
        assert current.findtext("LIBTYPEVOIE") in {
            "RUE",
            "AVENUE",
            "BOULEVARD",
            "ALLEE",
            "IMPASSE",
            "PLACE",
            "CHEMIN",
        }
        assert current.findtext("NOMCOM") == current.findtext("NOMCOM").upper()
        assert re.fullmatch(r"[A-Z0-9 ]+", current.findtext("NOMCOM")), "CAF writes names unaccented"
        homeless += dossier.text(".//TOPSANSDOMFIXE") == "1"
        if not numcom.startswith("93"):
            outside += 1
            assert numcom[:2] in {"75", "77", "94", "95"}
            continue
        per_commune[numcom] += 1
        if codepos == "93380":
            pierrefitte_codes[numcom] += 1
        elif numcom != "93066" or codepos not in ("93200", "93210"):
            assert codepos in communes[numcom].codes_postaux, (numcom, codepos)
    assert set(per_commune) <= set(communes)
    assert per_commune["93066"] > 5 * per_commune["93015"] and per_commune["93048"] > 5 * per_commune["93015"]
    assert set(pierrefitte_codes) == {"93059", "93066"}, "Pierrefitte appears under both codes, always 93380"
    assert outside > 0 and homeless > 0
    assert ranks[2] > 0 and ranks[3] > 0


def test_daily_movements(monthly, dailies):
    known = {d.numdemrsa: d for d in monthly}
    events = Counter()
    states = Counter()
    previous_numbers = []
    moved_out = 0
    for _path, blocks in dailies:
        for dossier in blocks:
            events.update(dossier.events)
            states[dossier.text(".//ETATDOSRSA")] += 1
            if dossier.numdemrsa in known:
                assert dossier.text(".//MATRICULE") == known[dossier.numdemrsa].text(".//MATRICULE")
            if "DEMRSA" in dossier.events:
                previous_numbers += [
                    n.text for n in dossier.element.iterfind("Personne/DossierCAF/NUMDEMRSAPRECE")
                ]
            if "MUTSORT" in dossier.events:
                moved_out += 1
                assert dossier.element.find("IdentificationRSA/OrganismePrenant") is not None
                assert not dossier.text(
                    "DonneesAdministratives/Adresse/AdresseDetailleeFrance/NUMCOM"
                ).startswith("93")
            if "DEMENAG" in dossier.events:
                assert dossier.text("DonneesAdministratives/Adresse[2]/TroncCommunAdresse/RGADR") == "02"
    for code in ("DEMRSA", "OUVDRO", "CLODRO", "SUSVERS", "DEMENAG", "MUTSORT", "CHGDD", "CHGSITFAM"):
        assert events[code] > 0, code
    assert states["0"] > 0 and states["5"] > 0
    assert any(number in known for number in previous_numbers), "a person left a dossier to open a new one"
    assert moved_out > 0


def test_encodings_of_caf_files(run):
    # Written the way the CNAF's software writes them: windows-1252, declared in the prolog.
    for path in _caf_files(run):
        raw = path.read_bytes()
        declared = re.match(rb'<\?xml version="1\.0" encoding="([^"]+)"\?>', raw).group(1).decode()
        assert declared == "windows-1252"
        raw.decode("cp1252")  # decodes with what it declares
        assert etree.fromstring(raw).tag == "Racine"
    monthly = _caf_files(run)[0].read_bytes()
    text = monthly.decode("cp1252")
    assert re.search(r"[ÉÈÇÏËÎ]", text), "accented names occur"
    assert "Œ" in text, "a character windows-1252 has and ISO-8859-1 has not"
    with pytest.raises(UnicodeDecodeError):
        monthly.decode("utf-8")


# ----- France Travail files -----


def test_france_travail_files_follow_the_contract(run):
    for path in _ft_files(run):
        kind = path.name.split("_")[0]
        _, header, rows = read_ft(path)
        columns = EXIT_COLUMNS if kind in ("cessations", "radiations") else REGISTRATION_COLUMNS
        assert tuple(header) == columns
        for row in rows:
            line = dict(zip(columns, row, strict=True))
            assert len(line["nir"]) == 13 and line["nir"] == line["nir2"] and is_valid_nir(line["nir"])
            assert IDENTIFIANTPE.fullmatch(line["identifiantpe"])
            datetime.strptime(line["dtnai"], "%d/%m/%Y")
            datetime.strptime(line["date"], "%d/%m/%Y")
            assert line["code"] in job_seeker_categories()  # the reader's list: the warehouse seed
            assert re.fullmatch(r"[0-9]{5}", line["ale"]) and re.fullmatch(r"[0-9]{5}", line["codeinsee"])
            assert line["nom"].strip() and line["prenom"].strip() and line["adresse"]
            if kind in ("cessations", "radiations"):
                assert line["motif"]
    lines = Counter(path.name.split("_")[0] for path in _ft_files(run) for _ in read_ft(path)[2])
    # Since 2025, RSA beneficiaries registered automatically: some lines in G (waiting for orientation)
    # and F (social accompaniment), most in the job-seeker categories.
    categories = Counter(row[6] for path in _ft_files(run) for row in read_ft(path)[2])
    assert categories["G"] > categories["F"] > 0 and sum(categories[str(n)] for n in range(1, 9)) > categories["G"]
    assert (
        lines["stock"] > 0.3 * HOUSEHOLDS
        and lines["inscriptions"]
        and lines["cessations"]
        and lines["radiations"]
    )


def test_stock_registers_about_half_of_the_persons_with_duties(run, monthly):
    _, _, rows = read_ft(_ft_files(run)[-1])
    assert _ft_files(run)[-1].name.startswith("stock_")
    registered = {row[0] for row in rows}
    subject = [
        p.findtext("Identification/NIR")[:13]
        for d in monthly
        for p in d.persons
        if role(p) in ("DEM", "CJT")
        and p.findtext("MontantCalculDroitRSAPersonne/TOPPERSDRODEVORSA") == "1"
        and p.findtext("Identification/NIR")
    ]
    share = sum(nir in registered for nir in subject) / len(subject)
    assert 0.40 <= share <= 0.60, share
    caf_nirs = {
        p.findtext("Identification/NIR")[:13]
        for d in monthly
        for p in d.persons
        if p.findtext("Identification/NIR")
    }
    assert registered - caf_nirs, "some job seekers are unknown to CAF"


def test_encodings_of_france_travail_files(run, other_seed, with_defects):
    seen = Counter()
    for summary in (run, other_seed, with_defects):
        for path in _ft_files(summary):
            encoding, _, rows = read_ft(path)
            if any(ord(c) > 127 for row in rows for field in row for c in field):
                seen[encoding] += 1
            elif encoding == "utf-8-sig":
                seen[encoding] += 1
    assert set(seen) == {"utf-8-sig", "utf-8", "iso-8859-1"}, seen


# ----- defects -----


def test_clean_files_carry_no_defect(run):
    assert run.defects == []
    for path in _caf_files(run):
        etree.parse(str(path))  # parses


def test_defects_are_injected_and_listed(with_defects):
    landing = with_defects.landing
    described = "\n".join(with_defects.defects)
    caf = _caf_files(with_defects)
    monthly_path = landing / "caf" / f"VRSB0801_931_{START:%Y%m%d}_M.xml"
    copy = landing / "caf" / f"VRSB0801_931_{START:%Y%m%d}_M_bis.xml"
    assert copy in with_defects.files and copy in with_defects.per_day[START]
    assert copy.read_bytes() == monthly_path.read_bytes()
    assert copy.name in described

    truncated = landing / "caf" / f"VRSB0801_931_{START + timedelta(days=3):%Y%m%d}_I.xml"
    with pytest.raises(etree.XMLSyntaxError):
        etree.parse(str(truncated))
    assert b"</Racine>" not in truncated.read_bytes() and truncated.name in described

    lying = landing / "caf" / f"VRSB0801_931_{START + timedelta(days=1):%Y%m%d}_I.xml"
    root = etree.parse(str(lying)).getroot()
    assert int(root.findtext("TransmissionFlux/NBTOTDOSRSATRANSM")) != len(root.findall("InfosFoyerRSA"))
    assert lying.name in described

    monthly_root = etree.parse(str(monthly_path)).getroot()
    nirs = [n.text for n in monthly_root.iter("NIR")]
    assert any(not is_valid_nir(n) for n in nirs), "some NIR keys are wrong"
    assert all(len(n) in (13, 15) and nir_key(n[:13]) for n in nirs)
    assert any(len(n) == 13 for n in nirs), "some NIRs come without their key, as in real flows"
    assert any(b.find("PrestationRSA/DetailDroitRSA") is None for b in monthly_root.iter("InfosFoyerRSA"))
    for needle in ("wrong NIR key", "MontantCalculDroitRSAPersonne", "DetailDroitRSA"):
        assert needle in described
    assert len(caf) == 5


def test_france_travail_defects(with_defects):
    stock = next(p for p in _ft_files(with_defects) if p.name.startswith("stock_"))
    _, header, rows = read_ft(stock)
    problems = Counter()
    for row in rows:
        if len(row) != len(header):
            problems["columns"] += 1
            continue
        line = dict(zip(header, row, strict=True))
        if line["nir"] != line["nir2"]:
            problems["nir2"] += 1
        if not IDENTIFIANTPE.fullmatch(line["identifiantpe"]):
            problems["identifiantpe"] += 1
        if not line["code"]:
            problems["code"] += 1
        if not is_valid_nir(line["nir"]):
            problems["nir"] += 1
        try:
            datetime.strptime(line["date"], "%d/%m/%Y")
        except ValueError:
            problems["date"] += 1
    assert set(problems) == {"columns", "nir2", "identifiantpe", "code", "nir", "date"}, problems
    described = [d for d in with_defects.defects if d.startswith("france_travail/")]
    assert len(described) == 6 and all(stock.name in d for d in described)


def test_clean_part_of_a_defect_run_is_unchanged(tmp_path, with_defects):
    clean = generate(tmp_path, START, 1500, 4, seed=13)
    clean_names = {p.name: p for p in clean.files}
    for path in with_defects.files:
        if path.name.startswith(("cessations_", "radiations_", "inscriptions_")):
            assert path.read_bytes() == clean_names[path.name].read_bytes(), path.name
    assert sum(1 for p in with_defects.files if p.name.endswith("_bis.xml")) == 1


def test_tiny_runs_still_work(tmp_path):
    summary = generate(tmp_path / "one", START, 1, 3, seed=2, defects=True)
    assert len(summary.defects) >= 3
    single_day = generate(tmp_path / "day", START, 5, 1, seed=2, defects=True)
    assert any("NBTOTDOSRSATRANSM" in d for d in single_day.defects)


# ----- memory -----

_MEASURE = textwrap.dedent(
    """
    import sys
    from datetime import date
    from pathlib import Path
    from aiguillage.synth import generate
    generate(Path(sys.argv[1]), date(2026, 11, 26), int(sys.argv[2]), 2, 3)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec,
    # so a child of a big pytest process would report the parent's peak.
    status = Path("/proc/self/status").read_text()
    print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    """
)


def _peak_rss_mb(tmp_path: Path, households: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(tmp_path / str(households)), str(households)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return int(result.stdout.split()[-1]) / 1024  # kilobytes on Linux


def test_memory_stays_flat(tmp_path):
    small = _peak_rss_mb(tmp_path, 5_000)
    large = _peak_rss_mb(tmp_path, 30_000)
    assert large < 300
    assert large - small < 20, f"peak RSS grew from {small:.1f} MB to {large:.1f} MB"
