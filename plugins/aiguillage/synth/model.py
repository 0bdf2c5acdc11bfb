"""In-memory shape of one synthetic RSA dossier (household) on one day.

Only one household (or a few) exists in memory at a time: the generator rebuilds each one from its
seed when it needs it. Fields mirror what VRSB0801 and the France Travail files carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

ADULT_ROLES = ("DEM", "CJT")


@dataclass(slots=True)
class Address:
    """A postal address as CAF writes it (upper-case, unaccented), plus the France Travail locality."""

    numvoie: str
    libtypevoie: str
    nomvoie: str
    complideadr: str
    compladr: str
    numcom: str
    codepos: str
    nomcom: str
    localite: str  # France Travail spelling of the commune (official name, hyphens kept)
    dtemm: date
    typeadr: str = "D"

    @property
    def in_departement(self) -> bool:
        return self.numcom.startswith("93")

    def street_line(self) -> str:
        return f"{self.numvoie} {self.libtypevoie} {self.nomvoie}"


@dataclass(slots=True)
class FtRegistration:
    """A person's job-seeker record at France Travail."""

    identifiantpe: str
    date: date
    code: int
    active: bool = True


@dataclass(slots=True)
class Person:
    """One person of a dossier. `position` is stable within the household it was born into."""

    position: int
    role: str  # DEM, CJT, ENF, AUT
    sex: int
    nom: str
    nomnai: str
    prenom: str
    prenom2: str | None
    nomcomnai: str
    dtnai: date
    rgnai: int | None
    nir: str  # 15 characters, or "" when the person has none yet
    nir_known_to_caf: bool
    topvaliec: bool
    ddratdos: date
    rd: int | None  # TOPPERSDRODEVORSA; None: no MontantCalculDroitRSAPersonne block
    income: float = 0.0
    rd_entered: bool = False
    numdemrsaprece: str | None = None
    dfratdos: date | None = None
    ft: FtRegistration | None = None
    ft_known_to_caf: bool = False  # CAF carries the first 8 characters as IDASSEDIC

    @property
    def is_adult_beneficiary(self) -> bool:
        return self.role in ADULT_ROLES

    @property
    def qual(self) -> str:
        return "MR" if self.sex == 1 else "MME"


@dataclass(slots=True)
class FtMovement:
    """A France Travail movement of the day: kind is inscription, cessation or radiation."""

    kind: str
    person: Person
    date: date
    motif: str = ""


@dataclass(slots=True)
class Household:
    """An RSA dossier: identifiers, persons, addresses (current first) and the state of the right."""

    index: int
    matricule: str
    numdemrsa: str
    dtdemrsa: date
    persons: list[Person]
    sitfam: str
    ddsitfam: date
    addresses: list[Address]  # [0] is RGADR 01 (current); at most 3
    sans_domicile_fixe: bool
    etat: str  # ETATDOSRSA: Z, 0..6
    oridemrsa: str
    natpf: str
    ddnatdro: date
    refus: tuple[date, str] | None = None
    suspensions_droit: list[tuple[str, date]] = field(default_factory=list)
    suspensions_versement: list[tuple[str, date]] = field(default_factory=list)
    fin_droit: tuple[str, date] | None = None
    fin_droit_anterieur: tuple[str, date] | None = None
    organisme_cedant: tuple[str, str, str, date] | None = None  # fonorg, numorg, matricule, arrival
    organisme_prenant: tuple[str, str, date] | None = None  # fonorg, numorg, departure
    anomalie: str | None = None
    # What happened on the current day (daily flows only).
    events: list[tuple[date, str, str]] = field(default_factory=list)  # DTLIQ, HEULIQ, FG
    ft_movements: list[FtMovement] = field(default_factory=list)

    def begin_day(self) -> None:
        """Forget the previous day's facts; persons who left the dossier are gone for good."""
        self.events.clear()
        self.ft_movements.clear()
        if any(p.dfratdos is not None for p in self.persons):
            self.persons = [p for p in self.persons if p.dfratdos is None]
        for person in self.persons:
            person.rd_entered = False

    @property
    def current_address(self) -> Address:
        return self.addresses[0]

    def adults(self) -> list[Person]:
        return [p for p in self.persons if p.role in ADULT_ROLES and p.dfratdos is None]
