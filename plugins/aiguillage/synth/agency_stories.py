"""What happens to one referral at its agency: the synthetic counsellor's side of the lifecycle.

A referral's story is drawn once from (seed, agency, referral, start of its episode): the same inputs
always give the same events, whatever day the story is read on, so each day's report can carry the
events of the day before without remembering what earlier reports said. Rates follow what agencies
observe (docs/data-contracts.md §4 lists the events):

- taken in charge within three days for nearly everyone, a first appointment within two weeks for most
  (later for some, never for a few); about one in five is missed, and most missed ones are set again;
- after an appointment honoured, the contrat d'engagement signed there or within three weeks for many, refused
  by a few; a few ask for another parcours; some contracts are not kept;
- some leave the accompaniment within six months (work, training, a move, the end of their rights...).

Events and motifs are the seeds' (:func:`aiguillage.ingest.ali_reader.event_motifs`): a code the seeds
do not know fails at once, never in an agency's file.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache

from aiguillage.synth.rng import WeightedPicker, derive_seed

STREAM_AGENCY_STORY = 11
# No event comes later than this many days after a story's start (an exit within six months, commitments
# not kept within four months of a first meeting held within seven weeks).
HORIZON_DAYS = 250

TAKEN_IN_CHARGE = "PRISE_EN_CHARGE"
APPOINTMENT_KEPT = "RDV_HONORE"
APPOINTMENT_MISSED = "RDV_NON_HONORE"
CONTRACT_SIGNED = "CONTRAT_SIGNE"
CONTRACT_REFUSED = "CONTRAT_REFUSE"
COMMITMENTS_NOT_KEPT = "ENGAGEMENT_NON_TENU"
REORIENTATION = "REORIENTATION_DEMANDEE"
EXIT = "SORTIE"

# Motifs, by weight (each checked against the seed codes_motif_ali).
_EXIT_WEIGHTS = {"EMPLOI": 35, "FORMATION": 15, "DEMENAGEMENT": 10, "FIN_DE_DROITS": 15, "ABANDON": 15, "AUTRE": 10}
_REORIENTATION_WEIGHTS = {"PARCOURS_SOCIAL": 60, "PARCOURS_EMPLOI": 40}
_EXIT_MOTIFS = WeightedPicker(list(_EXIT_WEIGHTS), list(_EXIT_WEIGHTS.values()))
_REORIENTATION_MOTIFS = WeightedPicker(list(_REORIENTATION_WEIGHTS), list(_REORIENTATION_WEIGHTS.values()))
_REFUSAL_AT_DRAWING_UP = "ELABORATION"
_REFUSAL_AT_UPDATE = "ACTUALISATION"


@dataclass(frozen=True, slots=True)
class AgencyEvent:
    """One event of a referral, as an agency reports it."""

    day: date
    evenement: str
    motif: str = ""


@cache
def _checked_codes() -> bool:
    """Every event and motif this module writes is one the seeds list for it (raises otherwise)."""
    from aiguillage.ingest.ali_reader import event_motifs

    known = event_motifs()
    wanted = {
        TAKEN_IN_CHARGE: set(), APPOINTMENT_KEPT: set(), APPOINTMENT_MISSED: set(), CONTRACT_SIGNED: set(),
        COMMITMENTS_NOT_KEPT: set(), CONTRACT_REFUSED: {_REFUSAL_AT_DRAWING_UP, _REFUSAL_AT_UPDATE},
        REORIENTATION: set(_REORIENTATION_WEIGHTS), EXIT: set(_EXIT_WEIGHTS),
    }
    for event, motifs in wanted.items():
        if event not in known or not motifs <= known[event] or bool(motifs) is not bool(known[event]):
            raise RuntimeError(f"the synthetic agencies write {event} with motifs {sorted(motifs)}, which the "
                               f"seeds codes_evenement_ali / codes_motif_ali do not allow")
    return True


def referral_number(key: str) -> int:
    """A stable integer for a referral key (never Python's per-process str hash)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def events_on(seed: int, agency: str, key: str, start: date, day: date,
              contract_signed_before: bool = False) -> list[AgencyEvent]:
    """The events of the story dated ``day`` (nothing is drawn for a story long over)."""
    if not 0 <= (day - start).days <= HORIZON_DAYS:
        return []
    return [event for event in story(seed, agency, key, start, contract_signed_before) if event.day == day]


@lru_cache(maxsize=200_000)  # a day's reports read each story once; the next days read it again
def story(seed: int, agency: str, key: str, start: date,
          contract_signed_before: bool = False) -> tuple[AgencyEvent, ...]:
    """The events of referral ``key`` at ``agency`` from ``start`` (the day the episode began), in date
    order. ``contract_signed_before``: the person arrives with a contract (a move): none is drawn up."""
    _checked_codes()
    rng = random.Random(derive_seed(seed, STREAM_AGENCY_STORY, referral_number(agency),
                                    referral_number(key), start.toordinal()))
    events: list[AgencyEvent] = []

    def at(offset: int, evenement: str, motif: str = "") -> None:
        events.append(AgencyEvent(start + timedelta(days=offset), evenement, motif))

    if rng.random() < 0.96:
        at(rng.randint(0, 3), TAKEN_IN_CHARGE)
    # A tenth leave within six months; whatever was planned after that day does not happen.
    exit_offset = rng.randint(20, 180) if rng.random() < 0.10 else None
    first = rng.random()
    kept = None
    if first < 0.85:
        offset = rng.randint(1, 14)
    elif first < 0.95:
        offset = rng.randint(15, 35)
    else:
        offset = None
    for attempt in range(2):
        if offset is None:
            break
        if rng.random() < (0.80 if attempt == 0 else 0.75):
            kept = offset
            at(offset, APPOINTMENT_KEPT)
            break
        at(offset, APPOINTMENT_MISSED)
        offset = offset + rng.randint(7, 14) if rng.random() < 0.75 else None
    if kept is not None:
        _after_first_meeting(rng, at, kept, contract_signed_before)
    if exit_offset is not None:
        exit_day = start + timedelta(days=exit_offset)
        events = [event for event in events if event.day < exit_day]
        if not any(event.evenement == REORIENTATION for event in events):
            events.append(AgencyEvent(exit_day, EXIT, _EXIT_MOTIFS.pick(rng)))
    return tuple(sorted(events, key=lambda event: event.day))


def _after_first_meeting(rng: random.Random, at, kept: int, contract_signed_before: bool) -> None:
    """The contract (or a request for another parcours) once the person came to a first appointment."""
    draw = rng.random()
    if draw < 0.04:
        at(kept, REORIENTATION, _REORIENTATION_MOTIFS.pick(rng))
        return
    if contract_signed_before:
        if draw < 0.06:
            at(kept + rng.randint(30, 90), CONTRACT_REFUSED, _REFUSAL_AT_UPDATE)
        return
    if draw < 0.08:
        at(kept + rng.randint(0, 10), CONTRACT_REFUSED, _REFUSAL_AT_DRAWING_UP)
    elif draw < 0.83:
        # Often drawn up at that first meeting, otherwise at one of the next within three weeks.
        at(kept + (0 if rng.random() < 0.3 else rng.randint(1, 20)), CONTRACT_SIGNED)
        if rng.random() < 0.06:
            at(kept + rng.randint(45, 120), COMMITMENTS_NOT_KEPT)
