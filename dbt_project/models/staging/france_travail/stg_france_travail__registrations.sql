-- The France Travail CSV flows' good lines (stock, inscriptions, cessations, radiations) of usable
-- files, pseudonymised: no NIR, name, locality or street address. One row per (file_id, line_number).
with source as (

    select * from {{ source('france_travail', 'france_travail_record') }}

),

files as (

    select file_id, delivered_on
    from {{ source('registry', 'landing_file') }}
    where source = 'france_travail' and status in ('loaded', 'loaded_with_rejects')
        and delivered_on <= {{ run_day() }}

),

renamed as (

    select
        -- ids
        source.file_id::text || '-' || source.line_number::text as registration_record_key,
        pseudonyms.person_pseudonym,
        pseudonyms.identifiantpe_pseudonym,
        pseudonyms.name_pseudonym,
        source.file_id,
        source.line_number,
        files.delivered_on,

        -- the record
        source.kind as flow_kind,
        source.dtnai as date_naissance,
        source.date_evenement,
        source.code as categorie,
        source.motif,
        source.codeinsee as code_insee,
        source.ale as agence_locale

    from source
    inner join files on files.file_id = source.file_id
    inner join {{ ref('base_france_travail__record_pseudonyms') }} as pseudonyms
        on pseudonyms.file_id = source.file_id and pseudonyms.line_number = source.line_number

)

select * from renamed
