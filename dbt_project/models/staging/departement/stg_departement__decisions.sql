-- The lines of usable decisions files of the orientation team, one row per (file_id, line_number),
-- with the day their file was delivered (the day it speaks for).
with source as (

    select * from {{ source('departement', 'departement_decision') }}

),

files as (

    select file_id, delivered_on
    from {{ source('registry', 'landing_file') }}
    where source = 'departement' and kind = 'decisions' and status in ('loaded', 'loaded_with_rejects')

)

select
    source.file_id::text || '-' || source.line_number::text as decision_line_key,
    source.file_id,
    source.line_number,
    files.delivered_on,
    source.id_proposition,
    source.decision,
    source.parcours,
    source.code_structure,
    source.date_decision,
    source.date_notification,
    source.decide_par,
    source.motif as motif_decision,
    source.delai_revision_mois
from source
inner join files on files.file_id = source.file_id
