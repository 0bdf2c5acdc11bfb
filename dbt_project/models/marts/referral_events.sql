-- The agencies' activity-report events accepted on the referrals (prise en charge, rendez-vous,
-- contrat, réorientation demandée, sortie), one row per report line. Rejected lines stay in
-- int_ali__events_checked with their reason.
{{ config(materialized='view') }}

select
    file_id,
    line_number,
    verifie_le,
    id_orientation,
    person_id,
    code_structure,
    evenement,
    date_evenement,
    motif
from {{ ref('int_ali__events_checked') }}
where statut = 'ACCEPTE'
