"""Geography of the synthetic population: birthplaces, addresses, CAF commune spellings, FT agencies.

Addresses inside the département are drawn with the communes' populations as weights. CAF writes
commune names its own way (upper-case, unaccented, ST, locality and CEDEX variants), which is why the
pipeline keys communes on NUMCOM; the variants below exercise that. Pierrefitte-sur-Seine (93059)
is a commune déléguée of Saint-Denis (93066) since 2025: its addresses carry either code, always with
postal code 93380.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date

from aiguillage.referential import Commune, load_communes
from aiguillage.synth.model import Address
from aiguillage.synth.names import OriginGroup, check_pool
from aiguillage.synth.rng import WeightedPicker, pick

PIERREFITTE = "93059"
SAINT_DENIS = "93066"


@dataclass(frozen=True, slots=True)
class Birthplace:
    """Where a person was born: NOMCOMNAI and the NIR's department and commune (or country) parts."""

    nomcomnai: str
    dept: str
    commune: str


@dataclass(frozen=True, slots=True)
class OutsideCommune:
    """A commune outside Seine-Saint-Denis where beneficiaries move to or come from."""

    numcom: str
    codepos: str
    nomcom: str
    localite: str
    caf_numorg: str  # the CAF in charge there (OrganismePrenant / OrganismeCedant)


