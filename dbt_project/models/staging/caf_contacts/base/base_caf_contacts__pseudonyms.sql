-- The keyed pseudonym of the NIR of every contact line, computed once per delivered file like the CAF
-- persons' (base_caf__person_pseudonyms): the same key and the same formula, so that a contact line and
-- the CAF person with that NIR share their person_key. NULL when the line's NIR is missing or invalid.
{{ config(materialized='incremental', on_schema_change='fail',
          indexes=[{'columns': ['file_id', 'line_number'], 'unique': true}]) }}

with source as (

    select file_id, line_number, nir, nir_valid from {{ source('caf_contacts', 'caf_contact') }}
    where file_id in ({{ files_to_pseudonymise('caf_contacts') }})

)

select
    file_id,
    line_number,
    case when nir_valid then {{ pseudonym("left(upper(nir), 13)") }} end as person_key
from source
