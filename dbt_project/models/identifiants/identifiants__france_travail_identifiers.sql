-- RESTRICTED (schema identifiants, pipeline role only): the France Travail number (identifiant
-- France Travail, ex-identifiant Pôle emploi) of each person whose registration the France Travail
-- files matched (int_france_travail__situations: by NIR and birth date, else by name and birth date),
-- so that the agency that accompanies the person can find them in France Travail's tools. Feeds the
-- agencies' extracts (column identifiant_france_travail); never exposed to analysts.
{{ config(materialized='table', schema='identifiants',
          indexes=[{'columns': ['person_id'], 'unique': true}],
          post_hook=["revoke all on {{ this }} from public"]) }}

with numbers as (

    -- the clear number behind each pseudonym, as the files spelt it (trimmed, upper case)
    select distinct on (pseudonyms.identifiantpe_pseudonym)
        pseudonyms.identifiantpe_pseudonym,
        upper(trim(records.identifiantpe)) as identifiant_france_travail
    from {{ source('france_travail', 'france_travail_record') }} as records
    inner join {{ ref('base_france_travail__record_pseudonyms') }} as pseudonyms
        on pseudonyms.file_id = records.file_id and pseudonyms.line_number = records.line_number
    order by pseudonyms.identifiantpe_pseudonym, records.file_id desc, records.line_number desc

)

select
    situations.person_id,
    numbers.identifiant_france_travail
from {{ ref('int_france_travail__situations') }} as situations
inner join numbers on numbers.identifiantpe_pseudonym = situations.identifiantpe_pseudonym
