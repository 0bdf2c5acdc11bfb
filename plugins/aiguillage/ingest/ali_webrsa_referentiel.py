"""What the integers of an agency's WebRSA report mean: structures, référents, code lists, people.

The WebRSA exchange names everything by integer. Each list lives in one place, read from there:

- structures and types of orientation: the seed ``webrsa_correspondances`` (shared with the extract
  written to the agencies), lists ``structuresreferentes`` and ``typesorients``;
- appointment statuses and objects, exit motifs: the seed ``webrsa_correspondances_rapports``;
- the motif a re-orientation request carries for a parcours: the seed ``codes_motif_ali``
  (``parcours_demande``), through :func:`aiguillage.ingest.ali_reader.event_motifs`;
- référents: ``registry.webrsa_referent`` (the Département's référentiel of counsellors);
- people: ``identifiants.webrsa_identifiant`` (the integer each person got in the extract), then the
  referral this agency was sent for that person (``marts.referral_movements``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import psycopg

from aiguillage.ingest.ali_reader import event_motifs
from aiguillage.ingest.csv_fields import seed_rows

__all__ = ["NO_EVENT", "Referent", "Referentiel", "accepted_events", "load_referentiel", "referrals_of"]

# rdv_statut code of a status that reports nothing (planned, cancelled, postponed, excused).
NO_EVENT = "AUCUN"
_RDV_EVENTS = ("RDV_HONORE", "RDV_NON_HONORE")


@dataclass(frozen=True)
class Referent:
    code_structure: str
    nom: str
    email: str | None
    date_cloture: date | None


@dataclass(frozen=True)
class Referentiel:
    structures: dict[int, str]  # identifiant -> code_structure
    reorientation_motifs: dict[int, str | None]  # typesorients identifiant -> motif (None: not requestable)
    rdv_statuts: dict[int, str]  # identifiant -> event code, or NO_EVENT
    rdv_objets: frozenset[int]
    exit_motifs: dict[int, str]  # motif_sortie identifiant -> SORTIE motif
    referents: dict[int, Referent]

    def structure_id(self, code_structure: str) -> int | None:
        return next((number for number, code in self.structures.items() if code == code_structure), None)


def _integer_rows(seed: str, list_name: str) -> dict[int, str]:
    """{identifiant: code} of one list of a correspondence seed; RuntimeError when malformed."""
    found: dict[int, str] = {}
    for row in seed_rows(seed):
        if row.get("referentiel") != list_name:
            continue
        try:
            found[int(row["identifiant"])] = row["code"]
        except (KeyError, ValueError):
            raise RuntimeError(f"seed {seed}: list {list_name} has a row without an integer identifiant") from None
    if not found:
        raise RuntimeError(f"seed {seed} lists no {list_name}")
    return found


def load_referentiel(conn: psycopg.Connection) -> Referentiel:
    """The référentiel in force, from the seeds and the warehouse; RuntimeError when the seeds disagree."""
    motifs = event_motifs()
    reorientation = {row["parcours_demande"]: row["code"] for row in seed_rows("codes_motif_ali")
                     if row.get("evenement") == "REORIENTATION_DEMANDEE" and row.get("parcours_demande")}
    statuts = _integer_rows("webrsa_correspondances_rapports", "rdv_statut")
    exits = _integer_rows("webrsa_correspondances_rapports", "motif_sortie_obligation_accompagnement")
    wrong = sorted({code for code in statuts.values() if code not in (*_RDV_EVENTS, NO_EVENT)}
                   | {code for code in exits.values() if code not in motifs.get("SORTIE", ())})
    if wrong:
        raise RuntimeError(f"seed webrsa_correspondances_rapports names codes that are no ALI event or SORTIE "
                           f"motif (seeds codes_evenement_ali, codes_motif_ali): {', '.join(wrong)}")
    referents = {
        number: Referent(code, nom, email, cloture)
        for number, code, nom, email, cloture in conn.execute(
            "SELECT id_referent, code_structure, nom, email, date_cloture FROM registry.webrsa_referent")
    }
    return Referentiel(
        structures=_integer_rows("webrsa_correspondances", "structuresreferentes"),
        reorientation_motifs={number: reorientation.get(parcours)
                              for number, parcours in _integer_rows("webrsa_correspondances", "typesorients").items()},
        rdv_statuts=statuts,
        rdv_objets=frozenset(_integer_rows("webrsa_correspondances_rapports", "rdv_objet")),
        exit_motifs=exits,
        referents=referents,
    )


def referrals_of(conn: psycopg.Connection, agency_code: str,
                 id_personnes: Iterable[int]) -> dict[int, list[tuple[date, str]] | None]:
    """For each integer: None when no person has it; else the referrals this agency was sent for that
    person, as (first day at the agency, id_orientation), oldest first (empty: none). One query."""
    numbers = sorted(set(id_personnes))
    if not numbers:
        return {}
    movements = conn.execute("SELECT to_regclass('marts.referral_movements')").fetchone()[0]
    held = ("LEFT JOIN LATERAL (SELECT m.id_orientation, min(m.date_mouvement) AS depuis"
            " FROM marts.referral_movements AS m"
            " WHERE m.person_id = w.person_id AND m.code_structure = %(agency)s"
            " GROUP BY m.id_orientation) AS r ON true") if movements else \
        "LEFT JOIN (SELECT NULL::text AS id_orientation, NULL::date AS depuis) AS r ON false"
    rows = conn.execute(
        "SELECT n.numero, w.person_id, r.depuis, r.id_orientation"  # noqa: S608 - constant SQL only
        " FROM unnest(%(numbers)s::bigint[]) AS n (numero)"
        " LEFT JOIN identifiants.webrsa_identifiant AS w ON w.numero = n.numero AND w.kind = 'personne' "
        + held + " ORDER BY n.numero, r.depuis, r.id_orientation",
        {"numbers": numbers, "agency": agency_code},
    ).fetchall()
    found: dict[int, list[tuple[date, str]] | None] = {}
    for numero, person_id, depuis, id_orientation in rows:
        if person_id is None:
            found[numero] = None
            continue
        referrals = found.setdefault(numero, [])
        if id_orientation is not None:
            referrals.append((depuis, id_orientation))
    return found


def accepted_events(conn: psycopg.Connection, id_orientations: Iterable[str]) -> set[tuple[str, str, date]]:
    """(id_orientation, evenement, date_evenement) already accepted from earlier reports, for these
    referrals. One query; empty before the warehouse's first build."""
    wanted = sorted(set(id_orientations))
    checked = conn.execute("SELECT to_regclass('intermediate.int_ali__events_checked')").fetchone()[0]
    if not wanted or checked is None:
        return set()
    return set(conn.execute(
        "SELECT id_orientation, evenement, date_evenement FROM intermediate.int_ali__events_checked"
        " WHERE statut = 'ACCEPTE' AND id_orientation = ANY(%s)", (wanted,)).fetchall())
