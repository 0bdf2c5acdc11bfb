-- Files received, one row per file, with the fields analysts and operators filter on.
with source as (

    select * from {{ source('registry', 'landing_file') }}

),

renamed as (

    select
        -- ids
        file_id,
        duplicate_of as duplicate_of_file_id,
        sha256,

        -- what the file is
        relative_path,
        source as partner,
        kind as flow_kind,
        agency_code as code_structure,
        size_bytes,
        header ->> 'TYPEFLUX' as caf_typeflux,
        header ->> 'NATFLUX' as caf_natflux,
        (header ->> 'DTREF')::date as caf_reference_month,
        header ->> 'encoding' as encoding,

        -- what happened to it
        status,
        status_reason,
        delivered_on,
        logical_date as recorded_for_day,
        recorded_at

    from source

)

select * from renamed
