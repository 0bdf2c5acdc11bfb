"""Faults real partner deliveries have, injected on request (`generate(..., defects=True)`).

Each injector records a human-readable description naming the file, so tests and people can find
what was broken. Injection uses its own random streams: the clean content around a defect is the
same as in a run without defects.

- CAF, while writing: wrong NIR keys; optional blocks missing (MontantCalculDroitRSAPersonne,
  MontantsCalculDroitRSA, even the mandatory DetailDroitRSA); a trailer count that lies.
- CAF, after writing: a daily flow cut in the middle of a dossier; a file delivered twice.
- France Travail: lines with nir != nir2, a bad identifiantpe, an unparseable date, no code, a wrong
  column count, a NIR failing its key.
"""

from __future__ import annotations

import mmap
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from aiguillage.synth.caf_xml import DossierFaults
from aiguillage.synth.model import Household
from aiguillage.synth.rng import STREAM_DEFECT, derived_random

_MISSING_BLOCK_KINDS = ("person_amounts", "amounts", "detail")


@dataclass(frozen=True, slots=True)
class DefectPlan:
    """Which flow gets which file-level defect. Day numbers: 0 = monthly flow, 1.. = daily flows."""

    trailer_mismatch_day: int
    truncated_day: int | None  # needs a daily flow (days >= 2)

    @classmethod
    def for_days(cls, days: int) -> DefectPlan:
        return cls(
            trailer_mismatch_day=1 if days >= 3 else 0,
            truncated_day=days - 1 if days >= 2 else None,
        )


@dataclass(slots=True)
class CafDossierDefects:
    """Chooses, dossier by dossier, the defects of one CAF file, and remembers them."""

    seed: int
    day_number: int
    label: str  # file name relative to the landing zone
    rate: float = 0.004
    _count: int = 0
    _bad_nir: list[str] = field(default_factory=list)
    _missing: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in _MISSING_BLOCK_KINDS})
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = derived_random(self.seed, STREAM_DEFECT, self.day_number)

    def faults_for(self, household: Household) -> DossierFaults | None:
        # The 2nd and 3rd dossiers of each file always carry one, so that small files have some too.
        self._count += 1
        forced = self._count in (2, 3)
        u = self._rng.random()
        faults = None
        if (forced and self._count == 2) or u < self.rate:
            if any(p.nir_known_to_caf for p in household.persons):
                faults = DossierFaults(bad_nir_key=True)
                self._bad_nir.append(household.matricule)
        elif (forced and self._count == 3) or u < 2 * self.rate:
            kind = _MISSING_BLOCK_KINDS[int(self._rng.random() * len(_MISSING_BLOCK_KINDS))]
            if kind == "person_amounts" and not any(
                p.rd is not None and p.is_adult_beneficiary for p in household.persons
            ):
                kind = "detail"
            faults = DossierFaults(
                drop_person_amounts=kind == "person_amounts",
                drop_amounts=kind == "amounts",
                drop_detail=kind == "detail",
            )
            self._missing[kind].append(household.matricule)
        return faults

    def descriptions(self) -> list[str]:
        lines = []
        if self._bad_nir:
            lines.append(
                f"{self.label}: wrong NIR key on the first person with a NIR of "
                f"{len(self._bad_nir)} dossier(s) "
                f"(MATRICULE {_sample(self._bad_nir)})"
            )
        labels = {
            "person_amounts": "MontantCalculDroitRSAPersonne removed for the adults "
            "(TOPPERSDRODEVORSA unknown)",
            "amounts": "MontantsCalculDroitRSA and DetailCalculDroitRSA removed",
            "detail": "mandatory DetailDroitRSA block removed (schema-invalid dossier)",
        }
        for kind in _MISSING_BLOCK_KINDS:
            if self._missing[kind]:
                matricules = self._missing[kind]
                lines.append(
                    f"{self.label}: {labels[kind]} in {len(matricules)} dossier(s) "
                    f"(MATRICULE {_sample(matricules)})"
                )
        return lines


