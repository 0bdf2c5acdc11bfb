-- The lines of usable ALI activity reports, without the counsellor's name and e-mail (staff
-- contacts stay in raw). One row per (file_id, line_number).
with source as (

    select * from {{ source('ali', 'ali_report_line') }}

),

files as (

    select file_id, delivered_on, agency_code
    from {{ source('registry', 'landing_file') }}
    where source = 'ali' and status in ('loaded', 'loaded_with_rejects')

)

select
    source.file_id::text || '-' || source.line_number::text as report_line_key,
    source.file_id,
    source.line_number,
    files.delivered_on,
    source.code_structure,
    source.date_rapport,
    source.id_orientation,
    source.evenement,
    source.date_evenement,
    nullif(trim(source.motif), '') as motif,
    source.referent_nom is not null or source.referent_email is not null as referent_renseigne
from source
inner join files on files.file_id = source.file_id
