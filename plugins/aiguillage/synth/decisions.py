"""Synthetic decisions of the orientation team, from the morning list of proposals waiting for one.

The team reads ``<outbox>/_departement/<day>/propositions_en_attente.csv`` (the list the pipeline wrote
for ``day``), decides during the day and sends the list back, filled in, as the next day's decisions
file, ``<landing>/departement/decisions_<next day>.csv`` (data contract §6: the list's own columns are
ignored, the lines left undecided keep waiting). Realistic proportions: most proposals validated, some
changed to another parcours, a few refused, a few left for later. Decided and notified on ``day``, by
role codes only. Deterministic for a seed: the same list and seed give the same bytes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from aiguillage.extracts.waiting_proposals import list_path
from aiguillage.synth.rng import WeightedPicker, derive_seed, derived_random

DEPARTEMENT_DIR = "departement"
STREAM_DECISION = 9

# (decision, weight): what the team does with a proposal it reads.
_CHOICES = WeightedPicker(["VALIDEE", "MODIFIEE", "REFUSEE", ""], [80, 10, 5, 5])
# A changed proposal goes to another parcours (its destination then follows the territory).
_OTHER_PARCOURS = {"PSO": "PSP", "PSP": "PSO", "PED": "PSO"}
_ROLES = {"VALIDEE": "EQUIPE_ORIENTATION", "MODIFIEE": "RESPONSABLE_ORIENTATION",
          "REFUSEE": "RESPONSABLE_ORIENTATION"}
_MOTIFS = {"VALIDEE": "", "MODIFIEE": "ENTRETIEN_DIAGNOSTIC", "REFUSEE": "ORIENTATION_INADAPTEE"}


@dataclass
class DecisionsSummary:
    path: Path | None
    read: int = 0
    decided: dict[str, int] = field(default_factory=dict)


def decisions_file(landing: Path, day: date) -> Path:
    """``<landing>/departement/decisions_<YYYYMMDD>.csv``."""
    return Path(landing) / DEPARTEMENT_DIR / f"decisions_{day:%Y%m%d}.csv"


def write_decisions(outbox: Path, landing: Path, day: date, seed: int) -> DecisionsSummary:
    """The team's answer to the list of ``day``, as the decisions file of the next day. Nothing is
    written when there is no list for ``day`` (the pipeline did not get that far)."""
    source = list_path(outbox, day)
    if not source.is_file():
        return DecisionsSummary(None)
    with open(source, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        header = list(reader.fieldnames or [])
        rows = list(reader)
    summary = DecisionsSummary(decisions_file(landing, day + timedelta(days=1)), read=len(rows))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header, delimiter=";", lineterminator="\r\n")
    writer.writeheader()  # a spreadsheet's CSV: CRLF, BOM
    for row in rows:
        decision = _CHOICES.pick(derived_random(derive_seed(seed, STREAM_DECISION), _number(row["id_proposition"])))
        if decision:
            row.update(decision=decision, date_decision=day.isoformat(), date_notification=day.isoformat(),
                       decide_par=_ROLES[decision], motif=_MOTIFS[decision])
            if decision == "MODIFIEE":
                row["parcours"] = _OTHER_PARCOURS.get(row["parcours_propose"], "PSO")
            summary.decided[decision] = summary.decided.get(decision, 0) + 1
        writer.writerow(row)
    summary.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = summary.path.with_name(f".{summary.path.name}.tmp")  # hidden: never read half-written
    temporary.write_bytes("\ufeff".encode() + text.getvalue().encode("utf-8"))
    temporary.replace(summary.path)
    return summary


def _number(id_proposition: str) -> int:
    """The proposal id's hexadecimal digits as an integer (a stable per-proposal seed part)."""
    digits = id_proposition[2:]
    return int(digits, 16) if digits and all(c in "0123456789ABCDEFabcdef" for c in digits) else 0
