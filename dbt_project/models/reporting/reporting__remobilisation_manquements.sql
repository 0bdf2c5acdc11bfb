-- Les manquements au contrat d'engagement déclarés par les structures depuis l'entrée en vigueur de
-- la suspension-remobilisation, une ligne par ligne de compte rendu, avec le dossier de la liste de
-- l'équipe pluridisciplinaire auquel chacun appartient. Sans person_id.
{{ config(alias='remobilisation_manquements') }}

select
    id_remobilisation,
    rang_dans_cas,
    id_orientation,
    code_structure,
    evenement,
    motif,
    date_manquement
from {{ ref('remobilisation_breaches') }}
