"""Identity events of the synthetic population: a NIR that appears later, a temporary NIR certified.

Real CAF flows list people whose NIR the CAF does not know yet (recent arrivals) and people known
under a temporary number (first digit 7 or 8, sex + 6) while the national register certifies their
identity; the NIR comes, or is replaced by the certified one, in a later daily flow. The warehouse
must keep such a person's id (identity rules NIR_APPARU and NIR_CERTIFIE).

Every draw here comes from its own stream (STREAM_IDENTITY): the rest of the population and of the
movement schedule is drawn exactly as without these events.
"""

from __future__ import annotations

import random

from aiguillage.nir import nir_key
from aiguillage.synth.model import ADULT_ROLES, Household, Person
from aiguillage.synth.names import ORIGIN_GROUPS
from aiguillage.synth.rng import STREAM_IDENTITY, derive_seed, pick

# Adults born abroad whom the CAF knows under a temporary NIR in the first picture.
TEMPORARY_SHARE_BORN_ABROAD = 0.05
# Households drawn each day for an identity event (initial population): most have nobody whose NIR
# can change, so about one person in 400 of those who can gets their NIR (or its certification) on
# a given day, i.e. a wait of a year or so, as for a certification by the national register.
DRAW_RATE = 0.002

_COUNTRY_OF = {place: country for group in ORIGIN_GROUPS for place, country in group.foreign_birthplaces}


def _unit(*parts: int) -> float:
    """A number in [0, 1) fixed by ``parts``."""
    return derive_seed(*parts) / 2.0**64


def _with_key(body: str) -> str:
    return f"{body}{nir_key(body):02d}"


def is_temporary(nir: str) -> bool:
    return nir[:1] in ("7", "8")


def temporary_nir(person: Person, order: int) -> str | None:
    """A temporary number for ``person``: sex + 6, birth year and month, born abroad (99 + country).
    Built from the person's NIR when they have one, else from their birth; None when the country of
    birth is not known."""
    if person.nir:
        return _with_key(f"{person.sex + 6}{person.nir[1:10]}{order:03d}")
    country = _COUNTRY_OF.get(person.nomcomnai)
    if country is None:
        return None
    return _with_key(f"{person.sex + 6}{person.dtnai.year % 100:02d}{person.dtnai.month:02d}99{country}{order:03d}")


def certified_nir(person: Person, order: int) -> str:
    """The certified NIR replacing a temporary one: the real sex digit and another order number."""
    return _with_key(f"{person.sex}{person.nir[1:10]}{order:03d}")


def temporary_nirs_at_start(seed: int, household: Household) -> None:
    """Give some adults born abroad, known to the CAF, a temporary NIR in place of their NIR (which
    they get later, by an identity event)."""
    for person in household.persons:
        if (person.role in ADULT_ROLES and person.nir_known_to_caf and person.nir[5:7] == "99"
                and _unit(seed, STREAM_IDENTITY, household.index, person.position) < TEMPORARY_SHARE_BORN_ABROAD):
            order = 1 + int(_unit(seed, STREAM_IDENTITY, household.index, person.position, 1) * 999)
            person.nir = temporary_nir(person, order) or person.nir


def _can_change(person: Person) -> bool:
    if person.nir_known_to_caf:
        return is_temporary(person.nir)
    return bool(person.nir) or person.nomcomnai in _COUNTRY_OF


def apply_identity_event(household: Household, rng: random.Random) -> bool:
    """One adult of ``household`` gets their NIR (known to the CAF at last, or a temporary number when
    they had none) or the certified NIR replacing their temporary one. False when nobody can."""
    candidates = [p for p in household.adults() if _can_change(p)]
    if not candidates:
        return False
    person = pick(rng, candidates)
    order = 1 + int(rng.random() * 999)
    if person.nir_known_to_caf:
        person.nir = certified_nir(person, order)
    elif not person.nir:
        person.nir = temporary_nir(person, order) or person.nir
        person.nir_known_to_caf = True
    else:
        person.nir_known_to_caf = True
    return True


def draw_identity_events(seed: int, day: int, households_total: int, n_initial: int,
                         taken: dict) -> list[int]:
    """The households drawn on ``day`` for an identity event, among those without another event."""
    rng = random.Random(derive_seed(seed, STREAM_IDENTITY, -1, day))
    count = int(n_initial * DRAW_RATE) + (1 if rng.random() < (n_initial * DRAW_RATE) % 1 else 0)
    drawn = []
    for _ in range(count):
        index = int(rng.random() * households_total)
        if index not in taken and index not in drawn:
            drawn.append(index)
    return drawn
