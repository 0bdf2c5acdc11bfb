"""France Travail flow writer (stock_, inscriptions_, cessations_, radiations_ CSV files).

Columns and formats are docs/data-contracts.md §3: `;`-separated, header line, dates JJ/MM/AAAA, the
NIR on 13 characters twice (nir and nir2). Names are mostly written as CAF writes them; a few come
padded or in mixed case, as the matching rule (trimmed, upper-cased) expects.

Categories follow the 2025 reform: RSA beneficiaries are registered automatically, so a registration
dated from 2025 is sometimes in G (registered, waiting for orientation) or F (social accompaniment by
the Département) rather than in a job-seeker category 1 to 8 (:func:`written_category`).
"""

from __future__ import annotations

import hashlib
import random
from datetime import date
from pathlib import Path
from typing import TextIO

from aiguillage.synth.files import TextVariant
from aiguillage.synth.model import Address, Person
from aiguillage.synth.places import ft_agency

REGISTRATION_COLUMNS = (
    "nir",
    "identifiantpe",
    "nom",
    "prenom",
    "dtnai",
    "date",
    "code",
    "nir2",
    "codeinsee",
    "localite",
    "adresse",
    "ale",
)
EXIT_COLUMNS = (
    "nir",
    "identifiantpe",
    "nom",
    "prenom",
    "dtnai",
    "date",
    "code",
    "motif",
    "nir2",
    "codeinsee",
    "localite",
    "adresse",
    "ale",
)
FILE_KINDS = ("stock", "inscriptions", "cessations", "radiations")


# Since 1 January 2025 (loi pour le plein emploi): automatic registration of RSA beneficiaries.
REFORM_DAY = date(2025, 1, 1)
# Of the registrations dated from the reform, per thousand: in G, then in F.
_SHARE_G, _SHARE_F = 120, 50


def written_category(person: Person, when: date, code: int) -> str:
    """The category written on a line: G or F for a stable share of the people registered since the
    reform (chosen from the job-seeker number, so that the same person is in the same category on
    every line and every run, and the generator's random draws are untouched), else ``code`` (1 to 8)."""
    assert person.ft is not None
    if when >= REFORM_DAY:
        share = int.from_bytes(hashlib.sha256(person.ft.identifiantpe.encode("ascii")).digest()[:4], "big") % 1000
        if share < _SHARE_G:
            return "G"
        if share < _SHARE_G + _SHARE_F:
            return "F"
    return str(code)


def ft_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def _name_as_typed(rng: random.Random, name: str) -> str:
    u = rng.random()
    if u < 0.015:
        return f"{name} "
    if u < 0.03:
        return name.title()
    return name


def person_fields(
    rng: random.Random, person: Person, address: Address, when: date, code: int, motif: str | None
) -> list[str]:
    """One line's fields; `motif` is None for stock/inscriptions (no motif column)."""
    assert person.ft is not None and person.nir
    nir = person.nir[:13]
    fields = [
        nir,
        person.ft.identifiantpe,
        _name_as_typed(rng, person.nom),
        _name_as_typed(rng, person.prenom),
        ft_date(person.dtnai),
        ft_date(when),
        written_category(person, when, code),
    ]
    if motif is not None:
        fields.append(motif)
    fields += [nir, address.numcom, address.localite, address.street_line(), ft_agency(address.numcom)]
    return fields


class FtWriter:
    """Writes one France Travail file; `fields_written` lets a defect injector number the lines."""

    def __init__(self, path: Path, kind: str, variant: TextVariant) -> None:
        if kind not in FILE_KINDS:
            raise ValueError(f"unknown France Travail file kind {kind!r}")
        self.path = path
        self.kind = kind
        self.with_motif = kind in ("cessations", "radiations")
        self.lines = 0
        self._newline = variant.newline
        self._file: TextIO = open(path, "w", encoding=variant.codec, newline="", buffering=1 << 18)  # noqa: SIM115
        columns = EXIT_COLUMNS if self.with_motif else REGISTRATION_COLUMNS
        self._file.write(";".join(columns) + self._newline)

    @property
    def next_line_number(self) -> int:
        """1-based line number in the file of the next data line (the header is line 1)."""
        return self.lines + 2

    def write_fields(self, fields: list[str]) -> None:
        self._file.write(";".join(fields) + self._newline)
        self.lines += 1

    def close(self) -> None:
        self._file.close()
