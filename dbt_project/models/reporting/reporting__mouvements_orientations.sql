-- Le journal des orientations : une ligne par orientation et par jour où elle a bougé (NOUVELLE,
-- MODIFIEE, CLOTUREE), celui dont sont tirés les extraits quotidiens des structures. Sans
-- person_id, household_id ni situation_empreinte (l'empreinte de la situation ne sert qu'à
-- détecter les modifications), et l'adresse réduite à la commune.
{{ config(alias='mouvements_orientations') }}

select
    id_orientation,
    date_mouvement,
    type_mouvement,
    statut_orientation,
    parcours,
    code_structure,
    code_territoire,
    code_insee,
    code_regle,
    motif_cloture,
    role_rsa,
    etat_dossier_rsa,
    date_creation,
    date_orientation,
    date_entree_droits_devoirs,
    date_limite_orientation,
    id_proposition,
    origine,
    date_proposition,
    date_decision,
    date_notification,
    decide_par,
    structure_precedente,
    id_orientation_precedente
from {{ ref('referral_movements') }}
