"""Reference data shipped with the package (read-only, versioned with the code).

`communes_93.csv`: the 40 communes of Seine-Saint-Denis as CD93's sectorisation knows them, with
their postal codes, the spelling CAF files use (upper-case, unaccented, ST for SAINT) and an
approximate population used as a weight. 93059 Pierrefitte-sur-Seine is kept although it is a
commune déléguée of 93066 Saint-Denis since 2025-01-01: partner files still carry both codes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Commune", "load_communes"]


@dataclass(frozen=True, slots=True)
class Commune:
    """One commune of the département."""

    code_insee: str
    nom: str
    codes_postaux: tuple[str, ...]
    nomcom_caf: str
    population: int


@lru_cache(maxsize=1)
def _communes() -> tuple[Commune, ...]:
    text = resources.files(__package__).joinpath("communes_93.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    return tuple(
        Commune(
            code_insee=row["code_insee"],
            nom=row["nom"],
            codes_postaux=tuple(row["codes_postaux"].split("|")),
            nomcom_caf=row["nomcom_caf"],
            population=int(row["population"]),
        )
        for row in reader
    )


def load_communes() -> list[Commune]:
    """The communes of Seine-Saint-Denis, in INSEE code order (a fresh list on each call)."""
    return list(_communes())
