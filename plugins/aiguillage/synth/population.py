"""Build one household from its seed: the initial picture, a brand-new dossier, or a split-off one.

Nothing here keeps state between households: household `index` is a pure function of
(seed, index, start date), which is what lets the generator stream millions of them. Features that
link households (homonyms) are derived from shared small seeds, not from a global registry.
"""

from __future__ import annotations

import _random
import random
from dataclasses import dataclass
from datetime import date, timedelta

from aiguillage.synth.identity import temporary_nirs_at_start
from aiguillage.synth.model import Address, FtRegistration, Household, Person
from aiguillage.synth.names import (
    CHILD_FEMALE_FIRST_NAMES,
    CHILD_MALE_FIRST_NAMES,
    ORIGIN_PICKER,
    UNISEX_FIRST_NAMES,
    OriginGroup,
)
from aiguillage.synth.places import (
    Birthplace,
    address_in_departement,
    address_outside,
    domiciliation_address,
    foreign_birthplace,
    french_birthplace,
)
from aiguillage.synth.rng import (
    STREAM_FT_EXTRA,
    STREAM_HOMONYM,
    STREAM_SPLIT,
    WeightedPicker,
    derived_random,
    household_seed,
    pick,
)

# ETATDOSRSA of the monthly picture: mostly open and payable, every code present.
ETAT_PICKER = WeightedPicker(("2", "3", "4", "5", "6", "1", "0", "Z"), (78.5, 3.5, 6, 6, 2, 1.5, 1.5, 1))
MOTIFS_SUSPENSION_VERSEMENT = ("01", "02", "04", "05", "06", "09", "36", "44", "70", "84", "85", "CG", "CV")
MOTIFS_SUSPENSION_DROIT = ("DL", "DM", "GK", "GL")
MOTIFS_CLOTURE = WeightedPicker(("ECH", "MUT", "PCG", "RAU", "RFD", "RGD"), (40, 15, 8, 12, 20, 5))
MOTIFS_REFUS = ("DSD", "F02", "F04", "F09", "F85", "F97", "FDB", "FDD", "PCG")
FT_CATEGORY = WeightedPicker((1, 2, 3, 4, 5, 6, 7, 8), (60, 10, 5, 8, 10, 3, 2, 2))
_CHILDREN_COUNT = WeightedPicker((1, 2, 3, 4, 5), (40, 32, 17, 8, 3))
_SITFAM_SINGLE = WeightedPicker(("CEL", "DIV", "SEF", "VEU"), (70, 14, 12, 4))
_SITFAM_PARENT = WeightedPicker(("CEL", "DIV", "SEF", "VEU", "ISO"), (55, 18, 20, 3, 4))
_SITFAM_COUPLE = WeightedPicker(("MAR", "VIM", "PAC"), (50, 35, 15))
_CORSICA = {"2A": "19", "2B": "18"}
_seed_random = _random.Random.seed
_OTHER_CAF = ("751", "941", "951", "771", "921", "781")

# Scrambling constants coprime with the powers of ten they are used modulo: index -> unique number.
_MATRICULE_FACTOR = 6_180_339
_NUMDEMRSA_FACTOR = 61_803_399
_IDENTIFIANTPE_FACTOR = 61_803_398_877


