-- The keyed pseudonyms of every CAF person row, computed once per delivered file. Incremental: each
-- run hashes the rows of the files it has not seen (HMAC costs two SHA-256 per value, and the current
-- state of 200,000 persons would otherwise be hashed again every day). Changing the key means
-- rebuilding this model (dbt build --full-refresh).
{{ config(materialized='incremental', on_schema_change='fail',
          indexes=[{'columns': ['file_id', 'position', 'person_position'], 'unique': true}]) }}

with source as (

    select * from {{ source('caf', 'caf_person') }}
    where file_id in ({{ files_to_pseudonymise('caf') }})

)

select
    file_id,
    position,
    person_position,
    case when nir_valid then {{ pseudonym("left(upper(nir), 13)") }} end as person_pseudonym,
    {{ identity_pseudonym("nomnai", "prenom", "dtnai", "rgnai") }} as identity_pseudonym,
    {{ name_pseudonym("nom", "prenom", "dtnai") }} as name_pseudonym,
    {{ pseudonym("upper(trim(idassedic))") }} as idassedic_pseudonym
from source
