"""The referral extract's columns: the contract with the agencies (docs/dictionnaire-extrait.md).

The order is part of the contract: the required columns first, under these exact names, then the
optional ones. A change here is a new ``SCHEMA_VERSION`` and a note to every agency.
"""

from __future__ import annotations

SCHEMA_VERSION = "1.2"

# Where the day's lines are prepared (restricted schema: direct identifiers).
LINES_TABLE = "identifiants.identifiants__extract_lines"

# Columns every extract carries under these exact names, in this order.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "id_orientation", "type_mouvement", "date_orientation", "parcours", "code_structure",
    "motif_orientation", "civilite", "nom", "nom_naissance", "prenom", "date_naissance", "numero_caf",
    "role", "adresse", "code_postal", "code_commune", "commune", "date_entree_droits_devoirs",
    "etat_droit", "date_limite_contrat",
)
# Columns that follow, also stable (1.1: the decision behind the orientation, and what a move carries;
# 1.2: what a counsellor needs to act: the reason in words, the household, France Travail's number,
# the previous contract after a move, the CNAF contact details).
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "motif_cloture", "statut_orientation", "date_limite_orientation", "code_territoire",
    "origine", "structure_precedente", "date_notification", "date_contrat",
    "libelle_motif", "id_orientation_conjoint", "cle_foyer", "situation_familiale", "nombre_enfants",
    "identifiant_france_travail", "date_debut_contrat_precedent", "date_fin_contrat_precedent",
    "telephone", "email",
)
EXTRACT_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# The longest value each column may carry (characters), part of the contract: a line holding a longer
# value is refused when the files are written (never cut: a truncated name or address misdirects a
# letter), and the agency's files of the day are withheld. Every column of EXTRACT_COLUMNS has one.
MAX_LENGTHS: dict[str, int] = {
    "id_orientation": 40, "type_mouvement": 10, "date_orientation": 10, "parcours": 3, "code_structure": 12,
    "motif_orientation": 40, "civilite": 3, "nom": 100, "nom_naissance": 100, "prenom": 100,
    "date_naissance": 10, "numero_caf": 7, "role": 3, "adresse": 200, "code_postal": 5, "code_commune": 5,
    "commune": 60, "date_entree_droits_devoirs": 10, "etat_droit": 1, "date_limite_contrat": 10,
    # 1.1
    "motif_cloture": 40, "statut_orientation": 10, "date_limite_orientation": 10, "code_territoire": 3,
    "origine": 30, "structure_precedente": 12, "date_notification": 10, "date_contrat": 10,
    # 1.2
    "libelle_motif": 200, "id_orientation_conjoint": 40, "cle_foyer": 18, "situation_familiale": 3,
    "nombre_enfants": 2, "identifiant_france_travail": 11, "date_debut_contrat_precedent": 10,
    "date_fin_contrat_precedent": 10, "telephone": 20, "email": 254,
    # Columns appended to OPTIONAL_COLUMNS add their maximum length here.
}

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
