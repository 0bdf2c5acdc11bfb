"""Daily movements: which households change on which day, and how a household looks on any day.

The schedule is drawn once, day by day, from per-day random streams. It only stores compact integer
arrays (household index, event kind, parameter) — about 1 % of the households per day — never the
households themselves. A household's state on day d is rebuilt on demand: build it from its seed,
then replay its own events up to d (`Timeline.household_at`).
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum

from aiguillage.synth.identity import apply_identity_event, draw_identity_events
from aiguillage.synth.model import FtMovement, FtRegistration, Household, Person
from aiguillage.synth.places import address_in_departement, address_outside
from aiguillage.synth.population import (
    FT_CATEGORY,
    MOTIFS_CLOTURE,
    MOTIFS_REFUS,
    MOTIFS_SUSPENSION_DROIT,
    MOTIFS_SUSPENSION_VERSEMENT,
    GenerationContext,
    build_initial_household,
    build_new_household,
    build_split_household,
    choose_leavers,
    first_of_month,
    identifiantpe_for,
)
from aiguillage.synth.rng import STREAM_EVENT, STREAM_SCHEDULE, WeightedPicker, derived_random, pick


class Kind(IntEnum):
    NEW = 1  # a new RSA demand (new dossier, ETATDOSRSA 0)
    OPEN = 2  # 0 -> 2
    REFUSE = 3  # 0 -> 1
    SUSPEND_PAYMENT = 4  # 2 -> 4
    SUSPEND_RIGHT = 5  # 2 -> 3
    RESUME = 6  # 3/4 -> 2
    CLOSE = 7  # -> 5
    MOVE_WITHIN = 8  # new current address in the département
    MOVE_OUT = 9  # new current address outside, dossier transferred to another CAF
    DUTIES_FLIP = 10  # a person enters or leaves rights and duties
    RESOURCES = 11  # resources declared, right recomputed
    SPLIT_OUT = 12  # a person leaves the dossier (param: the new dossier)
    SPLIT_IN = 13  # the dossier opened by that person (param: the old dossier)
    FT_REGISTER = 14
    FT_AUTO_REGISTER = 15  # automatic registration of new beneficiaries (loi plein emploi)
    FT_CESSATION = 16
    FT_RADIATION = 17
    IDENTITY = 18  # a NIR known at last, or a temporary NIR certified (synth/identity.py)


# Share of the initial households that get a CAF event / a France Travail movement each day.
CAF_DAILY_RATE = 0.006
FT_DAILY_RATE = 0.003
FT_EXTRA_DAILY_RATE = 0.0003  # job seekers unknown to CAF registering each day
FT_EXTRA_STOCK_RATE = 0.04  # job seekers unknown to CAF in the stock

_RANDOM_CAF_KINDS = WeightedPicker(
    (
        Kind.SUSPEND_PAYMENT,
        Kind.SUSPEND_RIGHT,
        Kind.RESUME,
        Kind.CLOSE,
        Kind.MOVE_WITHIN,
        Kind.MOVE_OUT,
        Kind.DUTIES_FLIP,
        Kind.RESOURCES,
        Kind.SPLIT_OUT,
        Kind.NEW,
    ),
    (9, 4, 8, 12, 14, 5, 18, 12, 3, 15),
)
_RANDOM_FT_KINDS = WeightedPicker((Kind.FT_REGISTER, Kind.FT_CESSATION, Kind.FT_RADIATION), (50, 30, 20))

FG_CODES = {
    Kind.NEW: "DEMRSA",
    Kind.OPEN: "OUVDRO",
    Kind.REFUSE: "REFDRO",
    Kind.SUSPEND_PAYMENT: "SUSVERS",
    Kind.SUSPEND_RIGHT: "SUSDRO",
    Kind.RESUME: "REPRDRO",
    Kind.CLOSE: "CLODRO",
    Kind.MOVE_WITHIN: "DEMENAG",
    Kind.MOVE_OUT: "MUTSORT",
    Kind.DUTIES_FLIP: "CHGDD",
    Kind.RESOURCES: "CHGRESS",
    Kind.SPLIT_OUT: "CHGSITFAM",
    Kind.SPLIT_IN: "DEMRSA",
    Kind.IDENTITY: "CHGIDENT",
}
FT_CESSATION_MOTIFS = (
    "REPRISE D EMPLOI",
    "ENTREE EN FORMATION",
    "ARRET MALADIE",
    "MATERNITE",
    "DEFAUT D ACTUALISATION",
    "CHANGEMENT DE SITUATION",
)
FT_RADIATION_MOTIFS = (
    "ABSENCE A CONVOCATION",
    "INSUFFISANCE DE RECHERCHE",
    "REFUS D ACTION",
    "REFUS D OFFRE RAISONNABLE",
    "FAUSSE DECLARATION",
)


@dataclass(slots=True)
class DayEvents:
    """Events of one day, sorted by household index (one event per household per day)."""

    households: array = field(default_factory=lambda: array("q"))
    kinds: array = field(default_factory=lambda: array("b"))
    params: array = field(default_factory=lambda: array("q"))
    ft_extra_first: int = 0  # France Travail-only persons registering that day: [first, first + count)
    ft_extra_count: int = 0

    def find(self, index: int) -> int:
        """Position of household `index` in this day's events, or -1."""
        position = bisect_left(self.households, index)
        if position < len(self.households) and self.households[position] == index:
            return position
        return -1

    def __len__(self) -> int:
        return len(self.households)


