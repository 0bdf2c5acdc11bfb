-- Les propositions d'orientation et leur sort, une ligne par proposition, telles qu'elles sont au jour
-- du build : ce que les règles ont proposé, pourquoi, depuis quand elle attend la décision de l'équipe
-- d'orientation, ce qui a été décidé, quand, par quel rôle. Sans person_id, household_id ni les critères
-- évalués (ils peuvent porter une information de santé ou de handicap) ; l'adresse réduite à la commune.
{{ config(alias='propositions') }}

select
    id_proposition,
    statut_proposition,
    date_statut,
    date_proposition,
    jours_attente,
    origine,
    parcours_propose,
    code_structure_proposee,
    code_territoire,
    code_insee,
    code_regle,
    libelle_regle,
    validation_automatique,
    parcours_actuel,
    structure_actuelle,
    date_decision,
    date_notification,
    date_decision - date_proposition as delai_decision_jours,
    decide_par,
    motif_decision,
    parcours_decide,
    code_structure_decidee,
    delai_revision_mois,
    id_orientation
from {{ ref('orientation_proposals') }}
