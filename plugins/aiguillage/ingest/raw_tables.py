"""The raw layer's tables, as readers and the loader see them.

Readers yield ``(table, values)`` pairs where ``values`` follows ``COLUMNS[table]``; the loader
adds ``file_id`` in front and COPYs the rows. The SQL definition is ``sql/002_raw.sql``; a test
checks that both agree. Values must already fit their column type (dates as ``date``, booleans
as ``bool``, amounts as ``Decimal``, ``None`` when absent or unusable): a reader never lets a bad
value reach COPY, it flags the row instead.
"""

from __future__ import annotations

from typing import NamedTuple


class QuarantineError(Exception):
    """The whole file cannot be used. The message names the file's element or line and the rule."""


class RawRow(NamedTuple):
    table: str
    values: tuple


# Codes of per-line rejects (France Travail and ALI files): stable, documented, counted in reports.
REJECT_REASONS = {
    "COLUMN_COUNT": "wrong number of columns",
    "NIR_MISMATCH": "nir and nir2 differ",
    "NIR_FORMAT": "NIR is not 13 or 15 characters of the right shape",
    "NIR_KEY": "NIR key does not match",
    "IDENTIFIANTPE_FORMAT": "identifiantpe is not 7 digits, 1 alphanumeric, 3 digits",
    "DATE_INVALID": "a date does not parse",
    "CODE_MISSING": "job-seeker category (code) missing or not in the list (seed codes_categorie_france_travail)",
    "SCHEMA": "a required field is missing or malformed",
    "FIELD_TOO_LONG": "a value is longer than its column allows",
    "STRUCTURE_MISMATCH": "code_structure differs from the agency folder",
    "UNKNOWN_EVENT": "evenement is not a known event",
    "UNKNOWN_MOTIF": "motif is not allowed for this event, or not a decision reason of the seed",
    "DATE_INCOHERENT": "date in the future or before the referral",
    "DUPLICATE_EVENT": "event already recorded",
    "UNKNOWN_REFERRAL": "id_orientation unknown",
    "REFERRAL_NOT_HELD": "referral not held by this agency",
    # The WebRSA exchange's own reasons (ALI reports in the ALI-WebRSA format, data contract §4).
    "validation_schema": "the element breaks the ALI-WebRSA schema in use",
    "deja_traite": "a report of this agency with the same date_generation was loaded already",
    "personne_inconnue": "id_personne is no person of the exchange",
    "referent_inconnu": "the référent is not one of the agency's in the référentiel",
    "referent_cloture": "the référent left before the event",
    "structure_inconnue": "the structure is not in the référentiel",
    "rdv_objet_inconnu": "id_objet_rdv is not in the référentiel",
    "rdv_statut_inconnu": "id_statut_rdv is not in the référentiel",
    "UNKNOWN_STEP": "etape is not a step of the suspension-remobilisation procedure",
    "UNKNOWN_DECISION": "decision missing, not allowed for this step, or not a known decision",
    "DUPLICATE_STEP": "step already recorded",
    "UNKNOWN_CASE": "id_remobilisation is not a case of the list",
    # The orientation team's decisions on proposals (the reader's codes, then the warehouse's).
    "UNKNOWN_PROPOSAL": "id_proposition unknown",
    "UNKNOWN_ROLE": "decide_par is not a role code of the seed codes_decideur",
    "UNKNOWN_PARCOURS": "parcours is not PSO, PSP or PED",
    "UNKNOWN_DESTINATION": "code_structure is not a destination (of that parcours)",
    "DUPLICATE_DECISION": "proposal decided twice in the file",
    "ALREADY_DECIDED": "proposal already decided",
    "PROPOSAL_OBSOLETE": "proposal no longer needed (replaced, or nobody to orient)",
    "DESTINATION_INACTIVE": "destination not active on the day",
    # The CNAF's contact-details files (ingest.contacts_reader).
    "MATRICULE_FORMAT": "MATRICULE missing or not 1 to 15 digits",
    "PHONE_FORMAT": "a phone number is not a French number (10 digits from 01 to 09, or +33 and 9 digits)",
    "EMAIL_FORMAT": "the e-mail address is not of the form name@domain.tld",
}