@dataclass(frozen=True, slots=True)
class GenerationContext:
    """Parameters every household builder needs."""

    seed: int
    start: date
    n_initial: int

    @property
    def homonym_buckets(self) -> int:
        # About two households per shared identity.
        return max(2, self.n_initial // 300)


def matricule_for(seed: int, index: int, long: bool) -> str:
    """CAF allocataire number: an integer, 7 digits for most (fewer when leading zeros drop); one
    dossier in three on 15 digits, as the CNAF's software writes it: the 7-digit number then 8 zeros
    (the first 7 characters are the allocataire number either way)."""
    value = (index * _MATRICULE_FACTOR + seed * 104_729) % 10_000_000
    if long:
        return str(10_000_000 + value)
    return f"{value:07d}00000000" if index % 3 == 0 else str(value)


def numdemrsa_for(seed: int, index: int) -> str:
    """RSA dossier number (11 characters), unique per household index."""
    return f"931{(index * _NUMDEMRSA_FACTOR + seed * 7_907) % 100_000_000:08d}"


def identifiantpe_for(seed: int, key: int) -> str:
    """France Travail identifier: 7 digits, 1 letter or digit, 3 digits; unique per key."""
    digits = f"{(key * _IDENTIFIANTPE_FACTOR + seed * 15_485_863) % 100_000_000_000:011d}"
    middle = "ABCDEFGHJK"[int(digits[7])] if int(digits[8]) < 8 else digits[7]
    return f"{digits[:7]}{middle}{digits[8:]}"


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def _birth_date(rng: random.Random, ref_ord: int, min_age: float, max_age: float) -> date:
    return date.fromordinal(ref_ord - int((min_age + (max_age - min_age) * rng.random()) * 365.25))


def _nir_for(rng: random.Random, sex: int, born: date, place: Birthplace, unknown_month: bool) -> str:
    """A synthetic NIR with a valid key (same result as nir.make_nir, without its checks: hot path)."""
    month = 20 + int(rng.random() * 23) if unknown_month else born.month
    body = (
        f"{sex}{born.year % 100:02d}{month:02d}{place.dept}{place.commune}{1 + int(rng.random() * 999):03d}"
    )
    dept = place.dept
    numeric = int(body) if dept.isdigit() else int(body[:5] + _CORSICA[dept] + body[7:])
    return f"{body}{97 - numeric % 97:02d}"


def _first_name(rng: random.Random, group: OriginGroup, sex: int) -> str:
    return pick(rng, group.male_first_names if sex == 1 else group.female_first_names)


def _child_first_name(rng: random.Random, group: OriginGroup, sex: int) -> str:
    if rng.random() < 0.5:
        return _first_name(rng, group, sex)
    return pick(rng, CHILD_MALE_FIRST_NAMES if sex == 1 else CHILD_FEMALE_FIRST_NAMES)


def _adult(
    rng: random.Random,
    position: int,
    role: str,
    group: OriginGroup,
    sex: int,
    nom: str,
    nomnai: str,
    prenom: str,
    dtnai: date,
    ddratdos: date,
    with_duties: bool,
) -> Person:
    """An adult: birthplace, NIR (sometimes unknown to CAF), rights-and-duties flag and income."""
    abroad = rng.random() < group.born_abroad
    place = foreign_birthplace(rng, group) if abroad else french_birthplace(rng, group, adult=True)
    nir = _nir_for(rng, sex, dtnai, place, unknown_month=abroad and rng.random() < 0.02)
    known = rng.random() >= (0.08 if abroad else 0.015)
    if not known and rng.random() < 0.6:
        nir = ""  # recent arrival: no NIR yet at all
    rd: int | None
    income = 0.0
    if not with_duties:
        rd = None
    else:
        u = rng.random()
        if u < 0.03:
            rd = None  # no MontantCalculDroitRSAPersonne: the flag is unknown
        elif u < 0.18:
            rd = 0
            income = round(500 + rng.random() * 1100, 2)
        else:
            rd = 1
            income = round(rng.random() * 499, 2) if rng.random() < 0.3 else 0.0
    # Positional: this runs for every adult of millions of households (keywords cost 1 µs more).
    return Person(
        position,
        role,
        sex,
        nom,
        nomnai,
        prenom,
        _first_name(rng, group, sex) if rng.random() < 0.15 else None,  # prenom2
        place.nomcomnai,
        dtnai,
        1 if rng.random() < 0.8 else None,  # rgnai
        nir,
        known and nir != "",  # nir_known_to_caf
        known and rng.random() < 0.7,  # topvaliec
        ddratdos,
        rd,
        income,
    )


def _child_birthplace(rng: random.Random, group: OriginGroup, parents_abroad: bool) -> Birthplace:
    if parents_abroad and rng.random() < 0.12:
        return foreign_birthplace(rng, group)
    return french_birthplace(rng, group, adult=False)


def _child(
    rng: random.Random,
    position: int,
    group: OriginGroup,
    nom: str,
    dtnai: date,
    ddratdos: date,
    place: Birthplace,
    rgnai: int | None,
) -> Person:
    sex = 1 if rng.random() < 0.51 else 2
    nir = _nir_for(rng, sex, dtnai, place, unknown_month=False)
    known = rng.random() < 0.45
    return Person(  # positional, as in _adult
        position,
        "ENF",
        sex,
        nom,
        nom,  # nomnai
        _child_first_name(rng, group, sex),
        None,  # prenom2
        place.nomcomnai,
        dtnai,
        rgnai,
        nir if known else "",
        known,  # nir_known_to_caf
        False,  # topvaliec
        ddratdos,
        0 if rng.random() < 0.4 else None,  # rd
    )


def _homonym_identity(ctx: GenerationContext, bucket: int) -> tuple[OriginGroup, int, str, str, date]:
    """Identity shared by every household drawing the same bucket: same names and birth date."""
    rng = derived_random(ctx.seed, STREAM_HOMONYM, bucket)
    group = ORIGIN_PICKER.pick(rng)
    sex = 1 if rng.random() < 0.55 else 2
    return (
        group,
        sex,
        pick(rng, group.last_names),
        _first_name(rng, group, sex),
        _birth_date(rng, ctx.start.toordinal(), 26, 58),
    )


def _register_ft(
    rng: random.Random, seed: int, household: int, person: Person, since: date, ref: date
) -> None:
    """Give a person a France Travail registration dated between `since` and `ref`."""
    span = max(1, (ref - since).days)
    registered = ref - timedelta(days=1 + int(span * rng.random() ** 1.5) % span)
    person.ft = FtRegistration(
        identifiantpe=identifiantpe_for(seed, household * 8 + person.position),
        date=registered,
        code=FT_CATEGORY.pick(rng),
    )
    person.ft_known_to_caf = rng.random() < 0.35


def _addresses(rng: random.Random, ref_ord: int, dtdemrsa: date, outside_now: bool) -> list[Address]:
    """Current address (RGADR 01) and sometimes one or two older ones."""
    moved_in = date.fromordinal(min(ref_ord - 1, dtdemrsa.toordinal() + int(rng.random() * 900) - 450))
    current = address_outside(rng, moved_in)[0] if outside_now else address_in_departement(rng, moved_in)
    addresses = [current]
    u = rng.random()
    older = 2 if u < 0.03 else (1 if u < 0.15 else 0)
    previous_move = moved_in.toordinal()
    for _ in range(older):
        previous_move -= 200 + int(rng.random() * 1500)
        when = date.fromordinal(previous_move)
        addresses.append(
            address_in_departement(rng, when) if rng.random() < 0.75 else address_outside(rng, when)[0]
        )
    return addresses


def _right_state(rng: random.Random, household: Household, ref_ord: int) -> None:
    """Blocks that go with the state of the right (suspension, closure, refusal)."""
    etat = household.etat
    if etat == "4":
        household.suspensions_versement.append(
            (
                pick(rng, MOTIFS_SUSPENSION_VERSEMENT),
                first_of_month(date.fromordinal(ref_ord - int(rng.random() * 150))),
            )
        )
    elif etat == "3":
        household.suspensions_droit.append(
            (
                pick(rng, MOTIFS_SUSPENSION_DROIT),
                first_of_month(date.fromordinal(ref_ord - int(rng.random() * 150))),
            )
        )
    elif etat == "5":
        household.fin_droit = (
            MOTIFS_CLOTURE.pick(rng),
            date.fromordinal(ref_ord - 1 - int(rng.random() * 80)),
        )
    elif etat == "6":
        previous_month_end = first_of_month(date.fromordinal(ref_ord)) - timedelta(days=1)
        household.fin_droit_anterieur = (MOTIFS_CLOTURE.pick(rng), first_of_month(previous_month_end))
    elif etat == "1":
        household.refus = (date.fromordinal(ref_ord - 1 - int(rng.random() * 50)), pick(rng, MOTIFS_REFUS))


def compose_household(
    ctx: GenerationContext, index: int, rng: random.Random, ref: date, new_demand: bool
) -> Household:
    """Draw a whole household. `ref` is the date of the picture; `new_demand`: a demand made that day."""
    seed = ctx.seed
    ref_ord = ref.toordinal()
    r = rng.random
    group = ORIGIN_PICKER.pick(rng)
    etat = "0" if new_demand else ETAT_PICKER.pick(rng)
    if etat == "0":
        dtdemrsa = ref if new_demand else date.fromordinal(ref_ord - 1 - int(r() * 40))
    else:
        dtdemrsa = date.fromordinal(ref_ord - 31 - int(4000 * r() ** 1.6))
    attached = first_of_month(dtdemrsa)
    with_duties = etat != "0"

    u = r()
    couple = 0.72 <= u < 0.97
    n_children = (
        _CHILDREN_COUNT.pick(rng)
        if (0.50 <= u < 0.72 or 0.79 <= u < 0.97 or (u >= 0.97 and r() < 0.4))
        else 0
    )
    with_other = u >= 0.97
    if couple:
        dem_sex = 1 if r() < 0.75 else 2
    elif n_children:
        dem_sex = 2 if r() < 0.88 else 1
    else:
        dem_sex = 1 if r() < 0.58 else 2
    youngest_parent_age = 20 + n_children * 1.5
    dem_age_min, dem_age_max = (youngest_parent_age, 56) if n_children else (25, 64)
    dem_dtnai = _birth_date(rng, ref_ord, dem_age_min, dem_age_max)
    dem_nom = pick(rng, group.last_names)
    dem_prenom = _first_name(rng, group, dem_sex)
    if r() < 0.006:  # homonym: this DEM shares names and birth date with DEMs of other households
        group, dem_sex, dem_nom, dem_prenom, dem_dtnai = _homonym_identity(
            ctx, int(r() * ctx.homonym_buckets)
        )
    same_first_name = couple and r() < 0.04
    if same_first_name:
        dem_prenom = pick(rng, UNISEX_FIRST_NAMES)

    persons: list[Person] = []
    dem = _adult(
        rng, 0, "DEM", group, dem_sex, dem_nom, dem_nom, dem_prenom, dem_dtnai, attached, with_duties
    )
    persons.append(dem)
    if couple:
        cjt_group = group if r() < 0.8 else ORIGIN_PICKER.pick(rng)
        cjt_sex = (3 - dem_sex) if r() < 0.97 else dem_sex
        cjt_nomnai = pick(rng, cjt_group.last_names)
        cjt_nom = dem_nom if (cjt_sex == 2 and dem_sex == 1 and r() < 0.6) else cjt_nomnai
        cjt_prenom = dem_prenom if same_first_name else _first_name(rng, cjt_group, cjt_sex)
        # within about 5 years of the DEM's age, and an adult
        cjt_ord = dem_dtnai.toordinal() + int((r() - 0.4) * 3650)
        cjt_dtnai = date.fromordinal(min(cjt_ord, ref_ord - int(18.5 * 365.25)))
        joined = attached if r() < 0.85 else first_of_month(date.fromordinal(ref_ord - int(r() * 700)))
        persons.append(
            _adult(
                rng,
                1,
                "CJT",
                cjt_group,
                cjt_sex,
                cjt_nom,
                cjt_nomnai,
                cjt_prenom,
                cjt_dtnai,
                max(joined, attached),
                with_duties,
            )
        )
    if with_other:
        old_parent = r() < 0.6
        other_sex = 1 if r() < 0.5 else 2
        other_dtnai = _birth_date(rng, ref_ord, 62, 82) if old_parent else _birth_date(rng, ref_ord, 20, 25)
        # a parent of the DEM (own name) or a grown-up child (the DEM's name)
        other_nom = pick(rng, group.last_names) if old_parent else dem_nom
        other = _adult(
            rng,
            len(persons),
            "AUT",
            group,
            other_sex,
            other_nom,
            other_nom,
            _first_name(rng, group, other_sex),
            other_dtnai,
            attached,
            False,
        )
        other.rd = 0 if r() < 0.7 else None
        persons.append(other)

    if n_children:
        father_nom = dem_nom if (dem_sex == 1 or r() < 0.7) else pick(rng, group.last_names)
        parent_age_days = ref_ord - dem_dtnai.toordinal()
        max_child_age = max(0.1, min(19.9, (parent_age_days / 365.25) - 17.5))
        parents_abroad = dem.nir[5:7] == "99" if dem.nir else True
        previous: Person | None = None
        previous_place: Birthplace | None = None
        twins = n_children >= 2 and r() < 0.05
        for rank in range(n_children):
            if twins and rank == 1 and previous is not None and previous_place is not None:
                # twins: same birth date and place, birth ranks 1 and 2
                previous.rgnai = 1
                child = _child(
                    rng,
                    len(persons),
                    group,
                    father_nom,
                    previous.dtnai,
                    previous.ddratdos,
                    previous_place,
                    rgnai=2,
                )
            else:
                dtnai = _birth_date(rng, ref_ord, 0.05, max_child_age)
                since = max(attached, first_of_month(dtnai))
                previous_place = _child_birthplace(rng, group, parents_abroad)
                child = _child(
                    rng,
                    len(persons),
                    group,
                    father_nom,
                    dtnai,
                    since,
                    previous_place,
                    rgnai=1 if r() < 0.5 else None,
                )
            persons.append(child)
            previous = child

    sans_domicile_fixe = r() < 0.012
    outside_now = not new_demand and r() < 0.012
    if sans_domicile_fixe:
        addresses = [domiciliation_address(rng, date.fromordinal(ref_ord - 30 - int(r() * 600)))]
    else:
        addresses = _addresses(rng, ref_ord, dtdemrsa, outside_now)
    if r() < 0.03 and not sans_domicile_fixe:
        addresses[0].compladr = f"CHEZ {'MME' if r() < 0.5 else 'M'} {pick(rng, group.last_names)}"

    if couple:
        sitfam = _SITFAM_COUPLE.pick(rng)
    elif n_children:
        sitfam = _SITFAM_PARENT.pick(rng)
    else:
        sitfam = _SITFAM_SINGLE.pick(rng)
    ddsitfam = dem_dtnai if sitfam == "CEL" else date.fromordinal(dtdemrsa.toordinal() - int(r() * 3000))

    single_parent_young = n_children and not couple and r() < 0.3
    natpf = "RSI" if single_parent_young else ("RSJ" if dem_dtnai.toordinal() > ref_ord - 25 * 365 else "RSD")
    household = Household(
        index=index,
        matricule=matricule_for(seed, index, long=r() < 0.02),
        numdemrsa=numdemrsa_for(seed, index),
        dtdemrsa=dtdemrsa,
        persons=persons,
        sitfam=sitfam,
        ddsitfam=ddsitfam,
        addresses=addresses,
        sans_domicile_fixe=sans_domicile_fixe,
        etat=etat,
        oridemrsa="RMI" if dtdemrsa.year < 2010 and r() < 0.5 else "DEM",
        natpf=natpf,
        ddnatdro=attached,
    )
    _right_state(rng, household, ref_ord)
    if outside_now and r() < 0.6:
        household.organisme_prenant = ("CAF", pick(rng, _OTHER_CAF), first_of_month(ref) + timedelta(days=31))
    if r() < 0.02:
        household.organisme_cedant = (
            "CAF",
            pick(rng, _OTHER_CAF),
            str(1_000_000 + int(r() * 8_999_999)),
            first_of_month(dtdemrsa),
        )
    if r() < 0.03:
        # A previous dossier, closed long ago with another CAF (never a number in use here).
        dem.numdemrsaprece = pick(rng, _OTHER_CAF) + numdemrsa_for(seed, index)[3:]
    if r() < 0.005:
        household.anomalie = "ADRESSE INCOMPLETE" if r() < 0.5 else "NIR NON CERTIFIE"

    if not new_demand:
        for person in persons:
            if person.role == "ENF" or not person.nir:
                continue
            chance = 0.55 if person.rd == 1 else (0.12 if person.rd == 0 else 0.35)
            if r() < chance:
                adult_since = date.fromordinal(person.dtnai.toordinal() + 6575)
                _register_ft(rng, seed, index, person, max(adult_since, dtdemrsa - timedelta(days=730)), ref)
    return household


def build_initial_household(
    ctx: GenerationContext, index: int, rng: random.Random | None = None
) -> Household:
    """Household `index` as the monthly flow of the start date shows it.

    `rng`, if given, is reseeded and reused (saves creating one per household in long loops).
    """
    if rng is None:
        rng = random.Random(household_seed(ctx.seed, index))
    else:
        # The C-level seed skips random.Random.seed's Python wrapper (same state for an int seed).
        _seed_random(rng, household_seed(ctx.seed, index))
    household = compose_household(ctx, index, rng, ctx.start, new_demand=False)
    temporary_nirs_at_start(ctx.seed, household)
    return household


def build_new_household(ctx: GenerationContext, index: int, day: date) -> Household:
    """A dossier whose RSA demand was registered on `day` (ETATDOSRSA 0)."""
    rng = random.Random(household_seed(ctx.seed, index))
    household = compose_household(ctx, index, rng, day, new_demand=True)
    temporary_nirs_at_start(ctx.seed, household)
    return household


def choose_leavers(ctx: GenerationContext, parent: Household, new_index: int, day: date) -> list[Person]:
    """Who leaves `parent` to open dossier `new_index`: a conjoint, another adult or a grown-up child,
    sometimes with the children. Empty when nobody can leave. Deterministic for (parent state, index)."""
    rng = derived_random(ctx.seed, STREAM_SPLIT, new_index)
    present = [p for p in parent.persons if p.dfratdos is None]
    adult_limit = day.toordinal() - 18 * 365
    candidates = (
        [p for p in present if p.role == "CJT"]
        or [p for p in present if p.role == "AUT"]
        or [p for p in present if p.role == "ENF" and p.dtnai.toordinal() < adult_limit]
    )
    if not candidates:
        return []
    leaver = pick(rng, candidates)
    leavers = [leaver]
    if leaver.role == "CJT" and rng.random() < 0.4:
        leavers += [p for p in present if p.role == "ENF" and p.dtnai.toordinal() >= adult_limit]
    return leavers


def build_split_household(ctx: GenerationContext, index: int, parent: Household, day: date) -> Household:
    """Dossier `index` opened on `day` by persons leaving `parent` (whose state is the day before)."""
    rng = random.Random(household_seed(ctx.seed, index))
    leavers = choose_leavers(ctx, parent, index, day)
    if not leavers:
        raise ValueError(f"household {parent.index} has nobody who can leave on {day}")
    attached = first_of_month(day)
    persons = []
    for position, person in enumerate(leavers):
        moved = Person(**{name: getattr(person, name) for name in Person.__slots__})
        moved.position = position
        moved.ddratdos = attached
        moved.dfratdos = None
        moved.rd_entered = False
        if position == 0:
            moved.role = "DEM"
            moved.numdemrsaprece = parent.numdemrsa
        persons.append(moved)
    if rng.random() < 0.8:
        current = address_in_departement(rng, day)
    else:
        current = address_outside(rng, day)[0]
    previous = parent.current_address
    old = Address(**{name: getattr(previous, name) for name in Address.__slots__})
    etat = "2" if rng.random() < 0.85 else "0"
    household = Household(
        index=index,
        matricule=matricule_for(ctx.seed, index, long=False),
        numdemrsa=numdemrsa_for(ctx.seed, index),
        dtdemrsa=day,
        persons=persons,
        sitfam="SEF" if leavers[0].role == "CJT" else "CEL",
        ddsitfam=day if leavers[0].role == "CJT" else leavers[0].dtnai,
        addresses=[current, old],
        sans_domicile_fixe=False,
        etat=etat,
        oridemrsa="DEM",
        natpf="RSI" if len(persons) > 1 and persons[0].sex == 2 else "RSD",
        ddnatdro=attached,
    )
    if persons[0].rd is None and etat == "2":
        persons[0].rd = 1
    return household


def build_ft_only_person(
    ctx: GenerationContext, number: int, registered: date | None
) -> tuple[Person, Address]:
    """Job seeker `number` unknown to CAF (not an RSA beneficiary), with an address and a registration.

    `registered`: registration date, or None for the stock (a date in the past two years).
    """
    rng = derived_random(ctx.seed, STREAM_FT_EXTRA, number)
    group = ORIGIN_PICKER.pick(rng)
    sex = 1 if rng.random() < 0.52 else 2
    ref_ord = ctx.start.toordinal()
    nom = pick(rng, group.last_names)
    person = _adult(
        rng,
        0,
        "DEM",
        group,
        sex,
        nom,
        nom,
        _first_name(rng, group, sex),
        _birth_date(rng, ref_ord, 18, 62),
        ctx.start,
        with_duties=False,
    )
    if not person.nir:
        place = french_birthplace(rng, group, adult=True)
        person.nomcomnai = place.nomcomnai
        person.nir = _nir_for(rng, sex, person.dtnai, place, unknown_month=False)
    moved_in = date.fromordinal(ref_ord - 30 - int(rng.random() * 2000))
    address = (
        address_in_departement(rng, moved_in) if rng.random() < 0.9 else address_outside(rng, moved_in)[0]
    )
    when = registered if registered is not None else date.fromordinal(ref_ord - 1 - int(rng.random() * 700))
    person.ft = FtRegistration(
        identifiantpe_for(ctx.seed, 1_000_000_000 + number), when, FT_CATEGORY.pick(rng)
    )
    return person, address