class Timeline:
    """Schedule of movements over `days` days and household replay. Day 0 is the start date."""

    def __init__(self, ctx: GenerationContext, days: int) -> None:
        self.ctx = ctx
        self.days = days
        self.per_day: list[DayEvents] = [DayEvents()]
        self.created_day = array("i")  # for household n_initial + j: the day it was created
        self.created_from = array("q")  # ... and the household it split from (-1: new demand)
        self.ft_extra_stock = max(3, round(ctx.n_initial * FT_EXTRA_STOCK_RATE))
        self._ft_extra_next = self.ft_extra_stock
        self._initial_rng = random.Random(0)  # reseeded for every household
        pending: dict[int, list[tuple[int, Kind, int]]] = {}
        for day in range(1, days):
            self.per_day.append(self._draw_day(day, pending))

    # ----- schedule -----

    @property
    def households_total(self) -> int:
        return self.ctx.n_initial + len(self.created_day)

    def date_of(self, day: int) -> date:
        return self.ctx.start + timedelta(days=day)

    def _create(self, day: int, parent: int) -> int:
        self.created_day.append(day)
        self.created_from.append(parent)
        return self.households_total - 1

    def _draw_day(self, day: int, pending: dict[int, list[tuple[int, Kind, int]]]) -> DayEvents:
        rng = derived_random(self.ctx.seed, STREAM_SCHEDULE, day)
        n_initial = self.ctx.n_initial
        today: dict[int, tuple[Kind, int]] = {}
        for index, kind, param in pending.pop(day, []):
            today[index] = (kind, param)

        def free_household() -> int:
            for _ in range(4):
                index = int(rng.random() * self.households_total)
                if index not in today:
                    return index
            return -1

        for _ in range(max(1, round(n_initial * CAF_DAILY_RATE))):
            kind = _RANDOM_CAF_KINDS.pick(rng)
            if kind == Kind.NEW:
                created = self._create(day, -1)
                today[created] = (Kind.NEW, -1)
                later = day + 1 + int(rng.random() * 3)
                follow_up = Kind.OPEN if rng.random() < 0.9 else Kind.REFUSE
                pending.setdefault(later, []).append((created, follow_up, 0))
                if follow_up == Kind.OPEN:
                    pending.setdefault(later + 2 + int(rng.random() * 5), []).append(
                        (created, Kind.FT_AUTO_REGISTER, 0)
                    )
                continue
            if kind == Kind.SPLIT_OUT:
                parent = self._split_candidate(day, free_household)
                if parent >= 0:
                    created = self._create(day, parent)
                    today[parent] = (Kind.SPLIT_OUT, created)
                    today[created] = (Kind.SPLIT_IN, parent)
                    continue
                kind = Kind.RESOURCES
            index = free_household()
            if index < 0:
                continue
            today[index] = (kind, 0)

        for _ in range(max(1, round(n_initial * FT_DAILY_RATE))):
            index = free_household()
            if index >= 0:
                today[index] = (_RANDOM_FT_KINDS.pick(rng), 0)

        for index in draw_identity_events(self.ctx.seed, day, self.households_total, n_initial, today):
            today[index] = (Kind.IDENTITY, 0)

        events = DayEvents()
        for index in sorted(today):
            kind, param = today[index]
            events.households.append(index)
            events.kinds.append(kind)
            events.params.append(param)
        events.ft_extra_first = self._ft_extra_next
        events.ft_extra_count = max(1, round(n_initial * FT_EXTRA_DAILY_RATE)) if rng.random() < 0.8 else 0
        self._ft_extra_next += events.ft_extra_count
        return events

    def _split_candidate(self, day: int, free_household: Callable[[], int]) -> int:
        """A household in which someone can leave to open their own dossier on `day`, or -1.

        Only a quarter of dossiers have a conjoint or another adult: try a few."""
        created_index = self.households_total
        for _ in range(12):
            index = free_household()
            if index < 0:
                continue
            parent = self.household_at(index, day - 1)
            if parent.etat not in ("1", "5", "6") and choose_leavers(
                self.ctx, parent, created_index, self.date_of(day)
            ):
                return index
        return -1

    # ----- replay -----

    def initial_household(self, index: int) -> Household:
        """Household `index` on day 0 (fast path of the monthly flow; shares one Random)."""
        return build_initial_household(self.ctx, index, self._initial_rng)

    def household_at(self, index: int, day: int) -> Household:
        """State of household `index` at the end of `day`; its `events`/`ft_movements` are that day's."""
        ctx = self.ctx
        if index < ctx.n_initial:
            household = build_initial_household(ctx, index)
            first_day = 1
            last_event_day = 0
        else:
            created = self.created_day[index - ctx.n_initial]
            parent = self.created_from[index - ctx.n_initial]
            created_on = self.date_of(created)
            if parent < 0:
                household = build_new_household(ctx, index, created_on)
                _add_event(
                    household, derived_random(ctx.seed, STREAM_EVENT, index, created), created_on, Kind.NEW
                )
            else:
                parent_before = self.household_at(parent, created - 1)
                household = build_split_household(ctx, index, parent_before, created_on)
                _add_event(
                    household,
                    derived_random(ctx.seed, STREAM_EVENT, index, created),
                    created_on,
                    Kind.SPLIT_IN,
                )
            first_day = created + 1
            last_event_day = created
        for day_number in range(first_day, day + 1):
            events = self.per_day[day_number]
            position = events.find(index)
            if position < 0:
                continue
            household.begin_day()
            apply_event(
                ctx,
                household,
                Kind(events.kinds[position]),
                events.params[position],
                self.date_of(day_number),
                derived_random(ctx.seed, STREAM_EVENT, index, day_number),
            )
            last_event_day = day_number
        if last_event_day != day:
            household.begin_day()
        return household