COLUMNS: dict[str, tuple[str, ...]] = {
    # One row per InfosFoyerRSA block (an RSA dossier, i.e. a household).
    "caf_dossier": (
        "position", "fonorg", "numorg", "matricule", "typeparte", "ideparte", "dtdemrsa", "numdemrsa",
        "etatdosrsa", "sitfam", "ddsitfam", "topsansdomfixe", "nbenfautcha", "oridemrsa", "dtoridemrsa",
        "topfoydrodevorsa", "ddelecal", "mtrevminigararsa", "mtressmenrsa", "mttotdrorsa",
        "cedant_fonorg", "cedant_numorg", "cedant_matricule", "cedant_ddarrmut",
        "prenant_fonorg", "prenant_numorg", "prenant_dddepamut", "caf_anomalies", "flags", "schema_errors",
    ),
    # One row per Personne, with both Prestations roles.
    "caf_person": (
        "position", "person_position", "matricule", "numdemrsa", "qual", "nom", "nomnai", "prenom",
        "prenom2", "prenom3", "nomcomnai", "dtnai", "rgnai", "typedtnai", "nir", "nir_valid", "topvaliec",
        "sexe", "toprespdos", "ddratdos", "dfratdos", "numdemrsaprece", "rolepers_rsa", "rolepers_pfa",
        "topchapers_rsa", "topchapers_pfa", "idassedic", "toppersdrodevorsa", "toppersentdrodevorsa",
        "mtpersressmenrsa", "flags",
    ),
    # One row per Adresse (all ranks; RGADR 01 is the current address).
    "caf_address": (
        "position", "matricule", "numdemrsa", "rgadr", "dtemm", "pays", "typeadr", "etatadr",
        "complideadr", "compladr", "numvoie", "libtypevoie", "nomvoie", "lieudist", "numcom", "codepos",
        "nomcom", "hors_france", "in_departement", "flags",
    ),
    # Rights situation blocks: refusal, suspensions, closures (one row per block).
    "caf_right_situation": (
        "position", "matricule", "numdemrsa", "nature", "motif", "date_effet", "natgroupfsus",
    ),
    # DetailCalculDroitRSA rows (amounts per benefit nature).
    "caf_amount": (
        "position", "matricule", "numdemrsa", "natpf", "sousnatpf", "ddnatdro", "dfnatdro", "mtrsavers",
        "dtderrsavers",
    ),
    # Evenement blocks of daily flows.
    "caf_event": ("position", "matricule", "numdemrsa", "dtliq", "heuliq", "fg"),
    # France Travail CSV flows: good lines, then rejected lines with their reason.
    "france_travail_record": (
        "line_number", "kind", "nir", "identifiantpe", "nom", "prenom", "dtnai", "date_evenement", "code",
        "motif", "codeinsee", "localite", "adresse", "ale",
    ),
    "france_travail_reject": ("line_number", "reason_code", "detail", "raw_line"),
    # ALI activity reports.
    "ali_report_line": (
        "line_number", "code_structure", "date_rapport", "id_orientation", "evenement", "date_evenement",
        "motif", "referent_nom", "referent_email",
    ),
    "ali_report_reject": ("line_number", "reason_code", "detail", "raw_line"),
    # Where each line of an ALI report in the WebRSA format came from (sql/023_ali_webrsa_reports.sql).
    "ali_webrsa_element": ("line_number", "element", "source_line", "id_personne", "id_ali"),
    # The Département's suspension-remobilisation steps (sql/019_suspension.sql).
    "departement_remobilisation_step": ("line_number", "id_remobilisation", "etape", "date_etape", "decision"),
    "departement_remobilisation_reject": ("line_number", "reason_code", "detail", "raw_line"),
    # The orientation team's decisions on proposals (sql/017_decisions.sql).
    "departement_decision": (
        "line_number", "id_proposition", "decision", "parcours", "code_structure", "date_decision",
        "date_notification", "decide_par", "motif", "delai_revision_mois",
    ),
    "departement_decision_reject": ("line_number", "reason_code", "detail", "raw_line"),
    # The CNAF's contact details (sql/022_caf_contacts.sql).
    "caf_contact": (
        "line_number", "matricule", "numdemrsa", "role_personne", "type_personne", "nir", "nir_valid",
        "date_demande_rsa", "date_debut_droits_devoirs", "telephone_1", "telephone_2", "email",
    ),
    "caf_contact_reject": ("line_number", "reason_code", "detail", "raw_line"),
}

REJECT_TABLES = {"france_travail_reject", "ali_report_reject", "departement_remobilisation_reject",
                 "departement_decision_reject", "caf_contact_reject"}

# Per-dossier/person/address anomaly flags set by the CAF reader (never sink the file). A flag on a
# value of a table without a flags column (caf_event, caf_amount, caf_right_situation) is set on the
# dossier row. Values padded with spaces (CNAF pads some codes) are read trimmed and not flagged.
CAF_FLAGS = {
    "NO_MONTANT_CALCUL_PERSONNE": "no MontantCalculDroitRSAPersonne block: TOPPERSDRODEVORSA unknown",
    "NIR_MISSING": "no NIR",
    "NIR_FORMAT": "NIR not of the right shape",
    "NIR_KEY": "NIR key does not match",
    "PRESTATIONS_NOT_TWO": "a person must have exactly 2 Prestations blocks",
    "UNKNOWN_CODE": "a code outside its list (the field is named after the colon)",
    "INVALID_VALUE": "a value that does not parse (the field is named after the colon)",
    "NO_CURRENT_ADDRESS": "no address of rank 01",
    "OUTSIDE_DEPARTEMENT": "current address outside Seine-Saint-Denis",
    "NO_DETAIL_DROIT": "no DetailDroitRSA block",
    "NO_MONTANTS_CALCUL": "no MontantsCalculDroitRSA block",
    "MISSING_BLOCK": "a mandatory block is missing (the block is named after the colon)",
    "TOO_LONG": "a value longer than the schema allows for its field, stored cut to that length "
    "(the field is named after the colon)",
    "SCHEMA_INVALID": "the dossier breaks the VRSB0801 schema in use: see caf_dossier.schema_errors",
}
