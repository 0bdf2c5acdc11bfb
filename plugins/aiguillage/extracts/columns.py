"""The referral extract's columns: the contract with the agencies (docs/dictionnaire-extrait.md).

The order is part of the contract: the required columns first, under these exact names, then the
optional ones. A change here is a new ``SCHEMA_VERSION`` and a note to every agency.
"""

from __future__ import annotations

SCHEMA_VERSION = "1.1"

# Where the day's lines are prepared (restricted schema: direct identifiers).
LINES_TABLE = "identifiants.identifiants__extract_lines"

# Columns every extract carries under these exact names, in this order.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "id_orientation", "type_mouvement", "date_orientation", "parcours", "code_structure",
    "motif_orientation", "civilite", "nom", "nom_naissance", "prenom", "date_naissance", "numero_caf",
    "role", "adresse", "code_postal", "code_commune", "commune", "date_entree_droits_devoirs",
    "etat_droit", "date_limite_contrat",
)
# Columns that follow, also stable (1.1: the decision behind the orientation, and what a move carries).
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "motif_cloture", "statut_orientation", "date_limite_orientation", "code_territoire",
    "origine", "structure_precedente", "date_notification", "date_contrat",
)
EXTRACT_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# Columns that must be filled on every line (the others may be empty, e.g. nom_naissance).
FILLED_COLUMNS: tuple[str, ...] = (
    "id_orientation", "type_mouvement", "date_orientation", "parcours", "code_structure", "nom", "prenom",
    "date_naissance", "numero_caf", "role", "code_postal", "code_commune", "commune",
)

# The two files an agency may receive for a day, as named in the lines table's column ``fichier``.
MOVEMENTS = "mouvements"
STOCK = "stock"
MOVEMENT_TYPES = ("NOUVELLE", "MODIFIEE", "CLOTUREE")
STOCK_TYPE = "STOCK"
PARCOURS = ("PSO", "PSP", "PED")
