-- The keyed pseudonyms of every France Travail CSV line, computed once per delivered file
-- (incremental, as base_caf__person_pseudonyms).
{{ config(materialized='incremental', on_schema_change='fail',
          indexes=[{'columns': ['file_id', 'line_number'], 'unique': true}]) }}

with source as (

    select * from {{ source('france_travail', 'france_travail_record') }}
    where file_id in ({{ files_to_pseudonymise('france_travail') }})

)

select
    file_id,
    line_number,
    {{ pseudonym("left(upper(nir), 13)") }} as person_pseudonym,
    {{ pseudonym("upper(trim(identifiantpe))") }} as identifiantpe_pseudonym,
    {{ name_pseudonym("nom", "prenom", "dtnai") }} as name_pseudonym
from source
