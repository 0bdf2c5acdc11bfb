-- The lines of the Département's usable suspension-remobilisation steps files delivered up to the
-- run day. One row per (file_id, line_number).
with source as (

    select * from {{ source('remobilisation', 'departement_remobilisation_step') }}

),

files as (

    select file_id, delivered_on
    from {{ source('registry', 'landing_file') }}
    where status in ('loaded', 'loaded_with_rejects')
        and delivered_on <= {{ run_day() }}

)

select
    source.file_id::text || '-' || source.line_number::text as step_line_key,
    source.file_id,
    source.line_number,
    files.delivered_on,
    source.id_remobilisation,
    source.etape,
    source.date_etape,
    source.decision
from source
inner join files on files.file_id = source.file_id