def _sample(values: list[str], limit: int = 5) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def wrong_trailer_count(seed: int, actual: int) -> int:
    """A trailer count that disagrees with the dossiers actually sent."""
    delta = (-2, -1, 1, 3)[int(derived_random(seed, STREAM_DEFECT, 1_000).random() * 4)]
    return actual + delta if actual + delta >= 0 else actual + 1


def truncate_in_dossier(path: Path, label: str, dossiers: int) -> str:
    """Cut a written VRSB0801 file in the middle of its middle dossier (no closing tags, no trailer)."""
    target = max(0, dossiers // 2)
    with open(path, "r+b") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as content:
        position = -1
        for _ in range(target + 1):
            found = content.find(b"<InfosFoyerRSA>", position + 1)
            if found < 0:
                break
            position = found
        if position < 0:  # no dossier at all: cut inside the header
            cut = content.find(b"</IdentificationFlux>") - 10
            what = "in the middle of IdentificationFlux"
        else:
            end = content.find(b"</InfosFoyerRSA>", position)
            cut = position + (end - position) // 2
            what = f"in the middle of dossier {target + 1} of {dossiers}"
    os.truncate(path, cut)
    return f"{label}: truncated at byte {cut}, {what} (no closing tags, no trailer)"


def duplicate_file(source: Path, copy: Path, landing: Path) -> str:
    """Deliver the same bytes a second time under another name."""
    shutil.copyfile(source, copy)
    return (
        f"{copy.relative_to(landing).as_posix()}: byte-for-byte copy of "
        f"{source.relative_to(landing).as_posix()} (same file delivered twice)"
    )


FT_LINE_DEFECTS = (
    "nir_differs",
    "bad_identifiantpe",
    "bad_date",
    "missing_code",
    "wrong_column_count",
    "bad_nir_key",
)


@dataclass(slots=True)
class FtLineCorruptor:
    """Replaces a few well-formed France Travail lines by broken ones, spread over the file."""

    seed: int
    label: str
    spacing: int
    _pending: list[str] = field(default_factory=lambda: list(FT_LINE_DEFECTS))
    _done: list[str] = field(default_factory=list)
    _seen: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = derived_random(self.seed, STREAM_DEFECT, 2_000)

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def process(self, line_number: int, fields: list[str], force: bool = False) -> list[str]:
        """Return the fields to write for this line (corrupted every `spacing` lines or if forced)."""
        self._seen += 1
        if not self._pending or (not force and self._seen % self.spacing != 0):
            return fields
        kind = self._pending.pop(0)
        fields = list(fields)
        nir2_column = len(fields) - 5
        if kind == "nir_differs":
            last = fields[nir2_column][-1]
            fields[nir2_column] = fields[nir2_column][:-1] + ("0" if last != "0" else "1")
        elif kind == "bad_identifiantpe":
            fields[1] = fields[1][:6] + "X" + fields[1][7:10]  # letter in a digit position, 10 characters
        elif kind == "bad_date":
            day, month, year = fields[5].split("/")
            fields[5] = f"{year}-{month}-{day}" if self._rng.random() < 0.5 else f"31/02/{year}"
        elif kind == "missing_code":
            fields[6] = ""
        elif kind == "wrong_column_count":
            del fields[-2]  # the address column is lost
        elif kind == "bad_nir_key":
            # a 15-character NIR whose key is wrong, in both columns (they still agree)
            fields[0] = fields[nir2_column] = fields[0] + "00"  # keys run from 01 to 97
        self._done.append(f"{self.label} line {line_number}: {_FT_DEFECT_LABELS[kind]}")
        return fields

    def descriptions(self) -> list[str]:
        return list(self._done)


_FT_DEFECT_LABELS = {
    "nir_differs": "nir and nir2 differ",
    "bad_identifiantpe": "identifiantpe does not match 7 digits + 1 character + 3 digits",
    "bad_date": "unparseable date in column date",
    "missing_code": "code (job-seeker category) missing",
    "wrong_column_count": "wrong column count (adresse column missing)",
    "bad_nir_key": "15-character NIR failing its key (nir = nir2)",
}