def unaccented_upper(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


COMMUNES: tuple[Commune, ...] = tuple(load_communes())
COMMUNE_PICKER: WeightedPicker[Commune] = WeightedPicker(COMMUNES, [c.population for c in COMMUNES])
_FT_LOCALITE = {c.code_insee: unaccented_upper(c.nom) for c in COMMUNES}

# France Travail local agencies (ale): one per territory of the départemental social service.
_TERRITORIES = (
    ("93059", "93072"),
    ("93031", "93079"),
    ("93027",),
    ("93001",),
    ("93066",),
    ("93005",),
    ("93073", "93078"),
    ("93071",),
    ("93006", "93061", "93045"),
    ("93063", "93053"),
    ("93014", "93047", "93015"),
    ("93046", "93057", "93074"),
    ("93064", "93077", "93062"),
    ("93008",),
    ("93010",),
    ("93029",),
    ("93007", "93030", "93013"),
    ("93032", "93033", "93049", "93050"),
    ("93048",),
    ("93051",),
    ("93055",),
    ("93070", "93039"),
)
FT_AGENCY_BY_COMMUNE = {
    code: f"930{number * 4 + 3:02d}" for number, codes in enumerate(_TERRITORIES) for code in codes
}

OUTSIDE_COMMUNES: tuple[OutsideCommune, ...] = (
    OutsideCommune("75118", "75018", "PARIS 18", "PARIS", "751"),
    OutsideCommune("75119", "75019", "PARIS 19", "PARIS", "751"),
    OutsideCommune("75120", "75020", "PARIS 20", "PARIS", "751"),
    OutsideCommune("75110", "75010", "PARIS 10", "PARIS", "751"),
    OutsideCommune("75113", "75013", "PARIS 13", "PARIS", "751"),
    OutsideCommune("77108", "77500", "CHELLES", "CHELLES", "771"),
    OutsideCommune("77468", "77200", "TORCY", "TORCY", "771"),
    OutsideCommune("77284", "77100", "MEAUX", "MEAUX", "771"),
    OutsideCommune("94028", "94000", "CRETEIL", "CRETEIL", "941"),
    OutsideCommune("94081", "94400", "VITRY SUR SEINE", "VITRY-SUR-SEINE", "941"),
    OutsideCommune("94017", "94500", "CHAMPIGNY SUR MARNE", "CHAMPIGNY-SUR-MARNE", "941"),
    OutsideCommune("94033", "94120", "FONTENAY SOUS BOIS", "FONTENAY-SOUS-BOIS", "941"),
    OutsideCommune("95585", "95200", "SARCELLES", "SARCELLES", "951"),
    OutsideCommune("95268", "95140", "GARGES LES GONESSE", "GARGES-LES-GONESSE", "951"),
    OutsideCommune("95018", "95100", "ARGENTEUIL", "ARGENTEUIL", "951"),
    OutsideCommune("95277", "95500", "GONESSE", "GONESSE", "951"),
)

STREET_TYPES = WeightedPicker(
    ("RUE", "AVENUE", "BOULEVARD", "ALLEE", "IMPASSE", "PLACE", "CHEMIN"), (55, 20, 8, 7, 3, 3, 4)
)
STREET_NAMES = tuple(
    "DE LA REPUBLIQUE,JEAN JAURES,GABRIEL PERI,PAUL VAILLANT COUTURIER,DU GENERAL DE GAULLE,DE PARIS,"
    "VICTOR HUGO,MAXIMILIEN ROBESPIERRE,KARL MARX,ROGER SALENGRO,HENRI BARBUSSE,JEAN MOULIN,PASTEUR,"
    "DES FRERES LUMIERE,ANATOLE FRANCE,DE LA LIBERATION,DU 8 MAI 1945,PABLO PICASSO,LOUISE MICHEL,"
    "SALVADOR ALLENDE,DU PRESIDENT WILSON,ARISTIDE BRIAND,DE STALINGRAD,CARNOT,GAMBETTA,DANTON,"
    "DE LA GARE,DU MOULIN,DES ROSIERS,DES LILAS,DE VERDUN,DE L EGLISE,EDOUARD VAILLANT,"
    "DU MARECHAL LECLERC,JULES FERRY,EMILE ZOLA,ALBERT THOMAS,PIERRE SEMARD,MARCEL CACHIN,"
    "D ESTIENNE D ORVES,DES MARTYRS DE CHATEAUBRIANT,LEON BLUM,DU CHEMIN VERT,DES POISSONNIERS,"
    "DE LA CONVENTION,DES CITES,ROMAIN ROLLAND,ELSA TRIOLET,DE LA PAIX,DES TILLEULS".split(",")
)
_BUILDING_COMPLEMENTS = (
    "BAT A",
    "BAT B",
    "BAT C ESC 2",
    "ESC B ETG 3",
    "RES LES TILLEULS",
    "APPT 42",
    "BAT D ETG 5",
    "TOUR 3 ETG 12",
    "RES DU PARC",
)
_DOMICILIATIONS = (
    "CCAS DOMICILIATION",
    "SECOURS CATHOLIQUE DOMICILIATION",
    "ASSOCIATION DOMICILIATION",
    "CHRS DOMICILIATION",
)

# Births in France outside the département: (NOMCOMNAI, NIR department, NIR commune).
_PARIS_BIRTHS = tuple(Birthplace(f"PARIS {n}E ARRONDISSEMENT", "75", f"1{n:02d}") for n in range(10, 21))
_OTHER_FRENCH_BIRTHS = tuple(
    Birthplace(name, dept, commune)
    for name, dept, commune in (
        ("LILLE", "59", "350"),
        ("ROUBAIX", "59", "512"),
        ("LYON", "69", "123"),
        ("MARSEILLE", "13", "055"),
        ("NANTES", "44", "109"),
        ("TOULOUSE", "31", "555"),
        ("BORDEAUX", "33", "063"),
        ("STRASBOURG", "67", "482"),
        ("ROUEN", "76", "540"),
        ("ORLEANS", "45", "234"),
        ("CRETEIL", "94", "028"),
        ("ARGENTEUIL", "95", "018"),
        ("MEAUX", "77", "284"),
        ("SARCELLES", "95", "585"),
        ("CŒUVRES ET VALSERY", "02", "201"),  # a name only windows-1252 can write (not ISO-8859-1)
    )
)
CORSICA_BIRTHS = (
    Birthplace("AJACCIO", "2A", "004"),
    Birthplace("PORTO VECCHIO", "2A", "247"),
    Birthplace("BASTIA", "2B", "033"),
    Birthplace("CORTE", "2B", "096"),
)
_ANTILLES_BIRTHS = (
    Birthplace("POINTE A PITRE", "97", "120"),
    Birthplace("LES ABYMES", "97", "101"),
    Birthplace("FORT DE FRANCE", "97", "209"),
    Birthplace("LE LAMENTIN", "97", "213"),
    Birthplace("CAYENNE", "97", "302"),
)
_MAYOTTE_BIRTHS = (Birthplace("MAMOUDZOU", "97", "611"),)
_DEPARTEMENT_BIRTHS = tuple(Birthplace(c.nomcom_caf, "93", c.code_insee[2:]) for c in COMMUNES)
_DEPARTEMENT_BIRTH_PICKER = WeightedPicker(_DEPARTEMENT_BIRTHS, [c.population for c in COMMUNES])

check_pool(STREET_NAMES + _BUILDING_COMPLEMENTS + _DOMICILIATIONS, 32)
# Birthplaces appear in CAF flows only (windows-1252), never in France Travail files (ISO-8859-1 too).
check_pool((b.nomcomnai for b in _PARIS_BIRTHS + _OTHER_FRENCH_BIRTHS + CORSICA_BIRTHS), 26, "cp1252")


def french_birthplace(rng: random.Random, group: OriginGroup, adult: bool) -> Birthplace:
    """A birthplace in France; adults were born all over France, children mostly in the département."""
    u = rng.random()
    if group.key == "caraibes" and adult and u < 0.7:
        return pick(rng, _ANTILLES_BIRTHS)
    if group.key == "comores" and adult and u < 0.3:
        return _MAYOTTE_BIRTHS[0]
    if not adult:
        if u < 0.82:
            return _DEPARTEMENT_BIRTH_PICKER.pick(rng)
        if u < 0.95:
            return pick(rng, _PARIS_BIRTHS)
        return pick(rng, _OTHER_FRENCH_BIRTHS)
    if u < 0.42:
        return _DEPARTEMENT_BIRTH_PICKER.pick(rng)
    if u < 0.64:
        return pick(rng, _PARIS_BIRTHS)
    if u < 0.93:
        return pick(rng, _OTHER_FRENCH_BIRTHS)
    if u < 0.965:
        return pick(rng, CORSICA_BIRTHS)
    return pick(rng, _ANTILLES_BIRTHS)


_FOREIGN_BIRTHS: dict[str, tuple[Birthplace, ...]] = {}


def foreign_birthplace(rng: random.Random, group: OriginGroup) -> Birthplace:
    """A birthplace abroad typical of the group (department 99, INSEE country code)."""
    places = _FOREIGN_BIRTHS.get(group.key)
    if places is None:
        places = tuple(Birthplace(name, "99", country) for name, country in group.foreign_birthplaces)
        _FOREIGN_BIRTHS[group.key] = places
    return pick(rng, places)


def _caf_nomcom(rng: random.Random, commune: Commune, codepos: str) -> str:
    """CAF spelling of the commune, with the variants found in real files."""
    code = commune.code_insee
    u = rng.random()
    if code == SAINT_DENIS and codepos == "93210":
        return "LA PLAINE ST DENIS" if u < 0.6 else "ST DENIS"
    if code == PIERREFITTE:
        return "PIERREFITTE SUR SEINE" if u < 0.7 else "PIERREFITTE"
    if code == "93070":
        return "ST OUEN SUR SEINE" if u < 0.5 else ("ST OUEN" if u < 0.85 else "SAINT OUEN")
    name = commune.nomcom_caf
    if u < 0.04 and "ST " in name:
        return name.replace("ST ", "SAINT ")
    if u > 0.985:
        return f"{name} CEDEX"
    return name


def address_in_departement(rng: random.Random, moved_in: date, commune: Commune | None = None) -> Address:
    """A current-looking address in Seine-Saint-Denis (commune drawn by population unless given)."""
    if commune is None:
        commune = COMMUNE_PICKER.pick(rng)
    postal_codes = commune.codes_postaux
    codepos = postal_codes[0] if len(postal_codes) == 1 or rng.random() < 0.75 else postal_codes[1]
    numcom = commune.code_insee
    if numcom == PIERREFITTE and rng.random() < 0.5:
        numcom = SAINT_DENIS  # merged commune code, postal code stays 93380
    u = rng.random()
    return Address(  # positional: hot path
        str(1 + int(rng.random() ** 1.7 * 180)),  # numvoie
        STREET_TYPES.pick(rng),  # libtypevoie
        pick(rng, STREET_NAMES),  # nomvoie
        pick(rng, _BUILDING_COMPLEMENTS) if u < 0.3 else "",  # complideadr
        "",  # compladr
        numcom,
        codepos,
        _caf_nomcom(rng, commune, codepos),  # nomcom
        _FT_LOCALITE[commune.code_insee],  # localite
        moved_in,  # dtemm
    )


def domiciliation_address(rng: random.Random, moved_in: date) -> Address:
    """Postal domiciliation of a person without a fixed home (TOPSANSDOMFIXE=1)."""
    commune = COMMUNE_PICKER.pick(rng)
    address = address_in_departement(rng, moved_in, commune)
    address.numvoie = str(1 + int(rng.random() * 20))
    address.libtypevoie = "PLACE"
    address.nomvoie = "DE L HOTEL DE VILLE"
    address.complideadr = ""
    address.compladr = pick(rng, _DOMICILIATIONS)
    address.typeadr = "P"
    return address


def address_outside(rng: random.Random, moved_in: date) -> tuple[Address, OutsideCommune]:
    """An address in Paris or a neighbouring département (75, 77, 94, 95)."""
    place = pick(rng, OUTSIDE_COMMUNES)
    address = Address(
        numvoie=str(1 + int(rng.random() ** 1.7 * 180)),
        libtypevoie=STREET_TYPES.pick(rng),
        nomvoie=pick(rng, STREET_NAMES),
        complideadr="",
        compladr="",
        numcom=place.numcom,
        codepos=place.codepos,
        nomcom=place.nomcom,
        localite=place.localite,
        dtemm=moved_in,
    )
    return address, place


def ft_agency(numcom: str) -> str:
    """France Travail local agency number (5 digits) serving a commune."""
    agency = FT_AGENCY_BY_COMMUNE.get(numcom)
    if agency is not None:
        return agency
    return f"{numcom[:2]}0{numcom[3:5]}"
