-- The keyed pseudonym of every raw CAF dossier row's key (NUMORG-MATRICULE): the household_id the
-- layers analysts read carry instead of the CAF number. Computed once per file (incremental, as
-- base_caf__person_pseudonyms).
{{ config(materialized='incremental', on_schema_change='fail',
          indexes=[{'columns': ['file_id', 'position'], 'unique': true}]) }}

with source as (

    select * from {{ source('caf', 'caf_dossier') }}
    where matricule is not null and file_id in ({{ files_to_pseudonymise('caf') }})

)

select
    file_id,
    position,
    {{ pseudonym("coalesce(numorg, '') || '-' || matricule") }} as household_id
from source
