-- The keyed pseudonym of the street part of every current address (RGADR 01) row, computed once per
-- delivered file (incremental, as base_caf__person_pseudonyms).
{{ config(materialized='incremental', on_schema_change='fail',
          indexes=[{'columns': ['file_id', 'position'], 'unique': true}]) }}

with source as (

    select * from {{ source('caf', 'caf_address') }}
    where rgadr = '01' and file_id in ({{ files_to_pseudonymise('caf') }})

)

select
    file_id,
    position,
    {{ pseudonym("concat_ws('|', upper(trim(numvoie)), upper(trim(libtypevoie)), upper(trim(nomvoie)),"
                 " upper(trim(compladr)), upper(trim(complideadr)), upper(trim(lieudist)))") }} as address_pseudonym
from source
