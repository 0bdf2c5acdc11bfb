"""Synthetic partner deliveries (CAF VRSB0801 flows, France Travail files) for development and tests.

    from aiguillage.synth import generate, SynthSummary
    summary = generate(landing, start, households, days, seed, defects=False, progress=None)

Everything is synthetic: names come from pools, NIRs are drawn (with valid keys) and belong to no
one. Output is deterministic for given arguments and is written in streaming fashion, so millions
of households fit in constant memory.

Modules: names (name pools), places (communes, addresses, birthplaces), model (household shape),
population (one household from its seed), movements (daily events and replay), identity (NIRs that
appear later, temporary NIRs certified), caf_xml and france_travail (file writers), files (names
and encodings), defects (injected faults), generator.
"""

from aiguillage.synth.generator import SynthSummary, generate

__all__ = ["SynthSummary", "generate"]