# ----- applying one event -----


def _heuliq(rng: random.Random) -> str:
    seconds = 7 * 3600 + int(rng.random() * 14 * 3600)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _add_event(household: Household, rng: random.Random, day: date, kind: Kind) -> None:
    household.events.append((day, _heuliq(rng), FG_CODES[kind]))


def _ft_register(
    ctx: GenerationContext, household: Household, person: Person, day: date, rng: random.Random
) -> None:
    if person.ft is None:
        person.ft = FtRegistration(
            identifiantpe_for(ctx.seed, household.index * 8 + person.position), day, FT_CATEGORY.pick(rng)
        )
        person.ft_known_to_caf = False
    else:
        person.ft.date = max(day, person.ft.date + timedelta(days=1))
        person.ft.code = FT_CATEGORY.pick(rng)
        person.ft.active = True
    household.ft_movements.append(FtMovement("inscription", person, person.ft.date))


def _ft_leave(household: Household, person: Person, day: date, kind: str, motif: str) -> None:
    assert person.ft is not None
    person.ft.date = max(day, person.ft.date + timedelta(days=1))
    person.ft.active = False
    household.ft_movements.append(FtMovement(kind, person, person.ft.date, motif))


def apply_event(
    ctx: GenerationContext, household: Household, kind: Kind, param: int, day: date, rng: random.Random
) -> None:
    """Change `household` as `kind` says, adapting the event when it does not fit the current state
    (e.g. a suspension drawn for a closed dossier becomes a resources update)."""
    if kind == Kind.IDENTITY:
        if apply_identity_event(household, rng):
            _add_event(household, rng, day, kind)
        return
    etat = household.etat
    movement_date = day - timedelta(days=int(rng.random() * 3))  # FT files report the previous days
    if kind in (Kind.FT_REGISTER, Kind.FT_AUTO_REGISTER):
        candidates = [p for p in household.adults() if p.nir and (p.ft is None or not p.ft.active)]
        subject = [p for p in candidates if p.rd == 1]
        if kind == Kind.FT_AUTO_REGISTER:
            for person in subject:
                _ft_register(ctx, household, person, movement_date, rng)
        elif subject or candidates:
            _ft_register(ctx, household, pick(rng, subject or candidates), movement_date, rng)
        return
    if kind in (Kind.FT_CESSATION, Kind.FT_RADIATION):
        registered = [p for p in household.persons if p.ft is not None and p.ft.active]
        if registered:
            person = pick(rng, registered)
            if kind == Kind.FT_CESSATION:
                _ft_leave(household, person, movement_date, "cessation", pick(rng, FT_CESSATION_MOTIFS))
            else:
                _ft_leave(household, person, movement_date, "radiation", pick(rng, FT_RADIATION_MOTIFS))
        return

    # Adapt the drawn CAF event to the dossier's state.
    if kind in (Kind.SUSPEND_PAYMENT, Kind.SUSPEND_RIGHT):
        kind = kind if etat == "2" else (Kind.RESUME if etat in ("3", "4") else Kind.RESOURCES)
    elif kind == Kind.RESUME:
        kind = kind if etat in ("3", "4") else (Kind.SUSPEND_PAYMENT if etat == "2" else Kind.RESOURCES)
    elif kind == Kind.CLOSE:
        kind = kind if etat in ("2", "3", "4", "Z") else (Kind.REFUSE if etat == "0" else Kind.RESOURCES)
    elif kind in (Kind.OPEN, Kind.REFUSE) and etat != "0":
        kind = Kind.RESOURCES

    if kind == Kind.SUSPEND_PAYMENT:
        household.etat = "4"
        household.suspensions_versement = [(pick(rng, MOTIFS_SUSPENSION_VERSEMENT), day)]
    elif kind == Kind.SUSPEND_RIGHT:
        household.etat = "3"
        household.suspensions_droit = [(pick(rng, MOTIFS_SUSPENSION_DROIT), day)]
    elif kind == Kind.RESUME:
        household.etat = "2"
        household.suspensions_versement = []
        household.suspensions_droit = []
    elif kind == Kind.CLOSE:
        household.etat = "5"
        household.suspensions_versement = []
        household.suspensions_droit = []
        household.fin_droit = (MOTIFS_CLOTURE.pick(rng), day)
    elif kind == Kind.OPEN:
        household.etat = "2"
        household.ddnatdro = first_of_month(day)
        for person in household.persons:
            if person.role in ("DEM", "CJT"):
                person.rd = 0 if rng.random() < 0.12 else 1
                person.rd_entered = person.rd == 1
            elif person.role == "ENF" and rng.random() < 0.4:
                person.rd = 0
    elif kind == Kind.REFUSE:
        household.etat = "1"
        household.refus = (day, pick(rng, MOTIFS_REFUS))
    elif kind == Kind.MOVE_WITHIN:
        household.addresses = [address_in_departement(rng, day)] + household.addresses[:2]
        household.organisme_prenant = None
        household.sans_domicile_fixe = False
    elif kind == Kind.MOVE_OUT:
        address, place = address_outside(rng, day)
        household.addresses = [address] + household.addresses[:2]
        household.organisme_prenant = ("CAF", place.caf_numorg, first_of_month(day + timedelta(days=31)))
        household.sans_domicile_fixe = False
    elif kind == Kind.DUTIES_FLIP:
        adults = household.adults()
        known = [p for p in adults if p.rd is not None]
        if known:
            person = pick(rng, known)
            person.rd = 0 if person.rd == 1 else 1
            person.income = 0.0 if person.rd == 1 else round(500 + rng.random() * 1100, 2)
        elif adults:
            person = adults[0]
            person.rd = 1
            person.income = 0.0
        else:
            kind = Kind.RESOURCES
            person = None
        if person is not None and person.rd == 1:
            person.rd_entered = True
    elif kind == Kind.RESOURCES:
        adults = [p for p in household.adults() if p.rd is not None]
        if adults:
            person = pick(rng, adults)
            person.income = (
                round(rng.random() * 499, 2) if person.rd == 1 else round(500 + rng.random() * 1100, 2)
            )
    elif kind == Kind.SPLIT_OUT:
        leavers = choose_leavers(ctx, household, param, day)
        for person in leavers:
            person.dfratdos = day
        household.sitfam = "SEF" if leavers and leavers[0].role == "CJT" else household.sitfam
        household.ddsitfam = day
    _add_event(household, rng, day, kind)
    if rng.random() < 0.15 and kind != Kind.RESOURCES:
        _add_event(household, rng, day, Kind.RESOURCES)  # a recomputation often follows
