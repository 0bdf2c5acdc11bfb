-- Les événements des comptes rendus d'activité des structures acceptés sur les orientations (prise
-- en charge, rendez-vous, contrat signé ou refusé, engagements non tenus, réorientation demandée,
-- sortie), une ligne par ligne de compte rendu. Sans person_id : l'événement se rattache à la personne par son orientation.
{{ config(alias='evenements_ali') }}

select
    id_orientation,
    code_structure,
    evenement,
    date_evenement,
    motif,
    verifie_le
from {{ ref('referral_events') }}
