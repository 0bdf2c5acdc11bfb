"""Deterministic randomness: seed derivation without str hashing, and fast weighted picks.

Every random decision of the generator comes from a `random.Random` seeded by integers derived
here, so that the same arguments always give the same bytes (Python's str hash is randomised per
process and is never used).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")

_MASK64 = (1 << 64) - 1

# Stream tags: one per kind of decision, so that streams never overlap.
STREAM_SCHEDULE = 1
STREAM_EVENT = 2
STREAM_HOMONYM = 3
STREAM_FLOW = 4
STREAM_DEFECT = 5
STREAM_FT_EXTRA = 6
STREAM_SPLIT = 7
STREAM_FT_FILE = 8
STREAM_IDENTITY = 9
STREAM_CONTACTS = 12  # the CNAF's contact-details file (synth.contacts)


def _splitmix64(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def derive_seed(*parts: int) -> int:
    """A 64-bit seed mixing integer parts (order matters)."""
    state = 0x243F6A8885A308D3
    for part in parts:
        state = _splitmix64(state ^ (part & _MASK64) ^ ((part >> 64) & _MASK64))
    return state


def household_seed(seed: int, index: int) -> int:
    """Seed of household `index`: its whole initial state derives from it."""
    return seed * 1_000_003 + index


def derived_random(*parts: int) -> random.Random:
    """A fresh Random for one stream of decisions."""
    return random.Random(derive_seed(*parts))


class WeightedPicker(Generic[T]):
    """Pick items with fixed weights using one `random()` call (faster than random.choices)."""

    __slots__ = ("_items", "_cumulative", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("items and weights must be non-empty and of the same length")
        self._items = tuple(items)
        cumulative = list(accumulate(weights))
        self._total = cumulative[-1]
        # The last bound is infinite: random() * total may round up to total itself.
        self._cumulative = cumulative[:-1] + [float("inf")]

    def pick(self, rng: random.Random) -> T:
        return self._items[bisect_right(self._cumulative, rng.random() * self._total)]


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """Uniform pick (one `random()` call; `rng.choice` is slower)."""
    return items[int(rng.random() * len(items))]
